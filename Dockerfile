FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
RUN useradd --create-home tracker && mkdir -p /srv/var && chown tracker /srv/var
USER tracker
EXPOSE 8000
CMD ["sh", "-c", "tracker db upgrade && tracker serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-4}"]

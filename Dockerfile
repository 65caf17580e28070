FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/srv/.venv UV_PYTHON_DOWNLOADS=never UV_COMPILE_BYTECODE=1 \
    PATH=/srv/.venv/bin:$PATH
WORKDIR /srv
# The same uv as the Makefile's; it installs exactly what uv.lock pins.
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock README.md alembic.ini ./
# Dependencies first (a layer reused until uv.lock changes), then the service itself.
RUN uv sync --locked --no-install-project --no-cache
COPY app ./app
COPY migrations ./migrations
# Editable, as in development: the tracker command finds alembic.ini and migrations/ in /srv.
RUN uv sync --locked --no-cache
RUN useradd --create-home tracker && mkdir -p /srv/var && chown tracker /srv/var
USER tracker
EXPOSE 8000
CMD ["sh", "-c", "tracker db upgrade && tracker serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-4}"]

# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint migrate demo clean fuzz bench

$(BIN)/tracker: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/tracker

migrate: install
	$(BIN)/tracker db upgrade

demo: migrate
	$(BIN)/tracker demo-data --if-empty --scale 2

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/docs"
	$(BIN)/tracker serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Fuzz a running server with schemathesis (kept out of the project's dependencies):
#   make fuzz URL=http://127.0.0.1:8000 TOKEN=<bearer token>
URL ?= http://127.0.0.1:8000
fuzz:
	$(PYTHON) -m venv .fuzz-venv
	.fuzz-venv/bin/python -m pip install --quiet schemathesis
	.fuzz-venv/bin/st run $(URL)/openapi.json -H "Authorization: Bearer $(TOKEN)" \
		-c not_a_server_error --max-examples 30 --phases examples,coverage,fuzzing

# The national-scale benchmark on PostgreSQL (bench/harness.py; needs `wrk`, e.g.
# `apt-get install -y wrk`): creates and drops bench_N databases through BENCH_ADMIN_URL
# and writes bench/RESULTS.md.  make bench LOANS=100000   (several: LOANS="100000 1000000")
LOANS ?= 100000 1000000
BENCH_ADMIN_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
BENCH_PORT ?= 8120
bench: install
	$(BIN)/python bench/harness.py --admin-url $(BENCH_ADMIN_URL) --port $(BENCH_PORT) \
		$(foreach n,$(LOANS),--loans $(n)) $(BENCH_ARGS)

# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Test processes (pytest-xdist): one per core by default; PYTEST_WORKERS=0 runs in this process.
PYTEST_WORKERS ?= auto

# Installs are locked: uv.lock pins every package (with hashes) and `make install` puts
# exactly those versions into .venv. uv itself lives in .tools/, bootstrapped with pip.
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: install lock run test lint migrate demo clean fuzz bench

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

# Every target that needs the environment syncs it first, so .venv always holds exactly
# the locked versions (a no-op taking a fraction of a second when it already does).
# --locked stops, instead of re-resolving, when pyproject.toml and uv.lock disagree.
install: | $(UV)
	@$(UV) sync --locked --extra dev --python $(PYTHON) --quiet || { \
		echo "make install failed; if uv says the lockfile needs to be updated, pyproject.toml" >&2; \
		echo "and uv.lock disagree: run 'make lock' and commit uv.lock" >&2; exit 1; }

# After changing dependencies in pyproject.toml: re-resolve and rewrite uv.lock.
lock: $(UV)
	$(UV) lock --python $(PYTHON)

migrate: install
	$(BIN)/tracker db upgrade

demo: migrate
	$(BIN)/tracker demo-data --if-empty --scale 2

run: demo
	@echo "Serving on http://$(HOST):$(PORT)/docs"
	$(BIN)/tracker serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests migrations bench
	$(BIN)/ruff format --check app tests migrations bench
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .mypy_cache .ruff_cache

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

# One venv, made on first use: `make run` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The store `make run` serves and `make demo` fills: $OSIS_STORE, or an embedded SQLite file.
STORE ?= $(or $(OSIS_STORE),sqlite:///var/osis.db)
LISTEN ?= 127.0.0.1:8080

.PHONY: run demo test codegen check typecheck fuzz bench bench-codegen bench-rpc bench-store bench-migrate bench-load bench-kill clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@mkdir -p var
	$(BIN)/osis serve --store '$(STORE)' --listen $(LISTEN) --log-format text

demo: $(STAMP)
	@mkdir -p var
	$(BIN)/osis demo-data --store '$(STORE)'

codegen: $(STAMP)
	$(BIN)/oschema-gen generate schemas/* --out generated

check: $(STAMP)
	$(BIN)/oschema-gen check schemas/* --out generated

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

typecheck: $(STAMP)
	$(BIN)/mypy --strict generated src/oschema_gen src/osis

fuzz: $(STAMP)
	OSCHEMA_FUZZ_EXAMPLES=20000 $(BIN)/python -m pytest -q tests/compiler/test_fuzz.py

# Benchmarks print their figures against a baseline measured in the same run (bench/README.md).
bench: bench-codegen bench-rpc bench-store bench-migrate bench-load bench-kill

bench-codegen: $(STAMP)
	$(BIN)/python bench/codegen.py

bench-rpc: $(STAMP)
	$(BIN)/python bench/rpc.py

bench-store: $(STAMP)
	$(BIN)/python bench/store.py

bench-migrate: $(STAMP)
	$(BIN)/python bench/migrate.py

# 8 clients for 60 s per engine against `osis serve` (PostgreSQL: $$OSIS_TEST_POSTGRES_DSN).
bench-load: $(STAMP)
	$(BIN)/python bench/load.py

# The same load while the server is killed with SIGKILL 100 times per engine.
bench-kill: $(STAMP)
	$(BIN)/python bench/load.py --kill 100

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis

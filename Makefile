# One venv, made on first use: `make run` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The store `make run` serves and `make demo` fills: $OSIS_STORE, or an embedded SQLite file.
STORE ?= $(or $(OSIS_STORE),sqlite:///var/osis.db)
LISTEN ?= 127.0.0.1:8080

.PHONY: run demo test codegen check diff diff-head typecheck fuzz bench bench-codegen bench-rpc bench-store bench-migrate bench-load bench-kill clean

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

# Schema evolution (docs/evolution.md): exit 1 when a schema change breaks stored data or
# deployed clients. `make diff` compares with where this branch left main (the merge base
# with origin/main, or main; on main itself, the previous commit); `make diff-head` with
# the last commit, as the pre-commit hook does. DIFF_ARGS=--allow-breaking lets a
# deliberate break pass.
diff: $(STAMP)
	@base=$$(git merge-base HEAD origin/main 2>/dev/null || git merge-base HEAD main 2>/dev/null || true); \
	if [ -z "$$base" ]; then \
		echo "make diff: no origin/main or main branch here (or not a git checkout): nothing to compare with, skipped"; \
		exit 0; \
	fi; \
	if [ "$$base" = "$$(git rev-parse HEAD)" ]; then base=HEAD~1; fi; \
	base=$$(git rev-parse --short "$$base" 2>/dev/null || echo "$$base"); \
	echo "make diff: schemas/ against $$base"; \
	$(BIN)/oschema-gen diff --against "$$base" --missing-ref-ok schemas/* $(DIFF_ARGS)

diff-head: $(STAMP)
	$(BIN)/oschema-gen diff --against HEAD --missing-ref-ok schemas/* $(DIFF_ARGS)

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

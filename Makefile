# Concord: build, lint and test.  A newcomer needs two commands: `make demo`, `make test`.
#
# Database steps run inside tests/harness/cluster.sh run --, which uses CONCORD_DSN when it
# is set (your own superuser connection: databases are then created on that server) and
# otherwise starts a throwaway cluster in /tmp for the duration of the step.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# Steps run in the order written, and `make test` stops at the first failure.
.NOTPARALLEL:
# No "Entering directory" lines on stdout: `eval "$(make -C DIR db)"` sees only the export.
MAKEFLAGS += --no-print-directory

VENV    := .venv
PY      := $(VENV)/bin/python
HARNESS := tests/harness
CLUSTER := $(HARNESS)/cluster.sh
RUN_DB  := $(CLUSTER) run --

SQL_DIRS := $(wildcard sql migrations)
PY_DIRS  := $(wildcard python tests bench)

.PHONY: help deps db db-stop test test-db-steps lint-sql lint-py lint-plpgsql pgtap \
        upgrade-test pytest demo bench bench-scale docs screenshots clean

help:
	@echo "make demo     install Concord in a throwaway PostgreSQL and run demo/*.sql"
	@echo "make test     lint (sqlfluff, ruff, plpgsql_check), pgTAP, upgrade test, pytest"
	@echo "make deps     install missing Debian packages (PostgreSQL, pgTAP, ...)"
	@echo "make db       start the throwaway cluster and print its DSN;  make db-stop"
	@echo "make bench    run the benchmarks;  make clean  remove cluster and .venv"
	@echo "make bench-scale  costs at 10k and at 1M commands (about 30 min; bench/README.md)"
	@echo "make docs     rewrite the generated parts of docs/reference/ from a fresh install"
	@echo "make screenshots  the web console's main pages as PNG in docs/screenshots/"

# Status lines go to stderr, so that `eval "$(make db)"` sees only the export line.
deps:
	@$(HARNESS)/deps.sh >&2

$(VENV): pyproject.toml
	@echo "creating $(VENV) and installing concord[dev]"
	@python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -e '.[dev]' \
		|| { rm -rf $(VENV); exit 1; }
	@touch $(VENV)

# stdout is exactly one line, `export CONCORD_DSN='...'`: use it as eval "$(make db)".
db: deps
	@$(CLUSTER) start >&2
	@dsn=$$($(CLUSTER) dsn) && echo "export CONCORD_DSN='$$dsn'"

db-stop:
	@$(CLUSTER) stop

test: deps $(VENV) lint-sql lint-py
	@$(RUN_DB) $(MAKE) --no-print-directory test-db-steps

# Everything that needs a server; `make test` runs it under one cluster start.
test-db-steps: lint-plpgsql pgtap upgrade-test pytest

lint-sql: $(VENV)
	@files=$$($(if $(SQL_DIRS),find $(SQL_DIRS) -name '*.sql' | sort,true)); \
	if [[ -z $$files ]]; then echo "lint-sql: no .sql files under sql/ or migrations/" >&2; exit 1; fi; \
	echo "lint-sql: sqlfluff over $$(wc -w <<<"$$files") files"; \
	$(VENV)/bin/sqlfluff lint --processes $$(nproc) $$files

lint-py: $(VENV)
	$(VENV)/bin/ruff check $(PY_DIRS)

lint-plpgsql: $(VENV)
	@$(RUN_DB) $(HARNESS)/plpgsql_check.sh

pgtap: $(VENV)
	@$(RUN_DB) $(HARNESS)/pgtap.sh

upgrade-test: $(VENV)
	@$(RUN_DB) $(PY) $(HARNESS)/upgrade_harness.py

pytest: $(VENV)
	@$(RUN_DB) $(VENV)/bin/pytest -q --durations=25 tests

demo: deps $(VENV)
	@$(RUN_DB) $(HARNESS)/demo.sh

bench: deps $(VENV)
	@$(RUN_DB) $(PY) bench/run_bench.py

# Not part of `make bench` or `make test`: it loads a million commands (BENCH_SCALE_SMALL and
# BENCH_SCALE_LARGE choose the sizes; bench/README.md).
bench-scale: deps $(VENV)
	@$(RUN_DB) $(PY) bench/scale_bench.py

# The reference pages generated from a fresh install, and the generated entries of the SQL
# reference pages (tests check they are fresh).
docs: deps $(VENV)
	@$(RUN_DB) bash -c 'dsn=$$($(HARNESS)/fresh_db.sh concord_docs) \
		&& CONCORD_DSN="$$dsn" $(PY) $(HARNESS)/reference_pages.py write \
		&& CONCORD_DSN="$$dsn" $(PY) $(HARNESS)/sql_reference.py write'

clean:
	@$(CLUSTER) destroy
	rm -rf $(VENV)

# The web console's main pages in Debian's chromium, from a world the console tests build.
screenshots: deps $(VENV)
	@$(RUN_DB) $(PY) $(HARNESS)/screenshots.py docs/screenshots

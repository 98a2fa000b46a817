# The two commands: `make demo` (the pipeline end to end) and `make test` (the whole suite).
# Everything else is a convenience over .venv/bin/cxw.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV_BIN := .venv/bin
CXW := $(VENV_BIN)/cxw

.PHONY: help setup demo test bench lint lint-sql airflow warehouse stop status psql clean clean-warehouse

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

setup:  ## install uv and the locked environment into .venv (done by every target)
	@scripts/setup.sh

demo: setup  ## generate demo data, start the embedded warehouse, run the ingestion DAGs, print what landed
	@$(CXW) demo

test:  ## run the whole test suite (real Postgres, real Airflow, dbt, dlt)
	@scripts/setup.sh bench
	@$(VENV_BIN)/pytest

bench: ## loader vs bare COPY vs dlt at 2M rows, and DAG parse times; writes .cx/bench/results.json
	@scripts/setup.sh bench
	@$(CXW) bench

lint: setup lint-sql  ## ruff, mypy and sqlfluff
	@$(VENV_BIN)/ruff check src dags tests
	@$(VENV_BIN)/mypy src

lint-sql: setup  ## sqlfluff on dbt_project/models (dbt templater; starts the embedded warehouse for it)
	@scripts/lint-sql.sh

airflow: setup  ## the Airflow UI over the project's DAGs (airflow standalone) on http://localhost:8080
	@$(CXW) airflow standalone

warehouse: setup  ## start the embedded warehouse and print its URL
	@$(CXW) warehouse start

stop: setup  ## stop the embedded warehouse
	@$(CXW) warehouse stop

status: setup  ## what landed where: rows per raw table, quarantine by reason
	@$(CXW) status

psql: setup  ## a psql shell on the warehouse
	@$(CXW) warehouse psql

clean-warehouse: setup  ## stop and delete the embedded warehouse's data (keeps demo files)
	@$(CXW) warehouse destroy

clean:  ## remove all local state: .cx (warehouse, Airflow home, demo data) and .venv
	@-[ -x $(CXW) ] && $(CXW) warehouse stop >/dev/null 2>&1 || true
	rm -rf .cx .venv

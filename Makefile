# OpenHermit: `make run` starts the platform, `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; \
	then echo $$p; break; fi; done)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help run test bench lint format docs clean

help:
	@echo "make run    start the platform (setup if needed, embedded PostgreSQL, gateway, agent main)"
	@echo "make test   install what the tests need and run lint, layer checks and the whole suite"
	@echo "make bench  run every benchmark scenario (bench/README.md); figures in bench/results.json"
	@echo "make lint   ruff and import-linter only"
	@echo "make clean  remove the virtualenv and caches"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "make: Python >= 3.11 is required (apt-get install python3)" >&2; exit 1; }
	@PYTHON=$(PYTHON) scripts/ensure-system.sh venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	-@scripts/ensure-system.sh run  # bubblewrap for the local sandbox (optional)
	$(BIN)/hermit up

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

test: lint
	@PYTHON=$(PYTHON) scripts/ensure-system.sh test
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py --json bench/results.json

format: $(VENV)/.installed-test
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache

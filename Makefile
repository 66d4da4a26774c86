# Dojo Cloud task runner. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help install up test test-fast bench lint typecheck protos clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv and install pinned dependencies, the platform and the SDK

$(STAMP): requirements.txt pyproject.toml sdk/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e . -e ./sdk
	touch $(STAMP)

up: install ## Run the whole platform on embedded defaults (Ctrl-C stops everything)
	$(PY) -m devstack up

test: install ## Run the whole test suite
	$(PY) -m pytest

test-fast: install ## Unit tests only
	$(PY) -m pytest tests/unit -q

bench: install ## Run the benchmarks; each prints BENCH {json} lines
	$(PY) -m benchmarks

lint: install ## ruff (check and format --check) and the import-linter contracts
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=.:platform:sdk $(VENV)/bin/lint-imports

typecheck: install ## mypy --strict on the pure packages and the SDK; mypy with django-stubs on platform/
	PYTHONPATH=.:platform:sdk $(VENV)/bin/mypy --strict scheduler dojo_runtime sdk/dojo
	PYTHONPATH=.:platform:sdk $(VENV)/bin/mypy platform

protos: install ## Regenerate sdk/dojo/v1 from protos/
	PYTHON=$(PY) bash scripts/gen_protos.sh

clean: ## Remove the virtualenv and local state
	rm -rf $(VENV) var .dojo

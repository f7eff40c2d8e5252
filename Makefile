# One entry point for people and CI. Everything runs from .venv, created here.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt device_client/requirements.txt | sha256sum | cut -c1-12)
METERS ?= 50
STAGE ?= dev
# make run's ports (the portal is built for API_PORT); make demo STACK=http://127.0.0.1:8000
# uses that running stack instead of one of its own.
API_PORT ?= 8000
SITE_PORT ?= 8080
EMULATOR_PORT ?= 5000
STACK ?=
# make test runs on this many workers, each with its own local stack (TEST_WORKERS=0: one process).
TEST_WORKERS ?= 2

.PHONY: install run test test-unit test-integration test-fuzz lint site i18n demo bench bench-crypto package deploy create-admin outbox clean

$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip<26.3'  # chalice 1.34 needs pip < 26.3
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## The whole platform locally: emulator, API :8000, SQS functions, portal :8080 (built for the
## API's port), demo meters. Ctrl-C or SIGTERM stops it.
run: install
	$(PY) -m devstack.stack --api-port $(API_PORT) --site-port $(SITE_PORT) --emulator-port $(EMULATOR_PORT)

## Everything CI runs: lint, types, unit, integration, package and browser tests.
test: install
	bash devstack/ensure_test_tools.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=15

test-unit: install
	$(PY) -m pytest -q tests/unit

test-integration: install
	$(PY) -m pytest -q tests/integration

## schemathesis over /openapi.json as anonymous, customer and admin (FUZZ_EXAMPLES=200 for longer).
test-fuzz: install
	$(PY) -m tests.property.api_fuzz

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/mypy .

site: install
	$(PY) -m frontend.build

## Languages: collect the messages of code, templates and scripts, merge them into every
## catalogue (functions/core/locale/<lang>/LC_MESSAGES/messages.po), compile the .mo files.
i18n: install
	mkdir -p build
	$(VENV)/bin/pybabel extract -F babel.cfg -k t --no-location --sort-output -o build/messages.pot .
	$(VENV)/bin/pybabel update -i build/messages.pot -d functions/core/locale --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d functions/core/locale --statistics

demo: install
	$(PY) -m devstack.demo --meters $(METERS) $(if $(STACK),--stack $(STACK))

## Full-chain runs (100, 1,000 meters), fleet-scale runs (1,000, 10,000, 50,000 meters), the
## daily read cycle with recharge-to-reconnect (1,000, 10,000), the overdue sweep, PDFs.
bench: install
	$(PY) -m bench.bench_billing
	$(PY) -m bench.bench_fleet
	$(PY) -m bench.bench_daily
	$(PY) -m bench.bench_overdue
	$(PY) -m bench.bench_pdf

bench-crypto: install
	$(PY) -m bench.bench_crypto

package: install
	$(PY) -m infra.package --stage $(STAGE)

deploy: install
	$(PY) -m infra.deploy --stage $(STAGE)

create-admin: install
	$(PY) -m devstack.admin_cli create-admin --email "$(EMAIL)" --name "$(NAME)" --mobile "$(MOBILE)"

outbox: install
	$(PY) -m devstack.outbox

clean:
	rm -rf build vendor site .pytest_cache .mypy_cache .ruff_cache

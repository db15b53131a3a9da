# Switchboard: `make run` starts the platform, `make test` proves it. Both install what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV_VERSION := 0.13.8
export UV_CACHE_DIR ?= $(HOME)/.cache/uv
export UV_PYTHON_DOWNLOADS := never
UV := python3 -m uv
PY := .venv/bin/python
PYTEST := .venv/bin/pytest

.PHONY: help setup tools browser provision run test test-unit test-integration test-e2e lint schemas infra-up infra-down bench clean

help:
	@echo "make run         start Kafka, FerretDB and the five services in the foreground (Ctrl-C stops)"
	@echo "make test        install everything and run unit, integration and end-to-end tests"
	@echo "make test-unit   the fast tier, no servers"
	@echo "make lint        ruff and mypy"
	@echo "make schemas     regenerate libs/events/schemas/ from the catalogue"
	@echo "make bench       benchmarks with their raw-client baselines -> bench/results/latest.json"
	@echo "make infra-up / infra-down   local Kafka and FerretDB only"

# System tools: Java + Maven (Kafka's jars), Go (FerretDB). Installed from Debian only when missing.
tools:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing default-jdk-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v go >/dev/null || missing="$$missing golang-go"; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq && apt-get install -y -qq $$missing) || { echo "could not install$$missing" >&2; exit 1; }; fi
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Headless Chromium for the supervisor page's browser test; only the test targets need it, not `make run`.
browser:
	@command -v chromium >/dev/null || { echo "installing: chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || { echo "could not install chromium" >&2; exit 1; }; }

setup: tools
	@$(UV) sync --frozen --quiet

provision: setup
	@$(PY) deploy/local/infra.py provision

run: provision
	@$(PY) deploy/local/run.py

test: provision browser
	@$(PYTEST) -q

test-unit: setup
	@$(PYTEST) -q -m unit

test-integration: provision
	@$(PYTEST) -q -m integration

test-e2e: provision browser
	@$(PYTEST) -q -m e2e

lint: setup
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen mypy  # what it checks: [tool.mypy] files in pyproject.toml

schemas: setup
	@$(PY) -m switchboard.events.schemas

infra-up: provision
	@$(PY) deploy/local/infra.py up

infra-down:
	@python3 deploy/local/infra.py down

bench: provision
	@$(PY) bench/run.py
	@$(PY) bench/routing.py
	@$(PY) bench/sla.py
	@$(PY) bench/reporting_worklist.py
	@$(PY) bench/reporting.py

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache

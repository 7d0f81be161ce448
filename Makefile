# Every target does its own set-up: `make test` and `make demo` work on a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The generator's post-hooks call `ruff`: put the pinned one first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
DEPS := $(VENV)/.deps-installed
STAMP := $(VENV)/.installed

GENERATOR := $(BIN)/openapi-python-client generate --path openapi.yaml \
	--config generator-config.yml --meta none --fail-on-warning
HANDWRITTEN := auth_hooks local_exchange kalshi_amend tests bench tools

.PHONY: setup generate check-generated lint format typecheck pytest test demo bench clean

setup: $(STAMP)

# Re-installs only when the pins change; otherwise `make setup` is a no-op.
$(DEPS): requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The project itself, editable, for the kalshi-amend command and imports from anywhere.
# PYTHONWARNINGS silences setuptools' editable-install banner, which is noise here.
$(STAMP): $(DEPS) pyproject.toml
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

generate: $(DEPS)
	rm -rf generated/kalshi_trade_api
	mkdir -p generated
	$(GENERATOR) --output-path generated/kalshi_trade_api
	touch generated/kalshi_trade_api/py.typed

# Regenerate into a temporary directory and fail on any difference from the committed copy.
check-generated: $(DEPS)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GENERATOR) --output-path "$$tmp/kalshi_trade_api" >/dev/null && \
	touch "$$tmp/kalshi_trade_api/py.typed" && \
	diff -r --exclude=__pycache__ "$$tmp/kalshi_trade_api" generated/kalshi_trade_api \
		|| { echo "generated/ differs from openapi.yaml: run 'make generate' and commit" >&2; exit 1; }
	@echo "generated/ matches a fresh generation"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)
	$(BIN)/mypy generated/kalshi_trade_api $(HANDWRITTEN)

pytest: $(STAMP)
	$(BIN)/python -m pytest

# The demo is part of the test: it must keep working on a fresh clone. check-regen proves
# an additive spec change needs no hand edit.
test: check-generated lint typecheck pytest check-regen demo

demo: $(STAMP)
	$(BIN)/python -m kalshi_amend.demo

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .bench

# Our operations against a Kalshi-published OpenAPI document (JSON or YAML, whole or an
# excerpt); deliberate differences are listed with their reasons in spec-deviations.yaml.
.PHONY: spec-diff
spec-diff: $(DEPS)
	@test -n "$(UPSTREAM)" || { echo "usage: make spec-diff UPSTREAM=FILE" >&2; exit 2; }
	$(BIN)/python -m tools.spec_diff "$(UPSTREAM)"

# An additive spec change needs no hand edit: in a copy of the repo, add a request field,
# response fields, an enum value and an operation to openapi.yaml, regenerate, run
# REGEN_TESTS there, build a wheel, and use each addition from the library and the CLI.
# The tests that an additive change could break and that fit CI's time (~20 s of the ~35 s).
REGEN_TESTS ?= tests/spec tests/generated tests/cli tests/exchange/test_validation.py \
	tests/exchange/test_server_get_order.py tests/exchange/test_generated_client.py \
	tests/outcomes/test_amend_api.py tests/outcomes/test_call.py tests/outcomes/test_resolve.py
.PHONY: check-regen
check-regen: $(STAMP)
	$(BIN)/python -m tools.check_regen --tests "$(REGEN_TESTS)"

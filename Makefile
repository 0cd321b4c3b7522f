# The two commands a newcomer needs: `make run` (the demo) and `make test` (the whole suite).
# Both create the virtual environment in .venv when it is missing and install from uv.lock.
.DEFAULT_GOAL := run
.PHONY: run test install lock

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PROJECT_ENVIRONMENT := $(VENV)
export DO_NOT_TRACK := true

$(BIN)/uv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Re-sync only when the dependencies changed; --inexact keeps pip and uv in the venv.
$(VENV)/.synced: pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync --frozen --extra dev --inexact --quiet
	@touch $@

install: $(VENV)/.synced

## make run: install, migrate, load the demo data, serve on http://127.0.0.1:8000
run: install
	$(BIN)/omnifin db upgrade
	$(BIN)/omnifin seed demo
	$(BIN)/omnifin serve

## make test: install, then lint (ruff), type-check (mypy strict) and the test suite (pytest)
test: install
	$(BIN)/uv lock --check --quiet
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

# For maintainers after editing dependencies in pyproject.toml (not one of the two commands).
lock: $(BIN)/uv
	$(BIN)/uv lock
	$(BIN)/uv export --frozen --extra dev --no-emit-project --no-hashes --quiet -o requirements.lock

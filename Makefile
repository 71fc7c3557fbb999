# make venv | book | test | bench | clean.  Every recipe line runs with bash -eo pipefail,
# so a failing step stops make with a nonzero status.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider -rs

# One torch thread: two spin-waiting threads slow 5-50x when anything else holds a core.
export THEORY_THREADS ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Widget JS for the static pages, from the npm registry; checked against these digests.
# Too large for git (embed-amd.js is 4.4 MB, its fonts 2.6 MB), so vendor/ is gitignored.
NPM_DIR := vendor/npm
WIDGETS := vendor/html/_vendor/widgets
WIDGETS_STAMP := vendor/.widgets-fetched
HTML_MANAGER_TGZ := jupyter-widgets-html-manager-1.0.6.tgz
REQUIREJS_TGZ := requirejs-2.3.4.tgz
define NPM_SHA256
6c198ceb99ba7e7526990a1de16e8147ad7d3a714e3fb06741183623c04b5f6e  $(HTML_MANAGER_TGZ)
583693b373f6ab0528ea6644fab5cdb5822011c9b5b1ff1615590d5f2f473dcd  $(REQUIREJS_TGZ)
endef
export NPM_SHA256

.PHONY: venv vendor book test test-unit test-notebooks test-browser bench clean distclean

venv: $(STAMP)

# Reinstalls only when requirements.txt or pyproject.toml change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

vendor: $(WIDGETS_STAMP)

$(WIDGETS_STAMP): Makefile
	@command -v npm >/dev/null || { echo "npm is needed to fetch the widget JS" >&2; exit 1; }
	rm -rf $(NPM_DIR) $(WIDGETS) && mkdir -p $(NPM_DIR) $(WIDGETS)
	cd $(NPM_DIR) && npm pack --silent @jupyter-widgets/html-manager@1.0.6 requirejs@2.3.4 >/dev/null
	cd $(NPM_DIR) && sha256sum --quiet -c <<< "$$NPM_SHA256"
	mkdir -p $(NPM_DIR)/html-manager $(NPM_DIR)/requirejs
	tar -xzf $(NPM_DIR)/$(HTML_MANAGER_TGZ) -C $(NPM_DIR)/html-manager --strip-components=1
	tar -xzf $(NPM_DIR)/$(REQUIREJS_TGZ) -C $(NPM_DIR)/requirejs --strip-components=1
	cp $(NPM_DIR)/requirejs/require.js $(WIDGETS)/
	cp $(NPM_DIR)/html-manager/dist/embed-amd.js $(NPM_DIR)/html-manager/LICENSE $(WIDGETS)/
	cp $(NPM_DIR)/html-manager/dist/*.{woff2,woff,ttf,eot,svg} $(WIDGETS)/
	touch $@

# The execution cache hashes only the notebooks' code cells; rebuild from scratch when what
# else shapes their outputs changes: the package, the pins, the scale, the commit.
# The commit is part of the key too: the Reproduction ledger reports measurements of this
# commit only, so a new commit re-executes every notebook.
BUILD_KEY = $$(cat requirements.txt $$(find theory -name '*.py' | sort) | sha256sum | cut -c1-16) \
	scale=$${THEORY_SCALE:-laptop} commit=$$(git rev-parse HEAD 2>/dev/null || echo none)

book: venv vendor
	@key="$(BUILD_KEY)"; if [ -d _build ] && [ "$$(cat _build/.key 2>/dev/null)" != "$$key" ]; then \
		echo "theory/, requirements.txt or THEORY_SCALE changed: removing _build"; rm -rf _build; fi; \
	mkdir -p _build && echo "$$key" > _build/.key
	$(BIN)/jupyter-book build -W -n --keep-going .

test: test-unit test-notebooks book test-browser

test-unit: venv
	$(PYTEST) tests --ignore=tests/browser

test-notebooks: venv
	$(PYTEST) --nbval-lax --nbval-current-env book/

test-browser: book
	$(PYTEST) tests/browser

bench: venv
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf _build vendor .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

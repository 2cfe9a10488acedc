# Two commands for a fresh machine (python3, gcc, node/npm present):
#   make run   - set everything up and run a node with an embedded L1 (anvil)
#   make test  - set everything up and run the test matrix through tox and trial
# Everything is installed inside the checkout: .venv/ (Python) and .tools/ (npm tools).
# Both are idempotent: a second call only redoes what changed.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
TOOLS := .tools
BIN := $(VENV)/bin
# tox needs python3.12 and python3.13 on PATH; on this kind of machine they live in pyenv.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
EXTRA_PYTHONS := $(subst $(eval) ,:,$(wildcard $(PYENV_ROOT)/versions/3.12*/bin $(PYENV_ROOT)/versions/3.13*/bin))
export PATH := $(CURDIR)/$(BIN):$(CURDIR)/$(TOOLS)/node_modules/.bin:$(PATH):$(EXTRA_PYTHONS)
export ZKOS_TOOLS_DIR := $(CURDIR)/$(TOOLS)

PACKAGE_SOURCES := setup.py setup.cfg pyproject.toml $(wildcard ext/*.pyx ext/*.h) \
	$(shell find zkos_tw twisted -name '*.py' 2>/dev/null)

.PHONY: run test tools venv install lint bench bench-load conformance clean debs

# anvil starts from zkos-l1-state.json (our L1 contracts, chain 270 registered, a 10,000 ETH
# deposit to the rich account); the node runs genesis.json and takes the deposit in block 1.
run: install tools
	$(BIN)/twistd --pidfile= -n zkos --dev

TEST_LOG := .tox/make-test.log
TEST_ENVS := lint,py311-cext,py311-pure,py312-cext,py313-cext

# One env after another (each runs trial with 2 workers); the last line adds up every env's count.
test: venv tools debs
	@mkdir -p .tox
	@set -o pipefail; $(BIN)/tox run -e $(TEST_ENVS) 2>&1 | tee $(TEST_LOG); status=$$?; \
		$(BIN)/python tools/test_summary.py $(TEST_LOG); exit $$status

conformance: venv tools
	$(BIN)/tox run -e conformance

bench: venv tools
	$(BIN)/tox run -e bench

# Our node and anvil (--block-time 0.1) under the same transfer load, one after the other (JSON).
bench-load: venv tools
	$(BIN)/tox run -e bench-load

# Debian packages the integration tests drive: prometheus (tests/integration/test_prometheus.py
# skips with a message when it could not be installed, e.g. without root).
debs:
	@command -v prometheus >/dev/null || test -x /usr/bin/prometheus || \
		{ SUDO=$$(test "$$(id -u)" = 0 || echo sudo -n); \
		  $$SUDO apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 || \
		  { $$SUDO apt-get update >/dev/null 2>&1 && \
		    $$SUDO apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1; } || \
		  echo "warning: could not install Debian's prometheus; its integration test will skip"; }

lint: venv
	$(BIN)/tox run -e lint

venv: $(VENV)/.venv-stamp
install: $(VENV)/.install-stamp
tools: $(TOOLS)/.tools-stamp

# The virtualenv with the build and test tools.
$(VENV)/.venv-stamp: Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "tox>=4.11" "cython>=3.0,<4" "setuptools>=68" wheel
	touch $@

# The package itself, installed for real (not editable) so the twistd plugin and the compiled
# extensions are where twistd and Python look for them.
$(VENV)/.install-stamp: $(VENV)/.venv-stamp $(PACKAGE_SOURCES)
	ZKOS_REQUIRE_EXTENSIONS=1 $(BIN)/python -m pip install --quiet --disable-pip-version-check ".[test]"
	touch $@

# anvil, cast and solcjs from npm, pinned to exact versions in tools/package.json (the lock file
# holds only this platform's optional binaries, so `npm ci` would refuse it elsewhere).
$(TOOLS)/.tools-stamp: tools/package.json tools/package-lock.json
	mkdir -p $(TOOLS)
	cp tools/package.json tools/package-lock.json $(TOOLS)/
	cd $(TOOLS) && npm install --no-audit --no-fund --loglevel=error
	$(TOOLS)/node_modules/.bin/anvil --version | head -1
	touch $@

clean:
	rm -rf $(VENV) $(TOOLS) .tox build *.egg-info zkos_tw/_ext/*.so

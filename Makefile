# Each target sets up what it needs: a .venv with the package and its test extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Real backends for the end-to-end tests (rotel, Phoenix), in an environment of their own.
BACKENDS := .venv-backends
BACKENDS_STAMP := $(BACKENDS)/.installed-stamp
BACKENDS_REQUIREMENTS := tests/backend_tests/backends-requirements.txt
LINTED := src tests examples benchmarks
# `make demo` needs only the package, the openai SDK and the command line: an environment of its own, not the tests'.
DEMO_VENV := .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit benchmark reliability screenshot clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

$(BACKENDS_STAMP): $(BACKENDS_REQUIREMENTS)
	$(PYTHON) -m venv $(BACKENDS)
	$(BACKENDS)/bin/python -m pip install --quiet --disable-pip-version-check -r $(BACKENDS_REQUIREMENTS)
	@touch $(BACKENDS_STAMP)

$(DEMO_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed")'
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[demo]'
	@touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python examples/demo/run_demo.py

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(BACKENDS_STAMP)
	$(BIN)/pytest

benchmark: $(STAMP)
	$(BIN)/python benchmarks/overhead.py

# Regenerate docs/agent-trace-phoenix.png: the demo's trace in Phoenix, shot with headless Chromium.
screenshot: $(STAMP) $(BACKENDS_STAMP)
	$(BIN)/python -m tests.backend_tests.screenshot docs/agent-trace-phoenix.png

clean:
	rm -rf $(VENV) $(BACKENDS) $(DEMO_VENV) .mypy_cache .ruff_cache demo-run.jsonl

# The long reliability profile: 10,000 fuzz examples per test (with counts), then the collector-fault figures.
reliability: $(STAMP)
	$(BIN)/pytest tests/reliability -p no:cacheprovider --hypothesis-profile=long --hypothesis-show-statistics -q
	$(BIN)/python benchmarks/collector_faults.py

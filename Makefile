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

# The real OpenTelemetry Collector (collector-build/manifest.yaml) and Jaeger v2, built from source with Go into a
# cache outside the work tree (see collector-build/build.sh); a second run reuses them.
ENGINES_SCRIPT := collector-build/build.sh
# Older supported SDK majors (newest release of each): the LLM suites run against each in an environment of its own,
# which holds only that SDK and reads everything else from $(VENV) (a .pth file adds its site-packages after its own).
SDK_MAJORS := openai-2 anthropic-1 anthropic-0
SDK_SPEC_openai-2 := openai>=2,<3
SDK_SPEC_anthropic-1 := anthropic>=1,<2
SDK_SPEC_anthropic-0 := anthropic>=0.120,<1
LLM_TESTS := tests/test_llm_conformance.py tests/test_langchain_models.py tests/test_supported_versions.py \
	tests/test_rate_limits_and_cost.py

.PHONY: demo test lint typecheck unit engines sdk-majors benchmark reliability screenshot screenshot-jaeger gateway-sizing clean

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

test: lint typecheck unit sdk-majors

lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(BACKENDS_STAMP) engines
	AGENTPERF_ENGINES="$$(bash $(ENGINES_SCRIPT) --dir)" $(BIN)/pytest

engines:
	bash $(ENGINES_SCRIPT)

sdk-majors: $(foreach major,$(SDK_MAJORS),.venv-sdk/$(major)/.installed-stamp)
	@for major in $(SDK_MAJORS); do \
		.venv-sdk/$$major/bin/python -c "from importlib.metadata import version as v; \
			print('LLM tests with openai', v('openai'), 'and anthropic', v('anthropic'))"; \
		.venv-sdk/$$major/bin/python -m pytest -q tests/$${major%-*}_tests $(LLM_TESTS) || exit 1; \
	done

.venv-sdk/%/.installed-stamp: $(STAMP)
	rm -rf .venv-sdk/$*
	$(PYTHON) -m venv .venv-sdk/$*
	echo "import site; site.addsitedir('$(abspath $(VENV))/$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib", vars={"base": ""}).lstrip("/"))')')" \
		> "$$(.venv-sdk/$*/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/zz_test_env.pth"
	.venv-sdk/$*/bin/python -m pip install --quiet --disable-pip-version-check '$(SDK_SPEC_$*)'
	@touch $@

benchmark: $(STAMP)
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/provider_overhead.py

# Regenerate docs/agent-trace-phoenix.png: the demo's trace in Phoenix, shot with headless Chromium.
screenshot: $(STAMP) $(BACKENDS_STAMP)
	$(BIN)/python -m tests.backend_tests.screenshot docs/agent-trace-phoenix.png

# Regenerate docs/agent-trace-jaeger.png: the demo's trace in Jaeger's UI (agent collector, local collector, Jaeger).
# Jaeger's Go module has no UI: JAEGER_UI names a built jaeger-ui (v1.74.0, packages/jaeger-ui/build); needs chromium.
screenshot-jaeger: $(STAMP) engines
	JAEGER_UI="$(JAEGER_UI)" AGENTPERF_ENGINES="$$(bash $(ENGINES_SCRIPT) --dir)" $(BIN)/python -m tests.backend_tests.screenshot_jaeger docs/agent-trace-jaeger.png

# Measure one gateway replica with tail sampling on (bounded load on loopback); figures for collector-config/README.md.
gateway-sizing: $(STAMP) engines
	AGENTPERF_ENGINES="$$(bash $(ENGINES_SCRIPT) --dir)" $(BIN)/python -m tests.backend_tests.gateway_sizing

clean:
	rm -rf $(VENV) $(BACKENDS) $(DEMO_VENV) .venv-sdk .mypy_cache .ruff_cache demo-run.jsonl

# The long reliability profile: 10,000 fuzz examples per test (with counts), then the collector-fault figures.
reliability: $(STAMP)
	$(BIN)/pytest tests/reliability -p no:cacheprovider --hypothesis-profile=long --hypothesis-show-statistics -q
	$(BIN)/python benchmarks/collector_faults.py

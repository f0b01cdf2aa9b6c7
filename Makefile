# The two commands of the README: `make run` and `make test`. Each sets everything up on a fresh clone
# (virtual environment, packages, embedding model, index) and does no needless work when run again.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test install model index browser gate lint clean

run: index
	$(PY) app.py

test: index browser
	$(PY) -m ruff check .
	$(PY) -m pytest
	$(MAKE) --no-print-directory gate

# The quality gate: the dev set in the fast (no-LLM) mode against the floors of evals/thresholds.yaml, and the
# tutor's grading against the hand-graded answers of evals/datasets/tutor.jsonl.
gate: index
	$(PY) -m evals run --dataset evals/datasets/dev.jsonl --out data/evals/dev-gate --gate evals/thresholds.yaml
	$(PY) -m evals tutor --out data/evals/tutor-gate --min-agreement 0.85 --min-held-out 0.80

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "warning: /usr/bin/chromium missing and not root: browser tests will be skipped (apt-get install chromium)"

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

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf data .pytest_cache .ruff_cache

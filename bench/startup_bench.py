"""Start-up benchmark: ``python app.py`` to the first 200 on ``/ready``, against the embedding model's own load.

    .venv/bin/python bench/startup_bench.py [--runs 3] [--data-dir DIR] [--out bench/results/startup.json]

Measures, alternately and ``--runs`` times each, in fresh processes timed from before the interpreter starts:
- **model**: ``python -c`` that imports ``bot.indexing.embeddings``, loads the model
  (``load_embeddings(Settings()).ensure_loaded()``) and embeds one query, until it prints;
- **app**: a real ``python app.py`` on a free 127.0.0.1 port over an existing index (``make index`` builds it),
  until ``/ready`` first answers 200 (``common.running_app``).
The machine is shared and absolute times move a lot, so the figure that matters is the ratio of the medians
(app / model): how much start-up costs beyond the one thing it cannot avoid, loading the model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import RESULTS, ROOT, machine, running_app

OFFLINE = {"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "GRADIO_ANALYTICS_ENABLED": "False"}
MODEL_ONLY = """
from bot.config import Settings
from bot.indexing.embeddings import load_embeddings
embeddings = load_embeddings(Settings())
embeddings.ensure_loaded()
embeddings.embed_query_vector("bonjour")
print("loaded", flush=True)
"""


def model_load_s() -> float:
    """Seconds from before ``python`` starts to the model having embedded one query, in a fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", MODEL_ONLY],
        cwd=ROOT,
        env={**os.environ, **OFFLINE},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = process.stdout.readline() if process.stdout else ""
    seconds = time.perf_counter() - started
    process.wait(timeout=60)
    if line.strip() != "loaded":
        sys.exit(f"the model-load process failed (exit {process.returncode})")
    return round(seconds, 2)


def app_ready_s(data_dir: Path) -> float:
    os.environ.update(OFFLINE)  # app.py sets them too; here so that both measurements run alike
    with running_app(data_dir) as app:
        return app.cold_start_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measurements of each, alternating (default 3)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--out", type=Path, default=RESULTS / "startup.json")
    args = parser.parse_args()
    model, app = [], []
    for run in range(1, args.runs + 1):
        model.append(model_load_s())
        app.append(app_ready_s(args.data_dir))
        print(f"run {run}: model {model[-1]} s, app to /ready {app[-1]} s", flush=True)
    model_s, app_s = statistics.median(model), statistics.median(app)
    result = {
        **machine(),
        "runs": args.runs,
        "model_load_s": model,
        "app_ready_s": app,
        "model_load_median_s": round(model_s, 2),
        "app_ready_median_s": round(app_s, 2),
        "ratio": round(app_s / model_s, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\n{result['machine']}, load averages {result['load_average_1_5_15']}\n")
    print("| measure | median (s) | runs (s) |\n|---|---|---|")
    print(f"| model load (fresh process) | {result['model_load_median_s']} | {model} |")
    print(f"| app to first 200 on /ready | {result['app_ready_median_s']} | {app} |")
    print(f"\nratio app / model: {result['ratio']}")


if __name__ == "__main__":
    main()

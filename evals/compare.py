"""Two runs side by side: metric deltas, and the items that flipped (fixed or broken)."""

from __future__ import annotations

from pathlib import Path

from evals.metrics import SUMMARY_KEYS
from evals.runner import load_run

LOWER_IS_BETTER = {"latency_p50_ms", "latency_p95_ms", "faq_wrong_rate"}


def compare_runs(a: Path, b: Path) -> tuple[list[dict], list[tuple[dict, dict]], list[tuple[dict, dict]]]:
    summary_a, rows_a = load_run(a)
    summary_b, rows_b = load_run(b)
    deltas = []
    for metric in SUMMARY_KEYS:
        a_value, b_value = summary_a.get(metric), summary_b.get(metric)  # older runs lack newer metrics
        # A metric one of the runs had nothing to measure with has no delta (None).
        delta = None if a_value is None or b_value is None else round(b_value - a_value, 4)
        better = delta is not None and (delta < 0 if metric in LOWER_IS_BETTER else delta > 0)
        tone = "" if not delta or metric == "n" else ("good" if better else "bad")
        deltas.append({"metric": metric, "a": a_value, "b": b_value, "delta": delta, "tone": tone})
    by_id = {row["id"]: row for row in rows_a}
    pairs = [(by_id[row["id"]], row) for row in rows_b if row["id"] in by_id]
    fixed = [(x, y) for x, y in pairs if not x["correct"] and y["correct"]]
    broken = [(x, y) for x, y in pairs if x["correct"] and not y["correct"]]
    return deltas, fixed, broken

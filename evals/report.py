"""Self-contained HTML pages for staff: one per run, one per comparison.

Charts are drawn with matplotlib as inline SVG, so a page is one file that opens anywhere, offline. Figures go
through ``evals.metrics.shown``: "—" where nothing was measured (no bar in the charts), and latencies of items
the guard declined before retrieval say so.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from jinja2 import Environment

from evals.metrics import SUMMARY_KEYS, shown

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_STYLE = """
body {font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222;}
h1 {font-size: 1.5em;} h2 {margin-top: 1.6em; font-size: 1.2em;}
.cards {display: flex; flex-wrap: wrap; gap: 10px;}
.card {border: 1px solid #ccd; border-radius: 8px; padding: 8px 14px; min-width: 120px;}
.card .v {font-size: 1.5em; font-weight: 600;} .card .k {font-size: 0.85em; color: #555;}
table {border-collapse: collapse; width: 100%; font-size: 0.9em;}
th, td {border: 1px solid #dde; padding: 4px 8px; text-align: left; vertical-align: top;}
th {background: #f3f4f8;} .num {text-align: right;} .bad {color: #b00020;} .good {color: #0a7a2f;}
.small {font-size: 0.85em; color: #555;} svg {max-width: 100%; height: auto;}
"""


def _svg(figure: plt.Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def category_chart(summary: dict) -> str:
    categories = list(summary["by_category"])
    metrics = ["hit@5", "answer_accuracy", "fact_recall"]
    figure, axis = plt.subplots(figsize=(10, 3.6))
    width = 0.8 / len(metrics)
    for offset, metric in enumerate(metrics):
        values = [summary["by_category"][c][metric] for c in categories]
        values = [math.nan if v is None else v for v in values]  # nothing measured: no bar
        axis.bar([i + offset * width for i in range(len(categories))], values, width, label=metric)
    axis.set_xticks([i + width for i in range(len(categories))], categories, rotation=20, ha="right")
    axis.set_ylim(0, 1.05)
    axis.legend(ncols=3, loc="lower right")
    axis.set_title("Per category")
    return _svg(figure)


def latency_chart(rows: Sequence[dict]) -> str:
    figure, axis = plt.subplots(figsize=(6, 3))
    axis.hist([r["latency_ms"] for r in rows], bins=30, color="#4a6fa5")
    axis.set_xlabel("server-side latency (ms)")
    axis.set_ylabel("items")
    axis.set_title("Latency")
    return _svg(figure)


def confusion(rows: Sequence[dict]) -> dict[str, int]:
    return {
        "refused_should": sum(r["refused"] and r["should_refuse"] for r in rows),
        "answered_should": sum(not r["refused"] and r["should_refuse"] for r in rows),
        "refused_shouldnt": sum(r["refused"] and not r["should_refuse"] for r in rows),
        "answered_shouldnt": sum(not r["refused"] and not r["should_refuse"] for r in rows),
    }


RUN_TEMPLATE = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evaluation report — {{ summary.dataset }}</title>
<style>{{ style }}</style></head><body>
<h1>Evaluation report</h1>
<p class="small">dataset <code>{{ summary.dataset }}</code> · collection <code>{{ summary.collection }}</code> ·
embeddings <code>{{ summary.embedding_model }}</code> · {{ summary.n }} items · metrics without an LLM judge</p>
<div class="cards">
{% for key in keys %}<div class="card"><div class="v">{{ shown(summary, key) }}</div><div class="k">{{ key }}</div>
</div>{% endfor %}</div>
<p class="small">— : nothing to measure in this group (e.g. hit@1 where no item expects a source); it is left
out, neither a success nor a failure.</p>
{% for note in notes %}<p class="bad">{{ note }}</p>{% endfor %}
{% if summary.judged_tier %}<h2>Judged tier (LLM judge: {{ summary.judged_tier.judge_model }})</h2>
<p class="small">Scored by a language model, not by the judge-free metrics above: read as an estimate.</p>
<div class="cards"><div class="card"><div class="v">{{ summary.judged_tier.faithfulness }}</div>
<div class="k">faithfulness ({{ summary.judged_tier.n_judged }} answers)</div></div></div>{% endif %}
<h2>Per category</h2>{{ category_svg | safe }}<div style="overflow-x:auto">
<table><tr><th>category</th>{% for key in keys %}<th>{{ key }}</th>{% endfor %}</tr>
{% for name, group in summary.by_category.items() %}<tr><td>{{ name }}</td>
{% for key in keys %}<td class="num">{{ shown(group, key) }}</td>{% endfor %}</tr>{% endfor %}
{% for name, group in summary.by_lang.items() %}<tr><td>lang: {{ name }}</td>
{% for key in keys %}<td class="num">{{ shown(group, key) }}</td>{% endfor %}</tr>{% endfor %}</table></div>
<h2>Latency</h2>{{ latency_svg | safe }}
<h2>Refusals</h2>
<table style="width:auto"><tr><th></th><th>refused</th><th>answered</th></tr>
<tr><th>should refuse</th><td class="num good">{{ matrix.refused_should }}</td>
<td class="num bad">{{ matrix.answered_should }}</td></tr>
<tr><th>should answer</th><td class="num bad">{{ matrix.refused_shouldnt }}</td>
<td class="num good">{{ matrix.answered_shouldnt }}</td></tr></table>
<h2 id="failures">Failing items ({{ failures | length }})</h2>
<table><tr><th>item</th><th>question</th><th>expected</th><th>what came back</th></tr>
{% for r in failures %}<tr><td>{{ r.id }}<br><span class="small">{{ r.category }} · {{ r.lang }}</span></td>
<td>{% for t in r.history %}<span class="small">{{ t.role }}: {{ t.content }}</span><br>{% endfor %}
{{ r.question }}</td>
<td>{% if r.should_refuse %}a refusal{% else %}facts: {{ r.expected_facts }}<br>
<span class="small">sources: {{ r.expected_sources | join(", ") }}</span>{% endif %}</td>
<td><strong>{{ r.mode }}</strong>{% if r.facts_missing %} · <span class="bad">missing {{ r.facts_missing }}</span>
{% endif %}{% if r.answered_in and r.lang and r.answered_in != r.lang %} · <span class="bad">answered in
{{ r.answered_in }}</span>{% endif %}<br>{{ r.answer }}<br><span class="small">hit rank: {{ r.hit_rank }} ·
retrieved: {% for s, score in r.retrieved[:5] %}{{ s }} ({{ score }}){% if not loop.last %}, {% endif %}
{% endfor %}</span></td></tr>
{% endfor %}</table></body></html>
""")


def skipped_notes(summary: dict) -> list[str]:
    """What a run left out because its items need their own knowledge base, and how to run them."""
    return [
        f"{len(ids)} items ({', '.join(ids)}) are written for the knowledge base {kb} and were not run here: "
        f"python -m evals run --dataset {summary['dataset']} --kb {kb} --collection NAME"
        for kb, ids in summary.get("skipped_for_kb", {}).items()
    ]


def write_report(path: Path, summary: dict, rows: Sequence[dict]) -> None:
    html = RUN_TEMPLATE.render(
        style=_STYLE,
        summary=summary,
        keys=SUMMARY_KEYS,
        shown=shown,
        notes=skipped_notes(summary),
        category_svg=category_chart(summary),
        latency_svg=latency_chart(rows),
        matrix=confusion(rows),
        failures=[r for r in rows if not r["correct"]],
    )
    path.write_text(html, encoding="utf-8")


COMPARE_TEMPLATE = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Comparison</title><style>{{ style }}</style></head><body>
<h1>Comparison</h1><p class="small">A = <code>{{ a }}</code> · B = <code>{{ b }}</code></p>
<table style="width:auto"><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th></tr>
{% for d in deltas %}<tr><td>{{ d.metric }}</td><td class="num">{{ shown(d, "a") }}</td>
<td class="num">{{ shown(d, "b") }}</td><td class="num {{ d.tone }}">{{ shown(d, "delta") }}</td></tr>{% endfor %}
</table>
{% for title, items, tone in [("Fixed (wrong in A, right in B)", fixed, "good"),
                              ("Broken (right in A, wrong in B)", broken, "bad")] %}
<h2 class="{{ tone }}">{{ title }}: {{ items | length }}</h2>
<table><tr><th>item</th><th>question</th><th>A</th><th>B</th></tr>
{% for a_row, b_row in items %}<tr><td>{{ b_row.id }}</td><td>{{ b_row.question }}</td>
<td>{{ a_row.mode }}: {{ a_row.answer }}</td><td>{{ b_row.mode }}: {{ b_row.answer }}</td></tr>{% endfor %}
</table>{% endfor %}</body></html>
""")


def write_comparison(path: Path, a: str, b: str, deltas: list[dict], fixed: list, broken: list) -> None:
    path.write_text(
        COMPARE_TEMPLATE.render(style=_STYLE, a=a, b=b, deltas=deltas, fixed=fixed, broken=broken, shown=shown),
        encoding="utf-8",
    )

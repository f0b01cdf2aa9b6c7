"""Metrics without a judge: retrieval ranks, facts in the answer, citations, refusals, grounding, latency.

Per item (``score_item``) then per group (``summarise``). Facts match case-, accent- and
whitespace-insensitively (``bot.text.fold``), in both languages; an item is *correct* when it was refused
if it should be, and otherwise answered (not refused), with every expected fact, in the question's language.

``faq_wrong_rate`` is the share of items given a curated FAQ answer from an entry that is not among their
``expected_sources`` (any FAQ answer to an item that should be declined counts). On the sets that mark them,
``multipart_complete`` is the share of answerable multi-part items answered correctly (every part's fact), and
``premise_confirmed`` counts the answers that begin by agreeing ("Oui", "Yes", "Effectivement") with a premise the
knowledge base contradicts or does not confirm.

A ratio with nothing to count (hit@1 of a group whose items expect no source, refusal precision of a run that
refused nothing) is ``None``, shown as "—": 1.0 would claim a success and 0.0 a failure that nobody measured.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from bot.answering.grounding import lowercase_vocabulary, names, numbers
from bot.language import detect_language
from bot.text import fold
from evals.dataset import EvalItem

# Beyond DESIGN.md's keys: time to the first text a user sees, the share of answers whose numbers and names
# are all in their cited sources, how many answers each mode wrote (an llm run that fell back shows here), how
# many items the guard declined before retrieval, which latency figures are those of such items, and the two
# figures measured on the items that carry what they need (``parts``, ``premise``; ``None`` on a set without any).
ANSWER_KEYS = [
    "first_token_p50_ms",
    "first_token_p95_ms",
    "grounded_share",
    "modes",
    "declined_before_retrieval",
    "declined_latencies",
    "multipart_complete",
    "premise_confirmed",
]
# The reason ``bot.conversation`` gives a message its guard declined: nothing was searched, and the latency
# (a tenth of a millisecond) is that of the screening, not of an answer.
GUARD_REASON = "guard:"
NOTHING_TO_MEASURE = "—"
LATENCY_KEYS = {"latency_p50_ms": 0.50, "latency_p95_ms": 0.95}
SUMMARY_KEYS = [
    "n",
    "hit@1",
    "hit@5",
    "mrr",
    "ndcg@5",
    "fact_recall",
    "answer_accuracy",
    "citation_precision",
    "refusal_precision",
    "refusal_recall",
    "faq_wrong_rate",
    "latency_p50_ms",
    "latency_p95_ms",
]
# An answer that begins by agreeing: what a contradicted or unconfirmed premise must never get.
_CONFIRMS = re.compile(
    r"^\W*(?:oui|yes|yeah|effectivement|exactement|tout a fait|absolument|c'est (?:exact|bien ca|vrai|correct)|"
    r"en effet|correct|exactly|indeed|that's (?:right|correct)|right|true|absolutely)\b"
)


def faq_entry(row: dict) -> str | None:
    """The FAQ entry a curated answer served (its one citation), or ``None`` for any other answer."""
    if row.get("mode") != "faq":
        return None
    return row["citations"][0]["source_id"] if row["citations"] else (row["retrieved"] or [("?", 0)])[0][0]


def wrong_faq(row: dict) -> bool:
    """A curated answer from an entry that does not answer the item (every FAQ answer to an item that should
    be declined is one): the most damaging answer the bot can give, because it looks official."""
    entry = faq_entry(row)
    return entry is not None and (row["should_refuse"] or entry not in row["expected_sources"])


def confirms(answer: str) -> bool:
    return bool(_CONFIRMS.match(fold(answer)))


def fact_found(fact: str | list[str], answer: str) -> bool:
    folded = fold(answer)
    return any(fold(option) in folded for option in (fact if isinstance(fact, list) else [fact]))


def hit_rank(retrieved: Sequence[str], expected: Iterable[str]) -> int | None:
    wanted = set(expected)
    return next((rank for rank, source in enumerate(retrieved, start=1) if source in wanted), None)


def ndcg(retrieved: Sequence[str], expected: Iterable[str], k: int = 5) -> float:
    wanted = set(expected)
    gains = [1.0 if source in wanted else 0.0 for source in retrieved[:k]]
    dcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(wanted), k)))
    return dcg / ideal if ideal else 0.0


def grounded(answer: str, cited_texts: Sequence[str], vocabulary: frozenset[str]) -> bool:
    """Every number and proper name of the answer occurs in the sources it cites (the ``llm`` mode's promise,
    measured here independently of its guardrail, on whole sources rather than the passages it was given)."""
    folded = fold(" ".join(cited_texts))
    known = set().union(*(numbers(t) for t in cited_texts)) if cited_texts else set()
    return numbers(answer) <= known and all(fold(name) in folded for name in names(answer, vocabulary))


def score_item(
    item: EvalItem, result: dict, source_texts: dict[str, str], vocabulary: frozenset[str] | None = None
) -> dict:
    """Add the item's scores to its result row (the row already holds answer, citations, retrieved...)."""
    answer, refused = result["answer"], result["refused"]
    if vocabulary is None:
        vocabulary = lowercase_vocabulary(source_texts.values())
    retrieved = [source for source, _ in result["retrieved"]]
    found = [f for f in item.expected_facts if fact_found(f, answer)] if not refused else []
    missing = [f for f in item.expected_facts if f not in found]
    supported = [
        c
        for c in result["citations"]
        if c["source_id"] in item.expected_sources
        or any(fact_found(f, source_texts.get(c["source_id"], "")) for f in item.expected_facts)
    ]
    answered_in = detect_language(answer, default=item.lang or "fr") if answer else None
    if item.should_refuse:
        correct = refused
    else:
        correct = not refused and not missing and (item.lang is None or answered_in == item.lang)
    rank = hit_rank(retrieved, item.expected_sources)
    cited_texts = [source_texts.get(c["source_id"], "") for c in result["citations"]]
    return {
        **result,
        "hit_rank": rank,
        "ndcg@5": ndcg(retrieved, item.expected_sources),
        "grounded": refused or grounded(answer, cited_texts, vocabulary),
        "facts_found": found,
        "facts_missing": missing,
        "answered_in": answered_in,
        "citations_supported": len(supported),
        "correct": correct,
    }


def declined_before_retrieval(row: dict) -> bool:
    return str(row.get("reason", "")).startswith(GUARD_REASON)


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _declined_at(rows: Sequence[dict], q: float) -> bool:
    """Whether the ``q`` latency percentile is made of items declined before retrieval only."""
    ordered = sorted(rows, key=lambda r: r["latency_ms"])
    position = (len(ordered) - 1) * q
    return bool(ordered) and all(
        declined_before_retrieval(ordered[i]) for i in {math.floor(position), math.ceil(position)}
    )


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def summarise(rows: Sequence[dict]) -> dict:
    """The DESIGN.md keys for a group of scored rows; a ratio with nothing to count is ``None``."""
    answerable = [r for r in rows if not r["should_refuse"]]
    with_sources = [r for r in answerable if r["expected_sources"]]
    with_facts = [r for r in answerable if r["expected_facts"]]
    cited = [c for r in answerable for c in r["citations"]]
    refused = [r for r in rows if r["refused"]]
    true_refusals = [r for r in refused if r["should_refuse"]]
    should = [r for r in rows if r["should_refuse"]]
    latencies = [r["latency_ms"] for r in rows]
    first_tokens = [r.get("first_token_ms", r["latency_ms"]) for r in rows]
    answered = [r for r in rows if not r["refused"]]
    multipart = [r for r in answerable if r.get("parts", 1) > 1]
    premises = [r for r in rows if r.get("premise") in ("contradicted", "unconfirmed")]
    return {
        "n": len(rows),
        "hit@1": _ratio(sum(r["hit_rank"] == 1 for r in with_sources), len(with_sources)),
        "hit@5": _ratio(sum(r["hit_rank"] is not None and r["hit_rank"] <= 5 for r in with_sources), len(with_sources)),
        "mrr": _ratio(sum(1 / r["hit_rank"] for r in with_sources if r["hit_rank"]), len(with_sources)),
        "ndcg@5": _ratio(sum(r["ndcg@5"] for r in with_sources), len(with_sources)),
        "fact_recall": _ratio(
            sum(len(r["facts_found"]) for r in with_facts), sum(len(r["expected_facts"]) for r in with_facts)
        ),
        "answer_accuracy": _ratio(sum(r["correct"] for r in rows), len(rows)),
        "citation_precision": _ratio(sum(r["citations_supported"] for r in answerable), len(cited)),
        "refusal_precision": _ratio(len(true_refusals), len(refused)),
        "refusal_recall": _ratio(len(true_refusals), len(should)),
        "faq_wrong_rate": _ratio(sum(wrong_faq(r) for r in rows), len(rows)),
        "multipart_complete": _ratio(sum(r["correct"] for r in multipart), len(multipart)),
        "premise_confirmed": sum(confirms(r["answer"]) for r in premises) if premises else None,
        "latency_p50_ms": round(_percentile(latencies, 0.50), 1),
        "latency_p95_ms": round(_percentile(latencies, 0.95), 1),
        "first_token_p50_ms": round(_percentile(first_tokens, 0.50), 1),
        "first_token_p95_ms": round(_percentile(first_tokens, 0.95), 1),
        "grounded_share": _ratio(sum(r.get("grounded", True) for r in answered), len(answered)),
        "modes": dict(sorted(Counter(r["mode"] for r in rows if "mode" in r).items())),
        "declined_before_retrieval": sum(declined_before_retrieval(r) for r in rows),
        "declined_latencies": [key for key, q in LATENCY_KEYS.items() if _declined_at(rows, q)],
    }


def shown(values: dict, key: str) -> str:
    """A summary figure as staff read it: "—" when there was nothing to measure, and a latency that is the guard's
    screening labelled as such (0.1 ms is not how fast the bot answers)."""
    value = values.get(key)  # a summary written before the metric existed has nothing for it
    if value is None:
        return NOTHING_TO_MEASURE
    if key in values.get("declined_latencies", ()):
        return f"{value} (declined before retrieval)"
    return str(value)


GROUPINGS = ("by_category", "by_lang", "by_family")


def summary_rows(summary: dict, keys: Sequence[str] = SUMMARY_KEYS) -> list[list[str]]:
    """The summary as a table (the command line and the staff page show the same): the whole run, then each
    group, "—" where a group had nothing to measure and the latencies of declined items labelled."""
    rows = [["all", *(shown(summary, k) for k in keys)]]
    for grouping in GROUPINGS:
        rows += [
            [f"{grouping[3:]}: {name}", *(shown(values, k) for k in keys)]
            for name, values in summary.get(grouping, {}).items()
        ]
    return rows


def summarise_run(rows: Sequence[dict]) -> dict:
    groups: dict[str, dict[str, list[dict]]] = {"by_category": defaultdict(list), "by_lang": defaultdict(list)}
    for row in rows:
        groups["by_category"][row["category"]].append(row)
        groups["by_lang"][row["lang"] or "?"].append(row)
        if row.get("family"):
            groups.setdefault("by_family", defaultdict(list))[row["family"]].append(row)
    return {
        **summarise(rows),
        **{name: {key: summarise(members) for key, members in sorted(group.items())} for name, group in groups.items()},
    }

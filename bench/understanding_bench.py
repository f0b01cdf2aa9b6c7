"""What reading the question costs next to embedding it, side by side in one process.

    .venv/bin/python bench/understanding_bench.py [--dataset FILE] [--out bench/results/understanding.json]

Issue 18 added steps to every question: the SMS/misspelling normaliser, the question analysis, the
character-level FAQ match, the answerability features and the model (``bot.answering``). For each question of
the dataset (the understanding set's test part by default, whose messages are the long, misspelt and
multi-part ones), over the index ``make index`` built, it times in turn: the query embedding with the
query-vector cache cleared (what every new question pays), the search (``Retriever.search`` on that vector,
the cache then warm), and the new steps alone (normalise, analyse, match, features, judge); and a whole
``ChatService.draft`` read to its end with the cache cleared (a multi-part question searches each part).
The order alternates per question, so a busy moment on the shared machine hits all alike. It reports the
percentiles and the ratio of the new steps to the embedding: absolute times move by 2× from day to day here.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from common import RESULTS, ROOT, machine, percentile

from bot.answering.analysis import analyse
from bot.answering.answerability import features
from bot.answering.chat import ChatService
from bot.answering.retrieval import Retrieval
from bot.answering.spelling import normalise
from bot.config import get_settings
from bot.indexing.embeddings import clear_query_cache
from bot.schema import Lang
from evals.dataset import load_dataset

TEST_PART = ROOT / "evals" / "datasets" / "understanding-test.jsonl"


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return (time.perf_counter() - started) * 1000


def embed(chat: ChatService, question: str) -> None:
    clear_query_cache()
    chat.index.embeddings.embed_query_vector(question)


def new_steps(chat: ChatService, question: str, lang: Lang, retrieval: Retrieval) -> None:
    asked = normalise(question, lang, chat.vocabulary)
    analysis = analyse(asked, lang, chat.weights)
    chars = dict(chat.faq_chars.best(asked, lang, k=50))
    chat.answerability.judge(features(retrieval, analysis, chat.weights, chars))


def answer(chat: ChatService, question: str, lang: Lang) -> None:
    clear_query_cache()
    "".join(chat.draft(question, (), lang))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=TEST_PART)
    parser.add_argument("--out", type=Path, default=RESULTS / "understanding.json")
    args = parser.parse_args()
    chat = ChatService(get_settings())
    chat.index.embeddings.ensure_loaded()
    items = [item for item in load_dataset(args.dataset) if not item.history]
    times: dict[str, list[float]] = {"embed": [], "search": [], "new_steps": [], "answer": []}
    for n, item in enumerate(items):
        lang: Lang = item.lang or "fr"
        embed(chat, item.question)
        started = time.perf_counter()
        retrieval = chat.retriever.search(item.question, lang)  # the vector is cached: the search alone
        times["search"].append((time.perf_counter() - started) * 1000)
        steps = [
            ("embed", partial(embed, chat, item.question)),
            ("new_steps", partial(new_steps, chat, item.question, lang, retrieval)),
            ("answer", partial(answer, chat, item.question, lang)),
        ]
        for name, step in steps if n % 2 else reversed(steps):
            times[name].append(timed(step))
    summary: dict = {
        name: {"p50_ms": round(percentile(v, 0.5), 2), "p95_ms": round(percentile(v, 0.95), 2)}
        for name, v in times.items()
    }
    summary["ratio_p95_new_steps_to_embed"] = round(summary["new_steps"]["p95_ms"] / summary["embed"]["p95_ms"], 3)
    result = {"machine": machine(), "dataset": str(args.dataset), "questions": len(items), "summary": summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, values in summary.items():
        print(f"{name:32} {values}")


if __name__ == "__main__":
    main()

"""Run a dataset through the same conversation pipeline the API uses, and write what happened.

Output folder: ``results.jsonl`` (one scored row per item), ``summary.json`` (DESIGN.md keys, overall,
``by_category`` and ``by_lang``) and ``report.html``.

An item that names the knowledge base it is written for (``kb``) is run only over that knowledge base: over
another one it would score 0 for a reason that is not the bot's, so it is skipped and the summary says so
(``skipped_for_kb``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from bot.answering.chat import ChatService
from bot.answering.grounding import lowercase_vocabulary
from bot.config import PROJECT_ROOT, Settings
from bot.conversation import Conversation, Done, TokenEvent, TurnRequest
from bot.curation.entries import staff_content
from bot.indexing.index import KnowledgeIndex, SyncReport
from bot.safety.privacy import redact
from bot.schema import Turn
from evals.dataset import DatasetError, EvalItem, load_dataset
from evals.judge import Judge, judge_rows
from evals.metrics import score_item, summarise_run
from evals.report import write_report

Progress = Callable[[int, int], None]


def source_texts(index: KnowledgeIndex) -> dict[str, str]:
    """Full text per source id, to check whether a cited passage supports the expected facts."""
    texts: dict[str, list[str]] = {}
    for document in index.passages.get():
        texts.setdefault(document.metadata["source_id"], []).append(document.page_content)
    return {source: "\n".join(parts) for source, parts in texts.items()}


def run_item(conversation: Conversation, item: EvalItem) -> dict:
    """One item through the streaming path the API uses (a stateless turn: the item gives its history),
    timing the first piece of text as a user sees it. What is written is redacted, as the app stores it."""
    history = [Turn(t.role, t.content) for t in item.history]
    started = time.perf_counter()
    first, done = None, None
    for event in conversation.turn(TurnRequest(item.question, history=history)):
        if isinstance(event, TokenEvent) and first is None and event.text.strip():
            first = time.perf_counter()
        elif isinstance(event, Done):
            done = event
    assert done is not None
    answer = done.reply
    first_token_ms = round(((first or time.perf_counter()) - started) * 1000, 1)
    return {
        "id": item.id,
        "category": item.category,
        "family": item.family,
        "parts": item.parts,
        "premise": item.premise,
        "lang": item.lang,
        "question": done.question,
        "history": [{"role": t.role, "content": redact(t.content) if t.role == "user" else t.content} for t in history],
        "should_refuse": item.should_refuse,
        "expected_sources": item.expected_sources,
        "expected_facts": item.expected_facts,
        "answer": answer.answer,
        "mode": answer.mode,
        "refused": answer.refused,
        "query": answer.query,
        "citations": [asdict(c) for c in answer.citations],
        "retrieved": answer.retrieved,
        "faq_candidates": answer.faq_candidates,
        "reason": answer.reason,
        "latency_ms": answer.latency_ms,
        "first_token_ms": first_token_ms,
    }


def written_for_another_kb(item: EvalItem, kb: Path) -> bool:
    return item.kb is not None and (PROJECT_ROOT / item.kb).resolve() != kb.resolve()


def run_dataset(
    dataset: Path,
    out: Path,
    settings: Settings,
    *,
    kb: Path | None = None,
    collection: str | None = None,
    progress: Progress | None = None,
    on_ingest: Callable[[SyncReport], None] | None = None,
    conversation: Conversation | None = None,
    judge: Judge | None = None,
) -> dict:
    """Run ``dataset``; ``conversation`` lets a running app evaluate with its own loaded model and index."""
    items = load_dataset(dataset)  # fail on a bad line before any slow work
    run_kb = kb if kb is not None else settings.kb_dir
    skipped: dict[str, list[str]] = {}
    for item in items:
        if item.kb is not None and written_for_another_kb(item, run_kb):
            skipped.setdefault(item.kb, []).append(item.id)
    items = [item for item in items if not written_for_another_kb(item, run_kb)]
    if not items:
        raise DatasetError(f"{dataset}: every item is written for another knowledge base ({', '.join(skipped)})")
    if conversation is None:
        index = KnowledgeIndex(settings, collection)
        if kb is not None:
            report = index.sync(kb)
            if on_ingest:
                on_ingest(report)
        elif index.count() == 0:
            index.sync(settings.kb_dir, curated=staff_content(settings, index.collection))
        conversation = Conversation(ChatService(settings, index))
    index = conversation.chat.index
    texts = source_texts(index)
    vocabulary = lowercase_vocabulary(texts.values())
    conversation.chat.warm()  # as the app does at start-up
    rows = []
    for done, item in enumerate(items, start=1):
        rows.append(score_item(item, run_item(conversation, item), texts, vocabulary))
        if progress:
            progress(done, len(items))
    summary = {
        **summarise_run(rows),
        "dataset": str(dataset),
        "collection": index.collection,
        "embedding_model": index.embeddings.name,
        "skipped_for_kb": skipped,
    }
    if judge is not None:
        summary["judged_tier"] = judge_rows(judge, rows, texts)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    write_report(out / "report.html", summary, rows)
    return summary


def load_run(folder: Path) -> tuple[dict, list[dict]]:
    summary = json.loads((folder / "summary.json").read_text())
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines() if line.strip()]
    return summary, rows

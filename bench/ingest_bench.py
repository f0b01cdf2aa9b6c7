"""Ingest benchmark: cold ingest of the shipped knowledge base, a no-change re-ingest, a one-file edit.

    .venv/bin/python bench/ingest_bench.py [--kb DIR] [--out bench/results/ingest.json]

Runs in one process on a copy of the knowledge base and a fresh data folder (the app's index is untouched),
writes JSON and prints a Markdown table. Peak RSS is the process's high-water mark after each step.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from common import RESULTS, machine

from bot.config import Settings, get_settings
from bot.indexing.index import KnowledgeIndex


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def step(name: str, index: KnowledgeIndex, kb: Path) -> dict:
    started = time.perf_counter()
    report = index.sync(kb)
    seconds = time.perf_counter() - started
    return {
        "step": name,
        "seconds": round(seconds, 2),
        "embedded": report.chunks_added,
        "chunks_per_s": round(report.chunks_added / seconds, 1) if report.chunks_added else None,
        "files_updated": len(report.updated) + len(report.added),
        "total": report.chunks_total,
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kb", type=Path, default=get_settings().kb_dir)
    parser.add_argument("--out", type=Path, default=RESULTS / "ingest.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(tmp) / "kb"
        shutil.copytree(args.kb, kb)
        index = KnowledgeIndex(Settings(data_dir=Path(tmp) / "data", kb_dir=kb))
        rows = [step("cold ingest", index, kb), step("no-change re-ingest", index, kb)]
        page = next(p for p in sorted(kb.rglob("*.md")) if "quizzes" not in p.parts)
        page.write_text(page.read_text() + "\n\n## Note\n\nUne phrase ajoutée pour le banc d'essai.\n")
        rows.append(step("one-file edit", index, kb))
    result = {**machine(), "embedding_model": index.embeddings.name, "steps": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print("| step | seconds | embedded | chunks/s | peak RSS (MB) |\n|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['step']} | {row['seconds']} | {row['embedded']} | {row['chunks_per_s'] or '—'} "
            f"| {row['peak_rss_mb']} |"
        )


if __name__ == "__main__":
    main()

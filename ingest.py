"""Ingest a knowledge-base folder into the Chroma collection (incremental, idempotent).

    python ingest.py [--kb DIR] [--collection NAME] [--reset]

Exit status: 0 when every file loaded, 1 when some failed (they are listed with their reason, and the rest
is ingested), 2 when the command could not run at all (no such folder, model not prepared, Chroma server
unreachable, embedded index open in another process).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.config import get_settings
from bot.curation.entries import staff_content
from bot.indexing.index import KnowledgeIndex, StoreBusyError, SyncReport
from bot.models.embedding import ModelNotReadyError

console = Console(stderr=True)


def print_summary(report: SyncReport, seconds: float) -> None:
    table = Table(title=f"Ingest ({seconds:.1f} s)", show_header=True, min_width=30)
    table.add_column("files")
    table.add_column("count", justify="right")
    for label, items in [
        ("added", report.added),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("deleted", report.deleted),
        ("failed", report.failed),
    ]:
        table.add_row(label, str(len(items)))
    console.print(table)
    console.print(
        f"chunks: {report.chunks_added} embedded, {report.chunks_deleted} deleted, "
        f"{report.chunks_skipped} unchanged; {report.chunks_total} in the collection"
    )
    for path in report.deleted:
        console.print(f"  [yellow]deleted[/] {path}")
    for path, reason in report.failed.items():
        console.print(f"  [red]failed[/]  {path}: {reason}")


def run(kb: Path, collection: str | None, reset: bool) -> SyncReport:
    settings = get_settings()
    knowledge = KnowledgeIndex(settings, collection)
    with Progress(
        TextColumn("[bold]Ingesting[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("ingest", total=None)
        report = knowledge.sync(
            kb,
            reset=reset,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            curated=staff_content(settings, knowledge.collection),
        )
    return report


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Ingest a knowledge-base folder into the vector index.")
    parser.add_argument("--kb", type=Path, default=settings.kb_dir, help="knowledge-base folder")
    parser.add_argument("--collection", default=None, help=f"collection name (default {settings.collection})")
    parser.add_argument("--reset", action="store_true", help="drop the collection and rebuild it")
    args = parser.parse_args(argv)
    if not args.kb.is_dir():
        console.print(f"[red]error:[/] knowledge-base folder not found: {args.kb}")
        return 2
    started = time.perf_counter()
    try:
        report = run(args.kb, args.collection, args.reset)
    except (ModelNotReadyError, StoreBusyError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    print_summary(report, time.perf_counter() - started)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

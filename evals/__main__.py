"""Evaluation suite for staff.

    python -m evals run --dataset FILE [--kb DIR --collection NAME] [--mode auto|faq|extractive] [--out DIR]
                        [--judge] [--gate THRESHOLDS]
    python -m evals compare RUN_A RUN_B [--html FILE]
    python -m evals import-squad FILE --kb-out DIR --dataset-out FILE [--lang fr|en]

Exit status: 0 on success, 1 when the gate finds a breach, 2 on a bad dataset or missing run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.config import get_settings
from bot.models import ModelNotReadyError
from evals.compare import compare_runs
from evals.dataset import DatasetError
from evals.gate import check_gate
from evals.judge import Judge
from evals.metrics import SUMMARY_KEYS
from evals.report import write_comparison
from evals.runner import run_dataset
from evals.squad import import_squad

# Wide enough for the summary table when stderr is a log file or a pipe (rich would wrap at 80 columns).
console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def summary_table(summary: dict, title: str) -> Table:
    table = Table(title=title)
    table.add_column("group")
    for key in SUMMARY_KEYS:
        table.add_column(key, justify="right")
    table.add_row("all", *(str(summary[k]) for k in SUMMARY_KEYS))
    for grouping in ("by_category", "by_lang"):
        for name, values in summary[grouping].items():
            table.add_row(f"{grouping[3:]}: {name}", *(str(values[k]) for k in SUMMARY_KEYS))
    return table


def cmd_run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.mode != "auto":
        settings = settings.model_copy(update={"answer_mode": args.mode})
    out = args.out or settings.data_dir / "evals" / f"{args.dataset.stem}-{datetime.now():%Y%m%d-%H%M%S}"
    judge = Judge(settings) if args.judge else None
    started = time.perf_counter()
    with Progress(TextColumn("[bold]Evaluating[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as bar:
        task = bar.add_task("run", total=None)
        summary = run_dataset(args.dataset, out, settings, kb=args.kb, collection=args.collection,
                              progress=lambda done, total: bar.update(task, completed=done, total=total),
                              judge=judge,
                              on_ingest=lambda r: console.print(
                                  f"ingested {args.kb}: {len(r.added)} added, {len(r.updated)} updated, "
                                  f"{len(r.unchanged)} unchanged, {len(r.deleted)} deleted, {len(r.failed)} failed"))
    console.print(summary_table(summary, f"{args.dataset} ({time.perf_counter() - started:.0f} s)"))
    if judge is not None:
        judged = summary["judged_tier"]
        console.print(f"[bold]judged tier[/] (LLM judge {judged['judge_model']}, not a judge-free metric): "
                      f"faithfulness {judged['faithfulness']} over {judged['n_judged']} answers, "
                      f"{judged['judge_errors']} judge errors")
    console.print(f"results in {out}/ (summary.json, results.jsonl, report.html)")
    if args.gate:
        breaches = check_gate(summary, args.gate)
        for breach in breaches:
            console.print(f"[red]GATE FAILED[/] {breach}")
        if breaches:
            return 1
        console.print(f"[green]gate passed[/] ({args.gate})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    deltas, fixed, broken = compare_runs(args.run_a, args.run_b)
    table = Table(title=f"{args.run_a} → {args.run_b}")
    for column in ("metric", "A", "B", "B − A"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    colours = {"good": "green", "bad": "red", "": "white"}
    for d in deltas:
        table.add_row(d["metric"], str(d["a"]), str(d["b"]), f"[{colours[d['tone']]}]{d['delta']:+}[/]")
    console.print(table)
    for label, pairs in (("fixed", fixed), ("broken", broken)):
        console.print(f"[bold]{label}[/]: {len(pairs)}")
        for _, row in pairs:
            console.print(f"  {row['id']}: {row['question']}")
    html = args.html or args.run_b / f"compare-{args.run_a.name}.html"
    write_comparison(html, str(args.run_a), str(args.run_b), deltas, fixed, broken)
    console.print(f"HTML: {html}")
    return 0


def cmd_import_squad(args: argparse.Namespace) -> int:
    report = import_squad(args.file, args.kb_out, args.dataset_out, args.lang)
    console.print(f"{report.articles} articles, {report.paragraphs} paragraphs → {args.kb_out}/; "
                  f"{report.questions} questions → {args.dataset_out}")
    console.print(f"next: python -m evals run --dataset {args.dataset_out} --kb {args.kb_out} --collection NAME")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description="Evaluation suite for staff.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a dataset through the chat service")
    run.add_argument("--dataset", type=Path, required=True)
    run.add_argument("--kb", type=Path, help="ingest this folder into --collection first")
    run.add_argument("--collection", help="collection to evaluate (default: the app's)")
    run.add_argument("--mode", choices=["auto", "faq", "extractive"], default="auto")
    run.add_argument("--out", type=Path, help="output folder (default: DATA_DIR/evals/NAME-TIME)")
    run.add_argument("--judge", action="store_true",
                     help="add the judged tier (faithfulness) using the TUTOR_LLM_* OpenAI-compatible server")
    run.add_argument("--gate", type=Path, help="thresholds file: exit 1 naming each metric below its floor")
    compare = commands.add_parser("compare", help="compare two runs")
    compare.add_argument("run_a", type=Path)
    compare.add_argument("run_b", type=Path)
    compare.add_argument("--html", type=Path, help="where to write the HTML comparison")
    squad = commands.add_parser("import-squad", help="convert a SQuAD-format dataset into a KB and a dataset")
    squad.add_argument("file", type=Path)
    squad.add_argument("--kb-out", type=Path, required=True, help="folder for the paragraphs (one page each)")
    squad.add_argument("--dataset-out", type=Path, required=True, help="JSONL dataset to write")
    squad.add_argument("--lang", choices=["fr", "en"], default="fr")
    args = parser.parse_args(argv)
    if args.command == "run" and args.kb and not args.collection:
        parser.error("--kb needs --collection (so the app's own index is not overwritten)")
    try:
        return {"run": cmd_run, "compare": cmd_compare, "import-squad": cmd_import_squad}[args.command](args)
    except DatasetError as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except (ModelNotReadyError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        return 2
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/] run not found: {exc.filename}")
        return 2


if __name__ == "__main__":
    sys.exit(main())

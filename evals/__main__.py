"""Evaluation suite for staff.

    python -m evals run --dataset FILE [--kb DIR --collection NAME] [--mode auto|faq|extractive|llm] [--out DIR]
                        [--judge] [--gate THRESHOLDS]
    python -m evals compare RUN_A RUN_B [--html FILE]
    python -m evals import-squad FILE --kb-out DIR --dataset-out FILE [--lang fr|en]
    python -m evals tutor [--dataset FILE] [--out DIR] [--calibrate [--save]]
                              [--min-agreement X] [--min-held-out X]

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
from bot.models.embedding import ModelNotReadyError
from evals.compare import compare_runs
from evals.dataset import DatasetError
from evals.gate import check_gate
from evals.judge import Judge
from evals.metrics import NOTHING_TO_MEASURE, SUMMARY_KEYS, shown, summary_rows
from evals.report import skipped_notes, write_comparison
from evals.runner import run_dataset
from evals.squad import import_squad
from evals.tutor_eval import calibrate, held_out_agreement, load_graded, score_features, summarise, write

# Wide enough for the summary table when stderr is a log file or a pipe (rich would wrap at 80 columns).
console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)


def summary_table(summary: dict, title: str) -> Table:
    table = Table(title=title)
    table.add_column("group")
    for key in SUMMARY_KEYS:
        table.add_column(key, justify="right")
    for row in summary_rows(summary):
        table.add_row(*row)
    return table


def cmd_run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.mode != "auto":
        settings = settings.model_copy(update={"answer_mode": args.mode})
    out = args.out or settings.data_dir / "evals" / f"{args.dataset.stem}-{datetime.now():%Y%m%d-%H%M%S}"
    judge = Judge(settings) if args.judge else None
    started = time.perf_counter()
    with Progress(
        TextColumn("[bold]Evaluating[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("run", total=None)
        summary = run_dataset(
            args.dataset,
            out,
            settings,
            kb=args.kb,
            collection=args.collection,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            judge=judge,
            on_ingest=lambda r: console.print(
                f"ingested {args.kb}: {len(r.added)} added, {len(r.updated)} updated, "
                f"{len(r.unchanged)} unchanged, {len(r.deleted)} deleted, {len(r.failed)} failed"
            ),
        )
    console.print(summary_table(summary, f"{args.dataset} ({time.perf_counter() - started:.0f} s)"))
    for note in skipped_notes(summary):
        console.print(f"[yellow]{note}[/]")
    console.print(
        f"modes {summary['modes']}; first text p50/p95 {summary['first_token_p50_ms']}/"
        f"{summary['first_token_p95_ms']} ms; answers with every number and name in their cited "
        f"sources: {summary['grounded_share']}"
    )
    if judge is not None:
        judged = summary["judged_tier"]
        console.print(
            f"[bold]judged tier[/] (LLM judge {judged['judge_model']}, not a judge-free metric): "
            f"faithfulness {judged['faithfulness']} over {judged['n_judged']} answers, "
            f"{judged['judge_errors']} judge errors"
        )
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
        delta = NOTHING_TO_MEASURE if d["delta"] is None else f"{d['delta']:+}"
        table.add_row(d["metric"], shown(d, "a"), shown(d, "b"), f"[{colours[d['tone']]}]{delta}[/]")
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
    console.print(
        f"{report.articles} articles, {report.paragraphs} paragraphs → {args.kb_out}/; "
        f"{report.questions} questions → {args.dataset_out}"
    )
    console.print(f"next: python -m evals run --dataset {args.dataset_out} --kb {args.kb_out} --collection NAME")
    return 0


def cmd_tutor(args: argparse.Namespace) -> int:
    from bot.indexing.embeddings import load_embeddings
    from bot.tutor.grading import Grader, model_path
    from bot.tutor.quizzes import QuizBank

    settings = get_settings()
    bank = QuizBank(settings.kb_dir)
    items = load_graded(args.dataset, bank)
    grader = Grader(load_embeddings(settings), settings.embedding_profile)
    with Progress(
        TextColumn("[bold]Grading[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("grade", total=len(items))
        scored = score_features(items, bank, grader, lambda done, _: bar.update(task, completed=done))
    thresholds = grader.thresholds
    if args.calibrate:
        model = calibrate(scored, thresholds, args.dataset.name)
        if args.save:
            model.save(model_path(settings.embedding_profile))
            console.print(f"model saved to {model_path(settings.embedding_profile)}")
    else:
        model = grader.model
    summary, rows = summarise(scored, thresholds, model)
    summary["held_out_agreement"] = round(held_out_agreement(scored, thresholds, model.fitted_on["regularisation"]), 3)
    out = args.out or settings.data_dir / "evals" / f"tutor-{datetime.now():%Y%m%d-%H%M%S}"
    write(out, summary, rows)
    table = Table(title=f"{args.dataset}: grading agreement ({settings.embedding_profile})")
    for column in ("group", "n", "agreement"):
        table.add_column(column, justify="left" if column == "group" else "right")
    table.add_row("all", str(summary["n"]), str(summary["agreement"]))
    for group, values in summary["by_group"].items():
        table.add_row(group, str(values["n"]), str(values["agreement"]))
    console.print(table)
    console.print(
        f"agreement on modules the model was not fitted on (leave one module out): "
        f"[bold]{summary['held_out_agreement']}[/]; the shipped model, fitted on all: {summary['agreement']}"
    )
    console.print(f"key ideas: precision {summary['key_idea_precision']}, recall {summary['key_idea_recall']}")
    console.print("confusion (expected->given): " + ", ".join(f"{k} {v}" for k, v in summary["confusion"].items()))
    if args.calibrate:
        console.print(f"calibration: {model.fitted_on}")
    console.print(f"results in {out}/ (summary.json, results.jsonl)")
    breaches = [
        f"{name} {summary[key]} < {floor}"
        for name, key, floor in (
            ("agreement", "agreement", args.min_agreement),
            ("held-out agreement", "held_out_agreement", args.min_held_out),
        )
        if floor is not None and summary[key] < floor
    ]
    for breach in breaches:
        console.print(f"[red]GATE FAILED[/] {breach}")
    return 1 if breaches else 0


def cmd_answerability(args: argparse.Namespace) -> int:
    from bot.answering.answerability import Answerability, model_path
    from bot.answering.chat import ChatService
    from bot.curation.entries import staff_content
    from bot.indexing.index import KnowledgeIndex
    from evals.answerability_fit import FIT_DATASETS, calibrate, collect, load_items, outcomes

    settings = get_settings()
    datasets = args.dataset or list(FIT_DATASETS)
    items = load_items(datasets)
    index = KnowledgeIndex(settings)
    if index.count() == 0:
        index.sync(settings.kb_dir, curated=staff_content(settings, index.collection))
    chat = ChatService(settings, index)
    chat.warm()  # the names' vectors as the app computes them
    with Progress(
        TextColumn("[bold]Searching[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("search", total=len(items))
        examples = collect(chat, items, lambda done, _: bar.update(task, completed=done))
    model, chosen = calibrate(examples, datasets, settings.embedding_profile)
    table = Table(
        title=f"answerability, cross-validated by topic ({settings.embedding_profile}, {len(examples)} items)"
    )
    for column in ("regularisation", "FAQ floor", "right", "wrong FAQ", "declined wrongly", "answered wrongly"):
        table.add_column(column, justify="right")
    for c, (figures, floor) in chosen["measured"].items():
        mark = " *" if c == model.fitted_on["regularisation"] else ""
        table.add_row(
            f"{c}{mark}",
            str(floor),
            *(str(v) for v in (figures.right, figures.wrong_faq, figures.declined_wrongly, figures.answered_wrongly)),
        )
    console.print(table)
    path = model_path(settings.embedding_profile)
    shipped = Answerability.for_profile(settings.embedding_profile) if path.is_file() else None
    if shipped and shipped.model.features != model.features:
        console.print("the shipped model reads other features: not compared")
    elif shipped:
        given = [shipped.model.probabilities(e.features.values()) for e in examples]
        figures = outcomes(examples, given, shipped.faq_min_probability)
        console.print(f"the shipped model on these items (in sample when it was fitted on them): {figures}")
    if args.save:
        model.save(model_path(settings.embedding_profile))
        console.print(f"model saved to {model_path(settings.embedding_profile)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description="Evaluation suite for staff.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a dataset through the chat service")
    run.add_argument("--dataset", type=Path, required=True)
    run.add_argument("--kb", type=Path, help="ingest this folder into --collection first")
    run.add_argument("--collection", help="collection to evaluate (default: the app's)")
    run.add_argument("--mode", choices=["auto", "faq", "extractive", "llm"], default="auto")
    run.add_argument("--out", type=Path, help="output folder (default: DATA_DIR/evals/NAME-TIME)")
    run.add_argument(
        "--judge",
        action="store_true",
        help="add the judged tier (faithfulness) using the TUTOR_LLM_* OpenAI-compatible server",
    )
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
    fit = commands.add_parser(
        "answerability", help="fit the answerability model on labelled questions (cross-validated by topic)"
    )
    fit.add_argument(
        "--dataset", type=Path, action="append", help="fit data (default: the understanding set's fit part)"
    )
    fit.add_argument("--save", action="store_true", help="write it to bot/answering/answerability_models/")
    tutor = commands.add_parser("tutor", help="grade the sample answers of the tutor set; agreement with their grades")
    tutor.add_argument("--dataset", type=Path, default=Path(__file__).parent / "datasets" / "tutor.jsonl")
    tutor.add_argument("--out", type=Path, help="output folder (default: DATA_DIR/evals/tutor-TIME)")
    tutor.add_argument(
        "--calibrate",
        action="store_true",
        help="refit the verdict model (regularisation chosen by leave-one-module-out agreement)",
    )
    tutor.add_argument("--save", action="store_true", help="with --calibrate: write it to bot/tutor/grading_models/")
    tutor.add_argument("--min-agreement", type=float, help="exit 1 when the shipped model's agreement is below this")
    tutor.add_argument("--min-held-out", type=float, help="exit 1 when leave-one-module-out agreement is below")
    args = parser.parse_args(argv)
    if args.command == "run" and args.kb and not args.collection:
        parser.error("--kb needs --collection (so the app's own index is not overwritten)")
    try:
        commands_by_name = {
            "run": cmd_run,
            "compare": cmd_compare,
            "import-squad": cmd_import_squad,
            "tutor": cmd_tutor,
            "answerability": cmd_answerability,
        }
        return commands_by_name[args.command](args)
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

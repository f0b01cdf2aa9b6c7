"""Evaluation runs are recorded in the store, so that with several workers a run started on one is seen by the
others: each test writes through one ``Store`` and reads through a second one on the same URL (another worker),
on SQLite and on a real PostgreSQL (``store_url``). The run itself (a real evaluation through the app) is
``tests/test_staff.py``'s."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.conversation import Conversation
from bot.store import EvalRun, Store
from evals.jobs import EvalJobs
from tests.conftest import FIXTURE_KB
from tests.test_privacy import Clock

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SUMMARY = {"n": 6, "hit@1": 0.5, "by_category": {"enrolment": {"n": 6}}}


def test_a_run_is_followed_from_another_worker(store_url: str) -> None:
    clock = Clock(START)
    worker_a, worker_b = Store(store_url, clock=clock), Store(store_url)
    assert worker_a.start_eval_run("fixture-1", "fixture.jsonl") == worker_b.eval_run("fixture-1")
    worker_a.eval_run_progress("fixture-1", 3, 6)
    assert worker_b.eval_run("fixture-1") == EvalRun(
        "fixture-1", "fixture.jsonl", "running", done=3, total=6, started_at=START.isoformat(timespec="milliseconds")
    )
    worker_a.eval_run_progress("fixture-1", 6, 6)
    clock.now = START + timedelta(minutes=2)
    worker_a.finish_eval_run("fixture-1", SUMMARY)
    finished = worker_b.eval_run("fixture-1")
    assert finished is not None and (finished.state, finished.done, finished.summary) == ("done", 6, SUMMARY)
    assert finished.finished_at == clock.now.isoformat(timespec="milliseconds") > finished.started_at
    assert worker_b.eval_run("another") is None
    worker_a.close()
    worker_b.close()


def test_runs_are_listed_newest_first_a_failed_one_keeps_its_error_and_an_id_can_start_again(store_url: str) -> None:
    clock = Clock(START)
    worker_a, worker_b = Store(store_url, clock=clock), Store(store_url)
    for n, run_id in enumerate(["b-first", "a-second", "c-third"]):  # names out of order: the start time sorts
        clock.now = START + timedelta(minutes=n)
        worker_a.start_eval_run(run_id, "fixture.jsonl")
    worker_a.fail_eval_run("a-second", "DatasetError: line 3 is not JSON")
    worker_a.finish_eval_run("b-first", SUMMARY)
    assert [run.run_id for run in worker_b.eval_runs()] == ["c-third", "a-second", "b-first"]
    assert [run.run_id for run in worker_b.eval_runs("done")] == ["b-first"]
    failed = worker_b.eval_run("a-second")
    assert failed is not None and (failed.state, failed.error, failed.summary) == (
        "failed",
        "DatasetError: line 3 is not JSON",
        None,
    )
    clock.now = START + timedelta(minutes=5)
    worker_a.start_eval_run("a-second", "other.jsonl")  # the same id again: a run started in the same second
    assert worker_b.eval_run("a-second") == EvalRun(
        "a-second", "other.jsonl", "running", started_at=clock.now.isoformat(timespec="milliseconds")
    )
    assert worker_b.eval_runs()[0].run_id == "a-second"
    worker_a.close()
    worker_b.close()


def _no_service() -> Conversation:
    raise AssertionError("reading runs must not need the conversation pipeline")


def test_jobs_on_another_worker_see_its_run_and_still_list_command_line_runs(store_url: str, tmp_path: Path) -> None:
    """Worker B's ``EvalJobs`` (its own runs folder) answers for a run worker A records; the folder of a
    command-line run, which only B has, is listed with the store's finished runs, by when each finished."""
    worker_a, worker_b = Store(store_url), Store(store_url)
    cli_run = tmp_path / "evals" / "cli-run"
    cli_run.mkdir(parents=True)
    (cli_run / "summary.json").write_text(json.dumps(SUMMARY), encoding="utf-8")
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(cli_run / "summary.json", (an_hour_ago, an_hour_ago))
    jobs_b = EvalJobs(tmp_path / "evals", FIXTURE_KB.parent / "evals", _no_service, worker_b)

    worker_a.start_eval_run("fixture-1", "fixture.jsonl")
    worker_a.eval_run_progress("fixture-1", 2, 6)
    running = jobs_b.status("fixture-1")
    assert (running.state, running.done, running.total) == ("running", 2, 6)
    assert jobs_b.runs() == ["cli-run"], "a running run is not among the finished ones"
    worker_a.finish_eval_run("fixture-1", SUMMARY)
    assert jobs_b.status("fixture-1").summary == SUMMARY
    assert jobs_b.runs() == ["fixture-1", "cli-run"]
    worker_a.close()
    worker_b.close()

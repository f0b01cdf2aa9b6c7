"""Evaluation runs started from the app (staff page, admin API): one at a time, in the background.

Runs use the app's own conversation pipeline (model and index already loaded) and land in ``DATA_DIR/evals/`` like
command-line runs, so both show up in the same list; their state is also recorded in the store, which every
worker shares (the report, results and failures stay in the run's folder). Datasets are chosen by name among
the files of the datasets folder: a staff page must not become a way to read arbitrary files on the server.
"""

from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.conversation import Conversation
from bot.store import EvalRun, Store, stamp
from evals.compare import compare_runs
from evals.runner import load_run, run_dataset

PROGRESS_EVERY_S = 1.0  # a running run's progress reaches the store at most this often (and at its last item)


class EvalJobs:
    """The app's evaluation runs. Each run's start, progress and end are recorded in the store, so that with
    several workers behind a load balancer a status request that lands on another worker than the one running
    it still finds it; this process's own runs are answered from memory (their freshest progress).

    A run whose worker died stays "running" in the store: no worker can tell another's run is dead."""

    def __init__(
        self, runs_dir: Path, datasets_dir: Path, service_provider: Callable[[], Conversation], store: Store
    ) -> None:
        self.runs_dir = runs_dir
        self.datasets_dir = datasets_dir
        self.store = store
        self._service_provider = service_provider  # returns the app's Conversation (or raises: not ready)
        self._jobs: dict[str, EvalRun] = {}  # this process's runs
        self._lock = threading.Lock()

    def datasets(self) -> list[str]:
        return sorted(p.name for p in self.datasets_dir.glob("*.jsonl"))

    def runs(self) -> list[str]:
        """Finished runs, newest first: those the store records as done (started in the app, on any worker)
        and the folders holding a summary (command-line runs write only their folder)."""
        finished = {run.run_id: run.finished_at or run.started_at for run in self.store.eval_runs("done")}
        if self.runs_dir.exists():
            for folder in self.runs_dir.iterdir():
                if (folder / "summary.json").exists():
                    finished.setdefault(folder.name, _written_at(folder / "summary.json"))
        return sorted(finished, key=lambda run_id: (finished[run_id], run_id), reverse=True)

    def run_folder(self, run_id: str) -> Path:
        folder = self.runs_dir / run_id
        if "/" in run_id or run_id.startswith(".") or not (folder / "summary.json").exists():
            raise KeyError(run_id)
        return folder

    def start(self, dataset: str) -> EvalRun:
        if dataset not in self.datasets():
            raise ValueError(f"unknown dataset '{dataset}'; available: {', '.join(self.datasets())}")
        service = self._service_provider()
        with self._lock:
            if any(job.state == "running" for job in self._jobs.values()):
                raise RuntimeError("an evaluation is already running; wait for it to finish")
            # The second it started, and a few random characters: two workers may start one dataset in one second.
            run_id = f"{Path(dataset).stem}-{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
            job = self._jobs[run_id] = self.store.start_eval_run(run_id, dataset)
        threading.Thread(target=self._run, args=(job, service), name=f"eval-{run_id}", daemon=True).start()
        return job

    def _run(self, job: EvalRun, service: Conversation) -> None:
        run_id, written = job.run_id, time.monotonic()

        def progress(done: int, total: int) -> None:
            nonlocal written
            self._jobs[run_id] = replace(self._jobs[run_id], done=done, total=total)
            if done == total or time.monotonic() - written >= PROGRESS_EVERY_S:
                self.store.eval_run_progress(run_id, done, total)
                written = time.monotonic()

        try:
            summary = run_dataset(
                self.datasets_dir / job.dataset,
                self.runs_dir / run_id,
                service.chat.settings,
                progress=progress,
                conversation=service,
            )
        except Exception as exc:  # reported to staff in the job status, with the reason
            error = f"{type(exc).__name__}: {exc}"
            self._jobs[run_id] = replace(self._jobs[run_id], state="failed", error=error)
            traceback.print_exc()
            self.store.fail_eval_run(run_id, error)
        else:
            self._jobs[run_id] = replace(self._jobs[run_id], state="done", summary=summary)
            self.store.finish_eval_run(run_id, summary)

    def status(self, run_id: str) -> EvalRun:
        """This process's own run from memory; another worker's from the store; a command-line run from its
        folder (KeyError when there is none)."""
        if run_id in self._jobs:
            return self._jobs[run_id]
        recorded = self.store.eval_run(run_id)
        if recorded is not None:
            return recorded
        folder = self.run_folder(run_id)
        summary, _ = load_run(folder)
        written = _written_at(folder / "summary.json")
        return EvalRun(
            run_id=run_id,
            dataset=Path(summary.get("dataset", "")).name,
            state="done",
            done=summary["n"],
            total=summary["n"],
            summary=summary,
            started_at=written,
            finished_at=written,
        )

    def failures(self, run_id: str) -> list[dict]:
        _, rows = load_run(self.run_folder(run_id))
        return [r for r in rows if not r["correct"]]

    def report(self, run_id: str) -> str:
        return (self.run_folder(run_id) / "report.html").read_text(encoding="utf-8")

    def compare(self, run_a: str, run_b: str) -> tuple[list[dict], list, list]:
        return compare_runs(self.run_folder(run_a), self.run_folder(run_b))


def _written_at(path: Path) -> str:
    """When a file was last written, as the store stamps its rows (so that folders and rows sort together)."""
    return stamp(datetime.fromtimestamp(path.stat().st_mtime, UTC))

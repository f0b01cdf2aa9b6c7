"""Evaluation runs started from the app (staff page, admin API): one at a time, in the background.

Runs use the app's own conversation pipeline (model and index already loaded) and land in ``DATA_DIR/evals/`` like
command-line runs, so both show up in the same list. Datasets are chosen by name among the files of the
datasets folder: a staff page must not become a way to read arbitrary files on the server.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.conversation import Conversation
from evals.compare import compare_runs
from evals.runner import load_run, run_dataset


@dataclass
class Job:
    run_id: str
    dataset: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    error: str | None = None
    summary: dict | None = field(default=None, repr=False)


class EvalJobs:
    def __init__(self, runs_dir: Path, datasets_dir: Path, service_provider) -> None:
        self.runs_dir = runs_dir
        self.datasets_dir = datasets_dir
        self._service_provider = service_provider  # callable returning the app's Conversation (or raising)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def datasets(self) -> list[str]:
        return sorted(p.name for p in self.datasets_dir.glob("*.jsonl"))

    def runs(self) -> list[str]:
        """Finished runs, newest first (folders holding a summary)."""
        if not self.runs_dir.exists():
            return []
        found = [p for p in self.runs_dir.iterdir() if (p / "summary.json").exists()]
        return [p.name for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]

    def run_folder(self, run_id: str) -> Path:
        folder = self.runs_dir / run_id
        if "/" in run_id or run_id.startswith(".") or not (folder / "summary.json").exists():
            raise KeyError(run_id)
        return folder

    def start(self, dataset: str) -> Job:
        if dataset not in self.datasets():
            raise ValueError(f"unknown dataset '{dataset}'; available: {', '.join(self.datasets())}")
        service: Conversation = self._service_provider()
        with self._lock:
            if any(job.state == "running" for job in self._jobs.values()):
                raise RuntimeError("an evaluation is already running; wait for it to finish")
            run_id = f"{Path(dataset).stem}-{datetime.now():%Y%m%d-%H%M%S}"
            job = self._jobs[run_id] = Job(run_id=run_id, dataset=dataset)
        threading.Thread(target=self._run, args=(job, service), name=f"eval-{run_id}", daemon=True).start()
        return job

    def _run(self, job: Job, service: Conversation) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            job.summary = run_dataset(
                self.datasets_dir / job.dataset,
                self.runs_dir / job.run_id,
                service.chat.settings,
                progress=progress,
                conversation=service,
            )
            job.state = "done"
        except Exception as exc:  # reported to staff in the job status, with the reason
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
            traceback.print_exc()

    def status(self, run_id: str) -> Job:
        if run_id in self._jobs:
            return self._jobs[run_id]
        folder = self.run_folder(run_id)
        summary, _ = load_run(folder)
        return Job(
            run_id=run_id,
            dataset=Path(summary.get("dataset", "")).name,
            state="done",
            done=summary["n"],
            total=summary["n"],
            summary=summary,
        )

    def failures(self, run_id: str) -> list[dict]:
        _, rows = load_run(self.run_folder(run_id))
        return [r for r in rows if not r["correct"]]

    def report(self, run_id: str) -> str:
        return (self.run_folder(run_id) / "report.html").read_text(encoding="utf-8")

    def compare(self, run_a: str, run_b: str) -> tuple[list[dict], list, list]:
        return compare_runs(self.run_folder(run_a), self.run_folder(run_b))

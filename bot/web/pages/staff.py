"""The staff page at ``/staff``: evaluations (run, watch, report, failures, compare) and chat analytics.

Every action re-checks the admin token typed on the page (compared in constant time); without a configured
token the page only says that staff features are off. The feedback export is written to a private temporary
folder, never to a served one: Gradio hands the browser a copy under an unguessable cache path.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

import gradio as gr

from bot.runtime import NotReadyError, Runtime
from bot.web.routes.staff import feedback_csv, token_matches
from evals.jobs import EvalJobs
from evals.metrics import SUMMARY_KEYS, shown, summary_rows
from evals.report import skipped_notes

OFF = "Staff features are off: set `TUTOR_ADMIN_TOKEN` and restart the app."
DENIED = "Wrong or missing admin token."
FAILURE_COLUMNS = ["id", "category", "lang", "question", "expected", "mode", "answer"]


def failure_rows(failures: list[dict]) -> list[list]:
    return [
        [
            r["id"],
            r["category"],
            r["lang"],
            r["question"],
            "a refusal" if r["should_refuse"] else f"facts {r['expected_facts']}; sources {r['expected_sources']}",
            r["mode"],
            r["answer"],
        ]
        for r in failures
    ]


def report_frame(report: str) -> str:
    return (
        f"<iframe title='evaluation report' style='width:100%;height:900px;border:1px solid #ccd' "
        f'srcdoc="{html.escape(report, quote=True)}"></iframe>'
    )


def build_staff_ui(runtime: Runtime, jobs: EvalJobs) -> gr.Blocks:
    exports = tempfile.TemporaryDirectory(prefix="tutor-staff-")

    def allowed(token: str) -> None:
        if not runtime.settings.admin_token:
            raise gr.Error(OFF)
        if not token_matches(runtime.settings.admin_token, (token or "").strip()):
            raise gr.Error(DENIED)

    def unlock(token: str):
        allowed(token)
        runs = jobs.runs()
        return (
            "Unlocked.",
            gr.update(choices=jobs.datasets(), value=next(iter(jobs.datasets()), None)),
            gr.update(choices=runs, value=runs[1] if len(runs) > 1 else None),
            gr.update(choices=runs, value=runs[0] if runs else None),
        )

    def start(token: str, dataset: str):
        allowed(token)
        try:
            job = jobs.start(dataset)
        except (ValueError, RuntimeError, NotReadyError) as exc:
            raise gr.Error(str(exc)) from None
        return job.run_id, f"Started **{job.run_id}**…", gr.Timer(active=True)

    def poll(token: str, run_id: str | None):
        allowed(token)
        if not run_id:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.Timer(active=False), gr.update(), gr.update()
        job = jobs.status(run_id)
        if job.state == "running":
            return (
                f"Running **{run_id}**: {job.done} / {job.total or '?'} items",
                gr.update(),
                gr.update(),
                gr.update(),
                gr.Timer(active=True),
                gr.update(),
                gr.update(),
            )
        if job.state == "failed":
            return (
                f"**{run_id} failed**: {job.error}",
                gr.update(),
                gr.update(),
                gr.update(),
                gr.Timer(active=False),
                gr.update(),
                gr.update(),
            )
        summary = job.summary
        assert summary is not None  # a job is "done" once its summary is set
        runs = jobs.runs()
        return (
            "\n\n".join(
                [
                    f"Finished **{run_id}**: answer accuracy {shown(summary, 'answer_accuracy')}, "
                    f"hit@5 {shown(summary, 'hit@5')}",
                    *skipped_notes(summary),
                ]
            ),
            summary_rows(summary),
            report_frame(jobs.report(run_id)),
            failure_rows(jobs.failures(run_id)),
            gr.Timer(active=False),
            gr.update(choices=runs, value=runs[1] if len(runs) > 1 else None),
            gr.update(choices=runs, value=run_id),
        )

    def open_run(token: str, run_id: str | None):
        allowed(token)
        if not run_id:
            raise gr.Error("choose a run")
        job = jobs.status(run_id)
        if job.summary is None:  # its folder has a summary, but the job has not finished in memory yet
            raise gr.Error(f"{run_id} is still running")
        return summary_rows(job.summary), report_frame(jobs.report(run_id)), failure_rows(jobs.failures(run_id))

    def compare(token: str, run_a: str | None, run_b: str | None):
        allowed(token)
        if not run_a or not run_b:
            raise gr.Error("choose two runs")
        deltas, fixed, broken = jobs.compare(run_a, run_b)
        listing = "\n".join(
            [
                f"**Fixed** ({len(fixed)}): " + ", ".join(y["id"] for _, y in fixed),
                f"**Broken** ({len(broken)}): " + ", ".join(y["id"] for _, y in broken),
            ]
        )
        return [[d["metric"], shown(d, "a"), shown(d, "b"), shown(d, "delta")] for d in deltas], listing

    def analytics(token: str):
        allowed(token)
        down = runtime.store.feedback("down")
        return (
            [[r["question"], r["asked_at"]] for r in runtime.store.unanswered()],
            [[r["created_at"], r["question"], r["answer"], r["comment"] or ""] for r in down],
            [[r["source_id"], r["title"], r["answers"]] for r in runtime.store.topics()],
        )

    def export_feedback(token: str) -> str:
        allowed(token)
        path = Path(exports.name) / "feedback.csv"
        path.write_text(feedback_csv(runtime.store.feedback()), encoding="utf-8")
        return str(path)

    with gr.Blocks(title="Staff — evaluation") as page:
        gr.Markdown("# Staff — evaluation suite")
        if not runtime.settings.admin_token:
            gr.Markdown(OFF, elem_id="staff-off")
            return page
        run_id = gr.State(None)
        with gr.Row():
            token = gr.Textbox(label="Admin token", type="password", elem_id="token", scale=3)
            unlock_button = gr.Button("Unlock", elem_id="unlock", scale=1)
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            dataset = gr.Dropdown(label="Dataset", choices=[], elem_id="dataset", scale=3)
            run_button = gr.Button("Run evaluation", variant="primary", elem_id="run", scale=1)
        timer = gr.Timer(1.0, active=False)
        summary = gr.Dataframe(headers=["group", *SUMMARY_KEYS], label="Summary", elem_id="summary", interactive=False)
        with gr.Tab("Report"):
            report = gr.HTML(elem_id="report")
        with gr.Tab("Failures"):
            failures = gr.Dataframe(
                headers=FAILURE_COLUMNS, label="Failing items", wrap=True, interactive=False, elem_id="failures"
            )
        with gr.Tab("Analytics"):
            refresh = gr.Button("Refresh analytics", elem_id="refresh-analytics")
            unanswered = gr.Dataframe(
                headers=["question", "asked at"],
                label="Refused questions (gaps to fill)",
                interactive=False,
                wrap=True,
                elem_id="unanswered",
            )
            thumbs_down = gr.Dataframe(
                headers=["when", "question", "answer", "comment"],
                label="Answers rated down",
                interactive=False,
                wrap=True,
                elem_id="thumbs-down-list",
            )
            topics = gr.Dataframe(
                headers=["source", "title", "answers"], label="Most cited sources", interactive=False, elem_id="topics"
            )
            export = gr.Button("Export feedback (CSV)", elem_id="export")
            export_file = gr.File(label="feedback.csv", elem_id="export-file")
        with gr.Tab("Compare"):
            with gr.Row():
                run_a = gr.Dropdown(label="Run A (before)", choices=[], elem_id="run-a")
                run_b = gr.Dropdown(label="Run B (after)", choices=[], elem_id="run-b")
            with gr.Row():
                open_button = gr.Button("Open run B", elem_id="open")
                compare_button = gr.Button("Compare A → B", elem_id="compare")
            deltas = gr.Dataframe(
                headers=["metric", "A", "B", "B − A"], label="Deltas", interactive=False, elem_id="deltas"
            )
            flipped = gr.Markdown(elem_id="flipped")

        unlock_button.click(unlock, token, [status, dataset, run_a, run_b])
        token.submit(unlock, token, [status, dataset, run_a, run_b])
        run_button.click(start, [token, dataset], [run_id, status, timer])
        timer.tick(poll, [token, run_id], [status, summary, report, failures, timer, run_a, run_b])
        open_button.click(open_run, [token, run_b], [summary, report, failures])
        compare_button.click(compare, [token, run_a, run_b], [deltas, flipped])
        refresh.click(analytics, token, [unanswered, thumbs_down, topics])
        export.click(export_feedback, token, export_file)
    return page

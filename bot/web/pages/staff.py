"""The staff page at ``/staff``: evaluations (run, watch, report, failures, compare), chat analytics, and the
curation tabs (gaps, entries, audit log: ``bot.web.pages.curation``).

Staff sign in with their name and their own token (``runtime.accounts``), so that the audit log says who
changed what; every action re-checks the pair, as Gradio also serves each action as an API function. Without
a configured account the page only says that staff features are off. Exports are written to a private
temporary folder, never to a served one: Gradio hands the browser a copy under an unguessable cache path.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

import gradio as gr

from bot.runtime import NotReadyError, Runtime
from bot.web.exports import feedback_csv
from bot.web.pages.curation import CurationTabs, SignIn, offer_file
from bot.web.pages.look import SET_LANG_JS, header_html
from evals.jobs import EvalJobs
from evals.metrics import SUMMARY_KEYS, shown, summary_rows
from evals.report import skipped_notes

# Said before anyone could choose a language (the page without accounts, a refused sign-in, also to API
# clients): in both, French first.
OFF = (
    "Les fonctions de l'équipe sont désactivées : définissez `TUTOR_STAFF_ACCOUNTS` (ou `TUTOR_ADMIN_TOKEN`) et "
    "redémarrez l'application. — Staff features are off: set `TUTOR_STAFF_ACCOUNTS` (or `TUTOR_ADMIN_TOKEN`) and "
    "restart the app."
)
DENIED = "Nom ou jeton erroné ou absent. — Wrong or missing name or token."
FAILURE_COLUMNS = ["id", "category", "lang", "question", "expected", "mode", "answer"]

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Espace équipe — Tuteur IA & data",
        "purpose": "Combler les lacunes du bot, évaluer, voir les avis et le journal des modifications.",
        "programmes": "École de la data et de l'IA (groupe La Poste) · Objectif IA · Fondamentaux de l'IA",
        "name": "Nom",
        "token": "Jeton",
        "unlock": "Déverrouiller",
        "unlocked": "Déverrouillé. Connecté·e en tant que **{name}**.",
        "evaluation": "Évaluation",
        "dataset": "Jeu d'évaluation",
        "run": "Lancer l'évaluation",
        "summary": "Résumé",
        "report": "Rapport",
        "failures": "Échecs",
        "failing": "Questions en échec",
        "analytics": "Statistiques",
        "refresh": "Actualiser les statistiques",
        "unanswered": "Questions refusées (lacunes à combler)",
        "thumbs_down": "Réponses jugées pas utiles",
        "topics": "Sources les plus citées",
        "export": "Exporter les avis (CSV)",
        "compare_tab": "Comparer",
        "run_a": "Évaluation A (avant)",
        "run_b": "Évaluation B (après)",
        "open": "Ouvrir l'évaluation B",
        "compare": "Comparer A → B",
        "deltas": "Écarts",
        "started": "Évaluation **{run}** lancée…",
        "running": "Évaluation **{run}** en cours : {done} / {total} questions",
        "failed": "**Échec de {run}** : {error}",
        "finished": "Évaluation **{run}** terminée : exactitude des réponses {accuracy}, hit@5 {hit5}",
        "fixed": "Corrigées",
        "broken": "Cassées",
        "choose_run": "choisissez une évaluation",
        "choose_two": "choisissez deux évaluations",
        "still_running": "{run} est encore en cours",
    },
    "en": {
        "title": "Staff — AI & data tutor",
        "purpose": "Fill the bot's gaps, evaluate it, see feedback and the log of changes.",
        "programmes": "École de la data et de l'IA (La Poste group) · Objectif IA · AI fundamentals",
        "name": "Name",
        "token": "Token",
        "unlock": "Unlock",
        "unlocked": "Unlocked. Signed in as **{name}**.",
        "evaluation": "Evaluation",
        "dataset": "Dataset",
        "run": "Run evaluation",
        "summary": "Summary",
        "report": "Report",
        "failures": "Failures",
        "failing": "Failing items",
        "analytics": "Analytics",
        "refresh": "Refresh analytics",
        "unanswered": "Refused questions (gaps to fill)",
        "thumbs_down": "Answers rated down",
        "topics": "Most cited sources",
        "export": "Export feedback (CSV)",
        "compare_tab": "Compare",
        "run_a": "Run A (before)",
        "run_b": "Run B (after)",
        "open": "Open run B",
        "compare": "Compare A → B",
        "deltas": "Deltas",
        "started": "Started **{run}**…",
        "running": "Running **{run}**: {done} / {total} items",
        "failed": "**{run} failed**: {error}",
        "finished": "Finished **{run}**: answer accuracy {accuracy}, hit@5 {hit5}",
        "fixed": "Fixed",
        "broken": "Broken",
        "choose_run": "choose a run",
        "choose_two": "choose two runs",
        "still_running": "{run} is still running",
    },
}


def texts_for(language: str | None) -> dict[str, str]:
    """The page's texts in ``language``; French when an API client leaves it out."""
    return TEXTS["en" if language == "en" else "fr"]


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

    def allowed(name: str | None, token: str | None) -> str:
        """The signed-in staff member's name, the actor of what they change."""
        if not runtime.accounts.enabled:
            raise gr.Error(OFF)
        actor = runtime.accounts.check(name, (token or "").strip())
        if actor is None:
            raise gr.Error(DENIED)
        return actor

    def unlock(name: str, token: str, language: str | None):
        actor = allowed(name, token)
        runs = jobs.runs()
        return (
            texts_for(language)["unlocked"].format(name=actor),
            gr.update(choices=jobs.datasets(), value=next(iter(jobs.datasets()), None)),
            gr.update(choices=runs, value=runs[1] if len(runs) > 1 else None),
            gr.update(choices=runs, value=runs[0] if runs else None),
        )

    def start(name: str, token: str, dataset: str, language: str | None):
        allowed(name, token)
        try:
            job = jobs.start(dataset)
        except (ValueError, RuntimeError, NotReadyError) as exc:
            raise gr.Error(str(exc)) from None
        return job.run_id, texts_for(language)["started"].format(run=job.run_id), gr.Timer(active=True)

    def poll(name: str, token: str, run_id: str | None, language: str | None):
        allowed(name, token)
        texts, unchanged = texts_for(language), (gr.update(), gr.update(), gr.update())
        if not run_id:
            return gr.update(), *unchanged, gr.Timer(active=False), gr.update(), gr.update()
        job = jobs.status(run_id)
        if job.state == "running":
            shown_status = texts["running"].format(run=run_id, done=job.done, total=job.total or "?")
            return shown_status, *unchanged, gr.Timer(active=True), gr.update(), gr.update()
        if job.state == "failed":
            failed = texts["failed"].format(run=run_id, error=job.error)
            return failed, *unchanged, gr.Timer(active=False), gr.update(), gr.update()
        summary = job.summary
        assert summary is not None  # a job is "done" once its summary is set
        runs = jobs.runs()
        finished = texts["finished"].format(
            run=run_id, accuracy=shown(summary, "answer_accuracy"), hit5=shown(summary, "hit@5")
        )
        return (
            "\n\n".join([finished, *skipped_notes(summary)]),
            summary_rows(summary),
            report_frame(jobs.report(run_id)),
            failure_rows(jobs.failures(run_id)),
            gr.Timer(active=False),
            gr.update(choices=runs, value=runs[1] if len(runs) > 1 else None),
            gr.update(choices=runs, value=run_id),
        )

    def open_run(name: str, token: str, run_id: str | None, language: str | None):
        allowed(name, token)
        texts = texts_for(language)
        if not run_id:
            raise gr.Error(texts["choose_run"])
        job = jobs.status(run_id)
        if job.summary is None:  # its folder has a summary, but the job has not finished in memory yet
            raise gr.Error(texts["still_running"].format(run=run_id))
        return summary_rows(job.summary), report_frame(jobs.report(run_id)), failure_rows(jobs.failures(run_id))

    def compare(name: str, token: str, run_a: str | None, run_b: str | None, language: str | None):
        allowed(name, token)
        texts = texts_for(language)
        if not run_a or not run_b:
            raise gr.Error(texts["choose_two"])
        deltas, fixed, broken = jobs.compare(run_a, run_b)
        listing = "\n".join(
            [
                f"**{texts['fixed']}** ({len(fixed)}): " + ", ".join(y["id"] for _, y in fixed),
                f"**{texts['broken']}** ({len(broken)}): " + ", ".join(y["id"] for _, y in broken),
            ]
        )
        return [[d["metric"], shown(d, "a"), shown(d, "b"), shown(d, "delta")] for d in deltas], listing

    def analytics(name: str, token: str):
        allowed(name, token)
        down = runtime.store.feedback("down")
        return (
            [[r["question"], r["asked_at"]] for r in runtime.store.unanswered()],
            [[r["created_at"], r["question"], r["answer"], r["comment"] or ""] for r in down],
            [[r["source_id"], r["title"], r["answers"]] for r in runtime.store.topics()],
        )

    def export_feedback(name: str, token: str) -> str:
        allowed(name, token)
        path = Path(exports.name) / "feedback.csv"
        path.write_text(feedback_csv(runtime.store.feedback()), encoding="utf-8")
        return str(path)

    texts = TEXTS["fr"]
    with gr.Blocks(title=f"{TEXTS['fr']['title']} · {TEXTS['en']['title']}") as page:
        with gr.Row():
            header = gr.HTML(header_html(texts), elem_id="site-header", scale=5, padding=False)
            lang = gr.Radio(["fr", "en"], value="fr", label="Langue / Language", elem_id="lang", scale=1, min_width=150)
        if not runtime.accounts.enabled:
            gr.Markdown(OFF, elem_id="staff-off")
            lang.change(
                lambda language: header_html(texts_for(language)),
                lang,
                header,
                js=SET_LANG_JS,
                api_visibility="private",
            )
            return page
        run_id = gr.State(None)
        with gr.Row():
            name = gr.Textbox(label=texts["name"], elem_id="staff-name", max_lines=1, scale=2)
            token = gr.Textbox(label=texts["token"], type="password", elem_id="token", scale=3)
            unlock_button = gr.Button(texts["unlock"], elem_id="unlock", scale=1)
        status = gr.Markdown(elem_id="status")
        timer = gr.Timer(1.0, active=False)
        with gr.Tabs(elem_id="staff-tabs") as tabs:
            curation = CurationTabs(runtime, SignIn(name, token, lang, allowed), tabs, Path(exports.name))
            with gr.Tab(texts["evaluation"], id="evaluation", elem_id="tab-evaluation") as evaluation_tab:
                with gr.Row():
                    dataset = gr.Dropdown(label=texts["dataset"], choices=[], elem_id="dataset", scale=3)
                    run_button = gr.Button(texts["run"], variant="primary", elem_id="run", scale=1)
                summary = gr.Dataframe(
                    headers=["group", *SUMMARY_KEYS], label=texts["summary"], elem_id="summary", interactive=False
                )
                with gr.Tab(texts["report"], elem_id="tab-report") as report_tab:
                    report = gr.HTML(elem_id="report")
                with gr.Tab(texts["failures"], elem_id="tab-failures") as failures_tab:
                    failures = gr.Dataframe(
                        headers=FAILURE_COLUMNS,
                        label=texts["failing"],
                        wrap=True,
                        interactive=False,
                        elem_id="failures",
                    )
                with gr.Tab(texts["compare_tab"], elem_id="tab-compare") as compare_tab:
                    with gr.Row():
                        run_a = gr.Dropdown(label=texts["run_a"], choices=[], elem_id="run-a")
                        run_b = gr.Dropdown(label=texts["run_b"], choices=[], elem_id="run-b")
                    with gr.Row():
                        open_button = gr.Button(texts["open"], elem_id="open")
                        compare_button = gr.Button(texts["compare"], elem_id="compare")
                    deltas = gr.Dataframe(
                        headers=["metric", "A", "B", "B − A"],
                        label=texts["deltas"],
                        interactive=False,
                        elem_id="deltas",
                    )
                    flipped = gr.Markdown(elem_id="flipped")
            with gr.Tab(texts["analytics"], id="analytics", elem_id="tab-analytics") as analytics_tab:
                refresh = gr.Button(texts["refresh"], elem_id="refresh-analytics")
                unanswered = gr.Dataframe(
                    headers=["question", "asked at"],
                    label=texts["unanswered"],
                    interactive=False,
                    wrap=True,
                    elem_id="unanswered",
                )
                thumbs_down = gr.Dataframe(
                    headers=["when", "question", "answer", "comment"],
                    label=texts["thumbs_down"],
                    interactive=False,
                    wrap=True,
                    elem_id="thumbs-down-list",
                )
                topics = gr.Dataframe(
                    headers=["source", "title", "answers"], label=texts["topics"], interactive=False, elem_id="topics"
                )
                export = gr.Button(texts["export"], elem_id="export")
                export_file = gr.File(label="feedback.csv", elem_id="export-file", visible=False)

        def switch(language: str):
            shown_texts = texts_for(language)
            labelled = {
                name: "name",
                token: "token",
                evaluation_tab: "evaluation",
                dataset: "dataset",
                summary: "summary",
                report_tab: "report",
                failures_tab: "failures",
                failures: "failing",
                analytics_tab: "analytics",
                unanswered: "unanswered",
                thumbs_down: "thumbs_down",
                topics: "topics",
                compare_tab: "compare_tab",
                run_a: "run_a",
                run_b: "run_b",
                deltas: "deltas",
            }
            valued = {
                unlock_button: "unlock",
                run_button: "run",
                refresh: "refresh",
                export: "export",
                open_button: "open",
                compare_button: "compare",
            }
            return {
                header: header_html(shown_texts),
                **{c: gr.update(label=shown_texts[key]) for c, key in labelled.items()},
                **{c: gr.update(value=shown_texts[key]) for c, key in valued.items()},
            }

        switched = [
            header,
            name,
            token,
            evaluation_tab,
            dataset,
            summary,
            report_tab,
            failures_tab,
            failures,
            analytics_tab,
            unanswered,
        ]
        switched += [thumbs_down, topics, compare_tab, run_a, run_b, deltas, unlock_button, run_button, refresh]
        switched += [export, open_button, compare_button]
        lang.change(switch, lang, switched, js=SET_LANG_JS, api_visibility="private")
        signed = [name, token]
        for trigger in (unlock_button.click, token.submit):
            trigger(unlock, [*signed, lang], [status, dataset, run_a, run_b]).success(
                curation.load, [*signed, lang], curation.listed, api_visibility="private"
            )
        run_button.click(start, [*signed, dataset, lang], [run_id, status, timer])
        timer.tick(poll, [*signed, run_id, lang], [status, summary, report, failures, timer, run_a, run_b])
        open_button.click(open_run, [*signed, run_b, lang], [summary, report, failures])
        compare_button.click(compare, [*signed, run_a, run_b, lang], [deltas, flipped])
        refresh.click(analytics, signed, [unanswered, thumbs_down, topics])
        offer_file(export.click(export_feedback, signed, export_file), export_file)
    return page

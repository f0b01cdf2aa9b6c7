"""The "Quiz" tab of the chat page: pick a module, answer, get hints, see progress.

The learner is a pseudonymous id kept in the browser (``gr.BrowserState``, so it survives reloads and server
restarts) and shown as a "learner code" the learner can copy to another device. Everything else — the
question in progress, hints given, results — is in the store, through the same tutor service the API uses.
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import gradio as gr
import pandas as pd

from bot.runtime import NotReadyError, Runtime
from bot.tutor.service import SURPRISE, TutorError, TutorService

TEXTS = {
    "fr": {
        "tab": "Quiz",
        "module": "Module",
        "surprise": "🎲 Surprends-moi",
        "recommended": "⭐ Module recommandé",
        "new": "Nouvelle question",
        "answer": "Ta réponse",
        "placeholder": "Réponds avec tes mots…",
        "submit": "Valider",
        "hint": "Un indice",
        "reveal": "Voir la réponse",
        "learner": "Code apprenant",
        "learner_info": "Ton identifiant anonyme : garde-le pour retrouver ta progression sur un autre appareil.",
        "progress": "Ma progression",
        "score": "score moyen",
        "none": "Pas encore de question terminée.",
        "summary": "**{answered}** question(s) terminée(s) · moyenne **{average:.0%}** · "
        "série en cours **{streak}** (record {best})",
        "busy": "Le tuteur démarre, réessayez dans quelques secondes.",
        "no_question": "Demande d'abord une question.",
        "empty": "Écris ta réponse avant de valider.",
    },
    "en": {
        "tab": "Quiz",
        "module": "Module",
        "surprise": "🎲 Surprise me",
        "recommended": "⭐ Recommended module",
        "new": "New question",
        "answer": "Your answer",
        "placeholder": "Answer in your own words…",
        "submit": "Submit",
        "hint": "A hint",
        "reveal": "Show the answer",
        "learner": "Learner code",
        "learner_info": "Your anonymous id: keep it to find your progress on another device.",
        "progress": "My progress",
        "score": "average score",
        "none": "No finished question yet.",
        "summary": "**{answered}** finished question(s) · average **{average:.0%}** · current streak **{streak}** "
        "(best {best})",
        "busy": "The tutor is starting, please retry in a few seconds.",
        "no_question": "Ask for a question first.",
        "empty": "Write your answer before submitting.",
    },
}
RECOMMENDED = ""


def browser_secret(data_dir: Path) -> str:
    """A secret kept in the data folder: the learner id stored in the browser must stay readable after a
    restart (a new random secret per process would make every learner start over)."""
    path = data_dir / "browser-state.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
    return path.read_text().strip()


def _module_choices(tutor: TutorService | None, lang: str) -> list[tuple[str, str]]:
    texts = TEXTS[lang]
    modules = [(m.title(lang), m.id) for m in tutor.bank.modules.values()] if tutor else []
    return [(texts["recommended"], RECOMMENDED), (texts["surprise"], SURPRISE), *modules]


def _chart(tutor: TutorService, learner_id: str, lang: str) -> tuple[str, pd.DataFrame, str]:
    report = tutor.report(learner_id, lang)
    texts = TEXTS[lang]
    rows = [{"module": m.title, texts["score"]: round(m.average or 0.0, 2)} for m in report.modules if m.seen]
    summary = (
        texts["summary"].format(
            answered=report.answered, average=report.average, streak=report.streak, best=report.best_streak
        )
        if report.answered
        else texts["none"]
    )
    lines = [summary, ""] + [f"- {m.title} : {m.seen}/{m.total} · {m.average:.0%}" for m in report.modules if m.seen]
    frame = pd.DataFrame(rows, columns=["module", texts["score"]])
    advice = f"**→ {report.recommendation.message}**" if report.recommendation else ""
    return "\n".join(lines), frame, advice


def build_quiz_tab(demo: gr.Blocks, runtime: Runtime, lang: gr.Radio, learner: gr.BrowserState) -> None:
    """Builds the tab's content inside the current Blocks; ``lang`` is the page's language switch and
    ``learner`` the id kept in the browser (the chat uses it too, so a quiz started in the chat counts)."""
    texts = TEXTS["fr"]
    with gr.Row():
        module = gr.Dropdown(
            _module_choices(runtime.tutor, "fr"),
            value=RECOMMENDED,
            label=texts["module"],
            elem_id="quiz-module",
            scale=3,
        )
        new = gr.Button(texts["new"], variant="primary", elem_id="quiz-new", scale=1)
    question = gr.Markdown(elem_id="quiz-question")
    answer = gr.Textbox(
        label=texts["answer"],
        placeholder=texts["placeholder"],
        lines=3,
        elem_id="quiz-answer",
        max_length=runtime.settings.max_message_chars,
    )
    with gr.Row():
        submit = gr.Button(texts["submit"], variant="primary", elem_id="quiz-submit")
        hint = gr.Button(texts["hint"], elem_id="quiz-hint")
        reveal = gr.Button(texts["reveal"], elem_id="quiz-reveal")
    feedback = gr.Markdown(elem_id="quiz-feedback")
    with gr.Accordion(texts["progress"], open=True, elem_id="quiz-progress-box") as progress_box:
        recommendation = gr.Markdown(elem_id="quiz-recommendation")
        progress = gr.Markdown(elem_id="quiz-progress")
        chart = gr.BarPlot(
            pd.DataFrame({"module": [], texts["score"]: []}),
            x="module",
            y=texts["score"],
            y_lim=[0, 1],
            elem_id="quiz-chart",
            show_label=False,
            x_label_angle=-30,
        )
    learner_code = gr.Textbox(label=texts["learner"], info=texts["learner_info"], elem_id="learner-id", max_length=64)

    def tutor_or_busy(language: str) -> TutorService:
        try:
            return runtime.tutor_service()
        except NotReadyError:
            raise gr.Error(TEXTS[language]["busy"]) from None

    def refresh(learner_id: str | None, language: str):
        """On page load and after every step: the learner's id (created on first visit) and progress."""
        tutor = tutor_or_busy(language)
        learner_id = learner_id or uuid.uuid4().hex
        summary, frame, advice = _chart(tutor, learner_id, language)
        return (
            learner_id,
            learner_id,
            summary,
            gr.update(value=frame, y=TEXTS[language]["score"]),
            advice,
            gr.update(choices=_module_choices(tutor, language)),
        )

    def new_question(learner_id: str, chosen: str, language: str):
        tutor = tutor_or_busy(language)
        turn = tutor.ask(learner_id, chosen or None, language)
        return turn.message, "", ""

    def step(action: str):
        def handler(learner_id: str, text: str, language: str):
            tutor = tutor_or_busy(language)
            if action == "answer" and not text.strip():
                return gr.update(), TEXTS[language]["empty"], text
            try:
                turn = {
                    "answer": lambda: tutor.answer(learner_id, text),
                    "hint": lambda: tutor.hint(learner_id),
                    "reveal": lambda: tutor.reveal(learner_id),
                }[action]()
            except TutorError:
                return gr.update(), TEXTS[language]["no_question"], text
            return gr.update(), turn.message, "" if action == "answer" else text

        return handler

    def restore(code: str, language: str):
        """A learner code typed in: switch to that learner (ids are letters, digits, - and _)."""
        code = code.strip()
        if not code or len(code) > 64 or not code.replace("-", "").replace("_", "").isalnum():
            return refresh(None, language)
        return refresh(code, language)

    def relabel(language: str):
        texts = TEXTS[language]
        return [
            gr.update(label=texts["module"]),
            gr.update(value=texts["new"]),
            gr.update(label=texts["answer"], placeholder=texts["placeholder"]),
            gr.update(value=texts["submit"]),
            gr.update(value=texts["hint"]),
            gr.update(value=texts["reveal"]),
            gr.update(label=texts["progress"]),
            gr.update(label=texts["learner"], info=texts["learner_info"]),
        ]

    outputs = [learner, learner_code, progress, chart, recommendation, module]
    demo.load(refresh, [learner, lang], outputs, api_visibility="private")
    lang.change(refresh, [learner, lang], outputs, api_visibility="private").then(
        relabel, lang, [module, new, answer, submit, hint, reveal, progress_box, learner_code], api_visibility="private"
    )
    learner_code.submit(restore, [learner_code, lang], outputs, api_visibility="private")
    new.click(new_question, [learner, module, lang], [question, feedback, answer], api_visibility="private")
    progress_outputs = [learner, lang]
    for trigger, action in (
        (submit.click, "answer"),
        (answer.submit, "answer"),
        (hint.click, "hint"),
        (reveal.click, "reveal"),
    ):
        trigger(step(action), [learner, answer, lang], [question, feedback, answer], api_visibility="private").then(
            refresh, progress_outputs, outputs, api_visibility="private"
        )

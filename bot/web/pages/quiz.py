"""The "Quiz" tab of the chat page: pick a module, answer, get hints, see progress.

The learner is a pseudonymous id kept in the browser (``gr.BrowserState``, so it survives reloads and server
restarts) and shown as a "learner code" the learner can copy to another device. Everything else — the
question in progress, hints given, results — is in the store, through the same tutor service the API uses.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from bot.runtime import NotReadyError, Runtime
from bot.tutor.service import SURPRISE, ProgressReport, TutorError, TutorService

TEXTS = {
    "fr": {
        "tab": "Quiz",
        "module": "Module",
        "module_info": "Choisissez un module, ou laissez le tuteur choisir avec les boutons ci-dessous.",
        "surprise": "🎲 Surprenez-moi",
        "recommended": "⭐ Module recommandé",
        "new": "Nouvelle question",
        "answer": "Votre réponse",
        "placeholder": "Répondez avec vos mots…",
        "submit": "Valider",
        "hint": "Un indice",
        "reveal": "Voir la réponse",
        "learner": "Code apprenant",
        "learner_info": "Votre identifiant anonyme : gardez-le pour retrouver votre progression sur un autre appareil.",
        "progress": "Ma progression",
        "score": "score moyen (%)",
        "none": "Pas encore de question terminée.",
        "summary": "**{answered}** question(s) terminée(s) · moyenne **{average:.0%}** · "
        "série en cours **{streak}** (record {best})",
        "module_line": "- {title} : {seen}/{total} · {average:.0%}",
        "busy": "Le tuteur démarre, réessayez dans quelques secondes.",
        "no_question": "Pas de question en cours : demandez-en une nouvelle.",
        "empty": "Écrivez votre réponse avant de valider.",
    },
    "en": {
        "tab": "Quiz",
        "module": "Module",
        "module_info": "Choose a module, or let the tutor choose with the buttons below.",
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
        "score": "average score (%)",
        "none": "No finished question yet.",
        "summary": "**{answered}** finished question(s) · average **{average:.0%}** · current streak **{streak}** "
        "(best {best})",
        "module_line": "- {title}: {seen}/{total} · {average:.0%}",
        "busy": "The tutor is starting, please retry in a few seconds.",
        "no_question": "No question in progress: ask for a new one.",
        "empty": "Write your answer before submitting.",
    },
}


@dataclass(frozen=True)
class ProgressView:
    """What the progress box shows: the summary (Markdown), the chart's rows and the recommended next step.
    The chart is in percent, like the text beside it."""

    summary: str
    chart: pd.DataFrame
    advice: str


def browser_secret(data_dir: Path) -> str:
    """A secret kept in the data folder: the learner id stored in the browser must stay readable after a
    restart (a new random secret per process would make every learner start over)."""
    path = data_dir / "browser-state.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
    return path.read_text().strip()


def _module_choices(tutor: TutorService | None, lang: str) -> list[tuple[str, str]]:
    """The modules only: "recommended" and "surprise me" are buttons of their own, not entries among them."""
    return [(m.title(lang), m.id) for m in tutor.bank.modules.values()] if tutor else []


def progress_view(report: ProgressReport, lang: str) -> ProgressView:
    texts = TEXTS[lang]
    seen = [m for m in report.modules if m.seen]
    summary = (
        texts["summary"].format(
            answered=report.answered, average=report.average, streak=report.streak, best=report.best_streak
        )
        if report.answered
        else texts["none"]
    )
    lines = [summary, ""] + [
        texts["module_line"].format(title=m.title, seen=m.seen, total=m.total, average=m.average or 0.0) for m in seen
    ]
    chart = pd.DataFrame(
        [{"module": m.title, texts["score"]: round((m.average or 0.0) * 100)} for m in seen],
        columns=["module", texts["score"]],
    )
    advice = f"**→ {report.recommendation.message}**" if report.recommendation else ""
    return ProgressView("\n".join(lines), chart, advice)


def _actions(enabled: bool) -> list[dict]:
    """Submit, hint and answer act on the question in progress: off once it is finished (or before one is
    asked), so that "Voir la réponse" cannot replace an explanation with "no question"."""
    return [gr.update(interactive=enabled)] * 3


def build_quiz_tab(demo: gr.Blocks, runtime: Runtime, lang: gr.Radio, learner: gr.BrowserState) -> None:
    """Builds the tab's content inside the current Blocks; ``lang`` is the page's language switch and
    ``learner`` the id kept in the browser (the chat uses it too, so a quiz started in the chat counts)."""
    texts = TEXTS["fr"]
    shown = gr.State(None)  # the id of the question on screen, finished or not
    with gr.Row():
        module = gr.Dropdown(
            _module_choices(runtime.tutor, "fr"),
            value=None,
            label=texts["module"],
            info=texts["module_info"],
            elem_id="quiz-module",
            scale=3,
        )
        new = gr.Button(texts["new"], variant="primary", elem_id="quiz-new", scale=1)
    with gr.Row():
        recommended = gr.Button(texts["recommended"], elem_id="quiz-recommended", size="sm")
        surprise = gr.Button(texts["surprise"], elem_id="quiz-surprise", size="sm")
    question = gr.Markdown(elem_id="quiz-question")
    answer = gr.Textbox(
        label=texts["answer"],
        placeholder=texts["placeholder"],
        lines=3,
        elem_id="quiz-answer",
        max_length=runtime.settings.max_message_chars,
    )
    with gr.Row():
        submit = gr.Button(texts["submit"], variant="primary", elem_id="quiz-submit", interactive=False)
        hint = gr.Button(texts["hint"], elem_id="quiz-hint", interactive=False)
        reveal = gr.Button(texts["reveal"], elem_id="quiz-reveal", interactive=False)
    feedback = gr.Markdown(elem_id="quiz-feedback")
    with gr.Accordion(texts["progress"], open=True, elem_id="quiz-progress-box") as progress_box:
        recommendation = gr.Markdown(elem_id="quiz-recommendation")
        progress = gr.Markdown(elem_id="quiz-progress")
        chart = gr.BarPlot(
            pd.DataFrame({"module": [], texts["score"]: []}),
            x="module",
            y=texts["score"],
            y_lim=[0, 100],
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
        view = progress_view(tutor.report(learner_id, language), language)
        return (
            learner_id,
            learner_id,
            view.summary,
            gr.update(value=view.chart, y=TEXTS[language]["score"]),
            view.advice,
            gr.update(choices=_module_choices(tutor, language)),
        )

    def frame(learner_id: str | None, shown_id: str | None, language: str):
        """The question on screen, framed in the page's language: the one in progress (after a reload too),
        or the finished one still shown beside its explanation."""
        tutor = tutor_or_busy(language)
        current = tutor.current(learner_id, language) if learner_id else None
        if current and shown_id in (None, current.question_id):
            return current.message, current.question_id, *_actions(True)
        if shown_id:
            return tutor.show(learner_id or "", shown_id, language).message, shown_id, *_actions(False)
        return "", None, *_actions(False)

    def ask(learner_id: str, module_id: str | None, language: str):
        """A new question; the menu then shows its module, so "Nouvelle question" goes on in it."""
        turn = tutor_or_busy(language).ask(learner_id, module_id, language)
        return turn.message, "", "", turn.question_id, gr.update(value=turn.module), *_actions(True)

    def step(action: str):
        def handler(learner_id: str, text: str, language: str):
            tutor = tutor_or_busy(language)
            if action == "answer" and not text.strip():
                gr.Warning(TEXTS[language]["empty"])
                return gr.update(), *_actions(True)
            try:
                turn = {
                    "answer": lambda: tutor.answer(learner_id, text, lang=language),
                    "hint": lambda: tutor.hint(learner_id, lang=language),
                    "reveal": lambda: tutor.reveal(learner_id, lang=language),
                }[action]()
            except TutorError:
                gr.Warning(TEXTS[language]["no_question"])
                return gr.update(), *_actions(False)
            # The answer box is left as it is: a wrong answer is improved, not typed again.
            return turn.message, *_actions(not turn.finished)

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
            gr.update(label=texts["module"], info=texts["module_info"]),
            gr.update(value=texts["new"]),
            gr.update(value=texts["recommended"]),
            gr.update(value=texts["surprise"]),
            gr.update(label=texts["answer"], placeholder=texts["placeholder"]),
            gr.update(value=texts["submit"]),
            gr.update(value=texts["hint"]),
            gr.update(value=texts["reveal"]),
            gr.update(label=texts["progress"]),
            gr.update(label=texts["learner"], info=texts["learner_info"]),
        ]

    outputs = [learner, learner_code, progress, chart, recommendation, module]
    actions = [submit, hint, reveal]
    framed = [question, shown, *actions]
    demo.load(refresh, [learner, lang], outputs, api_visibility="private").then(
        frame, [learner, shown, lang], framed, api_visibility="private"
    )
    lang.change(refresh, [learner, lang], outputs, api_visibility="private").then(
        relabel,
        lang,
        [module, new, recommended, surprise, answer, submit, hint, reveal, progress_box, learner_code],
        api_visibility="private",
    ).then(frame, [learner, shown, lang], framed, api_visibility="private")
    learner_code.submit(restore, [learner_code, lang], outputs, api_visibility="private").then(
        lambda learner_id, language: frame(learner_id, None, language),
        [learner, lang],
        framed,
        api_visibility="private",
    )
    asked = [question, feedback, answer, shown, module, *actions]

    def ask_chosen(learner_id: str, module_id: str | None, language: str):
        return ask(learner_id, module_id or None, language)  # no module chosen yet: the recommended one

    def ask_recommended(learner_id: str, language: str):
        return ask(learner_id, None, language)

    def ask_surprise(learner_id: str, language: str):
        return ask(learner_id, SURPRISE, language)

    for trigger, handler, inputs in (
        (new.click, ask_chosen, [learner, module, lang]),
        (recommended.click, ask_recommended, [learner, lang]),
        (surprise.click, ask_surprise, [learner, lang]),
    ):
        trigger(handler, inputs, asked, api_visibility="private").then(
            refresh, [learner, lang], outputs, api_visibility="private"
        )
    for trigger, action in (
        (submit.click, "answer"),
        (answer.submit, "answer"),
        (hint.click, "hint"),
        (reveal.click, "reveal"),
    ):
        trigger(step(action), [learner, answer, lang], [feedback, *actions], api_visibility="private").then(
            refresh, [learner, lang], outputs, api_visibility="private"
        )

"""The Gradio chat at ``/``: the same runtime services as the API, one conversation per browser tab.

The session id and the id of the last answer live in ``gr.State``, which Gradio keeps per browser tab, so
two visitors never share a history; the history itself is read from the store by the runtime, as for the
API. Answers are streamed from the runtime's event stream, the one ``/api/chat/stream`` serves.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

import gradio as gr
from gradio.events import Dependency

from bot.conversation import Done, TokenEvent, TurnRequest
from bot.runtime import NotReadyError, Runtime
from bot.schema import Citation, is_lang
from bot.web.pages.look import ANNOUNCE_JS, SET_LANG_JS, header_html
from bot.web.pages.quiz import browser_secret, build_quiz_tab

log = logging.getLogger("tutor.ui")

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Tuteur IA & data",
        "purpose": (
            "Vos questions sur les admissions, la formation et les cours d'IA, avec des réponses qui citent "
            "leurs sources."
        ),
        "programmes": "École de la data et de l'IA (groupe La Poste) · Objectif IA · Fondamentaux de l'IA",
        "welcome": (
            "Bonjour ! Je réponds aux questions sur l'École de la data et de l'IA (groupe La Poste), "
            "sur la formation gratuite Objectif IA et sur les fondamentaux de l'IA. "
            "Chaque réponse cite ses sources."
        ),
        "conversation": "Conversation",
        "placeholder": "Posez votre question…",
        "send": "Envoyer",
        "sources": "Sources",
        "no_sources": "Aucune source pour cette réponse.",
        "candidates": "Futur candidat",
        "learners": "Apprenant",
        "feedback": "Cette réponse vous a-t-elle aidé ?",
        "up": "👍 Utile",
        "down": "👎 Pas utile",
        "comment": "Un commentaire (facultatif)",
        "send_comment": "Envoyer le commentaire",
        "rated": "Réponse à évaluer",
        "thanks": "Merci pour votre retour !",
        "no_answer": "Posez d'abord une question.",
        "rate_first": "Choisissez d'abord 👍 ou 👎 pour cette réponse, puis envoyez votre commentaire.",
        "human": "Parler à un humain",
        "human_text": (
            "Cet assistant ne remplace pas les équipes des programmes et ne transmet pas de candidature.\n\n"
            "- **École de la data et de l'IA** : consultez le site officiel du groupe La Poste et la "
            "communication de l'École de la data et de l'IA. Si vous travaillez à La Poste, vos interlocuteurs "
            "RH internes sont aussi un bon point de départ.\n"
            "- **Objectif IA** : la formation est en ligne sur la plateforme OpenClassrooms ; l'Institut "
            "Montaigne porte le programme.\n\n"
            "L'assistant ne dispose ni d'adresse, ni de numéro de téléphone, ni de formulaire de contact."
        ),
        "busy": "L'assistant démarre, réessayez dans quelques secondes.",
        "error": "Désolé, un problème est survenu. Réessayez dans un instant.",
    },
    "en": {
        "title": "AI & data tutor",
        "purpose": "Your questions on admission, the programmes and AI courses, answered with their sources.",
        "programmes": "École de la data et de l'IA (La Poste group) · Objectif IA · AI fundamentals",
        "welcome": (
            "Hello! I answer questions about La Poste's École de la data et de l'IA, the free "
            "Objectif IA course and AI fundamentals. Every answer cites its sources."
        ),
        "conversation": "Conversation",
        "placeholder": "Ask your question…",
        "send": "Send",
        "sources": "Sources",
        "no_sources": "No sources for this answer.",
        "candidates": "Future candidate",
        "learners": "Learner",
        "feedback": "Was this answer helpful?",
        "up": "👍 Helpful",
        "down": "👎 Not helpful",
        "comment": "A comment (optional)",
        "send_comment": "Send the comment",
        "rated": "Answer to rate",
        "thanks": "Thank you for your feedback!",
        "no_answer": "Ask a question first.",
        "rate_first": "Choose 👍 or 👎 for this answer first, then send your comment.",
        "human": "Talk to a human",
        "human_text": (
            "This assistant does not replace the programmes' teams and does not forward applications.\n\n"
            "- **École de la data et de l'IA**: see La Poste group's official website and the École de la data "
            "et de l'IA's own communication. If you work at La Poste, your HR contacts are a good start too.\n"
            "- **Objectif IA**: the course is online on the OpenClassrooms platform; Institut Montaigne runs "
            "the programme.\n\n"
            "The assistant has no address, phone number or contact form."
        ),
        "busy": "The assistant is starting, please retry in a few seconds.",
        "error": "Sorry, something went wrong. Please try again in a moment.",
    },
}


# The example questions under the chat, by language and audience.
EXAMPLES: dict[str, dict[str, list[str]]] = {
    "fr": {
        "candidates": [
            "Faut-il passer un concours pour entrer à l'École de la data et de l'IA ?",
            "Quel est le rythme de l'alternance ?",
            "Combien de temps dure Objectif IA ?",
        ],
        "learners": [
            "C'est quoi le surapprentissage ?",
            "Quels sont les niveaux de risque de l'AI Act ?",
            "Qu'est-ce qu'une hallucination d'un LLM ?",
        ],
    },
    "en": {
        "candidates": [
            "Is there an entrance exam for the École de la data et de l'IA?",
            "What is the work-study rhythm?",
            "How long does Objectif IA take?",
        ],
        "learners": [
            "What is overfitting?",
            "What are the risk levels of the AI Act?",
            "What is an LLM hallucination?",
        ],
    },
}


def in_language(text: str, language: str) -> str:
    """A message of ``TEXTS`` in ``language``, whichever language it was shown in (other text unchanged):
    what is on screen when the FR/EN switch is used, such as the feedback's thanks, follows the switch."""
    for texts in TEXTS.values():
        key = next((key for key, shown in texts.items() if shown == text), None)
        if key is not None:
            return TEXTS[language][key]
    return text


def sources_html(citations: Sequence[Citation], lang: str) -> str:
    if not citations:
        return f"<p class='no-sources'>{TEXTS[lang]['no_sources']}</p>"
    cards = []
    for c in citations:
        title = html.escape(c.title)
        link = f"<a href='{html.escape(c.url)}' target='_blank' rel='noopener'>{title}</a>" if c.url else title
        cards.append(
            f"<div class='source-card'><strong>[{c.n}] {link}</strong>"
            f"<div class='source-id'>{html.escape(c.source_id)}</div>"
            f"<p>{html.escape(c.snippet)}</p></div>"
        )
    return f"<h2 class='sources-title'>{TEXTS[lang]['sources']}</h2>" + "".join(cards)


CSS = """
.sources-title {font-size: 1.1em; margin: 4px 0;}
.source-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; margin: 6px 0;}
.source-card p {margin: 4px 0 0 0; font-size: 0.9em;}
.source-id {font-size: 0.8em; opacity: 0.7;}
.examples button {white-space: normal; text-align: left;}
@media (max-width: 640px) {
  .gradio-container {padding: 4px !important;}
  .examples {flex-direction: column;}
}
"""


def build_ui(runtime: Runtime) -> gr.Blocks:
    with gr.Blocks(title=f"{TEXTS['fr']['title']} · {TEXTS['en']['title']}") as demo:
        session = gr.State(None)
        # The conversation's answers as (label, message id), so that any of them can be rated; the rating
        # given to each (message id -> up | down); the citations on show (None before the first answer).
        answers: gr.State = gr.State([])
        ratings: gr.State = gr.State({})
        shown_citations: gr.State = gr.State(None)
        with gr.Row():
            header = gr.HTML(header_html(TEXTS["fr"]), elem_id="site-header", scale=5, padding=False)
            lang = gr.Radio(["fr", "en"], value="fr", label="Langue / Language", elem_id="lang", scale=1, min_width=150)
        learner = gr.BrowserState(None, storage_key="tutor-learner", secret=browser_secret(runtime.settings.data_dir))
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", elem_id="tab-chat"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    chatbot = gr.Chatbot(
                        value=[{"role": "assistant", "content": TEXTS["fr"]["welcome"]}],
                        height=460,
                        elem_id="chat",
                        label=TEXTS["fr"]["conversation"],
                        buttons=["copy", "copy_all"],
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder=TEXTS["fr"]["placeholder"],
                            show_label=False,
                            scale=5,
                            elem_id="question",
                            max_length=runtime.settings.max_message_chars,
                        )
                        send = gr.Button(TEXTS["fr"]["send"], variant="primary", scale=1, elem_id="send", min_width=90)
                    example_buttons = {}
                    for audience in ("candidates", "learners"):
                        label = gr.Markdown(f"**{TEXTS['fr'][audience]}**", elem_id=f"audience-{audience}")
                        with gr.Row(elem_classes="examples"):
                            buttons = [
                                gr.Button(text, size="sm", elem_id=f"example-{audience}-{i}")
                                for i, text in enumerate(EXAMPLES["fr"][audience])
                            ]
                        example_buttons[audience] = (label, buttons)
                    with gr.Accordion(TEXTS["fr"]["human"], open=False, elem_id="human") as human:
                        human_text = gr.Markdown(TEXTS["fr"]["human_text"])
                with gr.Column(scale=2, min_width=280):
                    sources = gr.HTML(elem_id="sources")
                    with gr.Group(elem_id="feedback", visible=False) as feedback_block:
                        feedback_label = gr.Markdown(TEXTS["fr"]["feedback"])
                        rated = gr.Dropdown(choices=[], label=TEXTS["fr"]["rated"], elem_id="rated-answer")
                        with gr.Row():
                            up = gr.Button(TEXTS["fr"]["up"], elem_id="thumbs-up", size="sm")
                            down = gr.Button(TEXTS["fr"]["down"], elem_id="thumbs-down", size="sm")
                        comment = gr.Textbox(
                            placeholder=TEXTS["fr"]["comment"],
                            show_label=False,
                            elem_id="comment",
                            max_lines=3,
                            max_length=2000,
                        )
                        send_comment = gr.Button(TEXTS["fr"]["send_comment"], elem_id="send-comment", size="sm")
                        thanks = gr.Markdown(elem_id="feedback-status")
            with gr.Tab("Quiz", elem_id="tab-quiz"):
                build_quiz_tab(demo, runtime, lang, learner)

        def respond(
            message: str,
            history: list,
            session_id: str | None,
            language: str,
            learner_id: str | None,
            answered: list[tuple[str, str]],
        ):
            message = (message or "").strip()
            if not message:
                yield history, "", session_id, gr.update(), answered, gr.update(), gr.update()
                return
            try:
                reply = runtime.conversation().turn(
                    TurnRequest(
                        message, session_id, lang=language if is_lang(language) else None, learner_id=learner_id
                    )
                )
            except NotReadyError:
                raise gr.Error(TEXTS[language]["busy"]) from None
            session_id = reply.session_id
            history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": ""}]
            try:
                for event in reply:
                    if isinstance(event, TokenEvent):
                        history[-1]["content"] += event.text
                        yield history, "", session_id, gr.update(), answered, "", gr.update()
                    elif isinstance(event, Done):
                        history[-1]["content"] = event.reply.answer
                        label = f"{len(answered) + 1}. {message if len(message) <= 60 else message[:59] + '…'}"
                        yield (
                            history,
                            "",
                            session_id,
                            sources_html(event.reply.citations, language),
                            [*answered, (label, event.message_id)],
                            "",
                            event.reply.citations,
                        )
            except Exception:  # the visitor gets a friendly message; staff get the traceback in the log
                log.exception("answer failed")
                raise gr.Error(TEXTS[language]["error"]) from None

        def rating_buttons(rating: str | None) -> tuple[dict, dict]:
            """The selected rating is the highlighted button."""
            return (
                gr.update(variant="primary" if rating == "up" else "secondary"),
                gr.update(variant="primary" if rating == "down" else "secondary"),
            )

        def show_feedback(answered: list[tuple[str, str]], given: dict[str, str]):
            """After an answer: the feedback block appears, on the newest answer."""
            if not answered:
                return gr.update(visible=False), gr.update(), gr.update(), gr.update()
            newest = answered[-1][1]
            return (
                gr.update(visible=True),
                gr.update(choices=answered, value=newest),
                *rating_buttons(given.get(newest)),
            )

        def feedback(rating: str | None):
            """A click on 👍/👎 (``rating``) or the comment sent alone (``None``: it goes with the rating the
            answer already has). The store keeps an earlier comment when none is typed, so a second click never
            loses one; what was typed stays in the box when it could not be stored."""

            def handler(
                session_id: str | None, message_id: str | None, note: str, language: str, given: dict[str, str]
            ):
                texts, chosen = TEXTS[language], rating or given.get(message_id or "")
                unchanged = (note, given, gr.update(), gr.update())
                if not (session_id and message_id):
                    return texts["no_answer"], *unchanged
                if chosen is None:
                    return texts["rate_first"], *unchanged
                if not runtime.store.add_feedback(session_id, message_id, chosen, note):
                    return texts["no_answer"], *unchanged
                return texts["thanks"], "", {**given, message_id: chosen}, *rating_buttons(chosen)

            return handler

        def switch(language: str, history: list, citations: list[Citation] | None, status: str):
            texts = TEXTS[language]
            greeting = [{"role": "assistant", "content": texts["welcome"]}]
            updates = [
                header_html(texts),
                gr.update(value=greeting + history[1:] if history else greeting, label=texts["conversation"]),
                gr.update(placeholder=texts["placeholder"]),
                gr.update(value=texts["send"]),
                gr.update(value=texts["feedback"]),
                gr.update(label=texts["rated"]),
                gr.update(value=texts["up"]),
                gr.update(value=texts["down"]),
                gr.update(placeholder=texts["comment"]),
                gr.update(value=texts["send_comment"]),
                in_language(status, language),  # the feedback status, said again in the new language
                gr.update() if citations is None else sources_html(citations, language),
                gr.update(label=texts["human"]),
                gr.update(value=texts["human_text"]),
            ]
            for audience, (_, buttons) in example_buttons.items():
                updates.append(gr.update(value=f"**{texts[audience]}**"))
                updates += [gr.update(value=text) for text in EXAMPLES[language][audience][: len(buttons)]]
            return updates

        inputs = [box, chatbot, session, lang, learner, answers]
        outputs = [chatbot, box, session, sources, answers, thanks, shown_citations]
        shown = [feedback_block, rated, up, down]

        def then_feedback(answering: Dependency) -> None:
            """Once an answer is complete: its feedback block, and the answer said once to screen readers."""
            answering.then(show_feedback, [answers, ratings], shown, js=ANNOUNCE_JS, api_visibility="private")

        then_feedback(box.submit(respond, inputs, outputs, api_name="ask"))
        then_feedback(send.click(respond, inputs, outputs, api_visibility="private"))
        for _, buttons in example_buttons.values():
            for button in buttons:
                then_feedback(
                    button.click(lambda text: text, button, box, api_visibility="private").then(
                        respond, inputs, outputs, api_visibility="private"
                    )
                )
        rated.input(
            lambda chosen, given: rating_buttons(given.get(chosen)),
            [rated, ratings],
            [up, down],
            api_visibility="private",
        )
        feedback_inputs = [session, rated, comment, lang, ratings]
        feedback_outputs = [thanks, comment, ratings, up, down]
        for trigger, rating in (
            (up.click, "up"),
            (down.click, "down"),
            (send_comment.click, None),
            (comment.submit, None),
        ):
            trigger(feedback(rating), feedback_inputs, feedback_outputs, api_visibility="private")
        switch_outputs = [header, chatbot, box, send, feedback_label, rated, up, down, comment, send_comment, thanks]
        switch_outputs += [sources, human, human_text]
        for label, buttons in example_buttons.values():
            switch_outputs += [label, *buttons]
        lang.change(
            switch,
            [lang, chatbot, shown_citations, thanks],
            switch_outputs,
            api_visibility="private",
            js=SET_LANG_JS,
        )
    return demo

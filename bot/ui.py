"""The Gradio chat at ``/``: the same runtime services as the API, one conversation per browser tab.

The session id lives in ``gr.State``, which Gradio keeps per browser tab, so two visitors never share a
history; the history itself is read from the store by the runtime, as for the API.
"""

from __future__ import annotations

import html

import gradio as gr

from bot.runtime import NotReadyError, Runtime

TEXTS = {
    "fr": {
        "welcome": ("Bonjour ! Je réponds aux questions sur **l'École de la data et de l'IA** (groupe La Poste), "
                    "sur la formation gratuite **Objectif IA** et sur les **fondamentaux de l'IA**. "
                    "Chaque réponse cite ses sources."),
        "placeholder": "Posez votre question…",
        "sources": "Sources",
        "no_sources": "Aucune source pour cette réponse.",
        "examples": ["Faut-il passer un concours pour entrer à l'École de la data et de l'IA ?",
                     "Combien de temps dure Objectif IA ?",
                     "C'est quoi le surapprentissage ?"],
        "busy": "L'assistant démarre, réessayez dans quelques secondes.",
    },
    "en": {
        "welcome": ("Hello! I answer questions about La Poste's **École de la data et de l'IA**, the free "
                    "**Objectif IA** course and **AI fundamentals**. Every answer cites its sources."),
        "placeholder": "Ask your question…",
        "sources": "Sources",
        "no_sources": "No sources for this answer.",
        "examples": ["Is there an entrance exam for the École de la data et de l'IA?",
                     "How long does Objectif IA take?",
                     "What is overfitting?"],
        "busy": "The assistant is starting, please retry in a few seconds.",
    },
}


def sources_html(citations: list[dict], lang: str) -> str:
    if not citations:
        return f"<p class='no-sources'>{TEXTS[lang]['no_sources']}</p>"
    cards = []
    for c in citations:
        title = html.escape(c["title"])
        url = c.get("url")
        link = f"<a href='{html.escape(url)}' target='_blank' rel='noopener'>{title}</a>" if url else title
        cards.append(f"<div class='source-card'><strong>[{c['n']}] {link}</strong>"
                     f"<div class='source-id'>{html.escape(c['source_id'])}</div>"
                     f"<p>{html.escape(c['snippet'])}</p></div>")
    return f"<h4>{TEXTS[lang]['sources']}</h4>" + "".join(cards)


CSS = """
.source-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px; margin: 6px 0;}
.source-card p {margin: 4px 0 0 0; font-size: 0.9em;}
.source-id {font-size: 0.8em; opacity: 0.7;}
"""


def build_ui(runtime: Runtime) -> gr.Blocks:
    with gr.Blocks(title="Tuteur IA & data") as demo:
        session = gr.State(None)
        lang = gr.Radio(["fr", "en"], value="fr", label="Langue / Language", elem_id="lang")
        chatbot = gr.Chatbot(value=[{"role": "assistant", "content": TEXTS["fr"]["welcome"]}],
                             height=460, elem_id="chat", label="Chat")
        with gr.Row():
            box = gr.Textbox(placeholder=TEXTS["fr"]["placeholder"], show_label=False, scale=5,
                             elem_id="question", max_length=runtime.settings.max_message_chars)
            send = gr.Button("Envoyer / Send", variant="primary", scale=1, elem_id="send")
        sources = gr.HTML(elem_id="sources")
        gr.Examples(TEXTS["fr"]["examples"] + TEXTS["en"]["examples"], inputs=box)

        def respond(message: str, history: list, session_id: str | None, language: str):
            message = (message or "").strip()
            if not message:
                return history, "", session_id, gr.update()
            try:
                result = runtime.converse(session_id, message, lang=language)
            except NotReadyError:
                raise gr.Error(TEXTS[language]["busy"]) from None
            history = [*history, {"role": "user", "content": message},
                       {"role": "assistant", "content": result["answer"]}]
            return history, "", result["session_id"], sources_html(result["citations"], language)

        def switch(language: str, history: list):
            greeting = [{"role": "assistant", "content": TEXTS[language]["welcome"]}]
            return (greeting + history[1:] if history else greeting,
                    gr.update(placeholder=TEXTS[language]["placeholder"]))

        inputs = [box, chatbot, session, lang]
        outputs = [chatbot, box, session, sources]
        box.submit(respond, inputs, outputs, api_name="ask")
        send.click(respond, inputs, outputs)
        lang.change(switch, [lang, chatbot], [chatbot, box])
    return demo

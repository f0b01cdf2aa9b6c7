"""A follow-up rewritten by the LLM into a standalone question, accepted only when it adds nothing.

Used by the chat service when an LLM is in use (``bot.answering.chat``): a standalone question retrieves better
than a follow-up glued to the previous question, and the LLM answers it without the history.
"""

from __future__ import annotations

import logging

from bot.answering.grounding import names, numbers
from bot.answering.llm_backends import LlmClient, Stopped, timed_stream
from bot.language import detect_language
from bot.schema import Lang
from bot.text import fold

log = logging.getLogger("tutor.llm")

REWRITE_PROMPT: dict[Lang, str] = {
    "fr": (
        "Question précédente : {previous}\nNouvelle question : {message}\n\nRéécris la nouvelle question pour "
        "qu'elle se comprenne sans la précédente, en français, en une seule phrase, sans y répondre. "
        "Écris seulement la question réécrite."
    ),
    "en": (
        "Previous question: {previous}\nNew question: {message}\n\nRewrite the new question so that it can be "
        "understood without the previous one, in English, in one sentence, without answering it. Write only "
        "the rewritten question."
    ),
}


def rewrite_follow_up(
    client: LlmClient, message: str, previous: str, lang: Lang, vocabulary: frozenset[str], budget_s: float
) -> str | None:
    """A follow-up ("et ça dure combien de temps ?") as a standalone question, in the user's language; ``None``
    when the model is too slow or its rewrite adds a number or name the conversation did not contain, changes
    language or runs long (the caller then searches with the previous question's help instead)."""
    messages = [{"role": "user", "content": REWRITE_PROMPT[lang].format(previous=previous, message=message)}]
    text = ""
    for piece in timed_stream(client, messages, 48, budget_s):
        if isinstance(piece, Stopped):
            log.info("follow-up not rewritten: %s", piece.reason)
            return None
        text += piece
    rewritten = " ".join(text.strip().strip('"«»').split())
    said = f"{previous} {message}"
    if (
        not rewritten
        or len(rewritten) > 300
        or detect_language(rewritten, default=lang) != lang
        or not numbers(rewritten) <= numbers(said)
        or not {fold(n) for n in names(rewritten, vocabulary)} <= {fold(n) for n in names(said, vocabulary)}
    ):
        log.info("follow-up rewrite rejected: %r", rewritten)
        return None
    return rewritten

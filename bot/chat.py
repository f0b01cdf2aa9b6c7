"""The conversation service: a question (and its history) in, a cited answer in the user's language out.

This is the brain the API, the UI and the evaluation suite all call; it knows nothing of HTTP.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bot.config import Settings
from bot.generators import ExtractiveGenerator, FaqGenerator, Generator, Turn
from bot.guard import screen, without_planted_instructions
from bot.index import KnowledgeIndex
from bot.keywords import KeywordIndex
from bot.language import Lang, detect_language
from bot.policy import Decision, Thresholds, decide
from bot.privacy import redact
from bot.retrieval import EVERYWHERE, Passage, Retrieval, Retriever, Scope
from bot.text import WordWeights, content_words

REFUSAL = {
    "fr": ("Je n'ai pas d'information fiable sur ce sujet dans ma base de connaissances, je préfère donc ne "
           "pas répondre. Je peux vous renseigner sur l'École de la data et de l'IA du groupe La Poste, sur "
           "la formation gratuite Objectif IA et sur les fondamentaux de l'IA. Pour toute autre question sur "
           "ces programmes, adressez-vous à leurs canaux officiels : le site officiel du groupe La Poste pour "
           "l'École de la data et de l'IA, OpenClassrooms ou l'Institut Montaigne pour Objectif IA."),
    "en": ("I don't have reliable information on this in my knowledge base, so I'd rather not answer. I can "
           "help with La Poste's École de la data et de l'IA, the free Objectif IA course and AI fundamentals. "
           "For anything else about these programmes, please use their official channels: La Poste group's "
           "official website for the École de la data et de l'IA, OpenClassrooms or Institut Montaigne for "
           "Objectif IA."),
}
SNIPPET_CHARS = 220
# A follow-up that carries few content words of its own ("et ça dure combien de temps ?") is searched together
# with the previous user question (see ``Retriever.search``); a self-contained question is searched as it is.
FOLLOW_UP_MAX_CONTENT_WORDS = 3
_CITATION = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Citation:
    n: int
    source_id: str
    title: str
    snippet: str
    url: str | None = None


@dataclass
class ChatAnswer:
    answer: str
    mode: str
    refused: bool
    lang: Lang
    citations: list[Citation]
    query: str
    retrieved: list[tuple[str, float]] = field(default_factory=list)
    faq_candidates: list[tuple[str, float]] = field(default_factory=list)
    reason: str = ""
    latency_ms: float = 0.0


def follow_up_context(message: str, history: Sequence[Turn]) -> str | None:
    """The previous user question when ``message`` is a follow-up that cannot be searched on its own."""
    previous = [t.content for t in history if t.role == "user"]
    if previous and len(content_words(message)) <= FOLLOW_UP_MAX_CONTENT_WORDS:
        return previous[-1]
    return None


def _snippet(passage: Passage) -> str:
    body = " ".join(without_planted_instructions(passage.body).split())
    return body if len(body) <= SNIPPET_CHARS else body[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def ranked_sources(retrieval: Retrieval, decision: Decision) -> list[tuple[str, float]]:
    """Distinct sources in the order the answer relied on them: the FAQ entry served, then the passages."""
    ranked = [(decision.faq.source_id, decision.faq.score)] if decision.mode == "faq" else []
    ranked += [(p.source_id, p.score) for p in retrieval.passages]
    seen: set[str] = set()
    return [(source, round(score, 4)) for source, score in ranked if not (source in seen or seen.add(source))]


class ChatService:
    def __init__(self, settings: Settings, index: KnowledgeIndex | None = None) -> None:
        self.settings = settings
        self.index = index or KnowledgeIndex(settings)
        passages = self.index.passages.get()  # in-memory keyword index and word weights are built from these
        self.retriever = Retriever(self.index, settings.top_k, KeywordIndex(passages), settings.keyword_weight)
        self.thresholds = Thresholds.for_settings(settings)
        weights = WordWeights(d.page_content for d in passages)
        self.generators: dict[str, Generator] = {
            "faq": FaqGenerator(),
            "extractive": ExtractiveGenerator(weights, settings.max_answer_sentences),
        }

    def prepare(self, message: str, history: Sequence[Turn] = (), lang: Lang | None = None,
                scope: Scope = EVERYWHERE) -> tuple[Retrieval, Decision]:
        lang = lang or detect_language(message)
        screening = screen(message)
        if screening.flagged:
            return Retrieval(query=message, lang=lang, faq=[], passages=[]), Decision(
                "refuse", f"guard: {screening.label}")
        retrieval = self.retriever.search(message, lang, scope, context=follow_up_context(message, history))
        return retrieval, decide(retrieval, self.thresholds, self.settings.answer_mode)

    def stream(self, message: str, history: Sequence[Turn] = (), lang: Lang | None = None,
               scope: Scope = EVERYWHERE) -> tuple[Retrieval, Decision, list[Passage], Iterator[str]]:
        """Decide, then return the passages the answer may cite and the stream of its text. Personal data
        is redacted first: it is never searched, and no answer can repeat it (see ``bot.privacy``)."""
        message = redact(message)
        history = [Turn(t.role, redact(t.content)) if t.role == "user" else t for t in history]
        retrieval, decision = self.prepare(message, history, lang, scope)
        if decision.mode == "refuse":
            return retrieval, decision, [], iter([REFUSAL[retrieval.lang]])
        passages = [decision.faq.as_passage()] if decision.mode == "faq" else list(decision.passages)
        generator = self.generators[decision.mode]
        # Retrieval used the standalone query; the generator gets the user's own words and the history.
        return retrieval, decision, passages, generator.generate(message, passages, history, retrieval.lang)

    def ask(self, message: str, history: Sequence[Turn] = (), lang: Lang | None = None,
            scope: Scope = EVERYWHERE) -> ChatAnswer:
        started = time.perf_counter()
        retrieval, decision, passages, pieces = self.stream(message, history, lang, scope)
        answer = "".join(pieces).strip()
        return self.finish(answer, retrieval, decision, passages, started)

    def finish(self, answer: str, retrieval: Retrieval, decision: Decision, passages: list[Passage],
               started: float) -> ChatAnswer:
        """Shape the result: only the passages the text actually cites become citations, numbers kept."""
        cited = sorted({int(n) for n in _CITATION.findall(answer) if 0 < int(n) <= len(passages)})
        citations = [Citation(n=n, source_id=passages[n - 1].source_id, title=passages[n - 1].title,
                              snippet=_snippet(passages[n - 1]), url=passages[n - 1].url) for n in cited]
        return ChatAnswer(
            answer=answer,
            mode=decision.mode if decision.mode != "refuse" else "refused",
            refused=decision.mode == "refuse",
            lang=retrieval.lang,
            citations=citations,
            query=retrieval.query,
            retrieved=ranked_sources(retrieval, decision),
            faq_candidates=[(m.source_id, round(m.score, 4)) for m in retrieval.faq],
            reason=decision.reason,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )

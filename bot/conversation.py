"""One turn of a conversation, from the raw message to the stored exchange: the one entry every face uses.

    message ─► redact ─► tutor turn? ─► screen (guard) ─► chat turn ─► store ─► events

- **Redact once, first.** Personal data is replaced by placeholders (``bot.safety.privacy``) before anything
  reads the message: the tutor, the guard, retrieval, the generators, the store and the logs all see the
  redacted text, so no reply can echo what was redacted ("interroge-moi sur lea@example.org" gets a reply
  about "[email]").
- **The tutor before the guard.** While a quiz question started in the chat is open, a message is an answer
  to grade, and an answer on the AI-security module may quote an attack ("ignore tes instructions") that the
  guard would decline; the tutor never answers from the knowledge base, so the guard protects the chat turn.
- **Events, typed.** A turn is read as ``TokenEvent``s (the answer as it is written), one ``CitationsEvent``
  and one ``Done`` once the exchange is stored. The API streams them, ``/api/chat`` and the OpenAI route keep
  the last, the UI renders them, the evaluation runner times them.
- **The user's language.** The answer follows the language the message is written in; the language a face
  gives (the FR/EN switch of the interface) only settles a message too short or mixed to tell ("RGPD ?").
- **Observed, counts only.** A ``TurnObserver`` (the app's metrics, ``bot.metrics``) is told of each finished
  turn: its mode, language, refusal, duration and whether the LLM fell back; never its text or ids.
- **Stored or stateless.** A turn with a session is stored with its history read from the store; a turn
  given its history (the OpenAI route, evaluation items) is answered from that history and stored nowhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from textwrap import shorten
from typing import Protocol

from bot.answering.chat import SNIPPET_CHARS, AnswerDraft, ChatAnswer, ChatService
from bot.answering.llm import FALLBACK_NOTE
from bot.answering.retrieval import EVERYWHERE, Scope
from bot.language import detect_language
from bot.safety.guard import screen
from bot.safety.privacy import redact
from bot.schema import Citation, Lang, Turn, is_lang
from bot.store import Store
from bot.tutor.service import TutorService, TutorTurn

log = logging.getLogger("tutor.conversation")


@dataclass(frozen=True)
class TokenEvent:
    """A piece of the answer's text, in order."""

    text: str


@dataclass(frozen=True)
class CitationsEvent:
    """The sources the finished text cites, numbered as in the text."""

    citations: list[Citation]


@dataclass(frozen=True)
class Done:
    """The turn is over (and stored, when it has a session): ``question`` is the message as redacted,
    ``reply`` the finished answer with what it was built from."""

    session_id: str | None
    message_id: str | None
    question: str
    reply: ChatAnswer


Event = TokenEvent | CitationsEvent | Done


@dataclass(frozen=True)
class TurnRequest:
    """What a face received. ``history`` given: a stateless turn (nothing read from or written to the store).
    ``lang`` is the interface's language: the answer's only when the message's own cannot be told."""

    message: str
    session_id: str | None = None
    history: Sequence[Turn] | None = None
    lang: Lang | None = None
    scope: Scope = EVERYWHERE
    learner_id: str | None = None


@dataclass
class Reply:
    """A turn in progress: its session (known at once, for a stream's first bytes) and its events."""

    session_id: str | None
    events: Iterator[Event]
    done: Done | None = field(default=None, init=False)

    def __iter__(self) -> Iterator[Event]:
        for event in self.events:
            if isinstance(event, Done):
                self.done = event
            yield event

    def result(self) -> Done:
        """Read the rest of the turn; its ``Done`` event."""
        for _ in self:
            pass
        assert self.done is not None, "a turn always ends with a Done event"
        return self.done


class TurnObserver(Protocol):
    """Told of every finished turn (``bot.metrics.AppMetrics`` is one). It is given counts and durations only,
    so that nothing it keeps can hold what a user wrote; a turn is counted once its ``Done`` is reached (a stream
    its reader dropped half-way is not)."""

    def answered(self, mode: str, lang: str, refused: bool, seconds: float, llm_fallback: bool) -> None: ...


class Conversation:
    def __init__(
        self,
        chat: ChatService,
        tutor: TutorService | None = None,
        store: Store | None = None,
        observer: TurnObserver | None = None,
    ) -> None:
        self.chat = chat
        self.tutor = tutor
        self.store = store
        self.observer = observer

    def turn(self, request: TurnRequest) -> Reply:
        """Start a turn. Retrieval and the decision happen before this returns, so a failure there is raised
        here, not half-way through a stream."""
        started = time.perf_counter()
        message = redact(request.message)
        lang = detect_language(message, default=request.lang or "fr")
        stored = request.history is None and self.store is not None
        # Counts and modes only in the turn's log lines, never what was written (docs/privacy.md).
        log.debug("turn started: %s, %d characters", "stored" if stored else "stateless", len(message))
        session_id: str | None = None
        if stored:
            assert self.store is not None
            session_id = self.store.ensure_session(request.session_id)
            history: list[Turn] = self.store.history(session_id)
        else:
            history = [Turn(t.role, redact(t.content)) if t.role == "user" else t for t in request.history or ()]
        if stored and self.tutor is not None:
            assert session_id is not None
            tutor_turn = self.tutor.converse(request.learner_id or session_id, message, lang)
            if tutor_turn is not None:
                return Reply(session_id, self._tutor_events(session_id, message, tutor_turn, started))
        screening = screen(message)
        if screening.flagged:
            draft = self.chat.declined(message, lang, f"guard: {screening.label}", started)
        else:
            draft = self.chat.draft(message, history, lang, request.scope, started)
        return Reply(session_id, self._chat_events(session_id, message, draft))

    def ask(
        self, message: str, history: Sequence[Turn] = (), lang: Lang | None = None, scope: Scope = EVERYWHERE
    ) -> ChatAnswer:
        """A stateless turn, all at once: for library use, warm-up and tests."""
        return self.turn(TurnRequest(message, history=history, lang=lang, scope=scope)).result().reply

    def _chat_events(self, session_id: str | None, message: str, draft: AnswerDraft) -> Iterator[Event]:
        for piece in draft:
            yield TokenEvent(piece)
        answer = draft.finish()
        yield from self._closing(session_id, message, answer)

    def _tutor_events(self, session_id: str, message: str, turn: TutorTurn | str, started: float) -> Iterator[Event]:
        text = turn if isinstance(turn, str) else turn.message
        section = None if isinstance(turn, str) else turn.citation
        citations = (
            [
                Citation(
                    n=1,
                    source_id=section.source_id,
                    title=f"{section.title} › {section.section}",
                    snippet=shorten(section.snippet, SNIPPET_CHARS, placeholder="…"),
                )
            ]
            if section
            else []
        )
        yield TokenEvent(text)
        lang = turn.lang if isinstance(turn, TutorTurn) and is_lang(turn.lang) else detect_language(message)
        answer = ChatAnswer(
            answer=text,
            mode="tutor",
            refused=False,
            lang=lang,
            citations=citations,
            query=message,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        yield from self._closing(session_id, message, answer)

    def _closing(self, session_id: str | None, message: str, answer: ChatAnswer) -> Iterator[Event]:
        message_id = None
        if session_id is not None and self.store is not None:
            message_id = self.store.add_exchange(
                session_id,
                message,
                answer.answer,
                answer.mode,
                answer.refused,
                answer.citations,
                faq=answer.faq_candidates[0] if answer.faq_candidates else None,
            )
        self._observe(answer)
        log.debug(
            "turn answered: mode=%s refused=%s citations=%d %.0f ms",
            answer.mode,
            answer.refused,
            len(answer.citations),
            answer.latency_ms,
        )
        yield CitationsEvent(answer.citations)
        yield Done(session_id, message_id, message, answer)

    def _observe(self, answer: ChatAnswer) -> None:
        if self.observer is None:
            return
        try:
            self.observer.answered(
                answer.mode,
                answer.lang,
                answer.refused,
                answer.latency_ms / 1000,
                FALLBACK_NOTE in answer.reason,
            )
        except Exception:  # counting never costs a user their answer
            log.exception("turn observer failed")

"""What a running app holds: settings, the chat service, the store — and whether it is ready yet.

Start-up work (opening the index, ingesting an empty collection, loading the model) runs in a background
thread so that ``/health`` answers at once and ``/ready`` tells load balancers when to send traffic.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from textwrap import shorten

from bot.chat import SNIPPET_CHARS, ChatService
from bot.config import Settings
from bot.generators import Turn
from bot.grading import Grader
from bot.language import Lang, detect_language
from bot.privacy import install_log_redaction
from bot.progress import ProgressStore
from bot.quizzes import QuizBank
from bot.retrieval import EVERYWHERE, Scope
from bot.store import Store
from bot.tutor import TutorService, TutorTurn

log = logging.getLogger("tutor.runtime")
RETENTION_CHECK_S = 3600  # old conversations are purged at start-up, then every hour


class NotReadyError(RuntimeError):
    """The app is still starting (or failed to start); the message says which."""


class Runtime:
    def __init__(self, settings: Settings) -> None:
        install_log_redaction()  # before anything can log what a user typed
        self.settings = settings
        self.store = Store(settings.store_db)
        self.chat: ChatService | None = None
        self.tutor: TutorService | None = None
        self.error: str | None = None
        self._ready = threading.Event()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(self, background: bool = True) -> None:
        if self.settings.retention_days:
            self.purge_expired()  # before the first request, so nothing past its retention is ever served
            threading.Thread(target=self._keep_retention, name="retention", daemon=True).start()
        if background:
            threading.Thread(target=self._start, name="startup", daemon=True).start()
        else:
            self._start()

    def _start(self) -> None:
        try:
            chat = ChatService(self.settings)
            if chat.index.count() == 0:
                log.info("collection '%s' is empty: ingesting %s", chat.index.collection, self.settings.kb_dir)
                report = chat.index.sync(self.settings.kb_dir)
                for path, reason in report.failed.items():
                    log.warning("ingest skipped %s: %s", path, reason)
            chat.index.embeddings.ensure_loaded()
            chat.ask("bonjour")  # warm the caches and the model's first-call paths
            self.tutor = TutorService(QuizBank(self.settings.kb_dir),
                                      Grader(chat.index.embeddings, self.settings.embedding_profile),
                                      ProgressStore(self.store))
            self.chat = chat
            self._ready.set()
            log.info("ready: %d passages in '%s'", chat.index.count(), chat.index.collection)
        except Exception as exc:  # reported by /ready and every chat call, never swallowed
            log.exception("start-up failed")
            self.error = str(exc)

    def purge_expired(self) -> None:
        removed = self.store.purge(self.settings.retention_days)
        if any(removed.values()):
            log.info("retention (%d days): deleted %d conversations, %d messages, %d feedback",
                     self.settings.retention_days, removed["sessions"], removed["messages"], removed["feedback"])

    def _keep_retention(self) -> None:
        while True:
            time.sleep(RETENTION_CHECK_S)
            try:
                self.purge_expired()
            except Exception:  # a locked or full disk: logged, and tried again at the next check
                log.exception("retention purge failed")

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def service(self) -> ChatService:
        if self.chat is None:
            raise NotReadyError(f"start-up failed: {self.error}" if self.error else
                                "the assistant is starting (loading the model and the index); retry in a moment")
        return self.chat

    def tutor_service(self) -> TutorService:
        self.service()
        assert self.tutor is not None  # set with the chat service
        return self.tutor

    def converse_stream(self, session_id: str | None, message: str, lang: Lang | None = None,
                        scope: Scope = EVERYWHERE, learner_id: str | None = None,
                        ) -> tuple[str, Iterator[tuple[str, dict | list]]]:
        """One turn of a stored conversation, as events: ``token`` pieces of the answer, then ``citations``,
        then ``done`` (ids, mode, latency) once the exchange is saved. Retrieval and the decision happen
        before this returns, so a failure there is raised here, not half-way through a stream.

        The tutor sees the message first: a request for a quiz, or an answer to a quiz question the chat
        started, is the tutor's turn (mode ``tutor``); the learner is ``learner_id``, else the session."""
        service = self.service()
        session_id = self.store.ensure_session(session_id)
        started = time.perf_counter()
        tutor_turn = self.tutor_service().converse(learner_id or session_id, message,
                                                   lang or detect_language(message))
        if tutor_turn is not None:
            return session_id, self._tutor_events(session_id, message, tutor_turn, started)
        history: Sequence[Turn] = self.store.history(session_id)
        retrieval, decision, passages, pieces = service.stream(message, history, lang, scope)

        def events() -> Iterator[tuple[str, dict | list]]:
            text = []
            for piece in pieces:
                text.append(piece)
                yield "token", {"text": piece}
            answer = service.finish("".join(text).strip(), retrieval, decision, passages, started, pieces)
            citations = [asdict(c) for c in answer.citations]
            message_id = self.store.add_exchange(session_id, message, answer.answer, answer.mode, answer.refused,
                                                 citations)
            yield "citations", citations
            yield "done", {"session_id": session_id, "message_id": message_id, "answer": answer.answer,
                           "mode": answer.mode, "refused": answer.refused, "latency_ms": answer.latency_ms}

        return session_id, events()

    def _tutor_events(self, session_id: str, message: str, turn: TutorTurn | str,
                      started: float) -> Iterator[tuple[str, dict | list]]:
        text = turn if isinstance(turn, str) else turn.message
        section = None if isinstance(turn, str) else turn.citation
        citations = [{"n": 1, "source_id": section.source_id, "title": f"{section.title} › {section.section}",
                      "snippet": shorten(section.snippet, SNIPPET_CHARS, placeholder="…"), "url": None}
                     ] if section else []
        yield "token", {"text": text}
        message_id = self.store.add_exchange(session_id, message, text, "tutor", False, citations)
        yield "citations", citations
        yield "done", {"session_id": session_id, "message_id": message_id, "answer": text, "mode": "tutor",
                       "refused": False, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}

    def converse(self, session_id: str | None, message: str, lang: Lang | None = None,
                 scope: Scope = EVERYWHERE, learner_id: str | None = None) -> dict:
        """The same turn, all at once: the ``done`` event with the ``citations`` added."""
        _, events = self.converse_stream(session_id, message, lang, scope, learner_id)
        result: dict = {}
        for kind, payload in events:
            if kind == "citations":
                result["citations"] = payload
            elif kind == "done":
                result.update(payload)
        return result

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

from bot.chat import ChatService
from bot.config import Settings
from bot.generators import Turn
from bot.language import Lang
from bot.privacy import install_log_redaction
from bot.retrieval import EVERYWHERE, Scope
from bot.store import Store

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

    def converse_stream(self, session_id: str | None, message: str, lang: Lang | None = None,
                        scope: Scope = EVERYWHERE) -> tuple[str, Iterator[tuple[str, dict | list]]]:
        """One turn of a stored conversation, as events: ``token`` pieces of the answer, then ``citations``,
        then ``done`` (ids, mode, latency) once the exchange is saved. Retrieval and the decision happen
        before this returns, so a failure there is raised here, not half-way through a stream."""
        service = self.service()
        session_id = self.store.ensure_session(session_id)
        history: Sequence[Turn] = self.store.history(session_id)
        started = time.perf_counter()
        retrieval, decision, passages, pieces = service.stream(message, history, lang, scope)

        def events() -> Iterator[tuple[str, dict | list]]:
            text = []
            for piece in pieces:
                text.append(piece)
                yield "token", {"text": piece}
            answer = service.finish("".join(text).strip(), retrieval, decision, passages, started)
            citations = [asdict(c) for c in answer.citations]
            message_id = self.store.add_exchange(session_id, message, answer.answer, answer.mode, answer.refused,
                                                 citations)
            yield "citations", citations
            yield "done", {"session_id": session_id, "message_id": message_id, "answer": answer.answer,
                           "mode": answer.mode, "refused": answer.refused, "latency_ms": answer.latency_ms}

        return session_id, events()

    def converse(self, session_id: str | None, message: str, lang: Lang | None = None,
                 scope: Scope = EVERYWHERE) -> dict:
        """The same turn, all at once: the ``done`` event with the ``citations`` added."""
        _, events = self.converse_stream(session_id, message, lang, scope)
        result: dict = {}
        for kind, payload in events:
            if kind == "citations":
                result["citations"] = payload
            elif kind == "done":
                result.update(payload)
        return result

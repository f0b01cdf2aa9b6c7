"""What a running app holds (settings, the store, the conversation pipeline and its services) and whether it
is ready yet: the app's life-cycle, nothing of a turn (that is ``bot.conversation``).

Each app counts its own turns, requests and ingests (``self.metrics``, served at ``/metrics``).

Start-up work (opening the index, ingesting an empty collection, loading the model) runs in a background
thread so that ``/health`` answers at once and ``/ready`` tells load balancers when to send traffic.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial

from bot.answering.chat import ChatService
from bot.config import Settings
from bot.conversation import Conversation
from bot.curation.accounts import StaffAccounts
from bot.curation.entries import curated_files
from bot.curation.service import Curation
from bot.indexing.embeddings import load_embeddings, queued_queries
from bot.metrics import AppMetrics
from bot.safety.privacy import install_log_redaction
from bot.store import Store
from bot.tutor.grading import Grader
from bot.tutor.progress import ProgressStore
from bot.tutor.quizzes import QuizBank
from bot.tutor.service import TutorService

log = logging.getLogger("tutor.runtime")
RETENTION_CHECK_S = 3600  # old conversations are purged at start-up, then every hour
CURATION_CHECK_S = 5  # how soon a worker answers with an entry another worker published (a shared index)


class NotReadyError(RuntimeError):
    """The app is still starting (or failed to start); the message says which."""


class Runtime:
    def __init__(self, settings: Settings) -> None:
        install_log_redaction()  # before anything can log what a user typed
        self.settings = settings
        self.store = Store(settings.store_url)
        self.curation = Curation(self.store, self.service)
        self.accounts = StaffAccounts.from_settings(settings)  # who may use /staff and /api/admin/*
        self.chat: ChatService | None = None
        self.tutor: TutorService | None = None
        self.pipeline: Conversation | None = None
        self.error: str | None = None
        self._ready = threading.Event()
        self.metrics = AppMetrics()
        self.metrics.watch_queue(lambda: queued_queries(settings))

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
            # The model's load is the longest step: it starts first, on the model's own thread, and the index
            # and the services are built meanwhile (app.py may have started it already, before its imports).
            load_embeddings(self.settings).start_loading()
            chat = ChatService(self.settings)
            if chat.index.count() == 0:
                log.info("collection '%s' is empty: ingesting %s", chat.index.collection, self.settings.kb_dir)
                try:
                    report = chat.index.sync(
                        self.settings.kb_dir, curated=partial(curated_files, self.curation.records)
                    )
                except Exception:
                    self.metrics.ingested("failed")
                    raise
                self.metrics.ingested("partial" if report.failed else "ok")
                for path, reason in report.failed.items():
                    log.warning("ingest skipped %s: %s", path, reason)
            self.tutor = TutorService(
                QuizBank(self.settings.kb_dir),
                Grader(chat.index.embeddings, self.settings.embedding_profile),
                ProgressStore(self.store),
            )
            chat.warm()
            Conversation(chat).ask("bonjour")  # warm the caches and the model's first-call paths
            self.pipeline = Conversation(chat, self.tutor, self.store, observer=self.metrics)
            self.chat = chat
            self._ready.set()
            if self.settings.chroma_url:  # other workers share the index and may publish into it
                threading.Thread(target=self._follow_curation, name="curation", daemon=True).start()
            log.info("ready: %d passages in '%s'", chat.index.count(), chat.index.collection)
        except Exception as exc:  # reported by /ready and every chat call, never swallowed
            log.exception("start-up failed")
            self.error = str(exc)

    def purge_expired(self) -> None:
        removed = self.store.purge(self.settings.retention_days)
        if any(removed.values()):
            log.info(
                "retention (%d days): deleted %d conversations, %d messages, %d feedback",
                self.settings.retention_days,
                removed["sessions"],
                removed["messages"],
                removed["feedback"],
            )

    def _keep_retention(self) -> None:
        while True:
            time.sleep(RETENTION_CHECK_S)
            try:
                self.purge_expired()
            except Exception:  # a locked or full disk: logged, and tried again at the next check
                log.exception("retention purge failed")

    def _follow_curation(self) -> None:
        while True:
            time.sleep(CURATION_CHECK_S)
            try:
                self.curation.refresh_if_changed()
            except Exception:  # the database away for a moment: tried again at the next check
                log.exception("following other workers' curation failed")

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    def service(self) -> ChatService:
        if self.chat is None:
            raise NotReadyError(
                f"start-up failed: {self.error}"
                if self.error
                else "the assistant is starting (loading the model and the index); retry in a moment"
            )
        return self.chat

    def tutor_service(self) -> TutorService:
        self.service()
        assert self.tutor is not None  # set with the chat service
        return self.tutor

    def conversation(self) -> Conversation:
        """The conversation pipeline every face calls; ``NotReadyError`` until start-up is done."""
        self.service()
        assert self.pipeline is not None  # set with the chat service
        return self.pipeline

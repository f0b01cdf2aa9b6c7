"""The SQLite store: conversations (so history survives a restart) and what each answer was built from.

Schema changes are numbered migrations applied in order and recorded in ``PRAGMA user_version``, so an
existing database is upgraded in place. WAL mode lets the API read while another request writes.

Privacy: what a person typed (questions, feedback comments) is redacted (``bot.safety.privacy``) here, at the one
door to the disk, whoever calls; ``purge`` deletes what is older than the retention period and
``delete_session`` a whole conversation on request.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.safety.privacy import redact, redact_optional
from bot.schema import AnswerMode, Citation, Turn

MIGRATIONS: list[str] = [
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        mode TEXT,
        refused INTEGER,
        citations TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX messages_by_session ON messages(session_id, created_at);
    """,
    """
    CREATE TABLE feedback (
        message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        session_id TEXT NOT NULL,
        rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
        comment TEXT,
        question TEXT NOT NULL,
        answer TEXT NOT NULL,
        sources TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    """,
    # The tutor (bot/tutor/progress.py): where each learner stands on the current question, and every finished one.
    """
    CREATE TABLE tutor_state (
        learner_id TEXT PRIMARY KEY,
        question_id TEXT,
        module TEXT,
        lang TEXT NOT NULL,
        channel TEXT NOT NULL,
        hints INTEGER NOT NULL DEFAULT 0,
        best TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE tutor_results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        learner_id TEXT NOT NULL,
        module TEXT NOT NULL,
        question_id TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('correct', 'explained')),
        hints INTEGER NOT NULL,
        score REAL NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX tutor_results_by_learner ON tutor_results(learner_id, id);
    """,
    # Redaction came after the first releases: what they stored is redacted in place (SQL function ``redact``).
    """
    UPDATE messages SET content = redact(content) WHERE role = 'user';
    UPDATE feedback SET comment = redact(comment), question = redact(question);
    CREATE INDEX messages_by_age ON messages(created_at);
    """,
]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


class Store:
    def __init__(self, path: Path, clock: Clock = _utc_now) -> None:
        """``clock`` gives the time rows are stamped with and ages are measured from (tests move it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.create_function("redact", 1, redact_optional, deterministic=True)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
        self._migrate()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction():
                for statement in filter(str.strip, script.split(";")):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    transaction = _transaction  # for the modules that keep their own tables here (bot/tutor/progress.py)

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _now(self) -> str:
        return _stamp(self._clock())

    def ensure_session(self, session_id: str | None) -> str:
        session_id = session_id or uuid.uuid4().hex
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO sessions (id, created_at) VALUES (?, ?)", (session_id, self._now()))
        return session_id

    def history(self, session_id: str, limit: int = 20) -> list[Turn]:
        with self._lock:
            rows = self._db.execute(
                "SELECT role, content FROM messages WHERE session_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (session_id, limit),
            ).fetchall()
        return [Turn(row["role"], row["content"]) for row in reversed(rows)]

    def add_exchange(
        self,
        session_id: str,
        question: str,
        answer: str,
        mode: AnswerMode,
        refused: bool,
        citations: Sequence[Citation],
    ) -> str:
        """Store a question (redacted) and its answer; answers are built from the knowledge base and the
        redacted question, so they hold nothing personal of their own."""
        message_id = uuid.uuid4().hex
        with self._transaction() as db:
            db.execute(
                "INSERT INTO messages (id, session_id, role, content, created_at) VALUES (?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, session_id, "user", redact(question), self._now()),
            )
            db.execute(
                "INSERT INTO messages (id, session_id, role, content, mode, refused, citations, created_at) "
                "VALUES (?, ?, 'assistant', ?, ?, ?, ?, ?)",
                (
                    message_id,
                    session_id,
                    answer,
                    mode,
                    int(refused),
                    json.dumps([asdict(c) for c in citations]),
                    self._now(),
                ),
            )
        return message_id

    def add_feedback(self, session_id: str, message_id: str, rating: str, comment: str | None) -> bool:
        """Store a rating with the question, answer and sources it is about; False if there is no such answer.

        Rating an answer again replaces its rating but keeps its comment unless a new one is given (a blank
        comment is no comment): nothing a person typed is lost to a second click."""
        comment = (comment or "").strip() or None
        with self._transaction() as db:
            answer = db.execute(
                "SELECT rowid, content, citations FROM messages WHERE id = ? AND session_id = ? AND role = 'assistant'",
                (message_id, session_id),
            ).fetchone()
            if answer is None:
                return False
            question = db.execute(
                "SELECT content FROM messages WHERE session_id = ? AND role = 'user' AND rowid < ? "
                "ORDER BY rowid DESC LIMIT 1",
                (session_id, answer["rowid"]),
            ).fetchone()
            db.execute(
                "INSERT INTO feedback (message_id, session_id, rating, comment, question, answer, sources, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(message_id) DO UPDATE SET "
                "rating = excluded.rating, comment = COALESCE(excluded.comment, feedback.comment), "
                "created_at = excluded.created_at",
                (
                    message_id,
                    session_id,
                    rating,
                    redact_optional(comment),
                    question["content"] if question else "",
                    answer["content"],
                    answer["citations"] or "[]",
                    self._now(),
                ),
            )
        return True

    def delete_session(self, session_id: str) -> bool:
        """Forget a conversation: its messages, the feedback on them and the quiz progress kept under its id
        (the learner's right to erasure)."""
        statements = [
            "DELETE FROM feedback WHERE session_id = ?",
            "DELETE FROM tutor_state WHERE learner_id = ?",
            "DELETE FROM tutor_results WHERE learner_id = ?",
            "DELETE FROM sessions WHERE id = ?",
        ]
        with self._transaction() as db:  # messages go with their session (ON DELETE CASCADE)
            return sum(db.execute(statement, (session_id,)).rowcount for statement in statements) > 0

    def purge(self, max_age_days: int) -> dict[str, int]:
        """Delete every message and feedback older than ``max_age_days``, and the conversations left empty;
        return how many of each went. A long conversation loses its oldest turns, not its recent ones."""
        cutoff = _stamp(self._clock() - timedelta(days=max_age_days))
        with self._transaction() as db:
            feedback = db.execute(
                "DELETE FROM feedback WHERE created_at < ? OR message_id IN "
                "(SELECT id FROM messages WHERE created_at < ?)",
                (cutoff, cutoff),
            ).rowcount
            messages = db.execute("DELETE FROM messages WHERE created_at < ?", (cutoff,)).rowcount
            sessions = db.execute(
                "DELETE FROM sessions WHERE created_at < ? AND NOT EXISTS "
                "(SELECT 1 FROM messages WHERE session_id = sessions.id)",
                (cutoff,),
            ).rowcount
        return {"sessions": sessions, "messages": messages, "feedback": feedback}

    def unanswered(self, limit: int = 100) -> list[dict[str, Any]]:
        """Questions the bot refused, newest first: the gaps staff fill in the knowledge base."""
        with self._lock:
            rows = self._db.execute(
                "SELECT q.content AS question, a.created_at AS asked_at FROM messages a JOIN messages q "
                "ON q.session_id = a.session_id AND q.role = 'user' AND q.rowid = (SELECT MAX(rowid) FROM messages "
                "WHERE session_id = a.session_id AND role = 'user' AND rowid < a.rowid) "
                "WHERE a.role = 'assistant' AND a.refused = 1 ORDER BY a.rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [dict(row) for row in rows]

    def feedback(self, rating: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT created_at, rating, comment, question, answer, sources FROM feedback"
        with self._lock:
            rows = self._db.execute(
                query + (" WHERE rating = ?" if rating else "") + " ORDER BY created_at DESC",
                (rating,) if rating else (),
            ).fetchall()
        return [{**dict(row), "sources": [c["source_id"] for c in json.loads(row["sources"])]} for row in rows]

    def topics(self, limit: int = 20) -> list[dict[str, Any]]:
        """The sources answers cite most: what people ask about."""
        counts: Counter[tuple[str, str]] = Counter()
        with self._lock:
            rows = self._db.execute("SELECT citations FROM messages WHERE role = 'assistant' AND citations IS NOT NULL")
            for (citations,) in rows:
                counts.update({(c["source_id"], c["title"]) for c in json.loads(citations)})
        return [{"source_id": source, "title": title, "answers": n} for (source, title), n in counts.most_common(limit)]

    def close(self) -> None:
        self._db.close()

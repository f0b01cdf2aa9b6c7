"""The store's schema as the releases before PostgreSQL wrote it (SQLite only, its version in ``PRAGMA
user_version``), frozen here: the upgrade tests build such a database and open it with today's store.

Copied from ``bot/store.py`` as released (git history), not derived from today's migrations: the point is
that a file written by the old code, whatever today's code says, is upgraded with its data.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.safety.privacy import redact_optional

RELEASED_MIGRATIONS: list[str] = [
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


@contextmanager
def legacy_database(path: Path, version: int) -> Iterator[sqlite3.Connection]:
    """A SQLite file at ``version`` as the released code left it, for the block to insert rows into; committed
    and closed when the block ends."""
    db = sqlite3.connect(path)
    try:
        db.create_function("redact", 1, redact_optional, deterministic=True)
        for script in RELEASED_MIGRATIONS[:version]:
            db.executescript(script)
        db.execute(f"PRAGMA user_version = {version}")
        yield db
        db.commit()
    finally:
        db.close()

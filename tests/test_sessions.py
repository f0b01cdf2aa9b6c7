"""Conversations live in SQLite: they survive a restart, and an older database is upgraded in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from bot.store import MIGRATIONS, Store
from tests.conftest import FIXTURE_KB, PROCESS_PROFILE, IndexTemplates, serve


@pytest.mark.slow
def test_a_conversation_goes_on_after_the_server_restarts(
    tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates
) -> None:
    """Two real processes, one after the other (the point is the restart); the index is copied in beforehand
    so that neither spends its start-up embedding the fixture KB."""
    root = tmp_path_factory.mktemp("restart")
    data = index_templates.copy(FIXTURE_KB, root / "data", embedding_profile=PROCESS_PROFILE)
    env = {"TUTOR_DATA_DIR": str(data), "TUTOR_KB_DIR": str(FIXTURE_KB)}
    with serve(root, env) as url:
        first = httpx.post(
            f"{url}/api/chat", json={"message": "Parle-moi de la formation de l'école test"}, timeout=60
        ).json()
    with serve(root, env) as url:
        follow = httpx.post(
            f"{url}/api/chat",
            json={"session_id": first["session_id"], "message": "et ça dure combien de temps ?"},
            timeout=60,
        ).json()
    assert "12 mois" in follow["answer"], f"the restarted server lost the conversation: {follow}"


def test_an_older_database_is_migrated_without_losing_data(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with sqlite3.connect(path) as db:  # a database as the first release left it
        db.executescript(MIGRATIONS[0])
        db.execute("INSERT INTO sessions VALUES ('s1', '2026-01-01')")
        db.execute(
            "INSERT INTO messages (id, session_id, role, content, created_at) VALUES "
            "('m1', 's1', 'user', 'Bonjour', '2026-01-01'), ('m2', 's1', 'assistant', 'Salut', '2026-01-01')"
        )
        db.execute("PRAGMA user_version = 1")
    store = Store(path)
    version = store._db.execute("PRAGMA user_version").fetchone()[0]
    assert version == len(MIGRATIONS), f"migrated to version {version} of {len(MIGRATIONS)}"
    assert [t.content for t in store.history("s1")] == ["Bonjour", "Salut"]
    assert store.add_feedback("s1", "m2", "up", None), "feedback on a migrated message was refused"
    assert store.feedback()[0]["question"] == "Bonjour", store.feedback()
    store.close()

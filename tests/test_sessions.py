"""Conversations live in the store (SQLite by default, PostgreSQL by one setting): they survive a restart, the
store behaves the same on both engines (the tests taking ``store_url`` run on each: a real PostgreSQL, never a
mock), and a database written by an older release is upgraded in place."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.schema import Citation
from bot.store import MIGRATIONS, Store
from bot.tutor.progress import ProgressStore
from tests.conftest import FIXTURE_KB, PROCESS_PROFILE, IndexTemplates, serve
from tests.legacy_store import legacy_database
from tests.test_privacy import Clock


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


def _versions(store: Store) -> list[int]:
    return [row["version"] for row in store.query("SELECT version FROM schema_version ORDER BY version")]


def test_an_older_database_is_migrated_without_losing_data(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with legacy_database(path, 1) as db:  # a database as the first release left it
        db.execute("INSERT INTO sessions VALUES ('s1', '2026-01-01')")
        db.execute(
            "INSERT INTO messages (id, session_id, role, content, created_at) VALUES "
            "('m1', 's1', 'user', 'Bonjour', '2026-01-01'), ('m2', 's1', 'assistant', 'Salut', '2026-01-01')"
        )
    store = Store(path)
    assert _versions(store)[-1] == len(MIGRATIONS)
    assert [t.content for t in store.history("s1")] == ["Bonjour", "Salut"]
    assert store.add_feedback("s1", "m2", "up", None), "feedback on a migrated message was refused"
    assert store.feedback()[0]["question"] == "Bonjour", store.feedback()
    store.close()


STAMP = "2026-01-01T10:00:00.000+00:00"


def test_the_last_sqlite_release_is_upgraded_in_place(tmp_path: Path) -> None:
    """A database as the release before PostgreSQL left it (``user_version`` 4, messages ordered by SQLite's
    rowid): its conversation, rating and quiz progress are there after the upgrade, in their order (all four
    messages share one timestamp), and what is written next comes after them."""
    path = tmp_path / "store.sqlite"
    with legacy_database(path, 4) as db:
        db.execute("INSERT INTO sessions VALUES ('s1', ?)", (STAMP,))
        for n, (role, content, refused) in enumerate(
            [("user", "q1", None), ("assistant", "a1", 0), ("user", "q2", None), ("assistant", "a2", 1)]
        ):
            db.execute(
                "INSERT INTO messages (id, session_id, role, content, refused, created_at) "
                "VALUES (?, 's1', ?, ?, ?, ?)",
                (f"m{n}", role, content, refused, STAMP),
            )
        db.execute("INSERT INTO feedback VALUES ('m1', 's1', 'up', 'merci', 'q1', 'a1', '[]', ?)", (STAMP,))
        db.execute(
            "INSERT INTO tutor_results (learner_id, module, question_id, outcome, hints, score, created_at) "
            "VALUES ('s1', 'mod', 'quiz-1', 'correct', 1, 0.7, ?)",
            (STAMP,),
        )
    store = Store(path, clock=Clock(datetime.fromisoformat(STAMP)))
    upgraded = list(range(5, len(MIGRATIONS) + 1))
    assert _versions(store) == upgraded, "only the new migrations run on an upgraded database"
    assert [t.content for t in store.history("s1")] == ["q1", "a1", "q2", "a2"]
    assert store.feedback()[0]["comment"] == "merci"
    assert store.unanswered() == [{"question": "q2", "asked_at": STAMP}]
    assert [(r.question_id, r.score) for r in ProgressStore(store).results("s1")] == [("quiz-1", 0.7)]
    answer = store.add_exchange("s1", "q3", "a3", "faq", False, [])
    assert [t.content for t in store.history("s1", limit=2)] == ["q3", "a3"]
    assert store.add_feedback("s1", answer, "down", None) and store.feedback("down")[0]["question"] == "q3"
    store.close()
    reopened = Store(path)
    assert _versions(reopened) == upgraded and len(reopened.history("s1")) == 6
    reopened.close()


def test_turns_come_back_in_the_order_they_were_written(store_url: str) -> None:
    """Every row has the same timestamp (a frozen clock): the order is the store's own, on both engines."""
    store = Store(store_url, clock=Clock(datetime(2026, 1, 1, tzinfo=UTC)))
    session = store.ensure_session(None)
    assert store.ensure_session(session) == session, "an existing session is kept, not duplicated"
    for n in range(3):
        store.add_exchange(session, f"question {n}", f"réponse {n}", "extractive", False, [])
    assert [t.content for t in store.history(session, limit=4)] == [
        "question 1",
        "réponse 1",
        "question 2",
        "réponse 2",
    ]
    assert [t.role for t in store.history(session)] == ["user", "assistant"] * 3
    assert store.history("no-such-session") == []
    store.close()


def test_rating_again_replaces_the_rating_and_keeps_the_comment(store_url: str) -> None:
    store = Store(store_url)
    session = store.ensure_session(None)
    cited = Citation(n=1, source_id="ecole/admissions", title="Admissions", snippet="…")
    first = store.add_exchange(session, "Faut-il un concours ?", "Non [1]", "faq", False, [cited])
    store.add_exchange(session, "Et le prix ?", "12 000 € [1]", "faq", False, [cited])
    assert store.add_feedback(session, first, "down", "pas clair")
    assert store.add_feedback(session, first, "up", "  ")
    assert not store.add_feedback(session, "no-such-answer", "up", None)
    assert not store.add_feedback("another-session", first, "up", None), "a rating names its own conversation"
    rows = store.feedback()
    assert [(r["rating"], r["comment"], r["question"], r["sources"]) for r in rows] == [
        ("up", "pas clair", "Faut-il un concours ?", ["ecole/admissions"])
    ]
    assert store.feedback("down") == []
    store.close()


def test_staff_analytics_read_alike_on_both_engines(store_url: str) -> None:
    store = Store(store_url)
    session = store.ensure_session(None)
    cited = [Citation(n=1, source_id="ecole/tarifs", title="Tarifs", snippet="…")]
    store.add_exchange(session, "Combien ça coûte ?", "12 000 € [1]", "faq", False, cited)
    store.add_exchange(session, "Quelle est la météo ?", "Je ne sais pas.", "extractive", True, [])
    store.add_exchange(session, "Et le tarif réduit ?", "6 000 € [1]", "extractive", False, cited)
    assert [row["question"] for row in store.unanswered()] == ["Quelle est la météo ?"]
    assert store.topics() == [{"source_id": "ecole/tarifs", "title": "Tarifs", "answers": 2}]
    store.close()


def test_workers_starting_together_migrate_the_database_once(store_url: str) -> None:
    """Several workers open one new database at the same moment: each waits for the one migrating (an advisory
    lock on PostgreSQL, the write lock on SQLite), then finds nothing left to do."""
    barrier, errors, stores = threading.Barrier(4), [], []

    def start() -> None:
        barrier.wait()
        try:
            stores.append(Store(store_url))
        except Exception as error:  # reported below, with the others
            errors.append(error)

    workers = [threading.Thread(target=start) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert _versions(stores[0]) == list(range(1, len(MIGRATIONS) + 1))
    for store in stores:
        store.close()

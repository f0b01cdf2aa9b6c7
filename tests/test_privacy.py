"""Personal data is redacted before it is stored or logged; old conversations are purged; a learner can
delete a conversation. Unit tests of the redaction rules, the store on each engine (a real SQLite file and a real
PostgreSQL: the tests taking ``store_url``), and a real server."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote_plus

import httpx
import pytest
from sqlalchemy import create_engine, text
from stdnum.fr import nir

from bot.config import PROJECT_ROOT
from bot.indexing.documents import load_knowledge_base
from bot.safety.privacy import PLACEHOLDERS, install_log_redaction, redact
from bot.store import Store
from bot.store.engine import sqlite_url
from bot.tutor.progress import ProgressStore, TutorState
from tests.conftest import FIXTURE_KB, PROCESS_PROFILE, IndexTemplates, serve
from tests.legacy_store import legacy_database


def _nir(first13: str, spaced: bool = False) -> str:
    number = first13 + nir.calc_check_digits(first13)
    if not spaced:
        return number
    return " ".join([number[0], number[1:3], number[3:5], number[5:7], number[7:10], number[10:13], number[13:]])


NIR = _nir("1850578006084")
NIR_CORSICA = _nir("269052A123456", spaced=True)
# Key of a valid NIR plus one: a 15-digit number whose key is wrong is not a NIR.
WRONG_KEY = "1850578006084" + f"{(int(NIR[13:]) % 97) + 1:02d}"

REDACTED = [
    ("Écrivez-moi à jean.dupont@gmail.com svp", "Écrivez-moi à [email] svp"),
    ("my address is Marie-Claire.O'Neil+tutor@univ-lyon2.fr.", None),
    ("Mon numéro : 06 12 34 56 78", "Mon numéro : [phone]"),
    ("rappelez le 06.12.34.56.78 ou le 06-12-34-56-78", "rappelez le [phone] ou le [phone]"),
    ("tel 0612345678", "tel [phone]"),
    ("fixe : 01 23 45 67 89", "fixe : [phone]"),
    ("+33 6 12 34 56 78", "[phone]"),
    ("+33612345678", "[phone]"),
    ("0033 6 12 34 56 78", "[phone]"),
    ("+33 (0)6 12 34 56 78", "[phone]"),
    ("call me on +44 20 7946 0958", "call me on [phone]"),
    ("US: +1 415 555 2671", "US: [phone]"),
    (f"mon numéro de sécu est {NIR}", "mon numéro de sécu est [nir]"),
    (f"NIR {_nir('1850578006084', spaced=True)}", "NIR [nir]"),
    (f"Corse : {NIR_CORSICA}", "Corse : [nir]"),
    ("sans la clé : 1 85 05 78 006 084, merci", "sans la clé : [nir], merci"),
    ("IBAN FR76 3000 6000 0112 3456 7890 189 merci", "IBAN [iban] merci"),
    ("iban fr7630006000011234567890189", "iban [iban]"),
    ("DE89 3704 0044 0532 0130 00 is my German account", "[iban] is my German account"),
    ("FR76 3000 6000 0112 3456 7890 189 1234", "[iban] 1234"),
    ("carte 4111 1111 1111 1111 exp 12/27", "carte [card] exp 12/27"),
    ("card 5555-5555-5555-4444", "card [card]"),
    ("amex 378282246310005", "amex [card]"),
    ("a@b.co et 06 12 34 56 78 et FR76 3000 6000 0112 3456 7890 189", "[email] et [phone] et [iban]"),
]

KEPT = [
    "La formation dure 12 mois et coûte 12 000 €.",
    "Le titre est inscrit au RNCP sous le numéro RNCP35288, niveau 6 (bac+3).",
    "Session 2024-2025, rentrée le 12/03/2025 à 14 h 30.",
    "Le 01 02 2025 à 14 30, salle 12.",
    "1 200 heures de formation, code postal 75015 Paris.",
    "Bac+5 en 18 mois, 35 heures par semaine, 3615 ulla.",
    "Le modèle a 175 000 000 000 paramètres et 96 couches.",
    "SIRET 356 000 000 00048, code NSF 326.",
    "A 70/15/15 split of 100 000 images; F1 = 0.87; 4096 tokens.",
    "FR76 3000 6000 0112 3456 7890 188",  # mod-97 check fails: not an IBAN
    "4111 1111 1111 1112",  # Luhn check fails: not a card
    WRONG_KEY,  # NIR key wrong: not a NIR
    "06 12 34 56",  # too short to be a phone number
    "Écrivez à l'équipe @ecole_data sur les réseaux.",
]


@pytest.mark.parametrize(("text", "expected"), REDACTED)
def test_personal_data_is_replaced_by_its_placeholder(text: str, expected: str | None) -> None:
    redacted = redact(text)
    if expected is not None:
        assert redacted == expected
    assert any(placeholder in redacted for placeholder in PLACEHOLDERS.values())
    assert redact(redacted) == redacted  # idempotent


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert redact(text) == text


def test_nothing_in_the_knowledge_base_or_the_dev_set_is_redacted() -> None:
    """The shipped content is full of prices, dates, durations and RNCP numbers: none of it is personal."""
    texts = [d.page_content for d in load_knowledge_base(PROJECT_ROOT / "knowledge_base").documents]
    dev = PROJECT_ROOT / "evals" / "datasets" / "dev.jsonl"
    texts += [json.loads(line)["question"] for line in dev.read_text().splitlines() if line.strip()]
    assert len(texts) > 1000
    changed = [text[:120] for text in texts if redact(text) != text]
    assert changed == []


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def _rows(database: str | Path, sql: str) -> list[tuple]:
    """Rows read straight from the tables (a URL, or a SQLite file), past the store and what it filters."""
    engine = create_engine(database if isinstance(database, str) else sqlite_url(database))
    try:
        with engine.connect() as db:
            return [tuple(row) for row in db.execute(text(sql))]
    finally:
        engine.dispose()


def _table_text(database: str | Path, *tables: str) -> str:
    return "\n".join(" ".join(map(str, row)) for table in tables for row in _rows(database, f"SELECT * FROM {table}"))


def test_the_store_keeps_no_personal_data(store_url: str) -> None:
    store = Store(store_url)
    session = store.ensure_session(None)
    message_id = store.add_exchange(session, "je suis joignable au 06 12 34 56 78", "Réponse [1]", "faq", False, [])
    assert store.add_feedback(session, message_id, "down", "écrivez-moi : lea.martin@example.org")
    store.close()
    dump = _table_text(store_url, "messages", "feedback")
    assert "06 12 34 56 78" not in dump and "lea.martin" not in dump
    assert _rows(store_url, "SELECT question, comment FROM feedback") == [
        ("je suis joignable au [phone]", "écrivez-moi : [email]")
    ]


def test_an_older_database_is_redacted_when_migrated(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    with legacy_database(path, 2) as db:  # as the releases before redaction left it
        db.execute("INSERT INTO sessions VALUES ('s1', '2026-01-01')")
        db.execute(
            "INSERT INTO messages (id, session_id, role, content, created_at) VALUES "
            "('m1', 's1', 'user', 'mon mail : a.b@example.com', '2026-01-01'), "
            "('m2', 's1', 'assistant', 'Bonjour', '2026-01-01')"
        )
        db.execute(
            "INSERT INTO feedback VALUES ('m2', 's1', 'down', 'appelez le 0612345678', "
            "'mon mail : a.b@example.com', 'Bonjour', '[]', '2026-01-01')"
        )
    Store(path).close()
    assert _rows(path, "SELECT content FROM messages ORDER BY id") == [("mon mail : [email]",), ("Bonjour",)]
    assert _rows(path, "SELECT comment, question FROM feedback") == [("appelez le [phone]", "mon mail : [email]")]


def test_retention_purges_what_is_older_and_keeps_the_rest(store_url: str) -> None:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    store = Store(store_url, clock=clock)
    old = store.ensure_session(None)
    old_answer = store.add_exchange(old, "question ancienne", "réponse", "extractive", False, [])
    store.add_feedback(old, old_answer, "up", None)
    mixed = store.ensure_session(None)
    store.add_exchange(mixed, "premier tour", "réponse", "extractive", False, [])
    clock.now += timedelta(days=95)
    store.add_exchange(mixed, "tour récent", "réponse", "extractive", False, [])
    recent = store.ensure_session(None)
    recent_answer = store.add_exchange(recent, "question récente", "réponse", "faq", False, [])
    store.add_feedback(recent, recent_answer, "down", "bof")
    clock.now += timedelta(days=5)  # 100 days after the first rows, 5 after the recent ones

    removed = store.purge(90)

    assert removed == {"sessions": 1, "messages": 4, "feedback": 1}
    assert [t.content for t in store.history(old)] == []
    assert [t.content for t in store.history(mixed)] == ["tour récent", "réponse"]
    assert [t.content for t in store.history(recent)] == ["question récente", "réponse"]
    assert [row["comment"] for row in store.feedback()] == ["bof"]
    assert {row["id"] for row in store.query("SELECT id FROM sessions")} == {mixed, recent}
    assert store.purge(90) == {"sessions": 0, "messages": 0, "feedback": 0}
    store.close()
    kept = _table_text(store_url, "sessions", "messages", "feedback")
    assert "question ancienne" not in kept and "premier tour" not in kept and old not in kept
    assert "tour récent" in kept and "bof" in kept


def test_deleting_a_session_forgets_its_messages_feedback_and_progress(store_url: str) -> None:
    store = Store(store_url)
    mine, other = store.ensure_session(None), store.ensure_session(None)
    answer = store.add_exchange(mine, "ma question sur le handicap", "réponse", "faq", False, [])
    store.add_feedback(mine, answer, "down", "commentaire très personnel")
    store.add_exchange(other, "une autre question", "réponse", "faq", False, [])
    progress = ProgressStore(store)
    for learner in (mine, other):  # the quiz progress kept under each conversation's id
        state = TutorState(learner, "fr", "chat", question_id="quiz-dl-01", module="deep-learning")
        progress.save(state)
        progress.record(state, "correct", 1.0)

    assert store.delete_session(mine)
    assert not store.delete_session(mine)
    assert store.history(mine) == [] and store.feedback() == []
    assert progress.state(mine) is None and progress.results(mine) == []
    assert [t.content for t in store.history(other)] == ["une autre question", "réponse"]
    assert progress.state(other) is not None and len(progress.results(other)) == 1
    store.close()
    kept = _table_text(store_url, "sessions", "messages", "feedback", "tutor_state", "tutor_results")
    assert "handicap" not in kept and "personnel" not in kept and mine not in kept
    assert "une autre question" in kept and other in kept


def test_erased_text_is_overwritten_in_the_sqlite_file(tmp_path: Path) -> None:
    """SQLite keeps deleted rows in its free pages unless told not to (``secure_delete``): the bytes are gone."""
    path = tmp_path / "store.sqlite"
    store = Store(path)
    mine, other = store.ensure_session(None), store.ensure_session(None)
    store.add_exchange(mine, "ma question sur le handicap", "réponse", "faq", False, [])
    store.add_exchange(other, "une autre question", "réponse", "faq", False, [])
    assert store.delete_session(mine)
    store.close()
    raw = path.read_bytes()  # erased for good: not left behind in the file's free pages
    assert b"handicap" not in raw and b"une autre question" in raw


def test_log_records_are_redacted_whoever_logs_them() -> None:
    install_log_redaction()
    install_log_redaction()  # idempotent: one redacting factory, not two
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("question from %s: %s", "lea@example.org", "rappelez le 06 12 34 56 78")
        logger.info("literal lea@example.org")
        logger.info("%(who)s asked", {"who": "lea@example.org"})
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/health?who=lea%40example.org", "1.1", 200)
        try:
            raise ValueError(f"bad IBAN FR76 3000 6000 0112 3456 7890 189 from {NIR}")
        except ValueError:
            logger.exception("failed for %s", "lea@example.org")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    for secret in ("lea@example.org", "06 12 34 56 78", "FR76", NIR):
        assert secret not in output
    assert output.count("[email]") == 5 and 'GET /health?who=[email] HTTP/1.1" 200' in output
    assert "[phone]" in output and "[iban]" in output and "[nir]" in output
    assert "ValueError" in output  # the traceback itself is kept


def _every_byte_written(data: Path, log: Path) -> dict[str, str]:
    """Every file the app wrote (SQLite with its WAL and shared memory, eval runs, the index), and its log."""
    files = [path for path in data.rglob("*") if path.is_file()] + [log]
    return {str(path): path.read_bytes().decode("utf-8", "replace") for path in files}


def _quiz_tab(url: str, browser, answer: str) -> None:
    """A learner types personal data as a quiz answer on the Quiz tab, in a real browser."""
    page = browser.new_context().new_page()
    page.goto(url)
    page.get_by_text("Chaque réponse cite ses sources").wait_for(timeout=30_000)
    page.locator("#tab-quiz-button").click()
    page.locator("#quiz-new").click()
    page.locator("#quiz-question").get_by_text("question 1/").wait_for(timeout=30_000)
    page.locator("#quiz-answer textarea").fill(answer)
    page.locator("#quiz-submit").click()
    page.locator("#quiz-feedback").get_by_text("Indice 1").wait_for(timeout=30_000)
    page.context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_personal_data_through_every_entry_is_written_nowhere(
    tmp_path_factory: pytest.TempPathFactory, browser, index_templates: IndexTemplates
) -> None:
    """Chat, stream, the OpenAI route (both forms), the tutor in the chat and over its API, the Quiz tab, a
    feedback comment and a staff evaluation run all receive personal data; then every byte the app wrote
    is read back. The tutor once echoed an unknown quiz topic before redaction ("Je n'ai pas de quiz sur
    « lea.martin@example.org »") and stored that echo as the assistant's message."""
    from tests.test_tutor import tutor_kb

    root = tmp_path_factory.mktemp("privacy")
    # the index only: everything else the app writes
    data = index_templates.copy(FIXTURE_KB, root / "data", embedding_profile=PROCESS_PROFILE)
    clock = Clock(datetime.now(UTC) - timedelta(days=200))
    seeded = Store(data / "store.sqlite", clock=clock)  # a conversation from before the retention period
    stale = seeded.ensure_session(None)
    seeded.add_exchange(stale, "une vieille question", "une vieille réponse", "faq", False, [])
    seeded.close()
    email, phone, iban = "camille.durand@example.fr", "07 98 76 54 32", "FR76 3000 6000 0112 3456 7890 189"
    echo = "lea.martin@example.org"
    datasets = root / "datasets"
    datasets.mkdir()
    (datasets / "pii.jsonl").write_text(
        json.dumps(
            {
                "id": "pii-1",
                "question": f"Je suis {email}, quel diplôme obtient-on ?",
                "lang": "fr",
                "history": [
                    {"role": "user", "content": f"mon tél est {phone}"},
                    {"role": "assistant", "content": "Noté."},
                ],
                "expected_facts": ["RNCP"],
            },
            ensure_ascii=False,
        )
        + "\n"
    )
    token = "privacy-staff-token"
    env = {
        "TUTOR_DATA_DIR": str(data),
        "TUTOR_KB_DIR": str(tutor_kb(root / "kb")),
        "TUTOR_RETENTION_DAYS": "30",
        "TUTOR_ADMIN_TOKEN": token,
        "TUTOR_EVAL_DATASETS_DIR": str(datasets),
    }
    with serve(root, env) as url:
        first = httpx.post(
            f"{url}/api/chat",
            timeout=60,
            json={"message": f"Je suis {email}, tél {phone} : faut-il un concours pour l'école test ?"},
        ).json()
        assert not first["refused"], "chat: the redacted question should still be answered"
        with httpx.stream(
            "POST",
            f"{url}/api/chat/stream",
            timeout=60,
            json={"session_id": first["session_id"], "message": f"Mon IBAN est {iban}, combien dure la formation ?"},
        ) as response:
            assert response.status_code == 200
            streamed = response.read().decode()
        assert iban not in streamed, "stream: the IBAN came back in the events"
        feedback = httpx.post(
            f"{url}/api/feedback",
            timeout=30,
            json={
                "session_id": first["session_id"],
                "message_id": first["message_id"],
                "rating": "down",
                "comment": f"Rappelez-moi au {phone} ou écrivez à {email}, NIR {NIR}",
            },
        )
        assert feedback.status_code == 200
        completion = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=60,
            json={"messages": [{"role": "user", "content": f"Mon mail est {email}. Quel diplôme obtient-on ?"}]},
        )
        assert completion.status_code == 200 and email not in completion.text, "OpenAI route echoed the e-mail"
        with httpx.stream(
            "POST",
            f"{url}/v1/chat/completions",
            timeout=60,
            json={
                "stream": True,
                "messages": [
                    {"role": "user", "content": f"tél {phone}"},
                    {"role": "assistant", "content": "Noté."},
                    {"role": "user", "content": f"Et {iban}, quel diplôme ?"},
                ],
            },
        ) as response:
            assert iban not in response.read().decode(), "OpenAI stream echoed the IBAN"
        httpx.get(f"{url}/health", params={"contact": email, "tel": phone}, timeout=10)  # lands in the access log

        tutor_echo = httpx.post(f"{url}/api/chat", timeout=60, json={"message": f"interroge-moi sur {echo}"}).json()
        assert tutor_echo["mode"] == "tutor" and echo not in tutor_echo["answer"], "tutor echoed the raw topic"
        quiz = httpx.post(f"{url}/api/chat", timeout=60, json={"message": "Interroge-moi sur le deep learning"}).json()
        in_quiz = httpx.post(
            f"{url}/api/chat",
            timeout=60,
            json={"session_id": quiz["session_id"], "message": f"aucune idée, écrivez-moi à {email}"},
        ).json()
        assert in_quiz["mode"] == "tutor", "the quiz answer typed in the chat should go to the tutor"
        learner = httpx.post(f"{url}/api/tutor/question", timeout=60, json={"lang": "fr"}).json()
        graded = httpx.post(
            f"{url}/api/tutor/answer",
            timeout=60,
            json={"learner_id": learner["learner_id"], "answer": f"je ne sais pas, mon numéro est {phone}"},
        )
        assert graded.status_code == 200 and phone not in graded.text, "tutor API echoed the phone number"
        _quiz_tab(url, browser, f"aucune idée ; NIR {NIR}, IBAN {iban}")

        auth = {"Authorization": f"Bearer {token}"}
        run = httpx.post(f"{url}/api/admin/evals", json={"dataset": "pii.jsonl"}, headers=auth, timeout=30)
        assert run.status_code == 202, run.text
        for _ in range(240):
            status = httpx.get(f"{url}/api/admin/evals/{run.json()['run_id']}", headers=auth, timeout=10).json()
            if status["state"] != "running":
                break
            time.sleep(0.5)
        assert status["state"] == "done", f"staff evaluation run: {status}"

        other = httpx.post(f"{url}/api/chat", json={"message": "Quel diplôme à l'école test ?"}, timeout=60).json()
        assert httpx.delete(f"{url}/api/sessions/{other['session_id']}", timeout=10).status_code == 204
        gone = httpx.delete(f"{url}/api/sessions/{other['session_id']}", timeout=10)
        assert gone.status_code == 404 and "no such conversation" in gone.json()["detail"]
        assert httpx.delete(f"{url}/api/sessions/not a valid id!", timeout=10).status_code == 422

    written = _every_byte_written(data, root / "server.log")
    assert any("evals" in path and path.endswith("results.jsonl") for path in written), "no eval run was written"
    assert "[email]" in written[str(root / "server.log")], "the access log line of /health should be redacted"
    secrets = [email, echo, phone, phone.replace(" ", ""), "3000 6000", NIR, quote_plus(email), quote_plus(phone)]
    leaks = [(secret, path) for path, text in written.items() for secret in secrets if secret in text]
    assert leaks == [], f"personal data written to disk: {leaks}"
    database = data / "store.sqlite"
    questions = [
        row[0]
        for row in _rows(
            database,
            "SELECT content FROM messages WHERE role = 'user' AND "
            f"session_id = '{first['session_id']}' ORDER BY created_at",
        )
    ]
    assert questions == [
        "Je suis [email], tél [phone] : faut-il un concours pour l'école test ?",
        "Mon IBAN est [iban], combien dure la formation ?",
    ]
    echoed = _rows(
        database,
        "SELECT content FROM messages WHERE role = 'assistant' AND mode = 'tutor' AND "
        f"session_id = '{tutor_echo['session_id']}'",
    )
    assert echoed and "[email]" in echoed[0][0], f"the tutor's stored reply: {echoed}"
    sessions = {row[0] for row in _rows(database, "SELECT id FROM sessions")}
    assert stale not in sessions and other["session_id"] not in sessions  # purged at start-up; deleted

"""Staff curation in the library: a published entry is one file synced alone into the real index (Chroma, the
record manager, the in-memory copies) and answered at once; full syncs and ``ingest.py`` keep it; it survives a
restart; the repository's version wins once exported and committed. The curation tables behave alike on SQLite
and PostgreSQL (``store_url``), with revisions guarding concurrent edits and every change in the audit log."""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, text

import ingest
from bot.answering.retrieval import InMemoryCollection
from bot.config import Settings
from bot.curation.accounts import LEGACY_ACCOUNT, StaffAccounts, hash_token
from bot.curation.entries import MAX_ALTERNATES, EntryDraft, curated_files, entry_file, entry_path
from bot.curation.grouping import group_questions, same_question_similarity
from bot.indexing.documents import load_faq
from bot.indexing.index import record_key
from bot.runtime import Runtime
from bot.schema import Citation
from bot.store import Store
from bot.store.curation import (
    AskedQuestion,
    CurationRecords,
    DuplicateEntryError,
    EntryContent,
    RevisionConflictError,
)
from bot.web.exports import audit_csv, feedback_csv
from tests.conftest import FIXTURE_KB, run_cli

PARKING = EntryContent(
    id="faq-staff-parking",
    lang="fr",
    question="L'école test a-t-elle un parking pour les apprenants ?",
    answer="Aucune information sur un parking n'est publiée : renseignez-vous auprès de l'accueil de l'école test.",
    alternates=("peut-on garer sa voiture à l'école test ?",),
    programme="ecole-test",
)


@pytest.fixture
def runtime(make_settings, indexed_data: Path) -> Runtime:
    runtime = Runtime(make_settings(kb_dir=FIXTURE_KB, admin_token="t0ken-for-tests"))
    runtime.start(background=False)
    assert runtime.ready, runtime.error
    return runtime


def _served(runtime: Runtime, question: str) -> str | None:
    answer = runtime.conversation().ask(question)
    return answer.citations[0].source_id if answer.mode == "faq" and answer.citations else None


def _record_times(settings: Settings) -> dict[str, float]:
    """Every record's key and last write time, across the three collections' namespaces."""
    engine = create_engine(settings.record_manager_url)
    with engine.connect() as db:
        rows = db.execute(text("SELECT key, updated_at FROM upsertion_record")).all()
    engine.dispose()
    return dict(rows)


def test_publishing_embeds_the_entry_alone_and_it_is_answered_at_once(runtime: Runtime) -> None:
    chat = runtime.service()
    assert _served(runtime, PARKING.question) is None
    before = _record_times(runtime.settings)

    runtime.curation.create(PARKING, "alice")

    after = _record_times(runtime.settings)
    expected = {record_key(d) for d in entry_file(PARKING).documents}
    assert set(after) - set(before) == expected, "publishing wrote other records than the entry's documents"
    assert {k: after[k] for k in before} == before, "publishing rewrote records of the rest of the knowledge base"
    assert _served(runtime, PARKING.question) == PARKING.id
    assert _served(runtime, PARKING.alternates[0]) == PARKING.id
    # what the chat service derives from the whole knowledge base was rebuilt: the character-level matcher too
    assert PARKING.id in dict(chat.faq_chars.best(PARKING.alternates[0], "fr", k=3))

    entry = runtime.curation.records.entry(PARKING.id)
    runtime.curation.set_published(PARKING.id, False, entry.revision, "alice")
    assert _record_times(runtime.settings) == before, "unpublishing left records of the entry behind"
    assert _served(runtime, PARKING.question) is None


def test_in_memory_copies_after_publications_match_a_fresh_read(runtime: Runtime) -> None:
    chat = runtime.service()
    vector = chat.index.embeddings.embed_query_vector(PARKING.question).tolist()
    for part in chat.index.parts:
        chat.retriever.in_memory[part].search(vector, 5, {})  # read before the changes: they apply as deltas
    runtime.curation.create(PARKING, "alice")
    edited = EntryContent(**{**PARKING.__dict__, "answer": "Pas de parking connu.", "alternates": ("un parking ?",)})
    runtime.curation.update(PARKING.id, edited, 1, "bob")
    second = EntryContent(id="faq-staff-cantine", lang="fr", question="Y a-t-il une cantine ?", answer="Inconnu.")
    runtime.curation.create(second, "alice")
    for part in chat.index.parts:
        live = chat.retriever.in_memory[part].search(vector, 100_000, {})
        fresh = InMemoryCollection(chat.index, part).search(vector, 100_000, {})
        assert [(d.id, round(s, 5)) for d, s in live] == [(d.id, round(s, 5)) for d, s in fresh], part
    assert "Pas de parking connu." in runtime.conversation().ask(PARKING.question).answer


def test_full_syncs_and_ingest_keep_published_entries(runtime: Runtime, tmp_path: Path) -> None:
    runtime.curation.create(PARKING, "alice")
    index = runtime.service().index
    report = index.sync(FIXTURE_KB, curated=partial(curated_files, runtime.curation.records))
    assert entry_path(PARKING.id) in report.unchanged and not report.deleted and report.chunks_added == 0, report

    env = {"TUTOR_DATA_DIR": str(runtime.settings.data_dir), "TUTOR_KB_DIR": str(FIXTURE_KB)}
    result = run_cli(ingest.main, [], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 deleted" in result.stdout + result.stderr, result
    assert entry_path(PARKING.id) in index.indexed_files()


def test_a_published_entry_survives_a_restart(runtime: Runtime) -> None:
    runtime.curation.create(PARKING, "alice")
    restarted = Runtime(runtime.settings)
    restarted.start(background=False)
    assert _served(restarted, PARKING.alternates[0]) == PARKING.id


def test_the_repository_version_wins_once_an_export_is_committed(runtime: Runtime, tmp_path: Path) -> None:
    runtime.curation.create(PARKING, "alice")
    exported = runtime.curation.export_yaml()
    kb = tmp_path / "kb-with-export"
    shutil.copytree(FIXTURE_KB, kb)
    (kb / "faq" / "staff.fr.yaml").write_text(exported, encoding="utf-8")
    documents = load_faq(exported, Path("faq/staff.fr.yaml"), "x")
    assert {d.page_content for d in documents if d.metadata["kind"] == "faq_q"} == {
        PARKING.question,
        *PARKING.alternates,
    }

    report = runtime.service().index.sync(kb, curated=partial(curated_files, runtime.curation.records))
    assert report.ok and entry_path(PARKING.id) in report.deleted and "faq/staff.fr.yaml" in report.added, report
    sources = runtime.service().index.passages.get(where={"source_id": PARKING.id})
    assert [d.metadata["path"] for d in sources] == ["faq/staff.fr.yaml"]


def test_a_new_entry_cannot_take_an_id_the_knowledge_base_uses(runtime: Runtime) -> None:
    taken = EntryContent(**{**PARKING.__dict__, "id": "faq-test-001"})
    with pytest.raises(DuplicateEntryError, match="faq-test-001"):
        runtime.curation.create(taken, "alice")
    with pytest.raises(DuplicateEntryError):
        runtime.curation.create(EntryContent(**{**PARKING.__dict__, "id": "ecole/admission"}), "alice")
    assert runtime.curation.audit() == []


def test_alternates_attached_to_a_repository_entry_lead_to_it(runtime: Runtime) -> None:
    question = "l'admission à l'école test passe-t-elle par une épreuve écrite ?"
    runtime.curation.attach("faq-test-001", [question], 0, "alice")
    assert _served(runtime, question) == "faq-test-001"
    info = runtime.curation.entry_info("faq-test-001")
    assert info.alternates == (question,) and info.revision == 1 and info.origin == "faq/ecole.yaml"
    with pytest.raises(RevisionConflictError):
        runtime.curation.attach("faq-test-001", ["autre"], 0, "bob")


def test_a_preview_changes_nothing(runtime: Runtime) -> None:
    index = runtime.service().index
    counts = {name: part.count() for name, part in index.parts.items()}
    preview = runtime.curation.preview(PARKING, [PARKING.question])
    (now, with_draft), *_ = preview.answers
    assert now.entry_id is None and with_draft.entry_id == PARKING.id, preview
    assert {name: part.count() for name, part in index.parts.items()} == counts
    assert _served(runtime, PARKING.question) is None


# -- the curation tables, on both engines


def _content(entry_id: str = "faq-staff-a", answer: str = "Réponse.") -> EntryContent:
    return EntryContent(id=entry_id, lang="fr", question="Une question ?", answer=answer)


def test_an_edit_on_an_old_revision_is_refused_and_names_who_changed_it(store_url: str) -> None:
    records = CurationRecords(Store(store_url))
    records.create(_content(), "alice")
    records.update("faq-staff-a", 1, "bob", "edit", content=_content(answer="Celle de Bob."))
    with pytest.raises(RevisionConflictError, match="bob"):
        records.update("faq-staff-a", 1, "carol", "edit", content=_content(answer="Celle de Carol."))
    assert records.entry("faq-staff-a").content.answer == "Celle de Bob."
    with pytest.raises(DuplicateEntryError):
        records.create(_content(), "carol")
    log = records.audit()
    assert [(r.actor, r.action) for r in log] == [("bob", "edit"), ("alice", "create")]
    assert log[0].before is not None and log[0].before["answer"] == "Réponse."
    assert log[0].after is not None and log[0].after["answer"] == "Celle de Bob."
    assert records.version() == 0, "a change is not a sync: workers follow the index, not the log"
    assert records.index_synced("staff/faq-staff-a") == records.version() == 1


def test_two_editors_at_once_one_wins_the_other_is_told(store_url: str) -> None:
    records = CurationRecords(Store(store_url))
    records.create(_content(), "alice")
    outcomes: dict[str, str] = {}
    start = threading.Barrier(2)

    def edit(name: str) -> None:
        start.wait()
        try:
            records.update("faq-staff-a", 1, name, "edit", content=_content(answer=f"Par {name}."))
            outcomes[name] = "saved"
        except RevisionConflictError:
            outcomes[name] = "told"

    threads = [threading.Thread(target=edit, args=(n,)) for n in ("bob", "carol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["saved", "told"], outcomes
    winner = next(n for n, o in outcomes.items() if o == "saved")
    assert records.entry("faq-staff-a").content.answer == f"Par {winner}."
    assert [r.actor for r in records.audit()] == [winner, "alice"]


def test_gaps_leave_the_inbox_once_dealt_with_and_near_misses_feed_suggestions(store_url: str) -> None:
    store = Store(store_url)
    records = CurationRecords(store)
    session = store.ensure_session(None)
    refused = store.add_exchange(session, "Un parking ?", "Je préfère ne pas répondre.", "refused", True, [])
    weak = store.add_exchange(
        session,
        "Faut-il un examen ?",
        "Extrait.",
        "extractive",
        False,
        [Citation(1, "ecole/admission", "Admission", "…")],
        faq=("faq-test-001", 0.8),
    )
    store.add_exchange(
        session, "Concours ?", "Non.", "faq", False, [Citation(1, "faq-test-001", "Q", "…")], faq=("faq-test-001", 0.99)
    )
    store.add_feedback(session, weak, "down", "pas clair")
    assert [q.message_id for q in records.gaps()] == [weak, refused]
    assert [q.message_id for q in records.near_misses("faq-test-001", 0.7)] == [weak]
    assert records.near_misses("faq-test-001", 0.85) == []
    assert records.uses()["faq-test-001"].served == 1

    records.triage([refused], "dismissed", "alice", reason="hors sujet", audit={"reason": "hors sujet"})
    records.triage([weak], "rejected", "alice", entry_id="faq-test-001")
    assert [q.message_id for q in records.gaps()] == [weak], "a rejected suggestion is not a dealt-with gap"
    assert records.near_misses("faq-test-001", 0.7) == []
    assert [(r.actor, r.action) for r in records.audit()] == [("alice", "dismiss")]


# -- accounts, grouping, what staff may write


def test_staff_accounts_name_who_signs_in(make_settings) -> None:
    settings = make_settings(staff_accounts={"alice": hash_token("a-token"), "bob": hash_token("b-token")})
    accounts = StaffAccounts.from_settings(settings)
    assert accounts.identify("b-token") == "bob" and accounts.identify("nope") is None
    assert accounts.check("alice", "a-token") == "alice"
    assert accounts.check("bob", "a-token") is None and accounts.check("", "a-token") is None
    legacy = StaffAccounts.from_settings(make_settings(admin_token="legacy"))
    assert legacy.identify("legacy") == LEGACY_ACCOUNT
    assert not StaffAccounts.from_settings(make_settings()).enabled


def test_questions_group_by_meaning_at_the_similarity_read_from_phrasings() -> None:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(4, 32))
    ids, vectors = [], []
    for entry, centre in enumerate(centres):
        for _ in range(5):
            vector = centre + 0.25 * rng.normal(size=32)
            ids.append(f"e{entry}")
            vectors.append(vector / np.linalg.norm(vector))
    matrix = np.asarray(vectors)
    threshold = same_question_similarity(ids, ["fr"] * len(ids), matrix)
    same = matrix[0] @ matrix[1]
    other = max(matrix[0] @ matrix[k] for k in range(5, 20))
    assert other < threshold <= same + 1e-6, (other, threshold, same)

    asked = [AskedQuestion(f"m{n}", f"q{n}", "", "refused", True, (), f"2026-12-0{n % 9 + 1}") for n in range(20)]
    groups = group_questions(asked, matrix, threshold)
    assert sorted(len(g.questions) for g in groups) == [5, 5, 5, 5]
    assert all(len({int(q.message_id[1:]) // 5 for q in g.questions}) == 1 for g in groups), "a group mixes entries"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answer": ""}, "answer"),
        ({"answer": "x" * 100_000}, "answer"),
        ({"lang": "de"}, "lang"),
        ({"id": "Pas un id !"}, "id"),
        ({"alternates": ["x" * 400]}, "alternate"),
    ],
)
def test_what_staff_may_write_is_checked_with_a_clear_message(change: dict, message: str) -> None:
    draft = {"id": "faq-staff-x", "lang": "fr", "question": "Une question ?", "answer": "Une réponse."}
    with pytest.raises(ValueError, match=message):
        EntryDraft.model_validate({**draft, **change})


def test_a_linked_translation_must_exist_in_the_other_language(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        runtime.curation.create(EntryContent(**{**PARKING.__dict__, "pair_id": "faq-en-nothing"}), "alice")
    with pytest.raises(ValueError, match="in fr too"):
        runtime.curation.create(EntryContent(**{**PARKING.__dict__, "pair_id": "faq-test-002"}), "alice")
    runtime.curation.create(EntryContent(**{**PARKING.__dict__, "pair_id": "faq-en-test-001"}), "alice")
    assert runtime.curation.records.entry(PARKING.id).content.pair_id == "faq-en-test-001"


def test_exports_never_hand_a_spreadsheet_a_formula(store_url: str) -> None:
    records = CurationRecords(Store(store_url))
    attack = '=HYPERLINK("http://evil.example","clic")'
    records.create(EntryContent(id="faq-staff-f", lang="fr", question="Une question ?", answer=attack), "-bob")
    rows = list(csv.DictReader(io.StringIO(audit_csv(records.audit()))))
    assert rows[0]["actor"] == "'-bob" and json.loads(rows[0]["after"])["answer"] == attack, rows
    feedback = feedback_csv(
        [{"created_at": "t", "rating": "down", "comment": "@SUM(A1)", "question": "+1", "answer": "a", "sources": []}]
    )
    assert next(iter(csv.DictReader(io.StringIO(feedback)))) == {
        "created_at": "t",
        "rating": "down",
        "comment": "'@SUM(A1)",
        "question": "'+1",
        "answer": "a",
        "sources": "",
    }


def test_alternates_stop_at_the_limit_an_editor_can_save(runtime: Runtime) -> None:
    runtime.curation.create(PARKING, "alice")
    many = [f"variante numéro {n} de la question du parking ?" for n in range(MAX_ALTERNATES)]
    with pytest.raises(ValueError, match=f"at most {MAX_ALTERNATES}"):
        runtime.curation.attach(PARKING.id, many, 1, "bob")
    assert runtime.curation.records.entry(PARKING.id).revision == 1, "a refused attach changed the entry"

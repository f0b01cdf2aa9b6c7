"""Ingest survives what a real knowledge base and a real machine do to it: broken files, a kill half-way,
a second process on the embedded store. The index afterwards holds exactly what the files produce."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.documents import Document

import ingest as ingest_cli
from bot.config import MAX_FILE_BYTES, PROJECT_ROOT, Settings
from bot.indexing.documents import load_knowledge_base
from bot.indexing.index import KnowledgeIndex
from tests.conftest import PROCESS_PROFILE, run_cli
from tests.test_documents import minimal_pdf

GOOD_FILES = {"ecole/admission.md", "ecole/diplome.md", "en/admission.md", "faq/ecole.yaml"}


def ingest(kb: Path, data_dir: Path, profile: str = "gemma") -> subprocess.CompletedProcess:
    """``python ingest.py`` as staff run it, in this process (``run_cli``: the model is loaded already), with a
    wide console: reasons must not be wrapped mid-word."""
    env = {"TUTOR_DATA_DIR": str(data_dir), "COLUMNS": "240", "TUTOR_EMBEDDING_PROFILE": profile}
    return run_cli(ingest_cli.main, ["--kb", str(kb)], env)


def ingest_process(kb: Path, data_dir: Path) -> subprocess.CompletedProcess:
    """``python ingest.py`` in a process of its own (``PROCESS_PROFILE``): for what is about a second process."""
    env = {**os.environ, "TUTOR_DATA_DIR": str(data_dir), "COLUMNS": "240", "TUTOR_EMBEDDING_PROFILE": PROCESS_PROFILE}
    return subprocess.run(
        [sys.executable, "ingest.py", "--kb", str(kb)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def content(documents: list[Document]) -> set[tuple]:
    return {(d.page_content, tuple(sorted(d.metadata.items()))) for d in documents}


def assert_index_is_exactly(index: KnowledgeIndex, kb: Path) -> None:
    """Each collection holds the ids its record manager lists, and its chunks are those the files produce."""
    expected: dict[str, list[Document]] = {name: [] for name in index.parts}
    for document in load_knowledge_base(kb).documents:
        kind = document.metadata["kind"]
        expected["phrasings" if kind == "faq_q" else "sentences" if kind == "sentence" else "passages"].append(document)
    for name, part in index.parts.items():
        ids = part.ids()
        records = set(part.records.list_keys())
        assert ids == records, (
            f"{name}: vectors without records {ids - records}, records without vectors {records - ids}"
        )
        stored = part.get()
        assert len(stored) == len(ids) == len(content(expected[name])), (
            f"{name}: {len(stored)} stored, {len(ids)} ids, {len(content(expected[name]))} expected"
        )
        assert content(stored) == content(expected[name]), (
            f"{name}: stored but not produced {content(stored) - content(expected[name])}, "
            f"produced but not stored {content(expected[name]) - content(stored)}"
        )


@pytest.mark.slow
def test_every_kind_of_broken_file_is_reported_and_the_rest_ingested(tmp_path: Path, kb_copy: Path) -> None:
    pdf = minimal_pdf("Le parcours dure de trois a douze mois.")
    faults = {
        "guides/brochure.pdf": (pdf[: len(pdf) // 2], "unreadable PDF"),  # cut off mid-download
        "faq/inscriptions.yaml": (b'- id: faq-x\n  question: "Quand ?\n  answer: vite\n', "invalid YAML"),
        "ecole/logo.html": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "binary content"),
        "ecole/export.md": (
            b"# Export\n\n" + b"Une ligne de journal sans fin. " * (MAX_FILE_BYTES // 30 + 1),
            "file too large",
        ),
        "ecole/ancien.md": (
            "---\ntitle: Été\n---\n# Été\n\nLes cours reprennent à la rentrée.".encode("latin-1"),
            "not valid UTF-8",
        ),
        "ecole/brouillon.md": (b"", "empty file"),
    }
    for relative, (raw, _) in faults.items():
        (kb_copy / relative).parent.mkdir(parents=True, exist_ok=True)
        (kb_copy / relative).write_bytes(raw)

    result = ingest(kb_copy, tmp_path / "data")

    assert result.returncode == 1, result.stderr
    failed = dict(re.findall(r"(?m)^\s+failed\s+(\S+): (.+)$", result.stderr))
    assert failed.keys() == faults.keys(), result.stderr
    for relative, (_, reason) in faults.items():
        assert failed[relative].startswith(reason), failed[relative]
    index = KnowledgeIndex(Settings(data_dir=tmp_path / "data"))
    assert set(index.indexed_files()) == GOOD_FILES, index.indexed_files()
    for relative in faults:
        (kb_copy / relative).unlink()
    assert_index_is_exactly(index, kb_copy)


@pytest.mark.slow
def test_a_second_process_on_the_embedded_store_is_refused(make_settings, kb_copy: Path) -> None:
    """Chroma's embedded store is not process-safe: an ingest beside a running app would leave the app's
    vector search citing deleted passages. The second process stops with the way out; nothing is touched."""
    settings = make_settings(embedding_profile=PROCESS_PROFILE)
    index = KnowledgeIndex(settings)  # this process now holds the store, as the app does
    index.sync(kb_copy)
    before = {name: part.ids() for name, part in index.parts.items()}
    (kb_copy / "en" / "admission.md").unlink()

    result = ingest_process(kb_copy, settings.data_dir)

    assert result.returncode == 2, result.stderr
    assert "open in another process" in result.stderr and "TUTOR_CHROMA_URL" in result.stderr, result.stderr
    assert {name: part.ids() for name, part in index.parts.items()} == before, "the refused process wrote to the index"


def test_vectors_without_records_and_records_without_vectors_are_repaired(
    make_settings, kb_copy: Path, indexed_data: Path
) -> None:
    """The two windows a crash can hit: Chroma written but not the record manager (a chunk of content that has
    gone since, which ``cleanup`` alone never deletes), and the reverse (a chunk ``index()`` would skip)."""
    index = KnowledgeIndex(make_settings())
    index.sync(kb_copy)
    orphan = Document(
        page_content="Une page supprimée depuis.",
        metadata={"source_id": "ecole/ancienne", "path": "ecole/ancienne.md", "file_hash": "0", "kind": "chunk"},
    )
    index.passages.store.add_documents([orphan], ids=["orphan-of-a-killed-run"])
    lost = sorted(index.sentences.ids())[0]
    index.sentences.store.delete(ids=[lost])

    report = index.sync(kb_copy)

    assert report.chunks_added == 1 and report.chunks_deleted == 1, report
    assert lost in index.sentences.ids(), f"the lost sentence {lost} was not written again"
    assert "orphan-of-a-killed-run" not in index.passages.ids(), "the orphan vector was not deleted"
    assert_index_is_exactly(index, kb_copy)


def write_generated_pages(kb: Path, count: int) -> None:
    """Enough extra pages that embedding them takes several batches, so a kill lands half-way."""
    topics = [
        "la régression linéaire",
        "les arbres de décision",
        "le nettoyage des données",
        "la visualisation",
        "les réseaux de neurones",
        "les bases SQL",
        "le traitement du langage",
        "l'éthique des données",
    ]
    (kb / "modules").mkdir()
    for n in range(count):
        topic = topics[n % len(topics)]
        sections = [
            f"## Séance {s + 1}\n\n"
            + " ".join(
                f"La séance {s + 1} du module {n} consacre sa partie {k + 1} à {topic}, avec l'exercice {n * 10 + k}."
                for k in range(4)
            )
            for s in range(3)
        ]
        (kb / "modules" / f"module-{n:02d}.md").write_text(
            f"---\ntitle: Module {n}\nlang: fr\nprogramme: ecole-test\n---\n\n# Module {n} : {topic}\n\n"
            + "\n\n".join(sections)
            + "\n"
        )


def record_count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM upsertion_record").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.slow
def test_an_ingest_killed_half_way_is_repaired_exactly_by_the_next(tmp_path: Path, kb_copy: Path) -> None:
    write_generated_pages(kb_copy, 8)
    data_dir = tmp_path / "data"
    expected = len(list(load_knowledge_base(kb_copy).documents))
    # Batches of four: the light profile embeds one in a few milliseconds, and the kill must land between two.
    env = {
        **os.environ,
        "TUTOR_DATA_DIR": str(data_dir),
        "TUTOR_EMBEDDING_PROFILE": PROCESS_PROFILE,
        "TUTOR_EMBEDDING_BATCH_SIZE": "4",
    }
    process = subprocess.Popen(
        [sys.executable, "ingest.py", "--kb", str(kb_copy)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = Settings(data_dir=data_dir, embedding_profile=PROCESS_PROFILE).record_db
    deadline = time.monotonic() + 600
    while process.poll() is None and record_count(db) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    written = record_count(db)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    if not 0 < written < expected:
        pytest.fail(f"the kill did not land half-way ({written} of {expected} chunks recorded)")
    # What staff do next may differ from what the killed run saw: a page edited, another deleted.
    (kb_copy / "modules" / "module-07.md").unlink()
    page = kb_copy / "modules" / "module-03.md"
    page.write_text(page.read_text().replace("exercice 30", "exercice corrigé 30"))

    result = ingest(kb_copy, data_dir, PROCESS_PROFILE)

    assert result.returncode == 0, result.stderr
    assert_index_is_exactly(KnowledgeIndex(Settings(data_dir=data_dir, embedding_profile=PROCESS_PROFILE)), kb_copy)

"""Ingest is incremental and idempotent, follows edits and deletions, and skips broken files without loss."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.indexing.index import KnowledgeIndex


def source_ids(index: KnowledgeIndex) -> set[str]:
    return {d.metadata["source_id"] for d in index.passages.get()} | {
        d.metadata["source_id"] for d in index.phrasings.get()
    }


def test_second_ingest_adds_and_updates_nothing(make_settings, kb_copy: Path) -> None:
    index = KnowledgeIndex(make_settings())
    first = index.sync(kb_copy)
    assert first.ok
    assert sorted(first.added) == ["ecole/admission.md", "ecole/diplome.md", "en/admission.md", "faq/ecole.yaml"]
    assert first.chunks_added == first.chunks_total > 0

    second = index.sync(kb_copy)
    assert (second.added, second.updated, second.deleted, second.failed) == ([], [], [], {})
    assert len(second.unchanged) == 4
    assert second.chunks_added == 0 and second.chunks_deleted == 0
    assert second.chunks_total == first.chunks_total


def test_edited_file_replaces_its_chunks_and_deleted_file_leaves(make_settings, kb_copy: Path) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync(kb_copy)
    page = kb_copy / "ecole" / "diplome.md"
    page.write_text(page.read_text().replace("répertoire national", "registre officiel"))
    (kb_copy / "en" / "admission.md").unlink()

    report = index.sync(kb_copy)

    assert report.updated == ["ecole/diplome.md"]
    assert report.deleted == ["en/admission.md"]
    texts = " ".join(d.page_content for d in index.passages.get({"source_id": "ecole/diplome"}))
    assert "registre officiel" in texts and "répertoire national" not in texts
    assert "en/admission" not in source_ids(index)
    assert index.indexed_files().keys() == {"ecole/admission.md", "ecole/diplome.md", "faq/ecole.yaml"}


def test_broken_files_are_reported_and_the_rest_ingested(make_settings, kb_copy: Path) -> None:
    (kb_copy / "faq" / "broken.yaml").write_text("- id: x\n  question: [unclosed\n")
    (kb_copy / "ecole" / "photo.md").write_bytes(bytes(range(256)) * 10)
    (kb_copy / "notes.docx").write_bytes(b"PK\x03\x04 not really")

    report = KnowledgeIndex(make_settings()).sync(kb_copy)

    assert set(report.failed) == {"faq/broken.yaml", "ecole/photo.md", "notes.docx"}
    assert "invalid YAML" in report.failed["faq/broken.yaml"]
    assert "binary" in report.failed["ecole/photo.md"]
    assert "unsupported file type" in report.failed["notes.docx"]
    assert len(report.added) == 4


def test_a_file_that_breaks_keeps_its_last_good_chunks(make_settings, kb_copy: Path) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync(kb_copy)
    before = source_ids(index)
    (kb_copy / "faq" / "ecole.yaml").write_text("- id: faq-test-001\n  question: oops\n")  # no answer

    report = index.sync(kb_copy)

    assert report.failed == {"faq/ecole.yaml": "entry 1: answer: Field required"}
    assert report.deleted == [] and report.chunks_deleted == 0
    assert source_ids(index) == before


def test_cli_exit_codes_and_summary(tmp_path: Path, kb_copy: Path) -> None:
    env = {**os.environ, "TUTOR_DATA_DIR": str(tmp_path / "data")}
    ok = subprocess.run(
        [sys.executable, "ingest.py", "--kb", str(kb_copy), "--collection", "cli-test"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ok.returncode == 0, ok.stderr
    assert "added" in ok.stderr and "failed" in ok.stderr

    (kb_copy / "faq" / "bad.yml").write_text("{{{")
    failed = subprocess.run(
        [sys.executable, "ingest.py", "--kb", str(kb_copy), "--collection", "cli-test"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert failed.returncode == 1
    assert "faq/bad.yml" in failed.stderr and "invalid YAML" in failed.stderr

    missing = subprocess.run(
        [sys.executable, "ingest.py", "--kb", str(tmp_path / "nope")],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert missing.returncode == 2 and "not found" in missing.stderr

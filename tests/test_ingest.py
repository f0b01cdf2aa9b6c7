"""Ingest is incremental and idempotent, follows edits and deletions, and skips broken files without loss.

A test about what a *first* ingest reports embeds the fixture KB itself; a test about what a later sync does
starts from a copy of the session's fixture index (``indexed_data``), where that first sync finds nothing to do.
"""

from __future__ import annotations

from pathlib import Path

import ingest
from bot.indexing.index import KnowledgeIndex
from tests.conftest import FIXTURE_KB, IndexTemplates, run_cli


def source_ids(index: KnowledgeIndex) -> set[str]:
    return {d.metadata["source_id"] for d in index.passages.get()} | {
        d.metadata["source_id"] for d in index.phrasings.get()
    }


def test_second_ingest_adds_and_updates_nothing(make_settings, kb_copy: Path) -> None:
    index = KnowledgeIndex(make_settings())
    first = index.sync(kb_copy)
    assert first.ok, first.failed
    assert sorted(first.added) == ["ecole/admission.md", "ecole/diplome.md", "en/admission.md", "faq/ecole.yaml"]
    assert first.chunks_added == first.chunks_total > 0, first

    second = index.sync(kb_copy)
    assert (second.added, second.updated, second.deleted, second.failed) == ([], [], [], {})
    assert len(second.unchanged) == 4, second.unchanged
    assert second.chunks_added == 0 and second.chunks_deleted == 0, second
    assert second.chunks_total == first.chunks_total, (first, second)


def test_edited_file_replaces_its_chunks_and_deleted_file_leaves(make_settings, kb_copy: Path, indexed_data) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync(kb_copy)
    page = kb_copy / "ecole" / "diplome.md"
    page.write_text(page.read_text().replace("répertoire national", "registre officiel"))
    (kb_copy / "en" / "admission.md").unlink()

    report = index.sync(kb_copy)

    assert report.updated == ["ecole/diplome.md"], report
    assert report.deleted == ["en/admission.md"], report
    texts = " ".join(d.page_content for d in index.passages.get({"source_id": "ecole/diplome"}))
    assert "registre officiel" in texts and "répertoire national" not in texts, texts
    assert "en/admission" not in source_ids(index), source_ids(index)
    assert index.indexed_files().keys() == {"ecole/admission.md", "ecole/diplome.md", "faq/ecole.yaml"}


def test_broken_files_are_reported_and_the_rest_ingested(make_settings, kb_copy: Path) -> None:
    (kb_copy / "faq" / "broken.yaml").write_text("- id: x\n  question: [unclosed\n")
    (kb_copy / "ecole" / "photo.md").write_bytes(bytes(range(256)) * 10)
    (kb_copy / "notes.docx").write_bytes(b"PK\x03\x04 not really")

    report = KnowledgeIndex(make_settings()).sync(kb_copy)

    assert set(report.failed) == {"faq/broken.yaml", "ecole/photo.md", "notes.docx"}
    assert "invalid YAML" in report.failed["faq/broken.yaml"], report.failed
    assert "binary" in report.failed["ecole/photo.md"], report.failed
    assert "unsupported file type" in report.failed["notes.docx"], report.failed
    assert len(report.added) == 4, report.added


def test_a_file_that_breaks_keeps_its_last_good_chunks(make_settings, kb_copy: Path, indexed_data) -> None:
    index = KnowledgeIndex(make_settings())
    index.sync(kb_copy)
    before = source_ids(index)
    (kb_copy / "faq" / "ecole.yaml").write_text("- id: faq-test-001\n  question: oops\n")  # no answer

    report = index.sync(kb_copy)

    assert report.failed == {"faq/ecole.yaml": "entry 1: answer: Field required"}
    assert report.deleted == [] and report.chunks_deleted == 0, report
    assert source_ids(index) == before


def test_cli_exit_codes_and_summary(tmp_path: Path, kb_copy: Path, index_templates: IndexTemplates) -> None:
    """``python ingest.py`` as staff run it, through its ``main`` in this process (``run_cli``). The collection
    is copied in first, so the runs spend their time on what is checked (exit codes, the summary) rather than on
    embedding the fixture KB."""
    env = {"TUTOR_DATA_DIR": str(index_templates.copy(FIXTURE_KB, tmp_path / "data", collection="cli-test"))}
    ok = run_cli(ingest.main, ["--kb", str(kb_copy), "--collection", "cli-test"], env)
    assert ok.returncode == 0, ok.stderr
    assert "added" in ok.stderr and "failed" in ok.stderr, ok.stderr

    (kb_copy / "faq" / "bad.yml").write_text("{{{")
    failed = run_cli(ingest.main, ["--kb", str(kb_copy), "--collection", "cli-test"], env)
    assert failed.returncode == 1, failed.stderr
    assert "faq/bad.yml" in failed.stderr and "invalid YAML" in failed.stderr, failed.stderr

    missing = run_cli(ingest.main, ["--kb", str(tmp_path / "nope")], env)
    assert missing.returncode == 2 and "not found" in missing.stderr, (missing.returncode, missing.stderr)

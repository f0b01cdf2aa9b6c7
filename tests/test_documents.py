"""Loading and chunking: metadata from front matter, heading-aware chunks, clear reasons for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.indexing.documents import LoadError, load_file, load_knowledge_base
from tests.conftest import FIXTURE_KB


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with real text and a correct cross-reference table (what pypdf expects)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_markdown_is_chunked_by_heading_with_front_matter_metadata() -> None:
    loaded = load_file(FIXTURE_KB / "ecole" / "admission.md", FIXTURE_KB)
    sections = [d.metadata["section"] for d in loaded.documents]
    assert "Entretien de motivation" in sections and "Durée de la formation" in sections
    first = loaded.documents[0].metadata
    assert first["source_id"] == "ecole/admission"
    assert (first["lang"], first["programme"], first["kind"]) == ("fr", "ecole-test", "chunk")
    assert first["source"] == "https://example.org/admission"
    duration = next(d for d in loaded.documents if d.metadata["section"] == "Durée de la formation")
    assert "3 à 12 mois" in duration.page_content and "Entretien" not in duration.page_content


def test_faq_entry_gives_one_passage_one_phrasing_per_question_form_and_its_sentences() -> None:
    loaded = load_file(FIXTURE_KB / "faq" / "ecole.yaml", FIXTURE_KB)
    first = [d for d in loaded.documents if d.metadata["source_id"] == "faq-test-001"]
    kinds = sorted(d.metadata["kind"] for d in first)
    assert kinds == ["faq", "faq_q", "faq_q", "faq_q", "sentence"]  # the answer is one sentence
    passage = next(d for d in first if d.metadata["kind"] == "faq")
    assert passage.metadata["answer"].startswith("Non, il n'y a pas de concours")


def test_sentences_are_keyed_to_their_passage_in_reading_order() -> None:
    loaded = load_file(FIXTURE_KB / "ecole" / "admission.md", FIXTURE_KB)
    duration = [
        d
        for d in loaded.documents
        if d.metadata["kind"] == "sentence" and d.metadata["section"] == "Durée de la formation"
    ]
    assert [d.metadata["position"] for d in duration] == [0, 1]
    assert duration[0].page_content == "La formation de l'école test dure de 3 à 12 mois."
    assert duration[1].page_content.startswith("Le rythme est de quinze jours")
    assert {d.metadata["chunk_key"] for d in duration} == {"ecole/admission#2"}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("bad.yaml", b"- id: a\n  question: q\n  answer: a\n  colour: red\n", "colour: Extra inputs"),
        ("notalist.yaml", b"id: a\n", "must be a YAML list"),
        ("latin1.md", "---\ntitle: été\n---\n# Été\ntexte".encode("latin-1"), "not valid UTF-8"),
        ("empty.md", b"   \n", "empty file"),
        ("frontmatter.md", b"---\nlang: de\n---\n# T\ntext", "lang"),
        ("corrupt.pdf", b"%PDF-1.4 garbage", "PDF"),
    ],
)
def test_bad_files_fail_with_a_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load_file(path, tmp_path)


def test_pdf_and_html_are_loaded_as_text(tmp_path: Path) -> None:
    (tmp_path / "guide.pdf").write_bytes(minimal_pdf("Le parcours dure de trois a douze mois."))
    (tmp_path / "page.html").write_text(
        "<html><head><title>Rythme</title></head><body><h2>Alternance</h2>"
        "<p>Quinze jours de cours, quinze jours en entreprise.</p></body></html>"
    )
    report = load_knowledge_base(tmp_path)
    assert report.failures == {}
    texts = {f.path: " ".join(d.page_content for d in f.documents) for f in report.files}
    assert "trois a douze mois" in texts["guide.pdf"]
    assert "Quinze jours de cours" in texts["page.html"]
    html_meta = next(f for f in report.files if f.path == "page.html").documents[0].metadata
    assert html_meta["title"] == "Rythme" and html_meta["source_id"] == "page"


def test_duplicate_faq_ids_across_files_are_refused(tmp_path: Path) -> None:
    entry = "- id: same\n  question: q ?\n  answer: a.\n"
    (tmp_path / "a.yaml").write_text(entry)
    (tmp_path / "b.yaml").write_text(entry)
    report = load_knowledge_base(tmp_path)
    assert report.failures == {"b.yaml": "id 'same' is already used in a.yaml"}


def test_quizzes_are_not_chat_content(tmp_path: Path) -> None:
    (tmp_path / "quizzes").mkdir()
    (tmp_path / "quizzes" / "q.yaml").write_text("module: x\nquestions: []\n")
    (tmp_path / "page.md").write_text("# Titre\n\nUn texte.")
    report = load_knowledge_base(tmp_path)
    assert [f.path for f in report.files] == ["page.md"] and report.failures == {}

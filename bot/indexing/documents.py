"""Reading the knowledge base into LangChain ``Document`` chunks, one file at a time.

Every file is either loaded or reported with its reason: a broken file must never stop the others, and
staff must be told which one and why. Chunks carry flat metadata (Chroma stores only scalars) including the
``source_id`` the evaluation sets refer to and the file's hash (to tell added / updated / unchanged files).

Four kinds of document go into the index:
- ``chunk``: a section of a page (Markdown, HTML, PDF), cut at headings first, then by size;
- ``faq``: a FAQ entry as a passage (question and answer), retrievable like any section;
- ``faq_q``: one phrasing of a FAQ question (the question or an alternate), matched against user questions;
- ``sentence``: one sentence of a ``chunk`` or ``faq`` passage (its ``chunk_key`` and ``position``), embedded
  at ingest so that answers can pick the sentences closest in meaning to a question without embedding
  anything but the question at request time.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import frontmatter
import yaml
from langchain_core.documents import Document
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.config import MAX_FILE_BYTES
from bot.language import detect_language
from bot.text import sentences

MARKDOWN_SUFFIXES = {".md", ".markdown"}
FAQ_SUFFIXES = {".yaml", ".yml"}
PDF_SUFFIXES = {".pdf"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | FAQ_SUFFIXES | PDF_SUFFIXES | HTML_SUFFIXES
# Quizzes feed the tutor, not the chat: serving a quiz's reference answer as a chat source would spoil it.
EXCLUDED_DIRS = {"quizzes"}
CHUNK_CHARS = 1200
CHUNK_OVERLAP = 150
TAG_SEPARATOR = ", "  # a row's tags, joined into one metadata string


class LoadError(ValueError):
    """A file that cannot be ingested; the message is what staff read in the summary."""


class PageMeta(BaseModel):
    """Front matter of a page. Unknown keys (``facts``, for reviewers) are allowed and ignored."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    lang: Literal["fr", "en"] | None = None
    programme: str | None = None
    audience: str | None = None
    source: str | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_as_list(cls, value: object) -> object:
        return [t.strip() for t in value.split(",") if t.strip()] if isinstance(value, str) else value or []


class FaqEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer: str = Field(min_length=1)
    alternates: list[str] = Field(default_factory=list)
    lang: Literal["fr", "en"] | None = None
    programme: str | None = None
    tags: list[str] = Field(default_factory=list)
    source: str | None = None


@dataclass
class LoadedFile:
    path: str  # relative to the KB root, POSIX
    file_hash: str
    documents: list[Document]


@dataclass
class LoadReport:
    files: list[LoadedFile] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # relative path -> reason

    @property
    def documents(self) -> Iterator[Document]:
        for loaded in self.files:
            yield from loaded.documents


def source_id_for(relative: Path) -> str:
    return relative.with_suffix("").as_posix()


def kb_files(kb_dir: Path) -> list[Path]:
    """Every file the KB holds, hidden files and the quiz folder aside, in a stable order."""
    found = []
    for path in sorted(kb_dir.rglob("*")):
        relative = path.relative_to(kb_dir)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        if relative.parts[0] in EXCLUDED_DIRS:
            continue
        found.append(path)
    return found


def _read_text(path: Path, raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise LoadError("binary content in a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    if not text.strip():
        raise LoadError("empty file")
    return text


def _metadata(meta: PageMeta, *, source_id: str, path: str, file_hash: str, kind: str, text: str) -> dict:
    return {
        "source_id": source_id,
        "path": path,
        "file_hash": file_hash,
        "kind": kind,
        "title": meta.title or Path(path).stem.replace("-", " ").capitalize(),
        "lang": meta.lang or detect_language(text),
        "programme": meta.programme or Path(path).parts[0],
        "audience": meta.audience or "",
        "source": meta.source or "",
        "tags": TAG_SEPARATOR.join(meta.tags),
    }


def metadata_tags(metadata: dict) -> frozenset[str]:
    """The tags a row's metadata holds (Chroma keeps scalar metadata only, so they are stored joined)."""
    joined = str(metadata.get("tags", ""))
    return frozenset(joined.split(TAG_SEPARATOR)) if joined else frozenset()


_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
_size_splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP)


def chunk_key(metadata: dict) -> str:
    return f"{metadata['source_id']}#{metadata['chunk']}"


def passage_body(text: str, metadata: dict) -> str:
    """What a passage says, as a reader sees it: a FAQ entry's answer, or a section without the heading line
    that chunking put in front (it helps retrieval, not reading). Sentences are numbered on this text."""
    if metadata.get("kind") == "faq":
        return metadata.get("answer", text)
    head, _, rest = text.partition("\n")
    return rest if rest and metadata.get("section") and " — " in head else text


def sentence_documents(passages: list[Document]) -> list[Document]:
    found = []
    for passage in passages:
        key = chunk_key(passage.metadata)
        for position, sentence in enumerate(sentences(passage_body(passage.page_content, passage.metadata))):
            found.append(
                Document(
                    page_content=sentence,
                    metadata={**passage.metadata, "kind": "sentence", "chunk_key": key, "position": position},
                )
            )
    return found


def chunk_markdown(body: str, base: dict) -> list[Document]:
    """Cut at headings, then by size; each chunk starts with its heading path so it reads (and embeds) alone."""
    sections = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True).split_text(body)
    chunks: list[Document] = []
    for section in sections:
        headings = [section.metadata[k] for _, k in _HEADERS if section.metadata.get(k)]
        heading = " › ".join(headings[1:] if len(headings) > 1 else headings)
        for piece in _size_splitter.split_text(section.page_content):
            if not piece.strip():
                continue
            text = f"{base['title']} — {heading}\n{piece.strip()}" if heading else piece.strip()
            chunks.append(Document(page_content=text, metadata={**base, "section": heading, "chunk": len(chunks)}))
    return chunks


def load_markdown(text: str, relative: Path, file_hash: str) -> list[Document]:
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid front matter: {str(exc).splitlines()[0]}") from exc
    try:
        meta = PageMeta.model_validate(post.metadata)
    except ValidationError as exc:
        raise LoadError(f"invalid front matter: {_first_error(exc)}") from exc
    if not post.content.strip():
        raise LoadError("no text after the front matter")
    base = _metadata(
        meta,
        source_id=source_id_for(relative),
        path=relative.as_posix(),
        file_hash=file_hash,
        kind="chunk",
        text=post.content,
    )
    return chunk_markdown(post.content, base)


def load_faq(text: str, relative: Path, file_hash: str) -> list[Document]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LoadError(f"invalid YAML: {' '.join(str(exc).split())[:200]}") from exc
    if not isinstance(data, list):
        raise LoadError("a FAQ file must be a YAML list of entries")
    documents: list[Document] = []
    for position, raw in enumerate(data, start=1):
        try:
            entry = FaqEntry.model_validate(raw)
        except ValidationError as exc:
            raise LoadError(f"entry {position}: {_first_error(exc)}") from exc
        documents += faq_documents(entry, relative.as_posix(), file_hash)
    if not documents:
        raise LoadError("no FAQ entries")
    return documents


def faq_documents(entry: FaqEntry, path: str, file_hash: str) -> list[Document]:
    """A FAQ entry's passage and phrasings, wherever it was written (a YAML file, or staff on ``/staff``)."""
    meta = PageMeta(
        title=entry.question,
        lang=entry.lang,
        programme=entry.programme or "general",
        source=entry.source,
        tags=entry.tags,
    )
    base = _metadata(
        meta, source_id=entry.id, path=path, file_hash=file_hash, kind="faq", text=entry.question + " " + entry.answer
    )
    base |= {"question": entry.question, "answer": entry.answer, "section": "", "chunk": 0}
    documents = [Document(page_content=f"{entry.question}\n{entry.answer}", metadata=base)]
    documents += phrasing_documents(base, [entry.question, *entry.alternates])
    return documents


def phrasing_documents(entry_metadata: dict, phrasings: list[str], first: int = 0) -> list[Document]:
    """Phrasings matched against user questions, as the entry described by ``entry_metadata`` (its passage's
    metadata); ``first`` numbers them after those the entry already has."""
    return [
        Document(page_content=phrasing, metadata={**entry_metadata, "kind": "faq_q", "chunk": number})
        for number, phrasing in enumerate(phrasings, start=first)
    ]


def load_pdf(raw: bytes, relative: Path, file_hash: str) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if b"%PDF-" not in raw[:1024]:
        raise LoadError("not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(raw))
        text = "\n\n".join(page.extract_text() or "" for page in reader.pages)
        title = (reader.metadata.title if reader.metadata else None) or None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise LoadError(f"unreadable PDF: {exc}") from exc
    if not text.strip():
        raise LoadError("PDF has no extractable text")
    meta = PageMeta(title=title)
    base = _metadata(
        meta, source_id=source_id_for(relative), path=relative.as_posix(), file_hash=file_hash, kind="chunk", text=text
    )
    return chunk_markdown(text, base)


def load_html(text: str, relative: Path, file_hash: str) -> list[Document]:
    from html.parser import HTMLParser

    import html2text

    class _Title(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside, self.title = False, ""

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.inside = tag == "title"

        def handle_data(self, data: str) -> None:
            if self.inside:
                self.title += data

        def handle_endtag(self, tag: str) -> None:
            self.inside = False

    parser = _Title()
    parser.feed(text)
    converter = html2text.HTML2Text()
    converter.ignore_links = converter.ignore_images = True
    converter.body_width = 0
    body = converter.handle(text)
    if not body.strip():
        raise LoadError("HTML has no text")
    meta = PageMeta(title=parser.title.strip() or None)
    base = _metadata(
        meta, source_id=source_id_for(relative), path=relative.as_posix(), file_hash=file_hash, kind="chunk", text=body
    )
    return chunk_markdown(body, base)


def load_file(path: Path, kb_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> LoadedFile:
    """Load one file or raise ``LoadError`` with a reason a person can act on.

    Files over ``max_bytes`` are refused before they are read: a knowledge-base page is a few kilobytes, so a
    50 MB "page" is a mistake (a dump, a scanned book) that would stall ingest and flood retrieval."""
    relative = path.relative_to(kb_dir)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(f"unsupported file type '{suffix or path.name}' (expected .md, .yaml, .pdf, .html)")
    size = path.stat().st_size
    if size == 0:
        raise LoadError("empty file")
    if size > max_bytes:
        raise LoadError(f"file too large ({size:,} bytes > {max_bytes:,}; TUTOR_MAX_FILE_BYTES)")
    raw = path.read_bytes()
    file_hash = hashlib.sha256(raw).hexdigest()[:16]
    if suffix in PDF_SUFFIXES:
        documents = load_pdf(raw, relative, file_hash)
    else:
        text = _read_text(path, raw)
        loader = {
            **dict.fromkeys(MARKDOWN_SUFFIXES, load_markdown),
            **dict.fromkeys(FAQ_SUFFIXES, load_faq),
            **dict.fromkeys(HTML_SUFFIXES, load_html),
        }[suffix]
        documents = loader(text, relative, file_hash)
    if not documents:
        raise LoadError("no text to index")
    return LoadedFile(path=relative.as_posix(), file_hash=file_hash, documents=with_sentences(documents))


def with_sentences(documents: list[Document]) -> list[Document]:
    """The documents and the sentences of their passages (what the index holds of a file)."""
    return documents + sentence_documents([d for d in documents if d.metadata["kind"] in ("chunk", "faq")])


def load_knowledge_base(kb_dir: Path, max_bytes: int = MAX_FILE_BYTES) -> LoadReport:
    report = LoadReport()
    seen_ids: dict[str, str] = {}
    for path in kb_files(kb_dir):
        relative = path.relative_to(kb_dir).as_posix()
        try:
            loaded = load_file(path, kb_dir, max_bytes)
            _check_unique_ids(loaded, seen_ids)
        except LoadError as exc:
            report.failures[relative] = str(exc)
            continue
        except OSError as exc:
            report.failures[relative] = f"cannot read: {exc.strerror or exc}"
            continue
        report.files.append(loaded)
    return report


def _check_unique_ids(loaded: LoadedFile, seen: dict[str, str]) -> None:
    """A source id names one thing: a FAQ id reused elsewhere would make citations and evaluations ambiguous."""
    ids = {d.metadata["source_id"] for d in loaded.documents}
    for source_id in sorted(ids):
        if seen.get(source_id, loaded.path) != loaded.path:
            raise LoadError(f"id '{source_id}' is already used in {seen[source_id]}")
    seen.update(dict.fromkeys(ids, loaded.path))


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "value"
    return f"{where}: {error['msg']}"

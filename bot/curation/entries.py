"""What staff may write as a curated entry, and the index documents an entry becomes.

The limits are a FAQ entry's, generously: an answer is a paragraph or two (a 100 kB "answer" is a paste gone
wrong, refused with a message, not stored), an entry has a few dozen phrasings at most. Languages are the
bot's two: an entry is served only to questions in its language, so another one would never be served.

An entry written on ``/staff`` is indexed as the file ``staff/<id>``, with the very documents a YAML entry
makes (``bot.indexing.documents.faq_documents``); alternates added to an entry of the repository are the file
``staff-alternates/<id>``, phrasings of that entry alone, so publishing either re-embeds nothing else.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from functools import partial
from typing import Literal

from langchain_core.documents import Document
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.config import Settings
from bot.indexing.documents import (
    FaqEntry,
    LoadedFile,
    LoadReport,
    faq_documents,
    phrasing_documents,
    with_sentences,
)
from bot.indexing.index import Curated
from bot.store import Store
from bot.store.curation import CurationRecords, EntryContent

log = logging.getLogger("tutor.curation")

ENTRY_ID = r"^[a-z0-9][a-z0-9._-]{2,79}$"
MAX_QUESTION_CHARS = 300
MAX_ANSWER_CHARS = 5000
MAX_ALTERNATES = 50
ENTRIES_FOLDER = "staff"
ALTERNATES_FOLDER = "staff-alternates"


def _clean(text: str) -> str:
    return " ".join(text.split())


class EntryDraft(BaseModel):
    """A curated entry as staff write it on the page or send it to the API."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(
        ..., pattern=ENTRY_ID, description="Unique id, cited by answers and evaluation sets (e.g. `faq-staff-001`)."
    )
    lang: Literal["fr", "en"] = Field(..., description="The language of the entry; it answers questions in it.")
    question: str = Field(..., min_length=3, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(..., min_length=1, max_length=MAX_ANSWER_CHARS, description="Served verbatim.")
    alternates: list[str] = Field(
        default_factory=list, max_length=MAX_ALTERNATES, description="Other phrasings of the question."
    )
    programme: str = Field("general", pattern=r"^[a-z0-9-]{1,40}$")
    tags: list[str] = Field(default_factory=list, max_length=20)
    source: str = Field("", max_length=500, description="Where the answer comes from (a URL or a document).")
    pair_id: str | None = Field(None, pattern=ENTRY_ID, description="The same entry in the other language.")

    @field_validator("alternates")
    @classmethod
    def _phrasings(cls, alternates: list[str]) -> list[str]:
        cleaned = [_clean(a) for a in alternates if a.strip()]
        if too_long := [a for a in cleaned if len(a) > MAX_QUESTION_CHARS]:
            raise ValueError(f"an alternate is over {MAX_QUESTION_CHARS} characters: '{too_long[0][:60]}…'")
        return list(dict.fromkeys(cleaned))

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        return [t.strip()[:40] for t in tags if t.strip()]

    @field_validator("question")
    @classmethod
    def _question(cls, question: str) -> str:
        return _clean(question)

    def content(self) -> EntryContent:
        alternates = tuple(a for a in self.alternates if a.casefold() != self.question.casefold())
        return EntryContent(**{**self.model_dump(), "alternates": alternates, "tags": tuple(self.tags)})

    @classmethod
    def of(cls, content: EntryContent) -> EntryDraft:
        return cls.model_validate(
            {**asdict(content), "alternates": list(content.alternates), "tags": list(content.tags)}
        )


def as_faq_entry(content: EntryContent) -> FaqEntry:
    """The entry in the repository's FAQ format (what the YAML export writes)."""
    return FaqEntry(
        id=content.id,
        question=content.question,
        answer=content.answer,
        alternates=list(content.alternates),
        lang=content.lang,
        programme=content.programme,
        tags=list(content.tags),
        source=content.source or None,
    )


def _file_hash(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def entry_path(entry_id: str) -> str:
    return f"{ENTRIES_FOLDER}/{entry_id}"


def alternates_path(entry_id: str) -> str:
    return f"{ALTERNATES_FOLDER}/{entry_id}"


def entry_file(content: EntryContent) -> LoadedFile:
    """A staff entry as the index holds it: its passage, phrasings and sentences."""
    path = entry_path(content.id)
    file_hash = _file_hash(asdict(content))
    return LoadedFile(path, file_hash, with_sentences(faq_documents(as_faq_entry(content), path, file_hash)))


def alternates_file(entry: Document, alternates: Sequence[str], first: int) -> LoadedFile:
    """Alternates added to a repository entry (``entry``: its passage in the index), numbered after its own
    ``first`` phrasings: matched as that entry, whose answer and citation they lead to."""
    path = alternates_path(entry.metadata["source_id"])
    file_hash = _file_hash([entry.metadata.get("file_hash"), list(alternates)])
    metadata = {**entry.metadata, "path": path, "file_hash": file_hash}
    return LoadedFile(path, file_hash, phrasing_documents(metadata, list(alternates), first))


def curated_files(records: CurationRecords, loaded: LoadReport) -> list[LoadedFile]:
    """The published staff entries and the alternates added to repository entries, as files of a full sync
    (``KnowledgeIndex.sync(curated=...)``), which would otherwise delete them as files the folder lacks. An
    entry whose id the repository now uses (exported and committed) is left to the repository's version."""
    repository = {d.metadata["source_id"]: d for d in loaded.documents if d.metadata["kind"] == "faq"}
    files = []
    for entry in records.entries():
        if not entry.published:
            continue
        if entry.id in repository:
            log.warning(
                "staff entry %s is left to the repository's %s", entry.id, repository[entry.id].metadata["path"]
            )
            continue
        files.append(entry_file(entry.content))
    for extra in records.extra_alternates().values():
        passage = repository.get(extra.entry_id)
        if passage is not None and extra.alternates:
            own = sum(
                1
                for d in loaded.documents
                if d.metadata["kind"] == "faq_q" and d.metadata["source_id"] == extra.entry_id
            )
            files.append(alternates_file(passage, extra.alternates, own))
    return files


def staff_content(settings: Settings, collection: str) -> Curated | None:
    """What staff wrote, for a full sync of ``collection`` (``KnowledgeIndex.sync(curated=...)``): the served
    collection's only; another collection (an evaluation's own knowledge base) has none."""
    if collection != settings.collection:
        return None
    return partial(curated_files, CurationRecords(Store(settings.store_url)))

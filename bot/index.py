"""The vector index: Chroma collections kept in step with the knowledge base by LangChain's indexing API.

Three collections per knowledge base, because they are searched differently:
- ``NAME`` holds passages (page sections and FAQ entries), embedded with the model's *document* prompt;
- ``NAME-faq`` holds FAQ phrasings (each question and alternate), embedded with the *query* prompt, since a
  user question is matched against them question-to-question;
- ``NAME-sentences`` holds the sentences of the passages, to choose which ones answer a question.

The record manager (SQLite) remembers the hash of every chunk it wrote, so a re-ingest embeds only what
changed, replaces the chunks of edited files and removes those of deleted files (``cleanup="full"``).
A file that fails to load keeps its last good chunks: they are read back from Chroma and offered to the
indexing API again, which recognises them as unchanged — a typo in a YAML file must not empty the index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import chromadb
from langchain_chroma import Chroma
from langchain_classic.indexes import SQLRecordManager
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import index as sync_index

from bot.config import Settings
from bot.documents import load_knowledge_base
from bot.embeddings import QueryStyleEmbeddings, load_embeddings

COLLECTION_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{1,498}[A-Za-z0-9]"
FAQ_SUFFIX = "-faq"
SENTENCES_SUFFIX = "-sentences"


@dataclass
class SyncReport:
    """What an ingest did, per file (what staff reason about) and per chunk (what was embedded)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    chunks_added: int = 0
    chunks_deleted: int = 0
    chunks_skipped: int = 0
    chunks_total: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir),
                                     settings=chromadb.Settings(anonymized_telemetry=False))


class _Part:
    """One collection and the record-manager namespace that tracks it."""

    def __init__(self, client: chromadb.ClientAPI, name: str, embeddings: Embeddings, db_url: str) -> None:
        self._client, self.name, self._embeddings = client, name, embeddings
        self.store = self._open()
        self.records = SQLRecordManager(f"chroma/{name}", db_url=db_url)
        self.records.create_schema()

    def _open(self) -> Chroma:
        return Chroma(collection_name=self.name, embedding_function=self._embeddings, client=self._client,
                      collection_metadata={"hnsw:space": "cosine"})

    def count(self) -> int:
        return self.store._collection.count()

    def reset(self) -> None:
        self.store.delete_collection()
        self.store = self._open()
        self.records.delete_keys(self.records.list_keys())

    def get(self, where: dict | None = None) -> list[Document]:
        got = self.store.get(where=where, include=["documents", "metadatas"])
        return [Document(id=i, page_content=text, metadata=meta)
                for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)]

    def sync(self, documents: Iterable[Document], batch_size: int) -> dict:
        return sync_index(documents, self.records, self.store, cleanup="full", source_id_key="path",
                          key_encoder="sha256", batch_size=batch_size)


_PART_OF_KIND = {"chunk": "passages", "faq": "passages", "faq_q": "phrasings", "sentence": "sentences"}


class KnowledgeIndex:
    """A knowledge base's collections; the retriever and ingest both go through this object."""

    def __init__(self, settings: Settings, collection: str | None = None) -> None:
        self.settings = settings
        self.collection = collection or settings.collection
        if not re.fullmatch(COLLECTION_NAME, self.collection):
            raise ValueError(f"invalid collection name '{self.collection}': use 3-500 of A-Z a-z 0-9 . _ -")
        self.embeddings = load_embeddings(settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        client = chroma_client(settings)
        db_url = f"sqlite:///{settings.record_db}"
        self.passages = _Part(client, self.collection, self.embeddings, db_url)
        self.phrasings = _Part(client, self.collection + FAQ_SUFFIX, QueryStyleEmbeddings(self.embeddings), db_url)
        self.sentences = _Part(client, self.collection + SENTENCES_SUFFIX, self.embeddings, db_url)
        self.parts = {"passages": self.passages, "phrasings": self.phrasings, "sentences": self.sentences}

    def count(self) -> int:
        return self.passages.count()

    def indexed_files(self) -> dict[str, str]:
        """``{path: file_hash}`` of what the index holds now (every loaded file has passages)."""
        metadatas = self.passages.store.get(include=["metadatas"])["metadatas"]
        return {m["path"]: m["file_hash"] for m in metadatas if m and "path" in m}

    def sync(self, kb_dir: Path, *, reset: bool = False,
             progress: Callable[[int, int], None] | None = None) -> SyncReport:
        """Make the index hold exactly the loadable content of ``kb_dir`` (failed files keep their old chunks)."""
        if reset:
            for part in self.parts.values():
                part.reset()
        before = self.indexed_files()
        loaded = load_knowledge_base(kb_dir)
        kept_paths = sorted(p for p in loaded.failures if p in before)
        where = {"path": {"$in": kept_paths}} if kept_paths else None
        batches: dict[str, list[Document]] = {name: [] for name in self.parts}
        for document in loaded.documents:
            batches[_PART_OF_KIND[document.metadata["kind"]]].append(document)
        if where:
            for name, part in self.parts.items():
                batches[name] += part.get(where)
        total, done = sum(len(b) for b in batches.values()), 0

        def counted(documents: list[Document]) -> Iterator[Document]:
            nonlocal done
            for document in documents:
                yield document
                done += 1
                if progress:
                    progress(done, total)

        batch = max(self.settings.embedding_batch_size, 64)
        results = [part.sync(counted(batches[name]), batch) for name, part in self.parts.items()]
        now = {f.path: f.file_hash for f in loaded.files}
        return SyncReport(
            added=sorted(p for p in now if p not in before),
            updated=sorted(p for p in now if p in before and before[p] != now[p]),
            unchanged=sorted(p for p in now if before.get(p) == now[p]),
            deleted=sorted(p for p in before if p not in now and p not in kept_paths),
            failed=dict(sorted(loaded.failures.items())),
            chunks_added=sum(r["num_added"] + r["num_updated"] for r in results),
            chunks_deleted=sum(r["num_deleted"] for r in results),
            chunks_skipped=sum(r["num_skipped"] for r in results),
            chunks_total=sum(part.count() for part in self.parts.values()),
        )

"""The vector index: Chroma collections kept in step with the knowledge base by LangChain's indexing API.

Three collections per knowledge base, because they are searched differently:
- ``NAME`` holds passages (page sections and FAQ entries), embedded with the model's *document* prompt;
- ``NAME-faq`` holds FAQ phrasings (each question and alternate), embedded with the *query* prompt, since a
  user question is matched against them question-to-question;
- ``NAME-sentences`` holds the sentences of the passages, to choose which ones answer a question.

The record manager (SQLite, or any SQLAlchemy URL) remembers the hash of every chunk it wrote, so a re-ingest
embeds only what changed, replaces the chunks of edited files and removes those of deleted files
(``cleanup="full"``). A file that fails to load keeps its last good chunks: they are read back from Chroma and
offered to the indexing API again, which recognises them as unchanged — a typo in a YAML file must not empty
the index.

Chroma and the record manager are two stores written one after the other, so a run killed in between (SIGKILL,
power loss) can leave vectors without records or records without vectors. Every sync first forgets records
whose vectors are gone and finally deletes vectors that have no record, so the next run after a crash leaves
the collections holding exactly what the record manager lists, which is exactly what the files produce.

The store is either a Chroma server (``TUTOR_CHROMA_URL``; any number of processes and machines) or the
embedded one in the data folder, which one process at a time may open (see ``_claim``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO
from urllib.parse import urlsplit

import chromadb
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import IndexingResult
from langchain_core.indexing import index as sync_index

from bot.config import Settings
from bot.indexing.documents import LoadedFile, LoadReport, load_knowledge_base
from bot.indexing.embeddings import QueryStyleEmbeddings, load_embeddings

if TYPE_CHECKING:
    from langchain_classic.indexes import SQLRecordManager

COLLECTION_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]{1,498}[A-Za-z0-9]"
FAQ_SUFFIX = "-faq"
SENTENCES_SUFFIX = "-sentences"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_key(document: Document) -> str:
    """How the record manager keys a document: a hash of its text and metadata. ``index()`` is given this
    function as its ``key_encoder`` and ``_Part.sync`` compares the records with it, so both agree by
    construction. It is the key LangChain's own ``key_encoder="sha256"`` computes (the hash of the text's hash
    and the hash of the sorted JSON metadata), so the records written with that encoder stay valid."""
    metadata = json.dumps(dict(document.metadata or {}), sort_keys=True)
    return _sha256(_sha256(document.page_content) + _sha256(metadata))


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


@dataclass(frozen=True)
class Delta:
    """What one file's sync changed in a collection, by row id (Chroma's ids are the record keys), so that
    in-memory copies apply it instead of reading the whole collection again."""

    removed: frozenset[str] = frozenset()
    added: frozenset[str] = frozenset()


Curated = Callable[[LoadReport], list[LoadedFile]]  # what staff wrote, as files, given what the folder holds
KEPT_DELTAS = 64  # in-memory copies further behind than this many file syncs read the whole collection again


class StoreBusyError(RuntimeError):
    """The embedded store is open in another process; the message says what to do instead."""


_CLAIMED: dict[Path, TextIO] = {}


def _claim(store: Path) -> None:
    """Hold the embedded store for the life of this process (the OS lets go when it ends, even on SIGKILL).

    Chroma's embedded client is not process-safe: when one process writes (an ingest), another (the app) goes
    on searching its own in-memory vector index, which still returns deleted passages and misses new ones.
    A second process is therefore refused with the way out, rather than left serving stale answers."""
    lock = store.resolve().with_name(store.name + ".lock")
    if lock in _CLAIMED:
        return
    handle = lock.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StoreBusyError(
            f"the index in {store} is open in another process (pid {holder}, the app or another ingest): stop it "
            "first, or share the index through a Chroma server (TUTOR_CHROMA_URL)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _CLAIMED[lock] = handle


def chroma_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlsplit(settings.chroma_url)
        https = url.scheme == "https"
        return chromadb.HttpClient(
            host=url.hostname or "", port=url.port or (443 if https else 8000), ssl=https, settings=chroma_settings
        )
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    _claim(settings.chroma_dir)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


class _Part:
    """One collection and the record-manager namespace that tracks it."""

    def __init__(self, client: chromadb.ClientAPI, name: str, embeddings: Embeddings, db_url: str) -> None:
        self._client, self.name, self._embeddings = client, name, embeddings
        self.store = self._open()
        self._collection: chromadb.Collection | None = None  # the same collection, through chromadb's API
        self._db_url = db_url

    @cached_property
    def records(self) -> SQLRecordManager:
        """The record manager, opened on first use: only a sync needs it, so a serving app that does not ingest
        never imports it (LangChain's indexes and SQLAlchemy: 0.6 s of GIL-bound start-up on the shared machine)."""
        from langchain_classic.indexes import SQLRecordManager

        records = SQLRecordManager(f"chroma/{self.name}", db_url=self._db_url)
        records.create_schema()
        return records

    def _open(self) -> Chroma:
        return Chroma(
            collection_name=self.name,
            embedding_function=self._embeddings,
            client=self._client,
            collection_metadata={"hnsw:space": "cosine"},
        )

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors as this collection stores them (its own prompt: document, or query for FAQ phrasings)."""
        return self._embeddings.embed_documents(texts)

    def count(self) -> int:
        if self._collection is None:
            self._collection = self._client.get_collection(self.name, embedding_function=None)
        return self._collection.count()

    def reset(self) -> None:
        self.store.delete_collection()
        self.store = self._open()
        self._collection = None
        self.records.delete_keys(self.records.list_keys())

    def ids(self) -> set[str]:
        return set(self.store.get(include=[])["ids"])

    def forget_lost(self) -> None:
        """Drop records whose vectors are gone, so that ``index()`` writes those chunks again instead of
        skipping them as unchanged (a run killed between a delete in Chroma and the one in the records)."""
        lost = set(self.records.list_keys()) - self.ids()
        if lost:
            self.records.delete_keys(sorted(lost))

    def drop_orphans(self) -> int:
        """Delete vectors that have no record: a run killed between Chroma's write and the record manager's
        leaves them, and ``cleanup="full"`` deletes only what the record manager lists."""
        orphans = self.ids() - set(self.records.list_keys())
        if orphans:
            self.store.delete(ids=sorted(orphans))
        return len(orphans)

    def get(self, where: dict | None = None) -> list[Document]:
        got = self.store.get(where=where, include=["documents", "metadatas"])
        return [
            Document(id=i, page_content=text, metadata=meta)
            for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]

    def replace_file(self, path: str, documents: list[Document], batch_size: int) -> Delta:
        """Make the collection hold exactly ``documents`` for the file ``path`` (none: the file is gone),
        embedding only what is new; the rest of the collection is not read."""
        before = set(self.records.list_keys(group_ids=[path]))
        if documents:
            self._index(documents, "incremental", batch_size)
        elif before:
            self.store.delete(ids=sorted(before))
            self.records.delete_keys(sorted(before))
        after = {record_key(d) for d in documents}
        return Delta(removed=frozenset(before - after), added=frozenset(after - before))

    def sync(self, documents: Iterable[Document], batch_size: int) -> IndexingResult:
        """LangChain's ``index()``, unless the records already list exactly these documents: then there is
        nothing to add or delete, and ``index()`` would only rewrite every record's timestamp (most of a
        no-change re-ingest's time). The keys are the ones ``index()`` itself computes."""
        documents = list(documents)
        keys = {record_key(d) for d in documents}
        if keys == set(self.records.list_keys()):
            return {"num_added": 0, "num_updated": 0, "num_skipped": len(documents), "num_deleted": 0}
        return self._index(documents, "full", batch_size)

    def _index(
        self, documents: list[Document], cleanup: Literal["full", "incremental"], batch_size: int
    ) -> IndexingResult:
        """LangChain's ``index()`` with the project's keys, files as its groups (``path``): ``full`` makes the
        collection hold exactly ``documents``, ``incremental`` only their files."""
        return sync_index(
            documents,
            self.records,
            self.store,
            cleanup=cleanup,
            source_id_key="path",
            key_encoder=record_key,
            batch_size=batch_size,
        )


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
        self.vector_store = "chroma-server" if settings.chroma_url else "embedded"
        db_url = settings.record_manager_url
        self.passages = _Part(client, self.collection, self.embeddings, db_url)
        self.phrasings = _Part(client, self.collection + FAQ_SUFFIX, QueryStyleEmbeddings(self.embeddings), db_url)
        self.sentences = _Part(client, self.collection + SENTENCES_SUFFIX, self.embeddings, db_url)
        self.parts = {"passages": self.passages, "phrasings": self.phrasings, "sentences": self.sentences}
        self.generation = 0  # counts this process's syncs: in-memory copies of the index reload when it moves
        # what the syncs of one file changed, by the generation they made: in-memory copies apply these
        self.deltas: dict[int, dict[str, Delta]] = {}

    def count(self) -> int:
        return self.passages.count()

    def indexed_files(self) -> dict[str, str]:
        """``{path: file_hash}`` of what the index holds now (every loaded file has passages)."""
        metadatas = self.passages.store.get(include=["metadatas"])["metadatas"]
        return {m["path"]: m["file_hash"] for m in metadatas if m and "path" in m}

    def by_part(self, documents: Iterable[Document]) -> dict[str, list[Document]]:
        """Documents sorted by the collection that holds their kind."""
        batches: dict[str, list[Document]] = {name: [] for name in self.parts}
        for document in documents:
            batches[_PART_OF_KIND[document.metadata["kind"]]].append(document)
        return batches

    def replace_file(self, loaded: LoadedFile | None, path: str) -> dict[str, Delta]:
        """Sync one file alone (``None``: remove it): what publishing a staff-written FAQ entry does, so that it
        is answered at once without reading, let alone embedding, the rest of the knowledge base."""
        batches = self.by_part(loaded.documents if loaded else [])
        batch = max(self.settings.embedding_batch_size, 64)
        deltas = {name: part.replace_file(path, batches[name], batch) for name, part in self.parts.items()}
        self.generation += 1
        self.deltas[self.generation] = deltas
        self.deltas.pop(self.generation - KEPT_DELTAS, None)
        return deltas

    def sync(
        self,
        kb_dir: Path,
        *,
        reset: bool = False,
        progress: Callable[[int, int], None] | None = None,
        curated: Curated | None = None,
    ) -> SyncReport:
        """Make the index hold exactly the loadable content of ``kb_dir`` and, given ``curated``, what staff
        wrote (failed files keep their old chunks)."""
        for part in self.parts.values():
            if reset:
                part.reset()
            else:
                part.forget_lost()
        before = self.indexed_files()
        loaded = load_knowledge_base(kb_dir, self.settings.max_file_bytes)
        if curated is not None:
            loaded.files += curated(loaded)
        kept_paths = sorted(p for p in loaded.failures if p in before)
        where = {"path": {"$in": kept_paths}} if kept_paths else None
        batches = self.by_part(loaded.documents)
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
        orphans = sum(part.drop_orphans() for part in self.parts.values())
        self.generation += 1
        now = {f.path: f.file_hash for f in loaded.files}
        return SyncReport(
            added=sorted(p for p in now if p not in before),
            updated=sorted(p for p in now if p in before and before[p] != now[p]),
            unchanged=sorted(p for p in now if before.get(p) == now[p]),
            deleted=sorted(p for p in before if p not in now and p not in kept_paths),
            failed=dict(sorted(loaded.failures.items())),
            chunks_added=sum(r["num_added"] + r["num_updated"] for r in results),
            chunks_deleted=sum(r["num_deleted"] for r in results) + orphans,
            chunks_skipped=sum(r["num_skipped"] for r in results),
            chunks_total=sum(part.count() for part in self.parts.values()),
        )

"""The staff's loop from a gap to a fix, as operations the staff page and the admin API both call.

Publishing is live: the entry is written to the store (the truth, shared by every worker), then its file alone
is synced into the index (``KnowledgeIndex.replace_file``: only its phrasings, passage and sentences are
embedded) and what the chat service derives from the whole knowledge base is rebuilt (``ChatService.refresh``).
Other workers notice the change by the audit log's last number (``refresh_if_changed``) and rebuild theirs.
A full sync (``ingest.py``, an empty collection at start) includes the published entries (``curated_files``),
so that it never deletes them; an entry whose id the repository now uses (exported and committed) is left to
the repository's version.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import yaml
from langchain_core.documents import Document

from bot.answering.chat import ChatAnswer, ChatService
from bot.answering.retrieval import InMemoryCollection
from bot.curation.entries import (
    ENTRIES_FOLDER,
    MAX_ALTERNATES,
    alternates_file,
    alternates_path,
    as_faq_entry,
    entry_file,
    entry_path,
)
from bot.curation.grouping import QuestionGroup, group_questions, same_question_similarity
from bot.indexing.documents import LoadedFile
from bot.store import Store
from bot.store.curation import (
    AskedQuestion,
    AuditRecord,
    CurationRecords,
    DuplicateEntryError,
    EntryContent,
    EntryUse,
    ExtraAlternates,
    Outcome,
    StoredEntry,
    UnknownEntryError,
)

log = logging.getLogger("tutor.curation")
# Questions users asked that come this close (below the same-question similarity) to a draft are checked
# with the full decision for whether the draft would take them over.
CONFLICT_SCREEN_MARGIN = 0.1
MAX_CONFLICT_CHECKS = 40
MAX_KEPT_VECTORS = 5000  # query vectors kept for the inbox: 15 MB at 768 dimensions
SUGGESTION_MARGIN = 0.1  # suggested alternates: an entry's near misses down to this far below the same-question level


@dataclass(frozen=True)
class AnswerShown:
    """An answer as staff need to judge it: how, from which entry, what it says, what it cites."""

    question: str
    mode: str
    refused: bool
    entry_id: str | None  # the curated entry served, if one was
    answer: str
    sources: tuple[str, ...]

    @classmethod
    def of(cls, question: str, answer: ChatAnswer) -> AnswerShown:
        served = answer.citations[0].source_id if answer.mode == "faq" and answer.citations else None
        return cls(
            question, answer.mode, answer.refused, served, answer.answer, tuple(c.source_id for c in answer.citations)
        )


@dataclass(frozen=True)
class Conflict:
    """A question another entry answers today that a draft would take (``traffic``: asked by users), or one of
    another entry's own phrasings that reads as the same question (``phrasing``)."""

    question: str
    entry_id: str
    kind: str
    similarity: float


@dataclass(frozen=True)
class Preview:
    answers: list[tuple[AnswerShown, AnswerShown]]  # (now, with the draft) per question
    conflicts: list[Conflict]


@dataclass(frozen=True)
class Published:
    """A change made live: the entry, and how its questions are answered now that it is."""

    entry_id: str
    revision: int
    answers: list[AnswerShown]
    seconds: float  # from the request to the index and the chat service answering with it


@dataclass(frozen=True)
class EntryInfo:
    """An entry staff can attach alternates to: written here, or in the repository."""

    id: str
    lang: str
    question: str
    answer: str
    alternates: tuple[str, ...]
    origin: str  # "staff" or the repository file's path
    published: bool
    revision: int


class Curation:
    def __init__(self, store: Store, chat: Callable[[], ChatService]) -> None:
        self.records = CurationRecords(store)
        self._chat = chat  # the running app's service, once it is ready (``Runtime.service``)
        self._lock = threading.Lock()  # one publication at a time in this process
        self._similarity: tuple[int, float] | None = None  # (index generation, same-question similarity)
        self._known_vectors: dict[str, np.ndarray] = {}  # question -> its query vector, oldest first
        self._vectors_lock = threading.Lock()
        self._seen = self.records.version()

    # -- keeping the index and the chat service in step

    def _sync(self, loaded: LoadedFile | None, path: str) -> None:
        """The file into the index, this worker's copies rebuilt, then the sync recorded for the others: they
        rebuild theirs once the index holds it, never before."""
        chat = self._chat()
        before = self.records.version()
        chat.index.replace_file(loaded, path)
        chat.refresh()
        own = self.records.index_synced(path)
        if before == self._seen and own == before + 1:  # nobody else synced meanwhile: nothing left to follow
            self._seen = own

    def refresh_if_changed(self) -> bool:
        """Rebuild this worker's derived copies when another worker synced curated content into the shared index
        (the vectors themselves are the Chroma server's)."""
        version = self.records.version()
        if version == self._seen:
            return False
        self._chat().refresh()
        self._seen = version
        return True

    # -- the gap inbox

    def _phrasings(self) -> tuple[list[Document], np.ndarray]:
        """Every FAQ phrasing with its vector: the retriever's in-memory copy (read from a Chroma server when
        there is none)."""
        chat = self._chat()
        return (chat.retriever.in_memory.get("phrasings") or InMemoryCollection(chat.index, "phrasings")).rows()

    def same_question_similarity(self) -> float:
        generation = self._chat().index.generation
        if self._similarity is None or self._similarity[0] != generation:
            documents, vectors = self._phrasings()
            metas = [d.metadata for d in documents]
            value = same_question_similarity(
                [m["source_id"] for m in metas], [m.get("lang", "fr") for m in metas], vectors
            )
            self._similarity = (generation, value)
        return self._similarity[1]

    def _vectors(self, questions: Sequence[str]) -> np.ndarray:
        """Query vectors, kept: the inbox is read again and again over mostly the same questions (embedding its
        500 each time took 2 to 3 s a read on the 2-core machine)."""
        if not questions:
            return np.zeros((0, 0), dtype=np.float32)
        with self._vectors_lock:
            known = {q: self._known_vectors[q] for q in questions if q in self._known_vectors}
        missing = list(dict.fromkeys(q for q in questions if q not in known))
        if missing:
            embedded = self._chat().index.embeddings.embed(missing, is_query=True)
            known.update(zip(missing, embedded, strict=True))
            with self._vectors_lock:
                self._known_vectors.update(zip(missing, embedded, strict=True))
                for oldest in list(self._known_vectors)[: max(0, len(self._known_vectors) - MAX_KEPT_VECTORS)]:
                    del self._known_vectors[oldest]
        return np.stack([known[q] for q in questions]).astype(np.float32, copy=False)

    def gaps(self, limit: int = 500) -> list[QuestionGroup]:
        """Refused and down-rated answers not dealt with yet, grouped by meaning, most asked then newest first."""
        asked = self.records.gaps(limit)
        return group_questions(asked, self._vectors([q.question for q in asked]), self.same_question_similarity())

    def dismiss(self, message_ids: Sequence[str], reason: str, actor: str) -> int:
        asked = self.records.asked(message_ids)
        if not asked:
            raise UnknownEntryError("none of these answers exists (any more)")
        # The log keeps which answers, not what was asked: a conversation erased or past its retention must
        # not live on in the audit log.
        audit = {"reason": reason, "answers": [q.message_id for q in asked]}
        self.records.triage([q.message_id for q in asked], "dismissed", actor, reason=reason, audit=audit)
        return len(asked)

    # -- entries

    def entries(self) -> list[StoredEntry]:
        return self.records.entries()

    def entry_info(self, entry_id: str) -> EntryInfo:
        """A staff entry, or the repository's entry with that id (with the alternates staff added to it)."""
        try:
            entry = self.records.entry(entry_id)
        except UnknownEntryError:
            pass
        else:
            c = entry.content
            return EntryInfo(
                c.id, c.lang, c.question, c.answer, c.alternates, ENTRIES_FOLDER, entry.published, entry.revision
            )
        passage = self._repository_passage(entry_id)
        extra = self.records.extra_alternates().get(entry_id, ExtraAlternates(entry_id, (), 0))
        meta = passage.metadata
        return EntryInfo(
            entry_id,
            meta.get("lang", "fr"),
            meta["question"],
            meta["answer"],
            extra.alternates,
            meta["path"],
            True,
            extra.revision,
        )

    def _repository_passage(self, entry_id: str) -> Document:
        index = self._chat().index
        found = [
            d
            for d in index.passages.get(where={"$and": [{"source_id": entry_id}, {"kind": "faq"}]})
            if not d.metadata["path"].startswith(ENTRIES_FOLDER + "/")
        ]
        if not found:
            raise UnknownEntryError(f"no entry '{entry_id}'")
        return found[0]

    def _check_new_id(self, entry_id: str) -> None:
        index = self._chat().index
        if index.passages.get(where={"source_id": entry_id}):
            raise DuplicateEntryError(f"'{entry_id}' is already the id of a knowledge-base source: choose another id")

    def _check_pair(self, content: EntryContent) -> None:
        """The linked translation must exist and be in the other language: the pair is what keeps the two
        versions of an answer in step."""
        if not content.pair_id:
            return
        try:
            pair = self.entry_info(content.pair_id)
        except UnknownEntryError:
            raise ValueError(f"the linked translation '{content.pair_id}' does not exist") from None
        if pair.lang == content.lang:
            raise ValueError(
                f"the linked translation '{content.pair_id}' is in {pair.lang} too: link the other language"
            )

    def create(self, content: EntryContent, actor: str, gap_ids: Sequence[str] = ()) -> Published:
        started = time.perf_counter()
        self._check_pair(content)
        with self._lock:
            self._check_new_id(content.id)
            entry = self.records.create(content, actor)
            self._sync(entry_file(entry.content), entry_path(entry.id))
        return self._published(entry.id, entry.revision, gap_ids, actor, "answered", started)

    def update(self, entry_id: str, content: EntryContent, revision: int, actor: str) -> Published:
        started = time.perf_counter()
        if content.id != entry_id:
            raise ValueError(f"the entry's id cannot change ('{entry_id}' → '{content.id}'): create a new entry")
        self._check_pair(content)
        with self._lock:
            _, after = self.records.update(entry_id, revision, actor, "edit", content=content)
            if after.published:
                self._sync(entry_file(after.content), entry_path(entry_id))
        return self._published(entry_id, after.revision, (), actor, "answered", started)

    def set_published(self, entry_id: str, published: bool, revision: int, actor: str) -> Published:
        """Unpublish (the entry stays, unserved, to be restored) or restore."""
        started = time.perf_counter()
        with self._lock:
            _, after = self.records.update(
                entry_id, revision, actor, "restore" if published else "unpublish", published=published
            )
            self._sync(entry_file(after.content) if published else None, entry_path(entry_id))
        return self._published(entry_id, after.revision, (), actor, "answered", started)

    def attach(
        self, entry_id: str, alternates: Sequence[str], revision: int, actor: str, gap_ids: Sequence[str] = ()
    ) -> Published:
        """Add alternates to an entry (a staff one, or the repository's), each a question it answers."""
        started = time.perf_counter()
        info = self.entry_info(entry_id)
        new = [
            a
            for a in dict.fromkeys(" ".join(a.split()) for a in alternates)
            if a and a.casefold() not in {x.casefold() for x in (info.question, *info.alternates)}
        ]
        if len(info.alternates) + len(new) > MAX_ALTERNATES:
            raise ValueError(
                f"'{entry_id}' would have {len(info.alternates) + len(new)} alternates (at most {MAX_ALTERNATES}): "
                "keep the phrasings that differ most"
            )
        with self._lock:
            if info.origin == ENTRIES_FOLDER:
                entry = self.records.entry(entry_id)
                content = replace(entry.content, alternates=(*entry.content.alternates, *new))
                _, after = self.records.update(entry_id, revision, actor, "attach", content=content)
                if after.published:
                    self._sync(entry_file(after.content), entry_path(entry_id))
                new_revision = after.revision
            else:
                extra = self.records.set_extra_alternates(entry_id, (*info.alternates, *new), revision, actor)
                passage = self._repository_passage(entry_id)
                own = len(
                    self._chat().index.phrasings.get(
                        where={"$and": [{"source_id": entry_id}, {"path": passage.metadata["path"]}]}
                    )
                )
                self._sync(alternates_file(passage, extra.alternates, own), alternates_path(entry_id))
                new_revision = extra.revision
        return self._published(entry_id, new_revision, gap_ids, actor, "attached", started)

    def _published(
        self, entry_id: str, revision: int, gap_ids: Sequence[str], actor: str, outcome: Outcome, started: float
    ) -> Published:
        seconds = time.perf_counter() - started
        asked = self.records.asked(gap_ids)
        if asked:
            self.records.triage([q.message_id for q in asked], outcome, actor, entry_id=entry_id)
        return Published(entry_id, revision, self.answer_now([q.question for q in asked]), round(seconds, 3))

    def answer_now(self, questions: Iterable[str]) -> list[AnswerShown]:
        """How the bot answers these questions now (nothing is stored: staff asking is not a conversation)."""
        chat = self._chat()
        return [AnswerShown.of(q, chat.draft(q).finish()) for q in dict.fromkeys(questions)]

    # -- preview and conflicts

    def preview(self, content: EntryContent, questions: Sequence[str], editing: bool = False) -> Preview:
        """What the bot would answer to ``questions`` with the draft published, and whose questions it would
        take over. ``editing``: the draft replaces the published entry of that id."""
        if not editing:
            self._check_new_id(content.id)
        chat = self._chat()
        loaded = entry_file(content)
        with_draft = chat.with_file(loaded, entry_path(content.id))
        asked = list(dict.fromkeys(q for q in questions if q.strip()))
        answers = [
            (AnswerShown.of(q, chat.draft(q).finish()), AnswerShown.of(q, with_draft.draft(q).finish())) for q in asked
        ]
        return Preview(answers, self._conflicts(content, with_draft))

    def _conflicts(self, content: EntryContent, with_draft: ChatService) -> list[Conflict]:
        similarity = self.same_question_similarity()
        phrasings = [content.question, *content.alternates]
        draft_vectors = self._vectors(phrasings)
        conflicts: list[Conflict] = []
        # Users' questions another entry answers today, the closest to the draft, through the full decision.
        served = {q.question: q for q in self.records.served_questions() if q.sources and q.sources[0] != content.id}
        questions = list(served)
        if questions:
            closeness = (self._vectors(questions) @ draft_vectors.T).max(axis=1)
            near = [i for i in np.argsort(-closeness) if closeness[i] >= similarity - CONFLICT_SCREEN_MARGIN]
            for i in near[:MAX_CONFLICT_CHECKS]:
                _, decision = with_draft.prepare(questions[i])
                if decision.mode == "faq" and decision.faq is not None and decision.faq.source_id == content.id:
                    conflicts.append(
                        Conflict(
                            questions[i], served[questions[i]].sources[0], "traffic", round(float(closeness[i]), 3)
                        )
                    )
        # Other entries' own phrasings that read as the draft's question: the draft duplicates them.
        documents, vectors = self._phrasings()
        rows = [i for i, d in enumerate(documents) if d.metadata.get("lang") == content.lang]
        if rows:
            closeness = (vectors[rows] @ draft_vectors.T).max(axis=1)
            seen: set[str] = set()
            for i in np.argsort(-closeness):
                phrasing = documents[rows[i]]
                entry = phrasing.metadata["source_id"]
                if closeness[i] < similarity:
                    break
                if entry != content.id and entry not in seen:
                    seen.add(entry)
                    conflicts.append(Conflict(phrasing.page_content, entry, "phrasing", round(float(closeness[i]), 3)))
        return conflicts

    # -- suggestions, use, audit, export

    def suggestions(self, entry_id: str, limit: int = 50) -> list[AskedQuestion]:
        """Questions the entry came closest for without being served: alternates to accept or reject."""
        self.entry_info(entry_id)
        floor = self.same_question_similarity() - SUGGESTION_MARGIN
        return self.records.near_misses(entry_id, floor, limit)

    def decide_suggestion(
        self, entry_id: str, message_id: str, accept: bool, revision: int, actor: str
    ) -> Published | None:
        self.entry_info(entry_id)
        asked = self.records.asked([message_id])
        if not asked:
            raise UnknownEntryError(f"no answer '{message_id}'")
        # Attached first: a refused attach (a colleague's edit since) leaves the suggestion to decide again.
        published = self.attach(entry_id, [asked[0].question], revision, actor) if accept else None
        self.records.triage([message_id], "accepted" if accept else "rejected", actor, entry_id=entry_id)
        return published

    def uses(self) -> dict[str, EntryUse]:
        return self.records.uses()

    def audit(self, limit: int = 1000, entry_id: str | None = None) -> list[AuditRecord]:
        return self.records.audit(limit, entry_id)

    def export_yaml(self) -> str:
        """The published staff entries in the repository's FAQ format, to commit under ``knowledge_base/``
        (their ids then belong to the repository, whose version is served)."""
        entries = [
            as_faq_entry(e.content).model_dump(exclude_none=True, exclude_defaults=True)
            for e in self.records.entries()
            if e.published
        ]
        header = "# Staff-written FAQ entries exported from /staff: commit under knowledge_base/faq/.\n"
        return header + yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=110)

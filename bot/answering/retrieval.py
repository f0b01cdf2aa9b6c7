"""Finding what the knowledge base says about a question: FAQ phrasings and passages, scored.

Scores are cosine similarities in [-1, 1] (the collections use the cosine space), so the thresholds of
``bot/answering/policy.py`` read the same whichever collection a candidate came from.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from langchain_core.documents import Document

from bot.indexing.documents import chunk_key, metadata_tags, passage_body
from bot.indexing.index import Delta, KnowledgeIndex
from bot.indexing.keywords import KeywordIndex
from bot.safety.guard import is_planted_instruction
from bot.schema import Lang

# An English question should be answered from English content when it exists; this bonus decides ties
# between a page and its translation without letting a weaker English passage beat a clearly better one.
SAME_LANGUAGE_BONUS = 0.03
SENTENCES_PER_PASSAGE = 12  # enough to score every sentence of a section
# Weight of the previous question's vector in a follow-up's query (dev-set follow-ups, accuracy: 0.4 and
# 0.55 → 0.875, 0.7 → 0.792, 1.0 → 0.750, 1.5 → 0.667).
FOLLOW_UP_CONTEXT_WEIGHT = 0.55
# A follow-up's passages from the programme the conversation is about (``bot.answering.followup``) are
# preferred by this much: enough to settle "how long does it last?" between two programmes' durations, not to
# bring forward a passage that says nothing about the question.
TOPIC_PROGRAMME_BONUS = 0.03
# How much of the vector of the words that name a programme ("l'école de La Poste") is taken out of a question's,
# in the passages' and sentences' search: a programme's name weighs so much in a question's vector that
# "À l'école de La Poste, on apprend l'éthique ?" found the pages that say most about the school, not its ethics
# page. On the questions naming one programme, hit@1 (dev; fit part): 0 → 0.887; 0.782, 0.2 → 0.915; 0.800,
# 0.3 → 0.925; 0.818, 0.4 → 0.915; 0.818, 0.5 → 0.906; 0.782. The programme's passages are still preferred
# (``TOPIC_PROGRAMME_BONUS``). The name's vector is one of a few, remembered: this costs no encoding.
PROGRAMME_NAME_WEIGHT = 0.3
MAX_NAMINGS = 1024  # forms of the programmes' names remembered (a handful recur; odd ones are encoded each time)


@dataclass(frozen=True)
class Passage:
    id: str
    source_id: str
    text: str
    score: float  # what passages are ranked by (cosine, plus the weighted keyword score)
    metadata: dict = field(repr=False)
    dense: float = 0.0  # the cosine similarity alone, what refusal thresholds are calibrated on
    # cosine similarity of each sentence (by position in ``body``) with the question, when retrieved
    sentence_scores: dict[int, float] = field(default_factory=dict, repr=False, compare=False)

    @property
    def title(self) -> str:
        return self.metadata.get("title") or self.source_id

    @property
    def url(self) -> str | None:
        source = self.metadata.get("source") or ""
        return source if source.startswith(("http://", "https://")) else None

    @property
    def lang(self) -> str:
        return self.metadata.get("lang", "fr")

    @property
    def body(self) -> str:
        return passage_body(self.text, self.metadata)

    @property
    def key(self) -> str:
        return chunk_key(self.metadata)


@dataclass(frozen=True)
class FaqMatch:
    source_id: str
    question: str
    answer: str
    matched: str  # the phrasing that matched best
    score: float
    metadata: dict = field(repr=False)

    @property
    def tags(self) -> frozenset[str]:
        return metadata_tags(self.metadata)

    def as_passage(self) -> Passage:
        """The entry as a passage (its answer is the text), to answer or cite from."""
        return Passage(
            id=self.source_id,
            source_id=self.source_id,
            text=f"{self.question}\n{self.answer}",
            score=self.score,
            dense=self.score,
            metadata={**self.metadata, "kind": "faq", "chunk": 0, "title": self.question},
        )


@dataclass(frozen=True)
class Scope:
    """Metadata filters on what is searched: one programme's content, content in one language."""

    programme: str | None = None
    lang: str | None = None


EVERYWHERE = Scope()


@dataclass
class Retrieval:
    query: str
    lang: Lang
    faq: list[FaqMatch]
    passages: list[Passage]
    condensed: bool = False  # the query was rebuilt from the conversation (a follow-up)
    standalone: str | None = None  # the follow-up rewritten by the LLM as a question that stands alone


def _to_filter(conditions: dict[str, str | list[str]]) -> dict | None:
    clauses = [{k: {"$in": v} if isinstance(v, list) else v} for k, v in conditions.items() if v]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _row_id(document: Document) -> str:
    """The id of a row read from the index (Chroma gives every row one)."""
    assert document.id is not None, "a row of the index without an id"
    return document.id


class InMemoryCollection:
    """One collection of the knowledge base (passages, FAQ phrasings, passage sentences) and its vectors in
    this process's memory, searched exactly by one matrix product.

    They are a few thousand rows at most, and every question searches all three: a round trip to Chroma
    costs more than the search itself (an exact search of the 670 passages takes well under a millisecond).
    The copy is read on first use and again after this process syncs the index (``KnowledgeIndex.generation``),
    or, after the sync of one file (a staff entry published), changed by that file's rows alone. The embedded
    store belongs to one process, so nothing else can change it. With a Chroma server, which other processes
    update, the retriever asks the server instead.
    """

    def __init__(self, index: KnowledgeIndex, part: str) -> None:
        self.index = index
        self.part = part
        self._generation = -1
        self._lock = threading.Lock()
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._documents: list[Document] = []
        self._columns: dict[str, np.ndarray] = {}  # metadata values by key, one per row, for fast filters
        self._row_of: dict[str, int] = {}
        self.frozen = False  # a preview's copy (``with_file``): never read again from the index

    def with_file(self, path: str, documents: list[Document], vectors: np.ndarray) -> InMemoryCollection:
        """A copy in which the file ``path`` holds ``documents`` (with their ``vectors``) instead of what it
        holds now: searched like this one, it shows what a publication would change, changing nothing."""
        _, documents_now, _, _ = self._current()
        copy = InMemoryCollection(self.index, self.part)
        copy._vectors, copy._documents = self._vectors, documents_now
        copy._replace_rows(lambda d: d.metadata.get("path") == path, documents, vectors)
        copy.frozen = True
        return copy

    def rows(self) -> tuple[list[Document], np.ndarray]:
        """Every row and its vector, as of now (row ``i``'s vector is line ``i``)."""
        vectors, documents, _, _ = self._current()
        return documents, vectors

    def _current(self) -> tuple[np.ndarray, list[Document], dict[str, np.ndarray], dict[str, int]]:
        with self._lock:
            while self._generation != self.index.generation and not self.frozen:
                delta = self.index.deltas.get(self._generation + 1) if self._generation >= 0 else None
                if delta is None:  # a whole sync (or too far behind): read the collection again
                    self._load(self.index.parts[self.part].store.get(include=["documents", "metadatas", "embeddings"]))
                    self._generation = self.index.generation
                else:  # one file synced (a staff entry published): its rows out and in
                    self._apply(delta[self.part])
                    self._generation += 1
            return self._vectors, self._documents, self._columns, self._row_of

    def _load(self, got: Mapping) -> None:
        self._documents = [
            Document(id=i, page_content=text, metadata=meta)
            for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        vectors = np.asarray(got["embeddings"], dtype=np.float32)
        self._vectors = vectors.reshape(len(self._documents), -1) if len(vectors) else np.zeros((0, 0), np.float32)
        self._columns = {}
        self._row_of = {i: row for row, i in enumerate(got["ids"])}

    def _apply(self, delta: Delta) -> None:
        if not delta.removed and not delta.added:
            return
        added: list[Document] = []
        vectors = np.zeros((0, 0), dtype=np.float32)
        if delta.added:
            got = self.index.parts[self.part].store.get(
                ids=sorted(delta.added), include=["documents", "metadatas", "embeddings"]
            )
            added = [
                Document(id=i, page_content=text, metadata=meta)
                for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
            ]
            if added:  # a later sync may have removed them already: then its own delta finds them gone
                vectors = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(added), -1)
        self._replace_rows(lambda d: d.id in delta.removed, added, vectors)

    def _replace_rows(self, removed: Callable[[Document], bool], added: list[Document], vectors: np.ndarray) -> None:
        """The rows ``removed`` says go out, ``added`` (with their ``vectors``) in: one file's change."""
        kept = [row for row, d in enumerate(self._documents) if not removed(d)]
        stacked = ([self._vectors[kept]] if kept else []) + ([vectors] if added else [])
        documents = [self._documents[row] for row in kept] + added
        self._load(
            {
                "ids": [_row_id(d) for d in documents],
                "documents": [d.page_content for d in documents],
                "metadatas": [d.metadata for d in documents],
                "embeddings": np.vstack(stacked) if stacked else [],
            }
        )

    def _column(self, columns: dict[str, np.ndarray], documents: list[Document], key: str) -> np.ndarray:
        if key not in columns:
            columns[key] = np.array([str(d.metadata.get(key, "")) for d in documents])
        return columns[key]

    def by_id(self, ids: list[str], vector: list[float]) -> list[tuple[Document, float]]:
        """These rows (the ones that exist) with their cosine similarity to ``vector``."""
        vectors, documents, _, row_of = self._current()
        rows = [row_of[i] for i in ids if i in row_of]
        scores = vectors[rows] @ np.asarray(vector, dtype=np.float32) if rows else np.zeros(0, dtype=np.float32)
        return [(documents[row], float(score)) for row, score in zip(rows, scores, strict=True)]

    def search(self, vector: list[float], k: int, where: dict[str, str | list[str]]) -> list[tuple[Document, float]]:
        """The ``k`` best rows whose metadata matches ``where`` (a value, or a list of accepted values), with
        their cosine similarity; the same filters as Chroma's ``{key: value}`` and ``{key: {"$in": list}}``."""
        vectors, documents, columns, _ = self._current()
        keep = np.ones(len(documents), dtype=bool)
        for key, accepted in where.items():
            values = accepted if isinstance(accepted, list) else [accepted]
            keep &= np.isin(self._column(columns, documents, key), values)
        rows = np.flatnonzero(keep)
        if not len(rows):
            return []
        scores = vectors[rows] @ np.asarray(vector, dtype=np.float32)
        best = np.argsort(-scores)[:k]
        return [(documents[rows[i]], float(scores[i])) for i in best]


class Retriever:
    def __init__(
        self, index: KnowledgeIndex, top_k: int, keywords: KeywordIndex | None = None, keyword_weight: float = 0.0
    ) -> None:
        self.index = index
        self.top_k = top_k
        self.keywords = keywords
        self.keyword_weight = keyword_weight
        embedded = index.vector_store == "embedded"
        self.in_memory = {part: InMemoryCollection(index, part) for part in index.parts} if embedded else {}
        # The vectors of the words that name a programme ("l'école de La Poste"): a few forms recur in every
        # conversation about it. Kept apart from the questions' cache, encoded once per process, the forms the
        # curated questions use at start-up (``remember_namings``).
        self._naming: dict[str, np.ndarray] = {}

    def with_file(self, path: str, documents: Mapping[str, list[Document]], keywords: KeywordIndex) -> Retriever:
        """A retriever that searches the knowledge base as it would be with the file ``path`` holding
        ``documents`` (by collection: passages, phrasings, sentences), embedded here and kept in memory."""
        copy = Retriever(self.index, self.top_k, keywords, self.keyword_weight)
        copy.in_memory, copy._naming = {}, self._naming
        for part, rows in documents.items():
            vectors = np.asarray(self.index.parts[part].embed([d.page_content for d in rows]), dtype=np.float32)
            memory = self.in_memory.get(part) or InMemoryCollection(self.index, part)
            copy.in_memory[part] = memory.with_file(path, rows, vectors.reshape(len(rows), -1))
        return copy

    def remember_namings(self, forms: Iterable[str]) -> None:
        """Encode, in one batch, the vectors of these forms of the programmes' names: a question naming one in
        a form not yet seen pays a second encoding. A fresh process met each of the dev set's eleven forms once,
        and the slowest twentieth of new questions took 1.31 × the LangChain baseline's time
        (``bench/baseline_bench.py``); 1.12 × with the curated questions' forms encoded here."""
        fresh = sorted(set(forms) - self._naming.keys())[: MAX_NAMINGS - len(self._naming)]
        if fresh:
            self._naming.update(zip(fresh, self.index.embeddings.embed(fresh, is_query=True), strict=True))

    def _name_vector(self, words: str) -> np.ndarray:
        vector = self._naming.get(words)
        if vector is None:
            vector = self.index.embeddings.embed_query_vector(words)
            if len(self._naming) < MAX_NAMINGS:
                self._naming[words] = vector
        return vector

    def _hits(
        self, part: str, vector: list[float], k: int, conditions: dict[str, str | list[str]]
    ) -> list[tuple[Document, float]]:
        """Nearest rows of a collection with their cosine similarity: from memory, or from the Chroma server."""
        conditions = {key: v for key, v in conditions.items() if v}
        if part in self.in_memory:
            return self.in_memory[part].search(vector, k, conditions)
        hits = self.index.parts[part].store.similarity_search_by_vector_with_relevance_scores(
            vector, k=k, filter=_to_filter(conditions)
        )
        return [(document, 1.0 - distance) for document, distance in hits]

    def _rows(self, part: str, ids: list[str], vector: list[float]) -> list[tuple[Document, float]]:
        """These rows of a collection with their cosine similarity: from memory, or from the Chroma server."""
        if part in self.in_memory:
            return self.in_memory[part].by_id(ids, vector)
        got = self.index.parts[part].store.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        return [
            (Document(id=i, page_content=text, metadata=meta), float(np.dot(vector, emb)))
            for i, text, meta, emb in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        ]

    def faq_matches(self, vector: list[float], lang: Lang, scope: Scope = EVERYWHERE, k: int = 5) -> list[FaqMatch]:
        """Best phrasing per FAQ entry, in the user's language only: a curated answer is served verbatim (so
        none when the scope asks for content in another language)."""
        if scope.lang and scope.lang != lang:
            return []
        best: dict[str, FaqMatch] = {}
        where: dict[str, str | list[str]] = {"lang": lang, "programme": scope.programme or ""}
        for document, score in self._hits("phrasings", vector, k * 4, where):
            meta = document.metadata
            match = FaqMatch(
                source_id=meta["source_id"],
                question=meta.get("question", ""),
                answer=meta.get("answer", ""),
                matched=document.page_content,
                score=score,
                metadata=meta,
            )
            if match.source_id not in best or match.score > best[match.source_id].score:
                best[match.source_id] = match
        return sorted(best.values(), key=lambda m: m.score, reverse=True)[:k]

    def passages(
        self, vector: list[float], lang: Lang, scope: Scope = EVERYWHERE, query: str = "", programme: str | None = None
    ) -> list[Passage]:
        """Dense candidates, plus the keyword index's best ones, ranked by cosine + weighted BM25 (plus the
        bonuses of the user's language and of the conversation's ``programme``).

        ``Passage.dense`` keeps the cosine (what the refusal thresholds are calibrated on); ``score`` is the
        fused value used for ranking.
        """
        where: dict[str, str | list[str]] = {"programme": scope.programme or "", "lang": scope.lang or ""}
        dense = {_row_id(d): (d, cosine) for d, cosine in self._hits("passages", vector, self.top_k * 3, where)}
        keyword = self.keywords.top(query, self.top_k * 2) if self.keywords and self.keyword_weight else {}
        if missing := [i for i in keyword if i not in dense]:
            for document, cosine in self._rows("passages", missing, vector):
                if all(document.metadata.get(k) == v for k, v in where.items() if v):
                    dense[_row_id(document)] = (document, cosine)
        top_keyword = max(keyword.values(), default=0.0) or 1.0
        fused = [
            _passage(d, cosine + self.keyword_weight * keyword.get(i, 0.0) / top_keyword, cosine)
            for i, (d, cosine) in dense.items()
        ]
        fused.sort(key=lambda p: p.score + self._bonus(p.metadata, lang, programme), reverse=True)
        return fused[: self.top_k]

    @staticmethod
    def _bonus(metadata: dict, lang: Lang, programme: str | None) -> float:
        same_language = SAME_LANGUAGE_BONUS if metadata.get("lang") == lang else 0.0
        return same_language + (TOPIC_PROGRAMME_BONUS if programme and metadata.get("programme") == programme else 0.0)

    def with_sentence_scores(self, vector: list[float], passages: list[Passage]) -> list[Passage]:
        """Score the sentences of these passages against the question (vectors computed at ingest). An
        instruction planted in the content gets no score: it must not keep an attack in scope."""
        keys = list(dict.fromkeys(p.key for p in passages))
        if not keys:
            return passages
        hits = self._hits("sentences", vector, SENTENCES_PER_PASSAGE * len(keys), {"chunk_key": keys})
        scores: dict[str, dict[int, float]] = {}
        for document, score in hits:
            if is_planted_instruction(document.page_content):
                continue
            scores.setdefault(document.metadata["chunk_key"], {})[document.metadata["position"]] = score
        return [replace(p, sentence_scores=scores.get(p.key, {})) for p in passages]

    def search(
        self,
        query: str,
        lang: Lang,
        scope: Scope = EVERYWHERE,
        context: str | None = None,
        programme: str | None = None,
        naming: Sequence[str] = (),
    ) -> Retrieval:
        """Search for ``query``; with ``context`` (what a follow-up is about: ``bot.answering.followup``),
        search for the blend of both vectors, the follow-up's own weighing most: "and the certificate?" after a
        question on Objectif IA is about the certificate, of Objectif IA. ``programme``, the conversation's,
        is preferred among passages. ``naming``, the words of the question that name that programme, weigh
        less in the passages' search (not in the FAQ's: an entry's phrasings name its programme, and a curated
        answer must be about the one asked)."""
        embeddings = self.index.embeddings
        vector = embeddings.embed_query_vector(query)
        if context:
            vector = vector + FOLLOW_UP_CONTEXT_WEIGHT * embeddings.embed_query_vector(context)
            vector = vector / np.linalg.norm(vector)
            query = f"{context} {query}"
        ranking = vector
        if naming:
            name = np.mean([self._name_vector(words) for words in naming], axis=0)
            ranking = vector - PROGRAMME_NAME_WEIGHT * name
            ranking = ranking / np.linalg.norm(ranking)
        vector = vector.tolist()
        passages = self.passages(ranking.tolist(), lang, scope, query, programme)
        if naming:  # ranked without the name, scored with it: what the answerability model was fitted on
            cosines = {_row_id(d): cosine for d, cosine in self._rows("passages", [p.id for p in passages], vector)}
            passages = [replace(p, dense=cosines.get(p.id, p.dense)) for p in passages]
        passages = self.with_sentence_scores(vector, passages)
        return Retrieval(
            query=query,
            lang=lang,
            faq=self.faq_matches(vector, lang, scope),
            passages=passages,
            condensed=context is not None,
        )


def _passage(document: Document, score: float, dense: float) -> Passage:
    meta = document.metadata
    return Passage(
        id=document.id or "",
        source_id=meta.get("source_id", ""),
        text=document.page_content,
        score=score,
        dense=dense,
        metadata=meta,
    )

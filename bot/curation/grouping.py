"""Questions that ask the same thing in other words, found by meaning.

How close two questions must be to count as the same one is read from the knowledge base itself rather than
chosen by hand: the phrasings of one FAQ entry are questions staff wrote to mean the same thing, those of two
entries mean different things, so the similarity that best tells the two kinds of pair apart (the best F1 on
"same entry") is the one to group by. It follows the embedding profile and the content with no fitting set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.store.curation import AskedQuestion

FALLBACK_SIMILARITY = 0.85  # a knowledge base with too few FAQ phrasings to read a threshold from


def same_question_similarity(entry_ids: Sequence[str], langs: Sequence[str], vectors: np.ndarray) -> float:
    """The cosine that best separates phrasings of one entry from phrasings of two (same language only)."""
    ids, langs_ = np.asarray(entry_ids), np.asarray(langs)
    similarities, same = [], []
    for lang in set(langs_.tolist()):
        rows = np.flatnonzero(langs_ == lang)
        if len(rows) < 2:
            continue
        sims = vectors[rows] @ vectors[rows].T
        upper = np.triu_indices(len(rows), k=1)
        similarities.append(sims[upper])
        same.append((ids[rows][:, None] == ids[rows][None, :])[upper])
    if not similarities:
        return FALLBACK_SIMILARITY
    scores, positive = np.concatenate(similarities), np.concatenate(same)
    if positive.sum() < 10:
        return FALLBACK_SIMILARITY
    order = np.argsort(-scores)
    true_positives = np.cumsum(positive[order])
    predicted = np.arange(1, len(order) + 1)
    f1 = 2 * true_positives / (predicted + positive.sum())
    return float(scores[order][int(np.argmax(f1))])


@dataclass
class QuestionGroup:
    """Questions asked in other words, newest first; the first is the group's name."""

    questions: list[AskedQuestion] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.questions[0].message_id

    @property
    def latest(self) -> str:
        return max(q.asked_at for q in self.questions)


def group_questions(questions: Sequence[AskedQuestion], vectors: np.ndarray, similarity: float) -> list[QuestionGroup]:
    """Each question joins the group whose first question it is closest to, if at least ``similarity``;
    groups come most asked first, then most recent."""
    groups: list[QuestionGroup] = []
    heads: list[np.ndarray] = []
    for question, vector in zip(questions, vectors, strict=True):
        scores = np.array([float(head @ vector) for head in heads])
        if len(scores) and scores.max() >= similarity:
            groups[int(scores.argmax())].questions.append(question)
        else:
            groups.append(QuestionGroup([question]))
            heads.append(vector)
    return sorted(groups, key=lambda g: (len(g.questions), g.latest), reverse=True)

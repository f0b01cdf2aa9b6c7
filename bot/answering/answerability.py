"""Whether a question can be answered, and from what: a small learned model over what retrieval found.

Cosine cut-offs alone served a curated answer on a neighbouring subject ("which jobs does the school train
for?" got the entry on La Poste's employees) and answered questions near the topic from sentences that share
its words and answer nothing. What tells them apart is not one score but how several agree: the FAQ entry's
similarity and its lead over the next entry, how much of the question's focus terms (rare words, acronyms,
names: ``bot.answering.analysis``) the entry's own question and answer cover, whether its answer holds what
the question expects (a number, a date, a name…), the same for the best passages and sentences, and a
character-level match of the FAQ phrasings that survives SMS spelling.

A multinomial logistic model (``bot.linear_model``) weighs them into calibrated probabilities of three
outcomes: serve the top FAQ entry (``faq``), answer from the passages (``passages``), decline (``decline``).
It is fitted by ``python -m evals answerability --fit --save`` on the *fit* part of the understanding set
(items labelled with the sources that answer them, split from the test part by topic) and kept per embedding
profile in ``bot/answering/answerability_models/PROFILE.json``, with the figures it measured on data it did
not see. ``bot.answering.policy`` turns the probabilities into the decision.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.answering.analysis import QuestionAnalysis, focus_coverage, holds_type
from bot.answering.retrieval import Passage, Retrieval
from bot.linear_model import LogisticModel
from bot.text import WordWeights, content_words, sentences

OUTCOMES = ("faq", "passages", "decline")
MODELS_DIR = Path(__file__).parent / "answerability_models"
# The passages and sentences looked at: the ones an answer would be made of.
TOP_PASSAGES = 3
TOP_SENTENCES = 3
DEFAULT_FAQ_MIN_PROBABILITY = 0.5  # a model fitted without choosing one: the most likely outcome decides
MAX_MARGIN = 0.2  # a lead this large over the next FAQ entry is as good as any larger one


@dataclass(frozen=True)
class Features:
    """What the decision is made from, for one question (kept apart so a fit can reuse them)."""

    faq_score: float  # the best FAQ phrasing's cosine (0 without a FAQ entry in the user's language)
    faq_margin: float  # its lead over the next entry
    faq_chars: float  # the same entry's character n-gram match (``bot.answering.spelling``)
    faq_focus: float  # share (rarity-weighted) of the question's focus terms in the entry's question and phrasing
    faq_answer_focus: float  # … in the entry's answer
    faq_type: float  # 1 when the entry's answer holds the expected answer type
    faq_passage: float  # the entry's own passage (question and answer) among the passages found: its cosine, or 0
    faq_passage_best: float  # 1 when that passage is the best one: the question matches its answer too
    passage_score: float  # the best passage's cosine
    sentence_score: float  # the best sentence's cosine
    passage_focus: float  # share of the focus terms in the best passages
    sentence_focus: float  # … in the best sentence
    sentence_type: float  # 1 when one of the best sentences holds the expected answer type
    # share of the names asked about (``QuestionAnalysis.names``) the knowledge base does not write: another
    # school, a product, an organisation ("France Travail", "l'Université Paris-Saclay"), the words of a name
    # written one after the other, not apart ("France", "travail"). Not the share of all unknown focus words:
    # on a small knowledge base most words are unknown, and a misspelt answerable question has some, so its
    # weight changed sign from one fit to the next.
    names_unknown: float
    missing_rare: float  # rarity of the rarest focus term neither the passages nor the entry mention, over the
    # rarity of a word the knowledge base never uses: "directeur" asked, and no passage names one
    focus_terms: float  # log(1 + number of focus terms): a question with none is vague or small talk
    follow_up: float  # 1 when the question was searched with the conversation's context

    def values(self) -> dict[str, float]:
        return asdict(self)


FAQ_FEATURES = tuple(name for name in Features.__dataclass_fields__ if name.startswith("faq_"))


def _faq_side(
    retrieval: Retrieval, analysis: QuestionAnalysis, weights: WordWeights, chars: dict[str, float]
) -> dict[str, float]:
    if not retrieval.faq:
        return dict.fromkeys(FAQ_FEATURES, 0.0)
    faq = retrieval.faq[0]
    margin = faq.score - retrieval.faq[1].score if len(retrieval.faq) > 1 else MAX_MARGIN
    return {
        "faq_score": faq.score,
        "faq_margin": min(margin, MAX_MARGIN),
        "faq_chars": chars.get(faq.source_id, 0.0),
        "faq_focus": focus_coverage(analysis, f"{faq.question} {faq.matched}", weights),
        "faq_answer_focus": focus_coverage(analysis, faq.answer, weights),
        "faq_type": float(holds_type(faq.answer, analysis.answer_type)),
        "faq_passage": max((p.dense for p in retrieval.passages if p.source_id == faq.source_id), default=0.0),
        "faq_passage_best": float(bool(retrieval.passages) and retrieval.passages[0].source_id == faq.source_id),
    }


def _best_sentences(passages: list[Passage]) -> list[tuple[float, str]]:
    """The best-scoring sentences of these passages, with their cosine."""
    scored = sorted(
        ((score, passage, position) for passage in passages for position, score in passage.sentence_scores.items()),
        key=lambda s: s[0],
        reverse=True,
    )[:TOP_SENTENCES]
    found = []
    for score, passage, position in scored:
        split = sentences(passage.body)
        if position < len(split):
            found.append((score, split[position]))
    return found


def features(
    retrieval: Retrieval, analysis: QuestionAnalysis, weights: WordWeights, faq_chars: dict[str, float]
) -> Features:
    passages = retrieval.passages[:TOP_PASSAGES]
    best = _best_sentences(passages)
    focus = analysis.focus
    found = content_words(
        " ".join([*(p.body for p in passages), *(f"{m.question} {m.answer}" for m in retrieval.faq[:1])])
    )
    missing = max((weights([w]) for w in focus if w not in found), default=0.0) / weights.unseen
    return Features(
        **_faq_side(retrieval, analysis, weights, faq_chars),
        passage_score=max((p.dense for p in passages), default=0.0),
        sentence_score=max((score for score, _ in best), default=0.0),
        passage_focus=focus_coverage(analysis, " ".join(p.body for p in passages), weights),
        sentence_focus=focus_coverage(analysis, best[0][1], weights) if best else 0.0,
        sentence_type=float(any(holds_type(text, analysis.answer_type) for _, text in best)),
        names_unknown=(
            sum(not weights.writes(name) for name in analysis.names) / len(analysis.names) if analysis.names else 0.0
        ),
        missing_rare=missing,
        focus_terms=math.log1p(len(focus)),
        follow_up=float(retrieval.condensed),
    )


@dataclass(frozen=True)
class Judgement:
    """The model's probabilities for one question, and the features they came from."""

    probabilities: dict[str, float]
    features: Features

    @property
    def outcome(self) -> str:
        return max(OUTCOMES, key=self.probabilities.__getitem__)

    def describe(self) -> str:
        return ", ".join(f"P({o})={self.probabilities[o]:.2f}" for o in OUTCOMES)


class Answerability:
    """The fitted model of one embedding profile, applied to a question's features."""

    def __init__(self, model: LogisticModel) -> None:
        if model.classes != OUTCOMES:
            raise ValueError(f"an answerability model predicts {OUTCOMES}, not {model.classes}")
        self.model = model
        # The least P(faq) at which a curated answer is served, chosen with the weights (see the fit).
        self.faq_min_probability = float(model.fitted_on.get("faq_min_probability", DEFAULT_FAQ_MIN_PROBABILITY))

    @classmethod
    def for_profile(cls, profile: str) -> Answerability:
        return cls(LogisticModel.load(model_path(profile)))

    def judge(self, values: Features) -> Judgement:
        return Judgement(self.model.probabilities(values.values()), values)


def model_path(profile: str) -> Path:
    return MODELS_DIR / f"{profile}.json"

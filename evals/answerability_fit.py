"""Fitting the answerability model (``bot.answering.answerability``) on labelled questions.

    python -m evals answerability                     # cross-validated figures of a fit, nothing written
    python -m evals answerability --save              # and write bot/answering/answerability_models/PROFILE.json

Each item of the fit data is searched as the chat service searches it, and labelled from what it expects:
``decline`` when it should be declined, ``faq`` when the top FAQ entry retrieved is among its expected
sources (its curated answer would be right), ``passages`` otherwise. The regularisation and the least
``P(faq)`` at which a curated answer is served are chosen by cross-validation *by topic* (the strongest
regularisation within one standard error of the best share of right decisions; folds never split
the paraphrases of one subject), so the figures printed are those of questions on subjects the fold's model
did not see; then the model is refitted on all the fit data. The same data gives the same weights (lbfgs from
zero, folds in a fixed order). The test part is never read here: ``python -m evals run`` reports on it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bot.answering.answerability import OUTCOMES, Features
from bot.answering.chat import ChatService
from bot.answering.policy import lacks_sure_type
from bot.linear_model import LogisticModel, fit_logistic
from bot.safety.guard import screen
from bot.schema import Turn
from evals.dataset import EvalItem, load_dataset

DATASETS_DIR = Path(__file__).parent / "datasets"
FIT_DATASETS = (DATASETS_DIR / "understanding-fit.jsonl", DATASETS_DIR / "understanding-fit-2.jsonl")
REGULARISATIONS = (0.03, 0.1, 0.3, 1.0, 3.0)
FAQ_FLOORS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))  # 0.30 … 0.95
MAX_WRONG_FAQ = 0.01  # the share of items a curated answer may be wrong for
FOLDS = 5


@dataclass(frozen=True)
class Example:
    item: EvalItem
    features: Features
    label: str  # one of OUTCOMES
    # whether the policy declines it for lack of an answer of a type words show for sure (an amount, a role
    # holder), when serving the top entry is not, and is, the likeliest outcome (``policy.lacks_sure_type``)
    sure_type_missing: tuple[bool, bool] = (False, False)


@dataclass(frozen=True)
class Outcomes:
    """How decisions made from some probabilities compare with the labels."""

    right: float  # the share decided as labelled (a passage answer to an item the FAQ answers counts)
    wrong_faq: float  # the share given a curated answer that is wrong for them
    declined_wrongly: float  # the share of answerable items declined
    answered_wrongly: float  # the share of items to decline that were answered


def label(item: EvalItem, top_faq: str | None) -> str:
    if item.should_refuse:
        return "decline"
    return "faq" if top_faq is not None and top_faq in item.expected_sources else "passages"


def collect(
    chat: ChatService, items: Sequence[EvalItem], progress: Callable[[int, int], None] | None = None
) -> list[Example]:
    """Search each item as the chat would (its history included) and label it. An item the guard declines
    never reaches the model, so it is left out."""
    examples = []
    for done, item in enumerate(items, start=1):
        if screen(item.question).flagged:
            continue
        history = [Turn(t.role, t.content) for t in item.history]
        examined = chat.examine(item.question, history, item.lang)
        faq = examined.retrieval.faq
        labelled = label(item, faq[0].source_id if faq else None)
        found, expected = examined.retrieval, examined.analysis.answer_type
        missing = (lacks_sure_type(found, expected, False), lacks_sure_type(found, expected, True))
        examples.append(Example(item, examined.features, labelled, missing))
        if progress:
            progress(done, len(items))
    return examples


def decided(
    probabilities: dict[str, float],
    faq_floor: float,
    decline_above: float = 0.5,
    faq_holds_type: bool = True,
    sure_type_missing: tuple[bool, bool] = (False, False),
) -> str:
    """``bot.answering.policy.decide``'s rule on probabilities (and whether the entry's answer holds the
    expected type of answer, and whether an answer of a type words show for sure is missing: ``Example``)."""
    likeliest = max(OUTCOMES, key=probabilities.__getitem__) == "faq"
    if likeliest and probabilities["faq"] >= faq_floor and faq_holds_type:
        return "faq"
    return "decline" if sure_type_missing[likeliest] or probabilities["decline"] > decline_above else "passages"


def outcomes(examples: Sequence[Example], probabilities: Sequence[dict[str, float]], faq_floor: float) -> Outcomes:
    decisions = [
        decided(
            p,
            faq_floor,
            faq_holds_type=bool(e.features.faq_type),
            sure_type_missing=e.sure_type_missing,
        )
        for p, e in zip(probabilities, examples, strict=True)
    ]
    labels = [e.label for e in examples]
    n = len(examples)
    right = sum(d == y or (d == "passages" and y == "faq") for d, y in zip(decisions, labels, strict=True))
    return Outcomes(
        right=round(right / n, 4),
        wrong_faq=round(sum(d == "faq" and y != "faq" for d, y in zip(decisions, labels, strict=True)) / n, 4),
        declined_wrongly=round(
            sum(d == "decline" and y != "decline" for d, y in zip(decisions, labels, strict=True)) / n, 4
        ),
        answered_wrongly=round(
            sum(d != "decline" and y == "decline" for d, y in zip(decisions, labels, strict=True)) / n, 4
        ),
    )


def _topic(example: Example) -> str:
    return example.item.topic or example.item.id


def cross_validated(examples: Sequence[Example], regularisation: float) -> list[dict[str, float]]:
    """Each example's probabilities from a model fitted without its topic's fold (topics dealt round-robin in
    sorted order to ``FOLDS`` folds: deterministic, and a topic's paraphrases stay together)."""
    topics = sorted({_topic(e) for e in examples})
    fold_of = {topic: i % FOLDS for i, topic in enumerate(topics)}
    predicted: list[dict[str, float]] = [{} for _ in examples]
    for fold in range(FOLDS):
        train = [e for e in examples if fold_of[_topic(e)] != fold]
        model = _fit(train, regularisation)
        for i, example in enumerate(examples):
            if fold_of[_topic(example)] == fold:
                predicted[i] = model.probabilities(example.features.values())
    return predicted


def _fit(examples: Sequence[Example], regularisation: float, fitted_on: dict | None = None) -> LogisticModel:
    rows = [e.features.values() for e in examples]
    return fit_logistic(rows, [e.label for e in examples], OUTCOMES, regularisation, fitted_on)


def faq_floor(examples: Sequence[Example], probabilities: Sequence[dict[str, float]]) -> float:
    """The least floor on ``P(faq)`` whose cross-validated wrong curated answers stay within ``MAX_WRONG_FAQ``
    (the highest one tried when none does)."""
    return next(
        (f for f in FAQ_FLOORS if outcomes(examples, probabilities, f).wrong_faq <= MAX_WRONG_FAQ), FAQ_FLOORS[-1]
    )


def standard_error(share: float, n: int) -> float:
    """The standard error of a share measured on ``n`` items."""
    return math.sqrt(share * (1 - share) / n) if n else 0.0


def digest(paths: Sequence[Path]) -> str:
    """Which data the weights come from: a refit on changed data shows as a changed digest."""
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def chosen_regularisation(measured: dict[float, Outcomes], n: int) -> float:
    """Among the regularisations whose FAQ floor keeps wrong curated answers within ``MAX_WRONG_FAQ`` (all
    when none does), the strongest (least ``C``) whose cross-validated share of right decisions is within one
    standard error of the best: the "one standard error" rule. Differences of a few items are noise, and the
    smaller weights of a stronger regularisation carry better to another knowledge base."""
    allowed = [c for c in measured if measured[c].wrong_faq <= MAX_WRONG_FAQ] or list(measured)
    top = max(measured[c].right for c in allowed)
    return min(c for c in allowed if measured[c].right >= top - standard_error(top, n))


def calibrate(examples: Sequence[Example], datasets: Sequence[Path], profile: str) -> tuple[LogisticModel, dict]:
    """Choose the regularisation (``chosen_regularisation``) and its FAQ floor by cross-validation, then
    refit on everything; ``fitted_on`` records the data, the choices and the cross-validated figures."""
    measured = {}
    for c in REGULARISATIONS:
        probabilities = cross_validated(examples, c)
        floor = faq_floor(examples, probabilities)
        measured[c] = (outcomes(examples, probabilities, floor), floor)
    best = chosen_regularisation({c: figures for c, (figures, _) in measured.items()}, len(examples))
    figures, floor = measured[best]
    counts = {o: sum(e.label == o for e in examples) for o in OUTCOMES}
    fitted_on = {
        "profile": profile,
        "datasets": [p.name for p in datasets],
        "digest": digest(datasets),
        "examples": counts,
        "regularisation": best,
        "faq_min_probability": floor,
        "cross_validated": {
            "folds": f"{FOLDS}, by topic",
            **{k: v for k, v in vars(figures).items()},
        },
        "cross_validated_by_regularisation": {str(c): measured[c][0].right for c in REGULARISATIONS},
    }
    model = _fit(examples, best, fitted_on)
    return model, {"figures": figures, "floor": floor, "measured": measured}


def load_items(paths: Sequence[Path]) -> list[EvalItem]:
    return [item for path in paths for item in load_dataset(path)]


def refit(model: LogisticModel, examples: Sequence[Example]) -> LogisticModel:
    """The same fit again, with the recorded choices: what a reproducibility check compares."""
    return replace(_fit(examples, model.fitted_on["regularisation"]), fitted_on=model.fitted_on)

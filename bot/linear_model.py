"""A multinomial logistic model over named, standardised features, stored as JSON beside the code.

The bot decides in two places with such a model: the tutor's verdict on a learner's answer
(``bot.tutor.grading``) and whether and how to answer a question (``bot.answering.answerability``). Both are
fitted by a project command on labelled data (scikit-learn's ``LogisticRegression``) and applied here with
numpy alone, so the request path never imports scikit-learn and the weights are plain numbers a reviewer can
read, versioned with the code, one file per embedding profile (similarity scales differ between models).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LogisticModel:
    classes: tuple[str, ...]
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[tuple[float, ...], ...]  # one row per class, in ``classes`` order
    intercept: tuple[float, ...]
    fitted_on: dict  # what it was fitted on, and what it measured on data it did not see

    def probabilities(self, values: Mapping[str, float]) -> dict[str, float]:
        x = (np.array([values[name] for name in self.features]) - self.mean) / self.scale
        logits = np.asarray(self.coef) @ x + np.asarray(self.intercept)
        weights = np.exp(logits - logits.max())
        return dict(zip(self.classes, (weights / weights.sum()).tolist(), strict=True))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> LogisticModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            classes=tuple(data["classes"]),
            features=tuple(data["features"]),
            mean=tuple(data["mean"]),
            scale=tuple(data["scale"]),
            coef=tuple(tuple(row) for row in data["coef"]),
            intercept=tuple(data["intercept"]),
            fitted_on=data.get("fitted_on", {}),
        )


def fit_logistic(
    rows: Sequence[Mapping[str, float]],
    labels: Sequence[str],
    classes: Sequence[str],
    regularisation: float,
    fitted_on: dict | None = None,
) -> LogisticModel:
    """Fit on feature rows (by name) and their labels; deterministic (lbfgs from zero), so the same data gives
    the same weights. Every class must have examples: a model that never saw one could not predict it."""
    from sklearn.linear_model import LogisticRegression  # fitting only: the request path never needs it

    if missing := [c for c in classes if c not in labels]:
        raise ValueError(f"no example labelled {', '.join(missing)}: the model could never predict it")
    names = tuple(rows[0])
    x = np.array([[row[n] for n in names] for row in rows], dtype=float)
    y = np.array([classes.index(label) for label in labels])
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    classifier = LogisticRegression(C=regularisation, max_iter=10_000).fit((x - mean) / scale, y)
    coef, intercept = classifier.coef_, classifier.intercept_
    if len(classes) == 2:  # scikit-learn keeps one row for two classes: the first class's logit is 0
        coef, intercept = np.vstack([np.zeros_like(coef[0]), coef[0]]), np.array([0.0, intercept[0]])
    return LogisticModel(
        classes=tuple(classes),
        features=names,
        mean=tuple(mean.tolist()),
        scale=tuple(scale.tolist()),
        coef=tuple(tuple(row) for row in coef.tolist()),
        intercept=tuple(intercept.tolist()),
        fitted_on=fitted_on or {},
    )

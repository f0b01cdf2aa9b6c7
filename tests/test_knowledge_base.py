"""The shipped knowledge base and the dev evaluation set: counts, formats and cross-references.

These are the floors of the knowledge-base issue; they fail when content is removed or a reference breaks.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import frontmatter
import pytest
import yaml

from bot.indexing.documents import kb_files, load_knowledge_base
from bot.text import fold
from tests.conftest import SHIPPED_KB

DEV_SET = Path(__file__).resolve().parent.parent / "evals" / "datasets" / "dev.jsonl"
CATEGORIES = {
    "enrolment",
    "curriculum",
    "objectif-ia",
    "fundamentals",
    "follow-up",
    "informal",
    "out-of-scope",
    "false-premise",
    "injection",
}
MODULES = [
    "ia-definition-histoire",
    "machine-learning",
    "donnees-evaluation",
    "deep-learning",
    "nlp-llm",
    "vision-ordinateur",
    "ia-generative",
    "biais-qualite-donnees",
    "ethique-ia",
    "rgpd-donnees-personnelles",
    "ai-act",
    "metiers-data",
]
FACT_ID = re.compile(r"^[EO]\d{1,2}$")


@pytest.fixture(scope="module")
def report():
    return load_knowledge_base(SHIPPED_KB)


@pytest.fixture(scope="module")
def faq_entries() -> list[dict]:
    entries = []
    for path in sorted((SHIPPED_KB / "faq").glob("*.yaml")):
        entries += yaml.safe_load(path.read_text())
    return entries


def pages() -> list[Path]:
    return [p for p in kb_files(SHIPPED_KB) if p.suffix == ".md"]


def test_every_file_ingests(report) -> None:
    assert report.failures == {}


def test_every_page_has_front_matter() -> None:
    for path in pages():
        meta = frontmatter.load(path).metadata
        assert {"title", "lang", "programme"} <= meta.keys(), path
        assert meta["lang"] in {"fr", "en"}, path
        assert ("/en/" in path.as_posix()) == (meta["lang"] == "en"), path


def test_programme_pages_name_their_facts_and_sources() -> None:
    for path in pages():
        meta = frontmatter.load(path).metadata
        if meta["programme"] in {"ecole-data-ia", "objectif-ia"}:
            assert meta.get("source"), path
            assert meta.get("facts") and all(FACT_ID.match(f) for f in meta["facts"]), path
            assert "http" not in path.read_text(), f"{path}: no links that are not in FACTS.md"


def test_fundamentals_course_has_twelve_modules_in_both_languages() -> None:
    for module in MODULES:
        for folder in ("fondamentaux", "fondamentaux/en"):
            page = SHIPPED_KB / folder / f"{module}.md"
            assert page.exists(), page
            assert len(re.findall(r"^## ", page.read_text(), re.MULTILINE)) >= 4, page


def test_programme_pages_have_english_versions() -> None:
    for programme in ("ecole-data-ia", "objectif-ia"):
        french = {p.name for p in (SHIPPED_KB / programme).glob("*.md")}
        english = {p.name for p in (SHIPPED_KB / programme / "en").glob("*.md")}
        assert french and french == english, f"{programme}: no English version of {sorted(french - english)}"


def test_faq_counts_and_alternates(faq_entries: list[dict]) -> None:
    by_lang = Counter(e["lang"] for e in faq_entries)
    assert by_lang["fr"] >= 100 and by_lang["en"] >= 40, by_lang
    for entry in faq_entries:
        assert len(entry.get("alternates", [])) >= 2, entry["id"]
    duplicates = [name for name, count in Counter(e["id"] for e in faq_entries).items() if count > 1]
    assert len({e["id"] for e in faq_entries}) == len(faq_entries), f"duplicate FAQ ids: {duplicates}"


def test_quizzes_cover_every_module(report) -> None:
    headings: dict[str, set[str]] = {}
    for path in pages():
        headings[path.relative_to(SHIPPED_KB).with_suffix("").as_posix()] = set(
            re.findall(r"^## (.+?)\s*$", path.read_text(), re.MULTILINE)
        )
    seen = Counter()
    for path in sorted((SHIPPED_KB / "quizzes").glob("*.yaml")):
        quiz = yaml.safe_load(path.read_text())
        module = quiz["module"]
        for question in quiz["questions"]:
            assert {"id", "lang", "question", "reference_answer", "key_ideas", "hints", "section"} <= question.keys(), (
                path.name,
                question.get("id"),
            )
            assert len(question["hints"]) == 2 and len(question["key_ideas"]) >= 2, question["id"]
            page = module if question["lang"] == "fr" else module.replace("fondamentaux/", "fondamentaux/en/")
            assert question["section"] in headings[page], (question["id"], question["section"])
            seen[module] += 1
    assert {f"fondamentaux/{m}" for m in MODULES} <= seen.keys(), {f"fondamentaux/{m}" for m in MODULES} - seen.keys()
    assert min(seen.values()) >= 5, {module: count for module, count in seen.items() if count < 5}


def load_dev() -> list[dict]:
    items = []
    for number, line in enumerate(DEV_SET.read_text().splitlines(), start=1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                pytest.fail(f"{DEV_SET.name}:{number}: {exc}")
    return items


def test_dev_set_integrity(report) -> None:
    items = load_dev()
    known = {d.metadata["source_id"] for d in report.documents}
    assert len(items) >= 200, len(items)
    duplicates = [name for name, count in Counter(i["id"] for i in items).items() if count > 1]
    assert len({i["id"] for i in items}) == len(items), f"duplicate ids: {duplicates}"
    for item in items:
        assert item["category"] in CATEGORIES, item["id"]
        assert item["lang"] in {"fr", "en"}, item["id"]
        assert isinstance(item["should_refuse"], bool), item["id"]
        assert set(item["expected_sources"]) <= known, (item["id"], set(item["expected_sources"]) - known)
        if not item["should_refuse"]:
            assert item["expected_sources"] and item["expected_facts"], item["id"]
        for turn in item.get("history", []):
            assert turn["role"] in {"user", "assistant"} and turn["content"], item["id"]
    counts = Counter(i["category"] for i in items)
    assert set(counts) == CATEGORIES
    without_history = [i["id"] for i in items if i["category"] == "follow-up" and not i.get("history")]
    assert counts["follow-up"] >= 15 and all(i.get("history") for i in items if i["category"] == "follow-up"), (
        counts["follow-up"],
        without_history,
    )
    assert sum(i["lang"] == "en" for i in items) >= 40, sum(i["lang"] == "en" for i in items)


def test_dev_questions_are_not_faq_phrasings(faq_entries: list[dict]) -> None:
    """Dev questions must test generalisation, not recall of the FAQ's own wording."""
    phrasings = {
        re.sub(r"[^a-z0-9]+", " ", fold(p)).strip()
        for e in faq_entries
        for p in [e["question"], *e.get("alternates", [])]
    }
    for item in load_dev():
        assert re.sub(r"[^a-z0-9]+", " ", fold(item["question"])).strip() not in phrasings, item["id"]

"""The quiz bank: the questions of ``knowledge_base/quizzes/*.yaml`` and the course sections they come from.

Quizzes are read from the knowledge base folder, not from the index: they are never ingested (a reference
answer served by the chat would spoil the quiz), and the tutor needs whole questions, not chunks. The course
section a question cites is read from its page with the same Markdown loader ingest uses, so a citation shows
exactly the text the chat would cite.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import frontmatter
import yaml
from pydantic import BaseModel, Field, ValidationError

from bot.indexing.documents import load_markdown, passage_body

log = logging.getLogger("tutor.quizzes")

Lang = Literal["fr", "en"]


class QuizQuestion(BaseModel):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    lang: Lang
    question: str = Field(min_length=1)
    reference_answer: str = Field(min_length=1)
    key_ideas: list[str] = Field(min_length=1)
    hints: list[str] = Field(min_length=2, max_length=2)
    section: str = Field(min_length=1)


class QuizFile(BaseModel):
    module: str = Field(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$")
    title: str
    order: int = 1000
    questions: list[QuizQuestion] = Field(min_length=1)


@dataclass(frozen=True)
class Module:
    id: str  # the source id of the French course page, e.g. ``fondamentaux/deep-learning``
    order: int
    titles: dict[str, str]
    questions: tuple[QuizQuestion, ...]

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles["fr"]

    def page(self, lang: str) -> str:
        """The course page in ``lang`` (``fondamentaux/en/deep-learning``); English pages sit in ``en/``."""
        folder, name = self.id.rsplit("/", 1)
        return self.id if lang == "fr" else f"{folder}/{lang}/{name}"


@dataclass(frozen=True)
class SectionCitation:
    source_id: str
    title: str
    section: str
    snippet: str


class QuizBank:
    """All modules, in course order. A malformed quiz file is logged and skipped: one bad file must not take
    the tutor down."""

    def __init__(self, kb_dir: Path) -> None:
        self.kb_dir = kb_dir
        self.modules: dict[str, Module] = {}
        self._questions: dict[str, tuple[Module, QuizQuestion]] = {}
        self.failures: dict[str, str] = {}
        for path in sorted((kb_dir / "quizzes").glob("*.y*ml")):
            try:
                quiz = QuizFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError) as exc:
                self.failures[path.name] = str(exc).splitlines()[0]
                log.warning("quiz file %s skipped: %s", path.name, self.failures[path.name])
                continue
            module = Module(
                quiz.module, quiz.order, {"fr": quiz.title, **self._other_titles(quiz.module)}, tuple(quiz.questions)
            )
            self.modules[module.id] = module
            for question in quiz.questions:
                self._questions[question.id] = (module, question)
        self.modules = dict(sorted(self.modules.items(), key=lambda item: (item[1].order, item[0])))

    def _other_titles(self, module_id: str) -> dict[str, str]:
        folder, name = module_id.rsplit("/", 1)
        page = self.kb_dir / folder / "en" / f"{name}.md"
        if not page.exists():
            return {}
        title = frontmatter.loads(page.read_text(encoding="utf-8")).metadata.get("title")
        return {"en": str(title)} if title else {}

    def question(self, question_id: str) -> tuple[Module, QuizQuestion]:
        """The question and its module; ``KeyError`` names the unknown id."""
        if question_id not in self._questions:
            raise KeyError(f"no quiz question '{question_id}'")
        return self._questions[question_id]

    def citation(self, module: Module, question: QuizQuestion) -> SectionCitation:
        """The course section a question comes from, as a chat citation would show it."""
        source_id = module.page(question.lang)
        path = self.kb_dir / f"{source_id}.md"
        text = ""
        title = module.title(question.lang)
        if path.exists():
            chunks = load_markdown(path.read_text(encoding="utf-8"), Path(f"{source_id}.md"), "")
            parts = [
                passage_body(c.page_content, c.metadata)
                for c in chunks
                if c.metadata["section"].split(" › ")[0] == question.section
            ]
            text = " ".join(" ".join(parts).split())
            title = chunks[0].metadata.get("title") or title
        return SectionCitation(source_id, title, question.section, text)

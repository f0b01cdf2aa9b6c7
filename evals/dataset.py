"""Evaluation datasets (JSON Lines, format of DESIGN.md): read, validated, and explained when wrong.

A malformed line is reported as ``file:line: what is wrong`` — staff edit these files by hand, and a
traceback would not tell them where to look.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names the file and line."""


class HistoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class EvalItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    lang: Literal["fr", "en"] | None = None
    history: list[HistoryTurn] = Field(default_factory=list)
    expected_sources: list[str] = Field(default_factory=list)
    expected_facts: list[str | list[str]] = Field(default_factory=list)
    should_refuse: bool = False
    category: str = "uncategorised"
    # The knowledge base the item is written for (a folder, relative to the project root), when it is not the
    # app's: a run over another knowledge base skips the item and says so, instead of scoring it 0.
    kb: str | None = None
    # What the item tests, beyond its category (the understanding sets): its failure family ("wrong-faq",
    # "multi-part", "false-premise"…), its topic (the unit the fit/test split is made by: paraphrases share
    # one), how many questions it asks in one message, and for a yes/no question whether the knowledge base
    # confirms, contradicts or does not settle its premise.
    family: str | None = None
    topic: str | None = None
    parts: int = Field(default=1, ge=1, le=3)
    premise: Literal["confirmed", "contradicted", "unconfirmed"] | None = None

    @field_validator("expected_facts")
    @classmethod
    def _no_empty_facts(cls, facts: list[str | list[str]]) -> list[str | list[str]]:
        for fact in facts:
            options = fact if isinstance(fact, list) else [fact]
            if not options or not all(isinstance(o, str) and o.strip() for o in options):
                raise ValueError("every expected fact must be a non-empty string or list of strings")
        return facts


def load_dataset(path: Path) -> list[EvalItem]:
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    items: list[EvalItem] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
        try:
            item = EvalItem.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "item"
            raise DatasetError(f"{path}:{number}: {where}: {error['msg']}") from exc
        if item.id in seen:
            raise DatasetError(f"{path}:{number}: id '{item.id}' already used on line {seen[item.id]}")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise DatasetError(f"{path}: the dataset has no items")
    return items

"""The types every layer shares: storage, answering, the tutor and the faces all import them from here, and
this module imports nothing of the project, so no layer has to import another to name a turn or a mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeGuard

Lang = Literal["fr", "en"]
Role = Literal["user", "assistant"]
# How an answer was made. ``refused`` is the one spelling of a declined question, from the decision to storage.
AnswerMode = Literal["faq", "extractive", "llm", "refused", "tutor"]
LANGS: tuple[Lang, ...] = ("fr", "en")


def is_lang(value: object) -> TypeGuard[Lang]:
    """Whether ``value`` is one of ``LANGS``: narrows a plain string (from storage, a form) to ``Lang``."""
    return value in LANGS


@dataclass(frozen=True)
class Turn:
    """One message of a conversation, as the answering layer reads history."""

    role: Role
    content: str


@dataclass(frozen=True)
class Citation:
    """A source an answer cites as ``[n]``: ``n`` is the number in the text, so cards match it one to one."""

    n: int
    source_id: str
    title: str
    snippet: str
    url: str | None = None

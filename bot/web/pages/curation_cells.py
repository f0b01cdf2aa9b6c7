"""What the curation tabs show in a cell or a line (an answer with its origin, a gap group, a change in the
audit log, a validation error in the fields' own names) and how the editor's fields become an entry draft and
back: pure functions of the core's records, so the page's handlers only route."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from bot.curation.entries import EntryDraft
from bot.curation.grouping import QuestionGroup
from bot.curation.service import AnswerShown, Published
from bot.store.curation import AuditRecord, EntryContent
from bot.text import fold
from bot.web.pages.curation_texts import LIMIT_ERRORS, headers_for

SHORT_CHARS = 160  # an answer or a value in a table cell; the whole text is in the editor
ID_PREFIX = "faq-staff-"
FIELDS = ("id", "lang", "programme", "question", "alternates", "answer", "tags", "source", "pair_id")


def table(language: str | None, name: str, rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    return {"headers": headers_for(language, name), "data": [list(r) for r in rows]}


def short(value: Any, texts: dict[str, str] | None = None) -> str:
    if isinstance(value, bool) and texts is not None:
        return texts["yes" if value else "no"]
    if isinstance(value, list | tuple):
        value = " · ".join(str(v) for v in value)
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= SHORT_CHARS else text[: SHORT_CHARS - 1] + "…"


def when(at: str) -> str:
    """The store's UTC timestamps to the minute, as staff read them."""
    return at[:16].replace("T", " ")


def suggested_id(question: str, taken: set[str]) -> str:
    """An id that says what the entry is about (its question's first longer words), not taken yet."""
    words = [w for w in re.findall(r"[a-z0-9]+", fold(question)) if len(w) > 3][:4] or ["entree"]
    base = (ID_PREFIX + "-".join(words))[:72].rstrip("-")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def answer_cell(shown: AnswerShown, texts: dict[str, str]) -> str:
    """An answer with where it comes from first: a refusal, a curated entry, or the passages it cites."""
    if shown.refused:
        origin = texts["refusal"]
    elif shown.entry_id:
        origin = shown.entry_id
    else:
        origin = f"{shown.mode}: {', '.join(shown.sources)}"
    return f"[{origin}] {short(shown.answer)}"


def answers_markdown(published: Published, texts: dict[str, str]) -> str:
    if not published.answers:
        return ""
    lines = [f"- « {html.escape(a.question)} » → {html.escape(answer_cell(a, texts))}" for a in published.answers]
    return "\n\n" + texts["answered_now"] + "\n" + "\n".join(lines)


def gap_row(n: int, group: QuestionGroup, texts: dict[str, str]) -> list[Any]:
    first = group.questions[0]
    refused = sum(q.refused for q in group.questions)
    down = sum(q.rating == "down" for q in group.questions)
    why = [f"{texts['refused']} ×{refused}"] if refused else []
    why += [f"{texts['rated_down']} ×{down}"] if down else []
    comments = [q.comment for q in group.questions if q.comment]
    return [
        n,
        len(group.questions),
        first.question,
        short([q.question for q in group.questions[1:]]),
        when(group.latest),
        f"[{texts['refusal']}]" if first.refused else short(first.answer),  # the refusal is the same text each time
        " ".join(first.sources),
        short([", ".join(why), *comments]),
    ]


def field_change(before: Any, after: Any, texts: dict[str, str]) -> str:
    """A field's change: a list's items added and removed (a new phrasing among thirty), else before → after."""
    if isinstance(before, list) or isinstance(after, list):
        added = [v for v in after or [] if v not in (before or [])]
        removed = [v for v in before or [] if v not in (after or [])]
        return " ".join([f"+ {short(added)}"] * bool(added) + [f"− {short(removed)}"] * bool(removed))
    return f"{short(before, texts)} → {short(after, texts)}"


def change_summary(record: AuditRecord, texts: dict[str, str]) -> str:
    """What a change did, in a line: the fields that differ."""
    before, after = record.before or {}, record.after or {}
    if record.action == "dismiss":
        answers = texts["answers_count"].format(n=len(after.get("answers", [])))  # ids: the log keeps no question
        return f"{texts['reason']}{texts['colon']}{short(after.get('reason'))} — {answers}"
    if record.action == "create":
        return f"« {short(after.get('question'))} » → « {short(after.get('answer'))} »"
    changed = sorted(k for k in before.keys() | after.keys() if k != "revision" and before.get(k) != after.get(k))
    return "; ".join(
        f"{texts.get('field_' + k, k)}{texts['colon']}{field_change(before.get(k), after.get(k), texts)}"
        for k in changed
    )


def seconds(published: Published, texts: dict[str, str]) -> str:
    return f"{published.seconds:.1f}".replace(".", texts["decimal"])


def validation_message(exc: ValidationError, texts: dict[str, str]) -> str:
    """Pydantic's errors named by the fields' labels; a pattern is explained in words."""
    said = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        message = error["msg"]
        if error["type"] == "string_pattern_mismatch":
            message = texts["programme_pattern" if field == "programme" else "id_pattern"]
        elif error["type"] in LIMIT_ERRORS:
            message = texts[LIMIT_ERRORS[error["type"]]].format(**error.get("ctx", {}))
        said.append(f"{texts.get(field, field)}{texts['colon']}{message}")
    return f"{texts['invalid']} — " + " ; ".join(said)


def draft_of(values: Sequence[Any]) -> EntryDraft:
    """The editor's fields (in ``FIELDS`` order) as an entry draft, validated."""
    given = dict(zip(FIELDS, values, strict=True))
    return EntryDraft.model_validate(
        {
            **{k: (given[k] or "") for k in ("id", "lang", "question", "answer", "source")},
            "programme": given["programme"] or "general",
            "alternates": (given["alternates"] or "").splitlines(),
            "tags": (given["tags"] or "").split(","),
            "pair_id": given["pair_id"] or None,
        }
    )


def fields_of(content: EntryContent) -> list[Any]:
    return [
        content.id,
        content.lang,
        content.programme,
        content.question,
        "\n".join(content.alternates),
        content.answer,
        ", ".join(content.tags),
        content.source,
        content.pair_id or "",
    ]

"""The settings table of ``docs/configuration.md``, generated from ``bot.config.Settings`` so that it cannot drift.

    python -m bot.settings_table            # print the table (Markdown)
    python -m bot.settings_table --write    # replace the table between the markers of docs/configuration.md
    python -m bot.settings_table --check    # exit 1, naming the command to run, when the committed table is stale

One row per field: its environment variable (``TUTOR_`` + the name in upper case), its type with its bounds,
its default and its description (the ``Field(description=...)`` of ``bot/config.py``, the one place to edit).
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.config import PROJECT_ROOT, Settings

CONFIG_DOC = PROJECT_ROOT / "docs" / "configuration.md"
START = "<!-- settings:start -->"
END = "<!-- settings:end -->"
COMMAND = "python -m bot.settings_table --write"
ENV_PREFIX = "TUTOR_"


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _cell(text: str) -> str:
    """A table cell: a pipe would end it, a line break would end the row."""
    return text.replace("|", "\\|").replace("\n", " ")


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " | ".join(str(value) for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        names = [_type_name(arg) for arg in get_args(annotation) if arg is not type(None)]
        optional = len(names) < len(get_args(annotation))
        return " | ".join(names) + (", optional" if optional else "")
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(arg) for arg in get_args(annotation))}]"
    if annotation is Path:
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(info: FieldInfo) -> str:
    signs = {
        annotated_types.Ge: ("≥", "ge"),
        annotated_types.Gt: (">", "gt"),
        annotated_types.Le: ("≤", "le"),
        annotated_types.Lt: ("<", "lt"),
    }
    parts = []
    for constraint in info.metadata:
        for kind, (sign, attribute) in signs.items():
            if isinstance(constraint, kind):
                parts.append(f"{sign} {getattr(constraint, attribute)}")
    return ", ".join(parts)


def _value(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, Path):
        for root, shown in ((PROJECT_ROOT, "."), (Path.home(), "~")):
            if value.is_relative_to(root):
                return f"`{shown}/{value.relative_to(root).as_posix()}`"
        return f"`{value.as_posix()}`"
    if isinstance(value, list | dict):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return _value(info.get_default(call_default_factory=True))
    if info.default is PydanticUndefined:
        return "required"
    return _value(info.default)


def render_table() -> str:
    """The Markdown table of every setting, in the order of ``Settings``."""
    rows = ["| variable | type | default | what it does |", "|---|---|---|---|"]
    for name, info in Settings.model_fields.items():
        kind = _type_name(info.annotation)
        if bounds := _bounds(info):
            kind += f" ({bounds})"
        cells = [f"`{env_name(name)}`", kind, _default(info), info.description or ""]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def _split(text: str) -> tuple[str, str, str]:
    """The document before the table (start marker included), the table, and the rest (end marker included)."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{START} ... {END} markers not found")
    head = text[: start + len(START)]
    return head, text[len(head) : end], text[end:]


def committed_table(text: str) -> str:
    """The table as written between the markers of a document's text."""
    return _split(text)[1].strip("\n") + "\n"


def with_table(text: str, table: str) -> str:
    head, _, tail = _split(text)
    return f"{head}\n{table}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.settings_table", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"replace the table in {CONFIG_DOC.name}")
    action.add_argument("--check", action="store_true", help="exit 1 when the committed table differs")
    parser.add_argument("--doc", type=Path, default=CONFIG_DOC, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shown = args.doc.relative_to(PROJECT_ROOT) if args.doc.is_relative_to(PROJECT_ROOT) else args.doc
    table = render_table()
    if not (args.write or args.check):
        sys.stdout.write(table)
        return 0
    try:
        text = args.doc.read_text(encoding="utf-8")
        committed = committed_table(text)
    except (OSError, ValueError) as error:
        print(f"{shown}: {error}", file=sys.stderr)
        return 1
    if args.check:
        if committed != table:
            print(f"{shown}: the settings table is out of date; run `{COMMAND}`", file=sys.stderr)
            return 1
        print(f"{shown}: the settings table is up to date")
        return 0
    if committed != table:
        args.doc.write_text(with_table(text, table), encoding="utf-8")
        print(f"{shown}: settings table written ({len(Settings.model_fields)} settings)")
    else:
        print(f"{shown}: the settings table is up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The settings table of docs/configuration.md is generated from ``bot.config.Settings``: it must match the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from bot.settings_table import COMMAND, CONFIG_DOC, END, START, committed_table, env_name, main, render_table


def test_the_committed_settings_table_matches_the_code() -> None:
    committed = committed_table(CONFIG_DOC.read_text(encoding="utf-8"))
    assert committed == render_table(), f"docs/configuration.md is out of date: run `{COMMAND}`"


def test_every_setting_is_described_and_listed_by_its_variable() -> None:
    table = render_table()
    for name, info in Settings.model_fields.items():
        assert info.description, f"give {name} a description in bot/config.py"
        assert f"| `{env_name(name)}` |" in table


def test_check_fails_on_a_stale_table_and_write_repairs_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "configuration.md"
    doc.write_text(f"# Settings\n\n{START}\n| old | table |\n{END}\n\nAfter.\n", encoding="utf-8")

    assert main(["--check", "--doc", str(doc)]) == 1
    assert COMMAND in capsys.readouterr().err

    assert main(["--write", "--doc", str(doc)]) == 0
    text = doc.read_text(encoding="utf-8")
    assert text.startswith(f"# Settings\n\n{START}\n| variable |")
    assert text.endswith(f"{END}\n\nAfter.\n")
    assert main(["--check", "--doc", str(doc)]) == 0


def test_check_fails_without_the_markers(tmp_path: Path) -> None:
    doc = tmp_path / "configuration.md"
    doc.write_text("# Settings\n", encoding="utf-8")
    assert main(["--check", "--doc", str(doc)]) == 1

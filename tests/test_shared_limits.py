"""The rate limit shared by workers through a real Redis (Debian's ``redis-server``, started here on a free
port): two app servers in this process, each with its own index, count one client's requests together; with
Redis killed, each counts alone (the in-memory default's behaviour), serves on, and says so in ``/ready``; with
Redis back, they share again.

The clients are named by ``X-Forwarded-For`` (the servers trust 127.0.0.1, where every request comes from), so
that each test has clients of its own in the one Redis of the module.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from tests.conftest import FIXTURE_KB, IndexTemplates, app_server, free_port

REDIS = Path("/usr/bin/redis-server")
INSTALL = "apt-get install redis-server"
LIMIT = 3


class RedisServer:
    """``redis-server`` in the foreground on ``port``, nothing saved to disk; stop and start it again at will."""

    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(REDIS), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([*command, "--daemonize", "no"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not self._pong():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if not REDIS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"redis-server is not installed: the Makefile's `redis` target installs it ({INSTALL})")
        pytest.skip(f"redis-server not installed ({INSTALL})")
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis") / "redis.log")
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def workers(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates
) -> Iterator[list[str]]:
    """Two app servers on the one Redis, as two workers behind a load balancer would be."""

    def settings(name: str) -> Settings:
        return Settings(
            data_dir=index_templates.copy(FIXTURE_KB, tmp_path_factory.mktemp(name) / "data"),
            kb_dir=FIXTURE_KB,
            rate_limit_per_minute=LIMIT,
            rate_limit_storage=redis_server.url,
            forwarded_allow_ips="127.0.0.1",
        )

    with app_server(settings("worker-1")) as first, app_server(settings("worker-2")) as second:
        yield [first, second]


def spread(workers: list[str], client: str, requests: int) -> list[int]:
    """``requests`` chat requests of ``client``, dealt to the workers in turn; their statuses. An empty body is
    a 422 once counted: the limit is what is tested, not the answering."""
    return [
        httpx.post(
            f"{workers[n % len(workers)]}/api/chat", json={}, headers={"X-Forwarded-For": client}, timeout=30
        ).status_code
        for n in range(requests)
    ]


def rate_limit(url: str) -> tuple[int, dict]:
    ready = httpx.get(f"{url}/ready", timeout=30)
    return ready.status_code, ready.json()["dependencies"]["rate_limit"]


def test_workers_share_one_limit_per_client(workers: list[str]) -> None:
    statuses = spread(workers, "198.51.100.1", 2 * LIMIT)
    assert statuses.count(422) == LIMIT and statuses.count(429) == LIMIT, statuses  # in memory: 2 × LIMIT pass
    assert statuses[LIMIT:] == [429] * LIMIT, statuses
    for url in workers:
        assert rate_limit(url) == (
            200,
            {"required": False, "ok": True, "storage": "redis", "shared": True, "error": None},
        )


def test_a_down_redis_leaves_each_worker_its_own_limit(
    workers: list[str], redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis_server.kill()
    try:
        statuses = spread(workers, "198.51.100.2", 2 * LIMIT + 2)
        # Each worker counts alone: LIMIT each pass, then each refuses.
        assert statuses == [422] * (2 * LIMIT) + [429, 429], statuses
        warnings = [r for r in caplog.records if r.name == "tutor.ratelimit" and r.levelno == logging.WARNING]
        assert len(warnings) == len(workers), [r.getMessage() for r in warnings]  # once per worker and outage
        for url in workers:
            status, limit = rate_limit(url)
            assert status == 200 and limit["shared"] is False and limit["ok"] is False and limit["error"], limit
        answer = httpx.post(
            f"{workers[0]}/api/chat",
            json={"message": "Faut-il passer un concours pour entrer à l'école test ?"},
            headers={"X-Forwarded-For": "198.51.100.3"},
            timeout=60,
        )
        assert answer.status_code == 200 and answer.json()["mode"] == "faq", answer.text
    finally:
        redis_server.start()
    for url in workers:  # /ready asks the storage afresh: sharing is back at once
        assert rate_limit(url)[1]["shared"] is True
    statuses = spread(workers, "198.51.100.4", 2 * LIMIT)
    assert statuses.count(422) == LIMIT, statuses

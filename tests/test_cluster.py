"""The whole path beyond one machine, on one machine: hosts as network namespaces on a bridge (tests/cluster.py),
one each for PostgreSQL, Redis, ``chroma run``, two ``app.py`` workers and nginx balancing over them.

What a school putting the bot on its site during an admission campaign relies on: a conversation goes on
whichever worker takes the next turn; the rate limit is per client, not per client and worker; an ingest beside
the workers is seen by all of them; and a worker killed under load loses no stored exchange while nginx routes
around it (only the requests in flight on it fail). Processes are the point, hence ``slow``; the figures are
printed (``pytest -s``)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.cluster import Deployment, Network, deploy, ingest, missing_parts
from tests.conftest import FIXTURE_KB, PROCESS_PROFILE
from tests.test_chroma_server import NEW_PAGE

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

LIMIT_PER_MINUTE = 120
THINK_S = 0.5  # between a client's turns, as a person reads: the load stays under each client's limit
OPENING = "Parle-moi de la formation de l'école test"
FOLLOW_UP = "et ça dure combien de temps ?"


@dataclass
class Cluster:
    deployment: Deployment
    network: Network
    root: Path
    kb: Path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    missing = missing_parts()
    if missing:
        reason = f"the simulated cluster needs {', '.join(missing)} (make test installs the packages as root)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("cluster")
    kb = root / "kb"
    shutil.copytree(FIXTURE_KB, kb)
    env = {
        "TUTOR_KB_DIR": str(kb),
        "TUTOR_RATE_LIMIT_PER_MINUTE": str(LIMIT_PER_MINUTE),
        "TUTOR_EMBEDDING_PROFILE": PROCESS_PROFILE,
        "OMP_NUM_THREADS": "1",
    }
    network, stack = Network(), ExitStack()
    try:
        yield Cluster(deploy(network, stack, root, 2, env), network, root, kb)
    finally:
        stack.close()  # PostgreSQL first: its host goes with the network
        network.close()


def stored_answers(database: str, session_ids: set[str]) -> set[str]:
    """The ids of the answers PostgreSQL holds for these conversations."""
    engine = create_engine(database)
    try:
        with engine.connect() as db:
            rows = db.execute(
                text("SELECT id, session_id FROM messages WHERE role = 'assistant'"),
            ).all()
    finally:
        engine.dispose()
    return {row.id for row in rows if row.session_id in session_ids}


def test_a_conversation_goes_on_whichever_worker_takes_the_next_turn(cluster: Cluster) -> None:
    first = httpx.post(f"{cluster.deployment.workers['w1']}/api/chat", json={"message": OPENING}, timeout=120).json()
    follow = httpx.post(
        f"{cluster.deployment.workers['w2']}/api/chat",
        json={"session_id": first["session_id"], "message": FOLLOW_UP},
        timeout=120,
    ).json()
    assert follow["session_id"] == first["session_id"], follow
    assert "12 mois" in follow["answer"], f"the second worker did not see the first turn: {follow}"
    assert stored_answers(cluster.deployment.database, {first["session_id"]}) == {
        first["message_id"],
        follow["message_id"],
    }


def test_the_rate_limit_holds_across_workers(cluster: Cluster, figure) -> None:
    """One client, 1.5 × the limit through the balancer, which spreads them over both workers: exactly the
    limit gets through (each worker alone would let the limit through, twice as many in all)."""
    address = cluster.network.client_address()
    served: dict[str, int] = {}
    statuses: list[int] = []
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30) as client:
        for _ in range(LIMIT_PER_MINUTE * 3 // 2):
            response = client.get(f"{cluster.deployment.balancer}/api/tutor/modules")
            statuses.append(response.status_code)
            upstream = response.headers.get("x-upstream", "?")
            served[upstream] = served.get(upstream, 0) + 1
    figure(f"rate limit {LIMIT_PER_MINUTE}/min: {statuses.count(200)} passed, {statuses.count(429)} refused, {served}")
    assert len(served) == 2, f"the balancer did not spread the requests over both workers: {served}"
    assert statuses.count(200) == LIMIT_PER_MINUTE and statuses.count(429) == LIMIT_PER_MINUTE // 2, statuses


def test_an_ingest_beside_the_workers_is_seen_by_all(cluster: Cluster) -> None:
    (cluster.kb / "ecole" / "stages.md").write_text(NEW_PAGE, encoding="utf-8")
    ingest(cluster.deployment.env, cluster.root / "ingest-data")
    for name, url in cluster.deployment.workers.items():
        answer = httpx.post(
            f"{url}/api/chat", json={"message": "Combien de temps dure le stage de fin de parcours ?"}, timeout=120
        ).json()
        assert "huit semaines" in answer["answer"], f"{name} did not see the ingest: {answer}"
        assert "ecole/stages" in [c["source_id"] for c in answer["citations"]], answer


@dataclass
class Load:
    """What the client threads saw, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: dict[str, str] = field(default_factory=dict)  # message id -> session id
    failed: list[tuple[float, str]] = field(default_factory=list)  # (when, what)
    after_kill_ok: int = 0
    turns: int = 0


def drive(balancer: str, address: str, load: Load, stop: threading.Event, killed_at: list[float]) -> None:
    """One client: conversations of three turns through the balancer, a pause after each, until ``stop``."""
    turns = [OPENING, FOLLOW_UP, "Quel diplôme obtient-on ?"]
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=120) as client:
        while not stop.is_set():
            session = None
            for message in turns:
                started = time.monotonic()
                try:
                    response = client.post(f"{balancer}/api/chat", json={"session_id": session, "message": message})
                    ok = response.status_code == 200
                    what = "" if ok else f"{response.status_code} {response.text[:100]}"
                except httpx.HTTPError as exc:
                    ok, what = False, repr(exc)
                with load.lock:
                    load.turns += 1
                    if ok:
                        body = response.json()
                        session = body["session_id"]
                        load.answered[body["message_id"]] = session
                        load.after_kill_ok += bool(killed_at and started > killed_at[0])
                    else:
                        load.failed.append((started, what))
                if not ok:
                    break
                stop.wait(THINK_S)


def test_a_worker_killed_under_load_loses_no_stored_exchange(cluster: Cluster, figure) -> None:
    clients = 6
    load, stop, killed_at = Load(), threading.Event(), []
    addresses = [cluster.network.client_address() for _ in range(clients)]
    threads = [
        threading.Thread(target=drive, args=(cluster.deployment.balancer, a, load, stop, killed_at)) for a in addresses
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(20)
    worker = cluster.deployment.processes["w1"]
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)  # dead and reaped: a request sent after this cannot have reached it
    killed_at.append(time.monotonic())
    time.sleep(25)
    stop.set()
    for thread in threads:
        thread.join(timeout=180)

    stored = stored_answers(cluster.deployment.database, set(load.answered.values()))
    lost = set(load.answered) - stored
    in_flight_failures = [f for f in load.failed if f[0] <= killed_at[0]]
    late_failures = [f for f in load.failed if f[0] > killed_at[0]]
    figure(
        f"cluster load: {load.turns} turns driven by {clients} clients, worker w1 killed at "
        f"{killed_at[0] - started:.1f} s, {len(load.failed)} requests failed ({len(late_failures)} sent after the "
        f"kill), {load.after_kill_ok} answered after the kill, exchanges lost = {len(lost)}"
    )
    assert not lost, f"{len(lost)} answered exchanges are not in PostgreSQL"
    assert len(in_flight_failures) <= clients, f"more failures than requests in flight at the kill: {load.failed}"
    assert not late_failures, f"requests sent after the kill failed: the balancer did not route around: {late_failures}"
    assert load.after_kill_ok >= clients, f"too few answers after the kill: {load.after_kill_ok}"

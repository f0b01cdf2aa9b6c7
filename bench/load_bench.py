"""Load test on loopback: concurrent multi-turn chat sessions against a real app, /health polled throughout.

    .venv/bin/python bench/load_bench.py [--clients 32] [--duration 60] [--data-dir DIR] [--out bench/results/load.json]

Starts a real ``python app.py`` on 127.0.0.1 over an existing index (``make index`` builds it). Each client holds
one conversation after another, three turns each, all under the ``session_id`` the server gave it: an opening
question never asked before in the process (a dev-set conversation opener with an opening or closing, see
``common.FreshQuestions``), that item's follow-up ("et ça dure combien de temps ?"), then another follow-up in the
same language. Turns alternate between ``/api/chat`` and ``/api/chat/stream`` (read to its ``done`` event).
Meanwhile a poller GETs ``/health`` every 0.5 s and records how long it took.

An error is any answer but 200, a transport error or timeout, a stream without its ``done`` event, or a
different ``session_id`` coming back. The per-client rate limit is off for the run (``common.running_app``):
every client shares one loopback address, so it would measure the limiter instead of the server.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import httpx
from common import RESULTS, ROOT, FreshQuestions, dev_items, machine, percentile, rss_mb, running_app

from evals.dataset import EvalItem

HEALTH_EVERY_S = 0.5
TIMEOUT_S = 60.0


@dataclass
class Tally:
    """What every thread reports, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    http_ms: dict[str, list[float]] = field(default_factory=lambda: {"/api/chat": [], "/api/chat/stream": []})
    server_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    conversations: int = 0
    health_ms: list[float] = field(default_factory=list)
    health_errors: int = 0
    peak_rss_mb: float = 0.0

    def ok(self, path: str, http_ms: float, server_ms: float) -> None:
        with self.lock:
            self.http_ms[path].append(http_ms)
            self.server_ms.append(server_ms)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1


def conversations(items: list[EvalItem]) -> tuple[FreshQuestions, list[EvalItem], dict[str, list[str]]]:
    """Openers (fresh each time), the follow-up items they belong to, and follow-ups per language."""
    follow_ups = [i for i in items if i.history and i.history[0].role == "user"]
    openers = [EvalItem(id=i.id, question=i.history[0].content, lang=i.lang) for i in follow_ups]
    by_lang: dict[str, list[str]] = {}
    for item in follow_ups:
        by_lang.setdefault(item.lang or "fr", []).append(item.question)
    return FreshQuestions(openers), follow_ups, by_lang


def turn(client: httpx.Client, url: str, path: str, message: str, session_id: str | None, tally: Tally) -> str | None:
    """One message; returns the session id to continue with (None after an error)."""
    started = time.perf_counter()
    body = {"message": message, **({"session_id": session_id} if session_id else {})}
    try:
        if path == "/api/chat":
            response = client.post(url + path, json=body)
            if response.status_code != 200:
                tally.error(f"{path} {response.status_code}")
                return None
            done = response.json()
        else:
            done = None
            with client.stream("POST", url + path, json=body) as response:
                if response.status_code != 200:
                    tally.error(f"{path} {response.status_code}")
                    return None
                event = ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event == "done":
                        done = json.loads(line.split(":", 1)[1])
            if done is None:
                tally.error(f"{path} stream ended without done")
                return None
    except httpx.HTTPError as exc:
        tally.error(f"{path} {type(exc).__name__}")
        return None
    if session_id and done["session_id"] != session_id:
        tally.error(f"{path} session id changed")
        return None
    tally.ok(path, (time.perf_counter() - started) * 1000, done["latency_ms"])
    return done["session_id"]


def run(url: str, pid: int, clients: int, duration: float, items: list[EvalItem]) -> tuple[Tally, float]:
    openers, follow_ups, by_lang = conversations(items)
    tally = Tally(peak_rss_mb=rss_mb(pid))
    numbers = count()
    deadline = time.monotonic() + duration

    def client_loop() -> None:
        with httpx.Client(timeout=TIMEOUT_S) as client:
            while time.monotonic() < deadline:
                n = next(numbers)
                item = follow_ups[n % len(follow_ups)]
                others = by_lang[item.lang or "fr"]
                messages = [next(openers), item.question, others[(n // len(follow_ups) + 1) % len(others)]]
                session_id = None
                for number, message in enumerate(messages):
                    if time.monotonic() >= deadline:
                        return
                    path = "/api/chat/stream" if (n + number) % 2 else "/api/chat"
                    session_id = turn(client, url, path, message, session_id, tally)
                    if session_id is None:
                        break
                else:
                    with tally.lock:
                        tally.conversations += 1

    def poll_health() -> None:
        with httpx.Client(timeout=TIMEOUT_S) as client:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    ok = client.get(f"{url}/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - started
                with tally.lock:
                    tally.health_ms.append(took * 1000)
                    tally.health_errors += not ok
                    tally.peak_rss_mb = max(tally.peak_rss_mb, rss_mb(pid))
                time.sleep(max(0.0, HEALTH_EVERY_S - took))

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    threads.append(threading.Thread(target=poll_health))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - started


def summary(tally: Tally, elapsed: float, clients: int, duration: float) -> dict:
    every = [ms for values in tally.http_ms.values() for ms in values]
    return {
        "clients": clients,
        "duration_s": duration,
        "elapsed_s": round(elapsed, 1),
        "requests": len(every),
        "errors": sum(tally.errors.values()),
        "error_kinds": dict(tally.errors),
        "conversations_completed": tally.conversations,
        "req_per_s": round(len(every) / elapsed, 1),
        "http_p50_ms": percentile(every, 0.5),
        "http_p95_ms": percentile(every, 0.95),
        "http_max_ms": round(max(every, default=0.0), 1),
        "server_p50_ms": percentile(tally.server_ms, 0.5),
        "server_p95_ms": percentile(tally.server_ms, 0.95),
        "by_endpoint": {
            path: {"requests": len(v), "p50_ms": percentile(v, 0.5), "p95_ms": percentile(v, 0.95)}
            for path, v in tally.http_ms.items()
        },
        "health": {
            "polls": len(tally.health_ms),
            "errors": tally.health_errors,
            "p50_ms": percentile(tally.health_ms, 0.5),
            "p95_ms": percentile(tally.health_ms, 0.95),
            "max_ms": round(max(tally.health_ms, default=0.0), 1),
        },
        "peak_rss_mb": tally.peak_rss_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent chat sessions")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    with running_app(args.data_dir) as app:
        result = {**machine(), "cold_start_to_ready_s": app.cold_start_s, "rss_at_rest_mb": rss_mb(app.pid)}
        tally, elapsed = run(app.url, app.pid, args.clients, args.duration, dev_items())
        result |= summary(tally, elapsed, args.clients, args.duration)
        result["load_average_after"] = machine()["load_average_1_5_15"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    health = result["health"]
    print(
        f"{result['machine']}, load averages before {result['load_average_1_5_15']}, "
        f"after {result['load_average_after']}\n"
    )
    print(
        "| clients × seconds | requests | errors | requests/s | HTTP p50 / p95 (ms) | server p50 / p95 (ms) "
        "| /health polls, worst (ms) | peak RSS (MB) |\n|---|---|---|---|---|---|---|---|"
    )
    print(
        f"| {args.clients} × {args.duration:g} | {result['requests']} | {result['errors']} | {result['req_per_s']} "
        f"| {result['http_p50_ms']} / {result['http_p95_ms']} | {result['server_p50_ms']} / "
        f"{result['server_p95_ms']} | {health['polls']}, {health['max_ms']} | {result['peak_rss_mb']} |"
    )
    if result["errors"] or health["errors"]:
        print(f"\nerrors: {result['error_kinds']}; /health errors: {health['errors']}")


if __name__ == "__main__":
    main()

"""Serving benchmark on loopback: cold start, answer latency per mode, first streamed token, throughput, memory.

    .venv/bin/python bench/serve_bench.py [--data-dir DIR] [--seconds 15] [--out bench/results/serve.json]

Starts a real ``python app.py`` on a free 127.0.0.1 port over an existing index (``make index`` builds it),
drives it with the dev set's questions, then stops it. Load is bounded in time and only sent to loopback.
The latency phase asks 150 questions once each; the first-token phase asks 40 others (so neither reuses the
query-vector cache). Throughput is measured twice at 1, 8 and 32 clients:
- **unique**: every request is a question never asked before in the server's process (a dev question with an
  opening or closing, see ``common.FreshQuestions``), so each one pays its query embedding — the honest figure;
- **cached**: the load cycles through the dev set's 260 questions, so after a first pass they mostly hit the
  query-vector cache — as repeated user questions do.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

import httpx
from common import RESULTS, ROOT, FreshQuestions, dev_items, machine, percentile, rss_mb, running_app


def latency_by_mode(url: str, asked: list[str]) -> dict:
    per_mode: dict[str, dict[str, list[float]]] = {}
    with httpx.Client(timeout=60) as client:
        for question in asked:
            started = time.perf_counter()
            body = client.post(f"{url}/api/chat", json={"message": question}).json()
            wall = (time.perf_counter() - started) * 1000
            mode = per_mode.setdefault(body["mode"], {"server": [], "http": []})
            mode["server"].append(body["latency_ms"])
            mode["http"].append(wall)
    return {
        mode: {
            "n": len(v["server"]),
            "server_p50_ms": percentile(v["server"], 0.5),
            "server_p95_ms": percentile(v["server"], 0.95),
            "http_p50_ms": percentile(v["http"], 0.5),
            "http_p95_ms": percentile(v["http"], 0.95),
        }
        for mode, v in sorted(per_mode.items())
    }


def first_token(url: str, asked: list[str]) -> dict:
    times = []
    with httpx.Client(timeout=60) as client:
        for question in asked:
            started = time.perf_counter()
            with client.stream("POST", f"{url}/api/chat/stream", json={"message": question}) as response:
                for line in response.iter_lines():
                    if line.startswith("event:") and "token" in line:
                        times.append((time.perf_counter() - started) * 1000)
                        break
    return {"n": len(times), "p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95)}


def load(url: str, next_question: Callable[[], str], clients: int, seconds: float, pid: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    peak = [rss_mb(pid)]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(timeout=60) as client:
            while time.monotonic() < deadline:
                question = next_question()
                started = time.perf_counter()
                try:
                    ok = client.post(f"{url}/api/chat", json={"message": question}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        errors[0] += 1

    def sample_memory() -> None:
        while time.monotonic() < deadline:
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.5)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    threads.append(threading.Thread(target=sample_memory))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors[0],
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": percentile(latencies, 0.5),
        "p95_ms": percentile(latencies, 0.95),
        "peak_rss_mb": peak[0],
    }


def cycling(asked: list[str]) -> Callable[[], str]:
    """The dev questions in turn, again and again (the query-vector cache hits after the first pass)."""
    counter = count()
    return lambda: asked[next(counter) % len(asked)]


LOAD_LABELS = {
    "unique": "unique questions (each one embedded)",
    "cached": "repeated dev questions (query-vector cache mostly hits)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each load level")
    parser.add_argument(
        "--load",
        choices=["unique", "cached", "both"],
        default="both",
        help="which throughput figures to measure (default: both, unique first)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "serve.json")
    args = parser.parse_args()
    items = dev_items()
    asked = [item.question for item in items]
    fresh = FreshQuestions(items)
    kinds = ["unique", "cached"] if args.load == "both" else [args.load]
    with running_app(args.data_dir) as app:
        result = {
            "cold_start_to_ready_s": app.cold_start_s,
            "rss_at_rest_mb": rss_mb(app.pid),
            "latency_by_mode": latency_by_mode(app.url, asked[:150]),
            "first_token": first_token(app.url, asked[150:190]),
            "load": {
                kind: [
                    load(
                        app.url, fresh.__next__ if kind == "unique" else cycling(asked), clients, args.seconds, app.pid
                    )
                    for clients in (1, 8, 32)
                ]
                for kind in kinds
            },
            **machine(),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"{result['machine']}, load averages {result['load_average_1_5_15']}\n")
    print(
        f"cold start to /ready: {result['cold_start_to_ready_s']} s; RSS at rest {result['rss_at_rest_mb']} MB; "
        f"first streamed token p50/p95 {result['first_token']['p50_ms']}/{result['first_token']['p95_ms']} ms\n"
    )
    print("| mode | n | server p50 / p95 (ms) | HTTP p50 / p95 (ms) |\n|---|---|---|---|")
    for mode, row in result["latency_by_mode"].items():
        print(
            f"| {mode} | {row['n']} | {row['server_p50_ms']} / {row['server_p95_ms']} | "
            f"{row['http_p50_ms']} / {row['http_p95_ms']} |"
        )
    print("\n| load | clients | requests/s | p50 / p95 (ms) | errors | peak RSS (MB) |\n|---|---|---|---|---|---|")
    for kind, rows in result["load"].items():
        for row in rows:
            print(
                f"| {LOAD_LABELS[kind]} | {row['clients']} | {row['req_per_s']} | {row['p50_ms']} / {row['p95_ms']} "
                f"| {row['errors']} | {row['peak_rss_mb']} |"
            )


if __name__ == "__main__":
    main()

"""Serving benchmark on loopback: cold start, answer latency per mode, first streamed token, throughput, memory.

    .venv/bin/python bench/serve_bench.py [--data-dir DIR] [--seconds 15] [--out bench/results/serve.json]

Starts a real ``python app.py`` on a free 127.0.0.1 port over an existing index (``make index`` builds it),
drives it with the dev set's questions, then stops it. Load is bounded in time and only sent to loopback.
The latency phase asks 150 questions once each; the first-token phase asks 40 others (so neither reuses the
query-vector cache); the load phases cycle through all 260, so after a first pass they mostly hit that cache —
as repeated user questions do.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def questions() -> list[str]:
    lines = (ROOT / "evals" / "datasets" / "dev.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


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
    return {mode: {"n": len(v["server"]), "server_p50_ms": percentile(v["server"], 0.5),
                   "server_p95_ms": percentile(v["server"], 0.95), "http_p50_ms": percentile(v["http"], 0.5),
                   "http_p95_ms": percentile(v["http"], 0.95)} for mode, v in sorted(per_mode.items())}


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


def load(url: str, asked: list[str], clients: int, seconds: float, pid: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    peak = [rss_mb(pid)]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        with httpx.Client(timeout=60) as client:
            i = offset
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    ok = client.post(f"{url}/api/chat", json={"message": asked[i % len(asked)]}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    if ok:
                        latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        errors[0] += 1
                i += clients

    def sample_memory() -> None:
        while time.monotonic() < deadline:
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.5)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    threads.append(threading.Thread(target=sample_memory))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"clients": clients, "requests": len(latencies), "errors": errors[0],
            "req_per_s": round(len(latencies) / elapsed, 1), "p50_ms": percentile(latencies, 0.5),
            "p95_ms": percentile(latencies, 0.95), "peak_rss_mb": peak[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each load level")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "serve.json")
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TUTOR_DATA_DIR": str(args.data_dir)}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if server.poll() is not None:
                sys.exit("the app exited during start-up")
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        cold_start = round(time.perf_counter() - started, 1)
        asked = questions()
        result = {"cold_start_to_ready_s": cold_start, "rss_at_rest_mb": rss_mb(server.pid),
                  "latency_by_mode": latency_by_mode(url, asked[:150]), "first_token": first_token(url, asked[150:190]),
                  "load": [load(url, asked, clients, args.seconds, server.pid) for clients in (1, 8, 32)],
                  "cpus": os.cpu_count()}
    finally:
        server.terminate()
        server.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"cold start to /ready: {result['cold_start_to_ready_s']} s; RSS at rest {result['rss_at_rest_mb']} MB; "
          f"first streamed token p50/p95 {result['first_token']['p50_ms']}/{result['first_token']['p95_ms']} ms\n")
    print("| mode | n | server p50 / p95 (ms) | HTTP p50 / p95 (ms) |\n|---|---|---|---|")
    for mode, row in result["latency_by_mode"].items():
        print(f"| {mode} | {row['n']} | {row['server_p50_ms']} / {row['server_p95_ms']} | "
              f"{row['http_p50_ms']} / {row['http_p95_ms']} |")
    print("\n| clients | requests/s | p50 / p95 (ms) | errors | peak RSS (MB) |\n|---|---|---|---|---|")
    for row in result["load"]:
        print(f"| {row['clients']} | {row['req_per_s']} | {row['p50_ms']} / {row['p95_ms']} | {row['errors']} "
              f"| {row['peak_rss_mb']} |")


if __name__ == "__main__":
    main()

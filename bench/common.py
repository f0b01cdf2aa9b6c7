"""What the benchmarks share: the machine they ran on, percentiles, a real app on loopback, fresh questions.

Imported by the scripts of this folder (run as ``.venv/bin/python bench/NAME.py``, which puts this folder on
``sys.path``).
"""

from __future__ import annotations

import itertools
import os
import platform
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from evals.dataset import EvalItem, load_dataset

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT / "evals" / "datasets" / "dev.jsonl"
RESULTS = ROOT / "bench" / "results"


def machine() -> dict:
    """Where a figure was measured, and how busy the machine was (it is shared: load averages matter)."""
    return {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {os.cpu_count()} cores",
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def dev_items() -> list[EvalItem]:
    return load_dataset(DEV_SET)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class App:
    url: str
    pid: int
    cold_start_s: float  # process start to the first 200 from /ready


@contextmanager
def running_app(data_dir: Path) -> Iterator[App]:
    """A real ``python app.py`` on a free 127.0.0.1 port over the index in ``data_dir``, stopped on exit.

    The per-client rate limit is off: every benchmark client shares one loopback address, so it would measure
    the limiter instead of the server."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TUTOR_DATA_DIR": str(data_dir), "TUTOR_RATE_LIMIT_PER_MINUTE": "0"}
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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
        yield App(url, server.pid, round(time.perf_counter() - started, 1))
    finally:
        server.terminate()
        server.wait(timeout=30)


# Openings and closings people add around a question. A dev question with one of them is a string the app has
# never embedded, so its query-vector cache misses, yet it still reads as the same question in its language.
_AROUND = {
    "fr": (
        ["", "Bonjour ! ", "Petite question. ", "Je me renseigne. ", "Dites-moi. ", "Une question svp. "],
        ["", " Merci.", " Merci d'avance !", " Pouvez-vous m'aider ?", " C'est pour un ami."],
    ),
    "en": (
        ["", "Hello! ", "Quick question. ", "I am looking into this. ", "Tell me. ", "One question please. "],
        ["", " Thanks.", " Thanks in advance!", " Can you help?", " Asking for a friend."],
    ),
}


class FreshQuestions:
    """An endless, thread-safe supply of questions never asked before in the app's process: the dev questions
    with an opening and/or closing (29 pairs per language, so 29 x 260 variants), then with a round number."""

    def __init__(self, items: list[EvalItem]) -> None:
        self._lock = threading.Lock()
        self._supply = self._generate(items)

    @staticmethod
    def _generate(items: list[EvalItem]) -> Iterator[str]:
        for round_ in itertools.count(1):
            tag = "" if round_ == 1 else f" ({round_})"
            for pair in range(1, len(_AROUND["fr"][0]) * len(_AROUND["fr"][1])):
                for item in items:
                    openings, closings = _AROUND[item.lang or "fr"]
                    opening, closing = openings[pair // len(closings)], closings[pair % len(closings)]
                    yield f"{opening}{item.question}{closing}{tag}"

    def __next__(self) -> str:
        with self._lock:
            return next(self._supply)

    def __iter__(self) -> FreshQuestions:
        return self

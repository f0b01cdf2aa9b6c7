"""A cluster simulated on one machine, for tests/test_cluster.py and bench/cluster_bench.py.

Each host is a network namespace (``ip netns``) with its own address on one bridge, as machines on one LAN: a
process bound to a host's address is reachable from the others only through the bridge, and a worker killed on
its host takes nothing else with it. The services are the real ones, from Debian's packages and the project's
own files: PostgreSQL, Redis, ``chroma run``, ``python app.py`` workers and nginx as the load balancer.
Needs root (namespaces, veth pairs, a bridge) and Debian's postgresql, redis-server and nginx (``make test``'s
``cluster-deps`` target installs them).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.config import PROJECT_ROOT
from tests import postgres
from tests.postgres import postgres_server

START_TIMEOUT_S = 300
CHROMA = Path(sys.executable).parent / "chroma"


class ClusterUnavailable(RuntimeError):
    """What this machine lacks to build the cluster (not root, or a service's package missing)."""


def missing_parts() -> list[str]:
    """Why a cluster cannot be built here; empty when it can."""
    missing = [] if os.geteuid() == 0 else ["root (network namespaces)"]
    missing += [tool for tool in ("ip", "nginx", "redis-server", "runuser") if shutil.which(tool) is None]
    if postgres.binaries() is None:
        missing.append("postgresql")
    return missing


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True)


@dataclass
class Host:
    """One machine of the cluster: a namespace with one address on the bridge."""

    name: str
    ip: str
    netns: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Run ``argv`` on this host (its output in ``log``); it is stopped with the cluster."""
        with log.open("a") as out:
            process = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, *argv],
                cwd=PROJECT_ROOT,
                env={**os.environ, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process


class Network:
    """A bridge in this namespace and one namespace per host on it; the test's own process is on the bridge
    too (its first address), as an outside client would be."""

    def __init__(self, subnet: str = "10.77.0") -> None:
        self.tag = secrets.token_hex(2)
        self.subnet = subnet
        self.bridge = f"tbr{self.tag}"
        self.gateway = f"{subnet}.1"
        self.hosts: list[Host] = []
        self.client_addresses: list[str] = []
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")

    def host(self, name: str) -> Host:
        number = len(self.hosts) + 10
        host = Host(name, f"{self.subnet}.{number}", f"t{self.tag}-{name}")
        veth = f"tv{self.tag}{number}"
        _run("ip", "netns", "add", host.netns)
        _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", host.netns)
        _run("ip", "link", "set", veth, "master", self.bridge)
        _run("ip", "link", "set", veth, "up")
        _run("ip", "netns", "exec", host.netns, "ip", "addr", "add", f"{host.ip}/24", "dev", "eth0")
        _run("ip", "netns", "exec", host.netns, "ip", "link", "set", "eth0", "up")
        _run("ip", "netns", "exec", host.netns, "ip", "link", "set", "lo", "up")
        self.hosts.append(host)
        return host

    def client_address(self) -> str:
        """Another address of the test's own process on the bridge: a client of its own, for the rate limit."""
        address = f"{self.subnet}.{200 + len(self.client_addresses)}"
        _run("ip", "addr", "add", f"{address}/24", "dev", self.bridge)
        self.client_addresses.append(address)
        return address

    def close(self) -> None:
        for host in self.hosts:
            for process in host.processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in host.processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            subprocess.run(["ip", "netns", "del", host.netns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)


def wait_until(check, what: str, process: subprocess.Popen, log: Path, timeout: float = START_TIMEOUT_S) -> None:
    """Poll ``check`` until it is true; fail with the log's tail if ``process`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if check():
                return
        except (httpx.TransportError, OSError, subprocess.CalledProcessError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{what} not up after {timeout} s:\n{log.read_text()[-3000:]}")


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=3).status_code == 200


def start_redis(host: Host, root: Path, port: int = 6379) -> str:
    log = root / "redis.log"
    argv = ["redis-server", "--bind", host.ip, "--port", str(port), "--save", "", "--appendonly", "no"]
    process = host.start([*argv, "--protected-mode", "no"], log)

    def answers() -> bool:
        import socket

        with socket.create_connection((host.ip, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    wait_until(answers, "redis", process, log)
    return f"redis://{host.ip}:{port}/0"


def start_chroma(host: Host, root: Path, port: int = 8000) -> str:
    log = root / "chroma.log"
    argv = [str(CHROMA), "run", "--path", str(root / "chroma"), "--host", host.ip, "--port", str(port)]
    process = host.start(argv, log)
    url = f"http://{host.ip}:{port}"
    wait_until(lambda: http_ok(f"{url}/api/v2/heartbeat"), "chroma", process, log)
    return url


def start_worker(host: Host, root: Path, env: dict[str, str], port: int = 7860) -> subprocess.Popen:
    """``python app.py`` on ``host``, with a data folder of its own (the shared state is in the services)."""
    data = root / f"data-{host.name}"
    data.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "app.py", "--host", host.ip, "--port", str(port)]
    return host.start(argv, root / f"{host.name}.log", {**env, "TUTOR_DATA_DIR": str(data)})


def wait_for_worker(host: Host, process: subprocess.Popen, root: Path, port: int = 7860) -> str:
    url = f"http://{host.ip}:{port}"
    wait_until(lambda: http_ok(f"{url}/ready"), f"worker {host.name}", process, root / f"{host.name}.log")
    return url


NGINX_CONF = """
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
  access_log {root}/nginx-access.log;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  upstream workers {{
{servers}
  }}
  server {{
    listen {ip}:{port};
    location / {{
      proxy_pass http://workers;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_connect_timeout 2s;
      # A worker that refuses the connection is skipped (even for a POST: nothing was sent to it); a request
      # already sent to a worker that dies is not replayed on another, which could store it twice.
      proxy_next_upstream error timeout http_502 http_503;
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


def start_nginx(host: Host, root: Path, workers: Sequence[str], port: int = 80) -> str:
    """nginx on ``host`` balancing over ``workers`` (``ip:port``). Open-source nginx checks health passively: a
    worker that fails a connection is set aside for ``fail_timeout``; ``/ready`` is for the orchestrator that
    starts workers (docs/deployment.md)."""
    servers = "\n".join(f"    server {worker} max_fails=1 fail_timeout=30s;" for worker in workers)
    root.mkdir(parents=True, exist_ok=True)
    conf = root / "nginx.conf"
    user = "user root;" if os.geteuid() == 0 else ""
    conf.write_text(NGINX_CONF.format(root=root, servers=servers, ip=host.ip, port=port, user=user))
    log = root / "nginx.log"
    process = host.start(["nginx", "-c", str(conf), "-p", str(root), "-g", "daemon off;"], log)
    url = f"http://{host.ip}:{port}"
    wait_until(lambda: http_ok(f"{url}/health"), "nginx", process, log)
    return url


@dataclass
class Deployment:
    """The cluster as its clients and the test see it."""

    balancer: str  # nginx's URL
    workers: dict[str, str]  # host name -> the worker's URL (to bypass the balancer)
    processes: dict[str, subprocess.Popen]  # host name -> the worker's process
    env: dict[str, str]  # what every worker and ingest got

    @property
    def database(self) -> str:
        return self.env["TUTOR_DATABASE_URL"]


def ingest(env: dict[str, str], data_dir: Path) -> None:
    """``ingest.py`` from outside the workers' hosts, into the Chroma server, as an ingest job would run."""
    result = subprocess.run(
        [sys.executable, "ingest.py"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env, "TUTOR_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ingest failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def deploy(network: Network, stack: ExitStack, root: Path, workers: int, env: dict[str, str]) -> Deployment:
    """PostgreSQL, Redis and a Chroma server on hosts of their own, ``env``'s knowledge base ingested into it,
    ``workers`` app workers, nginx over them. PostgreSQL stops with ``stack``; everything else with ``network``.
    ``root/chroma`` and ``root/ingest-data`` are kept between deployments on one ``root``: a second one ingests
    nothing new."""
    bin_dir = postgres.binaries()
    if bin_dir is None:
        raise ClusterUnavailable("postgresql is not installed")
    db, cache, vectors, lb = (network.host(name) for name in ("db", "redis", "chroma", "lb"))
    env = {
        **env,
        "TUTOR_DATABASE_URL": stack.enter_context(postgres_server(bin_dir, 5432, db.ip, db.netns)),
        "TUTOR_RATE_LIMIT_STORAGE": start_redis(cache, root),
        "TUTOR_CHROMA_URL": start_chroma(vectors, root),
        "TUTOR_FORWARDED_ALLOW_IPS": lb.ip,
    }
    ingest(env, root / "ingest-data")
    hosts = [network.host(f"w{n}") for n in range(1, workers + 1)]
    processes = {host.name: start_worker(host, root, env) for host in hosts}
    urls = {host.name: wait_for_worker(host, processes[host.name], root) for host in hosts}
    balancer = start_nginx(lb, root / "nginx", [f"{host.ip}:7860" for host in hosts])
    return Deployment(balancer, urls, processes, env)

"""A real PostgreSQL for the store tests (never a mock): Debian's server binaries, a throw-away cluster in a
temporary folder (its socket there too) on a free port, fsync off (the data dies with the test session).

initdb refuses to run as root: as root, the cluster belongs to the ``postgres`` user the Debian package
creates, and its commands run through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

INSTALL = "apt-get install postgresql"
SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def binaries() -> Path | None:
    """The newest installed server's bin folder (``/usr/lib/postgresql/VERSION/bin``), if any."""
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found = [folder for folder in found if (folder / "pg_ctl").exists() and folder.parent.name.isdigit()]
    return max(found, key=lambda path: int(path.parent.name), default=None)


def _owner_prefix(root: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    owner = pwd.getpwnam("postgres")
    os.chown(root, owner.pw_uid, owner.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server(bin_dir: Path, port: int, address: str = "127.0.0.1", netns: str | None = None) -> Iterator[str]:
    """Start a cluster listening on ``address`` (in the network namespace ``netns``, if given: a host of
    tests/cluster.py, open without password to that host's /24, a network only the test reaches), create the
    ``tutor`` database, yield its SQLAlchemy URL; stop and delete it after."""
    root = Path(tempfile.mkdtemp(prefix="tutor-pg-"))
    run_as = _owner_prefix(root)
    data, log = root / "data", root / "server.log"
    pg_ctl = [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data)]
    on_host = ["ip", "netns", "exec", netns] if netns else []
    options = f"-p {port} -k {root} -c listen_addresses={address} {SERVER_OPTIONS}"
    try:
        subprocess.run(
            [*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N"],
            check=True,
            capture_output=True,
        )
        if netns:
            with (data / "pg_hba.conf").open("a") as hba:
                hba.write(f"host all all {address.rsplit('.', 1)[0]}.0/24 trust\n")
        started = subprocess.run(
            [*on_host, *pg_ctl, "-l", str(log), "-w", "-t", "60", "-o", options, "start"],
            capture_output=True,
            text=True,
        )
        if started.returncode:
            raise RuntimeError(f"PostgreSQL did not start: {started.stdout}{started.stderr}{_tail(log)}")
        with psycopg.connect(host=address, port=port, user="postgres", dbname="postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE tutor")
        yield f"postgresql+psycopg://postgres@{address}:{port}/tutor"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def fresh_schema(url: str) -> str:
    """A URL whose tables live in a new, empty schema of the test database: a test of its own in
    milliseconds (a new database takes far longer), on the one server of the test session."""
    name = f"t_{uuid.uuid4().hex}"
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {name}")
    return f"{url}?options=-csearch_path%3D{name}"

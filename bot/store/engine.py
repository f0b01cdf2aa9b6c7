"""One SQLAlchemy engine per store URL, with what each engine needs to behave like the other.

SQLite: WAL (the API reads while another request writes), foreign keys on (SQLite leaves them off; the
cascades from sessions to messages depend on them), ``secure_delete`` (erased rows are overwritten, not
left in free pages), and write transactions that take the write lock at ``BEGIN`` (``BEGIN IMMEDIATE``): a
transaction that reads then writes would otherwise fail at once with "database is locked" when another
process wrote in between, instead of waiting its turn. PostgreSQL (psycopg 3) needs none of this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

READ_ONLY = "tutor_read_only"  # execution option: a SQLite transaction that only reads starts deferred
BUSY_TIMEOUT_S = 30  # how long a SQLite writer waits for another one before it gives up


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def open_engine(url: str) -> Engine:
    """The engine for ``url``; a SQLite file's folder is created (a fresh data folder)."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False})
    if engine.url.database and engine.url.database != ":memory:":
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below says how a transaction starts
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "secure_delete=ON"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def _begin_sqlite(connection: Connection) -> None:
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

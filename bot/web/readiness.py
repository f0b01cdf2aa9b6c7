"""What ``/ready`` checks, one entry per dependency: whether it answers now, and whether the app can answer
without it (``required``).

The app cannot answer without the vector store (every chat turn searches it) nor the database (every turn
is stored, and follow-ups read the history): either down fails the check, and the load balancer sends the
traffic elsewhere. It can without the LLM (the no-LLM modes answer; as before, reported only) and without a
shared rate-limit storage (each worker then limits alone: ``bot.web.middleware.ratelimit``). Each check is
asked afresh at every call, cheaply: a count of the passages, a query that reads the
database's schema, a read of one key.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from bot.runtime import Runtime
from bot.web.middleware.ratelimit import ClientLimits

Check = dict[str, Any]
ERROR_CHARS = 300
# A read of the store's first table, no row: on PostgreSQL, a round trip on a working connection; on SQLite,
# where ``SELECT 1`` reads no page and succeeds on any file, a read of the file's schema.
DATABASE_PROBE = "SELECT 1 FROM sessions WHERE 1 = 0"


def _reason(exc: Exception) -> str:
    """The error's kind and first line: enough to act on, short enough for a health-check log."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:ERROR_CHARS]


def _vector_store(runtime: Runtime) -> Check:
    index = runtime.service().index
    check: Check = {"required": True, "kind": index.vector_store}
    try:
        return {**check, "ok": True, "passages": index.count(), "error": None}
    except Exception as exc:  # a Chroma server that went away, a broken store: reported, never raised
        return {**check, "ok": False, "passages": None, "error": _reason(exc)}


def _database(runtime: Runtime) -> Check:
    try:
        runtime.store.query(DATABASE_PROBE)
    except Exception as exc:  # the database closed, unreachable or refusing us
        return {"required": True, "ok": False, "error": _reason(exc)}
    return {"required": True, "ok": True, "error": None}


def _llm(runtime: Runtime) -> Check:
    service = runtime.service()
    return {
        "required": False,
        "ok": service.llm_error is None,
        "backend": service.llm_backend,
        "error": service.llm_error,
    }


async def dependencies(runtime: Runtime, limits: ClientLimits | None) -> dict[str, Check]:
    """Each dependency's check (the app must be started: ``runtime.ready``). The blocking ones run in a
    worker thread, off the event loop that serves every other request."""
    checks: dict[str, Check] = await run_in_threadpool(
        lambda: {"vector_store": _vector_store(runtime), "database": _database(runtime)}
    )
    rate_limit = (
        await limits.status() if limits else {"ok": True, "storage": None, "shared": False, "error": None}
    )  # None: no rate limit (rate_limit_per_minute=0)
    checks["rate_limit"] = {"required": False, **rate_limit}
    checks["llm"] = _llm(runtime)
    return checks


def answerable(checks: dict[str, Check]) -> bool:
    """Whether every dependency the app cannot answer without answers."""
    return all(check["ok"] for check in checks.values() if check["required"])

"""Requests per minute per client on the chat-like routes: the expensive ones (an embedding, a search, maybe an
LLM call each), which one script could otherwise monopolise.

The client is the connecting address (behind a trusted proxy, the one its ``X-Forwarded-For`` names: see
``forwarded_allow_ips``). The window moves (``limits``' moving-window strategy), so there is no burst at a
minute's edge. Counts live where ``rate_limit_storage`` says: this process's memory by default (with several
workers each counts its own share), or a storage the workers share (Redis), so that the limit is per client
and not per client and worker.

A shared storage that does not answer must not take the chat down with it: the worker then counts in its own
memory (the limit holds per worker, as with the default), warns once per outage, tries the shared storage
again every ``SHARED_RETRY_S`` seconds (and at each ``/ready``), and says so in ``/ready``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("tutor.ratelimit")
SHARED_RETRY_S = 30.0
# A request waits on the shared storage this long at most before its worker counts alone: connection refused
# is immediate, a host that went silent costs this (twice: one retry) once per SHARED_RETRY_S.
STORAGE_TIMEOUT_S = 1.0
REDIS_OPTIONS: dict[str, Any] = {
    "implementation": "redispy",  # redis-py, a dependency; limits' default async client (coredis) is not
    "socket_connect_timeout": STORAGE_TIMEOUT_S,
    "socket_timeout": STORAGE_TIMEOUT_S,
    "retry": Retry(NoBackoff(), 1),  # once, at once: a connection that died with a restarted Redis
}
PROBE_KEY = "ready-probe"


def _shared_limiter(uri: str) -> MovingWindowRateLimiter | None:
    """The limiter on the shared storage ``uri`` names; None for ``memory://`` (nothing shared). A URI that
    names no storage ``limits`` knows, or one whose client is not installed, fails here, at start-up."""
    scheme = urlsplit(uri).scheme.removeprefix("async+")
    if scheme == "memory":
        return None
    options: dict[str, Any] = {"wrap_exceptions": True}
    if scheme.startswith(("redis", "rediss", "valkey")):
        options |= REDIS_OPTIONS
    storage = storage_from_string(uri if uri.startswith("async+") else f"async+{uri}", **options)
    return MovingWindowRateLimiter(storage)


class ClientLimits:
    """The per-client budget of one worker: on the shared storage while it answers, in this worker's memory
    when it does not (or when none is configured)."""

    def __init__(
        self,
        per_minute: int,
        storage: str,
        retry_s: float = SHARED_RETRY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.item = RateLimitItemPerMinute(per_minute)
        self.storage = urlsplit(storage).scheme.removeprefix("async+")
        self.shared = _shared_limiter(storage)
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.error: str | None = None  # why the shared storage is not in use now
        self.retry_s, self.clock = retry_s, clock
        self._retry_at = 0.0

    @property
    def sharing(self) -> bool:
        return self.shared is not None and self.error is None

    async def wait_s(self, client: str) -> int | None:
        """Count a request of ``client``: None when it may go on, else the seconds until it may."""
        if self.shared is not None and (self.error is None or self.clock() >= self._retry_at):
            try:
                wait = await self._count(self.shared, client)
            except StorageError as exc:
                self._down(exc)
            else:
                self._up()
                return wait
        return await self._count(self.local, client)

    async def _count(self, limiter: MovingWindowRateLimiter, client: str) -> int | None:
        if await limiter.hit(self.item, client):
            return None
        reset_at, _ = await limiter.get_window_stats(self.item, client)
        return max(1, math.ceil(reset_at - time.time()))

    def _down(self, exc: Exception) -> None:
        if self.error is None:
            log.warning(
                "shared rate-limit storage (%s) unreachable: each worker limits alone until it answers "
                "(tried again every %d s): %s",
                self.storage,
                self.retry_s,
                exc,
            )
        self.error = str(exc) or type(exc).__name__
        self._retry_at = self.clock() + self.retry_s

    def _up(self) -> None:
        if self.error is not None:
            log.info("shared rate-limit storage (%s) answers again: limits are shared again", self.storage)
            self.error = None

    async def status(self) -> dict[str, Any]:
        """For ``/ready``: which storage, whether it is shared now (asked afresh: a read of a probe key), and
        why not. Never fails the check: a down shared storage costs only the sharing."""
        if self.shared is not None:
            try:
                await self.shared.get_window_stats(self.item, PROBE_KEY)
            except StorageError as exc:
                self._down(exc)
            else:
                self._up()
        return {"ok": self.error is None, "storage": self.storage, "shared": self.sharing, "error": self.error}


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: ClientLimits, paths: list[str]) -> None:
        self.app, self.limits, self.paths = app, limits, tuple(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        wait = await self.limits.wait_s(client)
        if wait is None:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"detail": f"too many requests: at most {self.limits.item.amount} a minute per client; retry in {wait} s"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)

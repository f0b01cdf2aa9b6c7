"""Requests per minute per client on the chat-like routes: the expensive ones (an embedding, a search, maybe an
LLM call each), which one script could otherwise monopolise.

The client is the connecting address (behind a trusted proxy, the one its ``X-Forwarded-For`` names: see
``forwarded_allow_ips``). The window moves (``limits``' moving-window strategy), so there is no burst at a
minute's edge. Counts live in this process's memory: with several workers each counts its own share.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, per_minute: int, paths: list[str]) -> None:
        self.app, self.paths = app, tuple(paths)
        self.item = RateLimitItemPerMinute(per_minute)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        if await self.limiter.hit(self.item, client):
            await self.app(scope, receive, send)
            return
        reset_at, _ = await self.limiter.get_window_stats(self.item, client)
        wait = max(1, math.ceil(reset_at - time.time()))
        response = JSONResponse(
            {"detail": f"too many requests: at most {self.item.amount} a minute per client; retry in {wait} s"},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)

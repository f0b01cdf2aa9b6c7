"""One id per request, in its response's ``X-Request-ID`` and in every log line emitted while it is handled,
so that one turn can be followed through the logs of a worker (and across a proxy that sets the header).

A client's or proxy's ``X-Request-ID`` is kept when it is short and plain (``REQUEST_ID_PATTERN``): anything
else is replaced, so that a header cannot forge log lines or carry text into them.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.logs import REQUEST_ID

HEADER = b"x-request-id"
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9-]{1,64}")


def request_id(scope: Scope) -> str:
    """The request's own id when it has a valid one, else a fresh one."""
    for name, value in scope.get("headers", []):
        if name.lower() == HEADER:
            given = value.decode("latin-1")
            if REQUEST_ID_PATTERN.fullmatch(given):
                return given
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        token = REQUEST_ID.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)

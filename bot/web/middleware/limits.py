"""Request bodies are checked once, before any route sees them, so that every route (today's and tomorrow's)
gets the same limits without a line of its own.

- Size: a body over the limit is refused with 413 before it is parsed. JSON API routes (``/api/*``, ``/v1/*``)
  get ``max_body_bytes``; the Gradio pages get ``max_ui_body_bytes``, larger because the chat page sends the
  whole conversation back with every question.
- Type: a body sent to a JSON API route must be ``application/json`` (415 otherwise) and valid UTF-8 (400).
- Control characters: every string of a JSON body (UI requests included) loses its control characters other
  than tab, line feed and carriage return, and any lone UTF-16 surrogate (``"\\ud800"`` in JSON). They are
  invisible, a pasted text can carry them by accident, and neither a NUL nor a surrogate may reach SQLite or
  the index: stripping keeps the question, while a message left empty is then refused as empty by its route.
- Malformed JSON and wrong field types are left to FastAPI's validation (422 naming the field).

FastAPI's own ``max_body_size`` would count the same bytes a second time: this middleware reads the body
anyway, for the checks above.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIXES = ("/api/", "/v1/")
BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class RejectedBody(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def require_max_chars(text: str, limit: int, what: str = "message") -> None:
    """The message-length rule of every chat-like route (422 naming the limit)."""
    if len(text) > limit:
        raise HTTPException(422, f"{what} is too long ({len(text)} characters, at most {limit})")


def strip_invisible(value: Any) -> Any:
    """``value`` (parsed JSON) with control characters and lone surrogates removed from every string."""
    if isinstance(value, str):
        return _INVISIBLE.sub("", value)
    if isinstance(value, list):
        return [strip_invisible(item) for item in value]
    if isinstance(value, dict):
        return {strip_invisible(key): strip_invisible(item) for key, item in value.items()}
    return value


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def clean_body(body: bytes, content_type: str, api: bool) -> bytes:
    """The body the routes will see, or ``RejectedBody`` saying why there is none."""
    if not body:
        return body
    if not _is_json(content_type):
        if api:
            raise RejectedBody(
                415, f"expected a JSON body (Content-Type: application/json), got '{content_type or 'none'}'"
            )
        return body
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RejectedBody(400, f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        parsed = json.loads(text)
        cleaned = strip_invisible(parsed)
    except RecursionError:
        raise RejectedBody(400, "the JSON body is nested too deeply") from None
    except ValueError:
        return body  # FastAPI answers malformed JSON with a 422 that says where
    return body if cleaned == parsed else json.dumps(cleaned, ensure_ascii=False).encode()


class BodyLimitMiddleware:
    """Reads a request's body (at most the limit), checks and cleans it, then replays it to the app."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_ui_body_bytes: int) -> None:
        self.app, self.max_body_bytes, self.max_ui_body_bytes = app, max_body_bytes, max_ui_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith(API_PREFIXES)
        limit = self.max_body_bytes if api else self.max_ui_body_bytes
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await self._read(receive, limit, headers.get("content-length"))
            body = clean_body(body, headers.get("content-type", ""), api)
        except RejectedBody as exc:
            await JSONResponse({"detail": exc.detail}, status_code=exc.status)(scope, receive, send)
            return
        scope = {
            **scope,
            "headers": [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
            + [(b"content-length", str(len(body)).encode())],
        }
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _read(receive: Receive, limit: int, declared: str | None) -> bytes:
        too_big = RejectedBody(413, f"the request body is larger than {limit} bytes")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RejectedBody(400, "the client disconnected while sending the body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body once, then the real channel (streaming routes listen on it for the client going away)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay

"""Counts the HTTP requests the app routes (``tutor_http_requests_total``) and times them
(``tutor_http_request_duration_seconds``), labelled by the route's *template*, never the raw path.

A raw path carries ids (``/api/sessions/Zx81…``): as a label it would leak them and grow one series per
session. An API route gives its path template (read after the request, where the router recorded the route it
chose); a mounted app (the Gradio pages at ``/`` and ``/staff``) one label, ``gradio``, whatever page or asset
it serves (decided before the request runs, as the router will decide); a path nothing matches, ``other``.

Installed innermost in ``create_app`` (before ``protect``): the body check hands the app a copy of the
request's scope, and the router records its route in the scope it is given, so only the innermost middleware
sees it. A request the protections answer themselves (a 413, a 429, a slash's redirect) is therefore not
counted here. A stream is timed to its last byte.
"""

from __future__ import annotations

import time

from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.metrics import OTHER_ROUTE, AppMetrics

MOUNT_ROUTE = "gradio"


def mounted(routes: list[BaseRoute], scope: Scope) -> bool:
    """Whether the app's router hands ``scope`` to a mounted app (Gradio) rather than to one of its routes."""
    partial: BaseRoute | None = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return isinstance(route, Mount)
        if match is Match.PARTIAL and partial is None:
            partial = route
    return isinstance(partial, Mount)


def served_route(scope: Scope) -> str:
    """The template of the route that answered (or refused the method of) ``scope``, once it was handled: the
    router records it in the scope (FastAPI the original ``APIRoute``, whose path carries its router's
    prefix); ``other`` when none did."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else OTHER_ROUTE


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: AppMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        router = getattr(scope.get("app"), "router", None)
        # A mounted app routes the request again inside, and its own route would replace the app's: decided first.
        to_mount = mounted(router.routes if router is not None else [], scope)
        started = time.perf_counter()
        status = 500  # an exception before any response: what the client gets

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            route = MOUNT_ROUTE if to_mount else served_route(scope)
            self.metrics.requested(route, scope["method"], status, time.perf_counter() - started)

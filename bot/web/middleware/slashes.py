"""A path typed with one slash too many or too few reaches its page or route, not the chat's 404.

Starlette redirects such a path only when no route matches it, and the chat page mounted at ``/`` matches
every path: ``/staff`` (the staff page is mounted under ``/staff/``), ``/docs/`` or ``/api/health/`` would
get a bare ``{"detail":"Not Found"}`` from the chat. This middleware looks the other spelling up among the
app's own routes and mounts first, and redirects to it (307: a POST stays a POST, its body resent).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import URL
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send


def first_match(routes: Sequence[BaseRoute], scope: Scope, path: str) -> BaseRoute | None:
    """The route Starlette would hand ``path`` to (the first that matches it, whatever the method)."""
    probe = {**scope, "path": path}
    return next((route for route in routes if route.matches(probe)[0] is not Match.NONE), None)


def is_catch_all(route: BaseRoute | None) -> bool:
    return isinstance(route, Mount) and route.path == ""


def other_spelling(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """The path with its trailing slash removed or added when only the page mounted at ``/`` would get it as
    typed and a route or page of its own gets the other spelling; else None."""
    path: str = scope["path"]
    if path == "/" or not is_catch_all(first_match(routes, scope, path)):
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    served = other and first_match(routes, scope, other)
    return other if served and not is_catch_all(served) else None


class SlashRedirectMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = other_spelling(scope["app"].routes, scope)
            if target is not None:
                url = URL(scope=scope).replace(path=target)
                await RedirectResponse(str(url), status_code=307)(scope, receive, send)
                return
        await self.app(scope, receive, send)

"""What wraps the whole app, API and Gradio pages alike: security headers, CORS, the proxy's client address,
the rate limit and the body checks. Applied once in ``create_app``, so a new route is covered without a line.

The Content-Security-Policy is the strictest that the Gradio pages and ``/docs`` still work under:
Gradio's pages carry inline scripts and styles and its front end evaluates code at run time (without
``'unsafe-eval'`` the chat page never answers: tests/test_security.py drives it in Chromium), and FastAPI's
docs load Swagger UI from its CDN. Everything else comes from this origin; frames are allowed from this
origin only (the staff page frames evaluation reports), which also stops clickjacking. A response may set its
own policy: the widget's frame (``bot/web/routes/widget.py``) is framed by the allowed origins, and then
carries no ``X-Frame-Options``, which cannot name them and which its ``frame-ancestors`` supersedes anyway.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.config import Settings
from bot.web.middleware.limits import BodyLimitMiddleware
from bot.web.middleware.ratelimit import ClientLimits, RateLimitMiddleware
from bot.web.middleware.slashes import SlashRedirectMiddleware

DOCS_CDN = "https://cdn.jsdelivr.net"
CSP = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' 'unsafe-eval' {DOCS_CDN}",
        f"style-src 'self' 'unsafe-inline' 'unsafe-eval' {DOCS_CDN}",
        "img-src 'self' data: blob: https://fastapi.tiangolo.com",
        "font-src 'self' data:",
        "media-src 'self' data: blob:",
        "worker-src 'self' blob:",
        "frame-src 'self' blob: data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeadersMiddleware:
    """Adds the headers above to every response that does not set its own (and no ``X-Frame-Options`` to one
    whose own policy says who may frame it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                own_policy = b"".join(value for name, value in headers if name.lower() == b"content-security-policy")
                if b"frame-ancestors" in own_policy:
                    present.add(b"x-frame-options")
                extra = [
                    (name.encode(), value.encode())
                    for name, value in SECURITY_HEADERS.items()
                    if name.encode() not in present
                ]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def protect(app: FastAPI, settings: Settings) -> None:
    """Install the protections, innermost first: body checks see only what the rate limit let through, the
    rate limit sees the proxy's client address, and every answer (a 413, a 429 or a slash's redirect too)
    gets the headers."""
    app.add_middleware(SlashRedirectMiddleware)
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes, max_ui_body_bytes=settings.max_ui_body_bytes
    )
    # The app's state holds the limits for /ready to report on (None: no rate limit).
    app.state.rate_limits = None
    if settings.rate_limit_per_minute:
        app.state.rate_limits = ClientLimits(settings.rate_limit_per_minute, settings.rate_limit_storage)
        app.add_middleware(RateLimitMiddleware, limits=app.state.rate_limits, paths=settings.rate_limited_paths)
    if settings.forwarded_allow_ips:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityHeadersMiddleware)

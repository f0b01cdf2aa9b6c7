"""The embeddable widget (docs/widget.md): a programme's site adds one ``<script>`` tag and gets the chat, fed by
``/api/chat/stream`` and ``/api/feedback`` like every other face.

- ``/widget.js``: the script, versioned by a hash of its content (``?v=<hash>`` makes it cacheable for a year;
  without it an hour, with an ``ETag`` for cheap revalidation).
- ``/widget/config.json``: the chat page's texts the widget shows (the same strings as the Gradio page, not a
  copy) and whether the asking site's origin may use the bot. The browser's CORS check is what enforces that
  on the chat routes; this answer lets a refused site show why instead of sending requests the browser blocks.
- ``/widget/frame``: the widget alone on a page, for sites that prefer an iframe; its ``frame-ancestors`` are the
  allowed origins (``TUTOR_CORS_ORIGINS``), where every other page of the app may be framed by itself only.
- ``/demo``: a programme-like page embedding the widget as a school's site would.

The texts are passed in by ``create_app`` (``bot.web.pages.chat.TEXTS``): the routes importing the pages would
make the two packages import each other (the staff page uses the staff routes).
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from bot.schema import Lang
from bot.web.deps import RuntimeDep

STATIC = Path(__file__).resolve().parent.parent / "static"
# The chat page's strings the widget shows; its own few words (launcher, close, ...) are in the script.
WIDGET_TEXTS = (
    "welcome",
    "placeholder",
    "send",
    "sources",
    "no_sources",
    "feedback",
    "up",
    "down",
    "thanks",
    "human",
    "human_text",
    "busy",
    "error",
)
# A versioned URL never changes content; an unversioned one is checked again after an hour (ETag: a 304).
CACHE_VERSIONED = "public, max-age=31536000, immutable"
CACHE_UNVERSIONED = "public, max-age=3600"
CACHE_CONFIG = "public, max-age=300"
COLOR_PATTERN = r"^#([0-9A-Fa-f]{3}){1,2}$"
PROGRAMME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ORIGIN = re.compile(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")
# The framed page needs nothing inline: the script is a file and its styles are constructed stylesheets.
FRAME_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
)


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Whether the browser will let a page of ``origin`` call the chat routes: the same origin as the app (a
    same-origin GET carries no Origin header, or one naming the app's own host), or one of the CORS origins."""
    if origin is None or "*" in allowed or origin in allowed:
        return True
    try:
        return host is not None and urlsplit(origin).netloc == host
    except ValueError:  # not a URL (a browser never sends such an Origin)
        return False


def frame_ancestors(allowed: Sequence[str]) -> str:
    if "*" in allowed:
        return "*"
    # An origin is written into a header: anything but scheme://host[:port] is left out rather than trusted.
    return " ".join(["'self'", *(origin for origin in allowed if ORIGIN.fullmatch(origin))])


def widget_router(texts: Mapping[str, Mapping[str, str]]) -> APIRouter:
    """The widget's routes, serving ``texts`` (language -> key -> text, the chat page's)."""
    script = (STATIC / "widget.js").read_bytes()
    version = hashlib.sha256(script).hexdigest()[:12]
    etag = f'"{version}"'
    shown = {lang: {key: texts[lang][key] for key in WIDGET_TEXTS} for lang in ("fr", "en")}
    demo = (STATIC / "demo.html").read_text(encoding="utf-8").replace("WIDGET_VERSION", version)
    router = APIRouter(tags=["widget"])

    @router.get("/widget.js", response_class=Response, responses={200: {"content": {"application/javascript": {}}}})
    def widget_js(
        request: Request, v: Annotated[str | None, Query(max_length=64, description="The version (hash)")] = None
    ) -> Response:
        """The widget's script. `?v=` with the current version (see `/widget/config.json`) caches it for a year;
        any other request for an hour, then revalidates with its ETag."""
        headers = {
            "ETag": etag,
            "Cache-Control": CACHE_VERSIONED if v == version else CACHE_UNVERSIONED,
            # A site may load it with Subresource Integrity (crossorigin="anonymous"): the script is public.
            "Access-Control-Allow-Origin": "*",
        }
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(script, media_type="application/javascript; charset=utf-8", headers=headers)

    @router.get("/widget/config.json")
    def widget_config(request: Request, runtime: RuntimeDep) -> JSONResponse:
        """What the widget needs before its first question: the version of `/widget.js`, whether the asking page's
        origin may use the chat routes (`TUTOR_CORS_ORIGINS`), and the texts it shows, in French and English."""
        allowed = origin_allowed(
            request.headers.get("origin"), request.headers.get("host"), runtime.settings.cors_origins
        )
        return JSONResponse(
            {"version": version, "allowed": allowed, "texts": shown},
            # Public texts, readable from any origin, so that a refused site learns it is refused; the answer
            # depends on the Origin header, hence Vary.
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": CACHE_CONFIG, "Vary": "Origin"},
        )

    @router.get("/widget/frame", response_class=HTMLResponse, include_in_schema=False)
    def widget_frame(
        runtime: RuntimeDep,
        lang: Lang = "fr",
        programme: Annotated[str | None, Query(pattern=PROGRAMME_PATTERN)] = None,
        color: Annotated[str | None, Query(pattern=COLOR_PATTERN)] = None,
        greeting: Annotated[str | None, Query(max_length=500)] = None,
    ) -> HTMLResponse:
        """The widget open and full size, for ``<iframe src=".../widget/frame?lang=fr">``."""
        attributes = {"data-mode": "inline", "data-lang": lang, "data-programme": programme, "data-color": color}
        attributes["data-greeting"] = greeting
        data = "".join(f' {name}="{html.escape(value)}"' for name, value in attributes.items() if value)
        page = (
            f'<!doctype html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            "<title>Tuteur IA &amp; data</title>\n</head>\n<body>\n"
            f'<script src="../widget.js?v={version}"{data}></script>\n</body>\n</html>\n'
        )
        policy = FRAME_CSP.format(ancestors=frame_ancestors(runtime.settings.cors_origins))
        # No X-Frame-Options: it cannot name other origins, and the security middleware leaves it out when a
        # response's own policy has frame-ancestors.
        return HTMLResponse(page, headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"})

    @router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
    def widget_demo() -> HTMLResponse:
        """A programme's page as a school would write it, with the widget's one tag."""
        return HTMLResponse(demo, headers={"Cache-Control": "no-cache"})

    return router

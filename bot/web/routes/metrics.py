"""``GET /metrics``: the app's Prometheus metrics (``bot.metrics``), counts only.

Open by default, like ``/health``: a scrape shows no message text and no id. With ``TUTOR_METRICS_TOKEN`` set,
a scrape needs ``Authorization: Bearer <token>`` (compared in constant time), else 401: traffic volumes and
refusal rates may still be something a deployment keeps to itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.web.deps import RuntimeDep
from bot.web.routes.staff import token_matches

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
def metrics(runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None) -> Response:
    """Requests, latencies, answers by mode, refusals, LLM fall-backs, ingests, the embedding queue."""
    configured = runtime.settings.metrics_token
    if configured:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token_matches(configured, token.strip()):
            raise HTTPException(401, "a valid metrics bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

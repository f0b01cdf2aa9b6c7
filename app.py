"""Serve the tutor: the FastAPI API (docs at /docs) and the Gradio chat at / on one port.

    python app.py [--host H] [--port P]

Works offline: the embedding model is read from the model cache, and an empty collection is ingested from
the knowledge base at start-up (``/ready`` answers 503 until that is done).
"""

from __future__ import annotations

import argparse
import contextlib
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from bot.config import Settings, get_settings
from bot.indexing.embeddings import load_embeddings
from bot.web.pages import skip_gradio_stub_writes

if __name__ == "__main__":
    # Start-up is Python work under one GIL: the model's load (imports of torch and sentence-transformers, the
    # tokenizer, the weights) and the app's own (imports of Gradio, Chroma, LangChain, FastAPI, the pages). The
    # load starts first, on the model's thread, so that its GIL-free parts (reading weights, the first encode)
    # overlap the imports below instead of following them. py-spy on the shared 2-core machine, shipped index: the
    # load began after 10 s of imports and took 12 s; started here, /ready came at 18.4 s instead of 20.1 (medians
    # of 3, alternating, with the changes of index.py and pages/__init__.py; bench/startup_bench.py).
    with contextlib.suppress(Exception):  # a model that cannot load is reported by /ready: the runtime retries
        load_embeddings(get_settings()).start_loading()
    skip_gradio_stub_writes()

import gradio as gr
import uvicorn
from fastapi import FastAPI

from bot.logs import configure_logging
from bot.runtime import Runtime
from bot.web.middleware.metrics import RequestMetricsMiddleware
from bot.web.middleware.requestid import RequestIdMiddleware
from bot.web.middleware.security import protect
from bot.web.pages import look
from bot.web.pages.chat import CSS, TEXTS, build_ui
from bot.web.pages.staff import build_staff_ui
from bot.web.routes.chat import router
from bot.web.routes.curation import router as curation_router
from bot.web.routes.metrics import router as metrics_router
from bot.web.routes.openai import router as openai_router
from bot.web.routes.staff import router as admin_router
from bot.web.routes.tutor import router as tutor_router
from bot.web.routes.widget import widget_router
from evals.jobs import EvalJobs

GRACEFUL_STOP_S = 10


def create_app(settings: Settings | None = None, *, background_start: bool = True) -> FastAPI:
    settings = settings or get_settings()
    runtime = Runtime(settings)
    app = FastAPI(
        title="Tutor bot",
        version="0.1.0",
        description="Bilingual tutor and FAQ chatbot for AI and data training programmes.",
    )
    app.state.runtime = runtime
    app.state.evals = EvalJobs(
        settings.data_dir / "evals", settings.eval_datasets_dir, runtime.conversation, runtime.store
    )
    app.include_router(router)
    app.include_router(admin_router)
    app.include_router(curation_router)
    app.include_router(openai_router)
    app.include_router(tutor_router)
    app.include_router(metrics_router)
    app.include_router(widget_router(TEXTS))
    app.add_middleware(RequestMetricsMiddleware, metrics=runtime.metrics)  # innermost: sees the route chosen
    protect(app, settings)
    app.add_middleware(RequestIdMiddleware)  # outermost: a 413 or a 429 has its id too
    runtime.start(background=background_start)
    # /staff first: the chat mounted at / would otherwise catch its requests.
    staff = build_staff_ui(runtime, app.state.evals)
    app = gr.mount_gradio_app(
        app, staff, path="/staff", theme=look.THEME, css=look.CSS, head=look.HEAD, footer_links=["api"]
    )
    chat = build_ui(runtime)
    return gr.mount_gradio_app(
        app, chat, path="/", theme=look.THEME, css=look.CSS + CSS, head=look.HEAD, footer_links=["api"]
    )


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="Serve the tutor (API + chat UI).")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args(argv)
    # One handler for every logger, uvicorn's included (its own configuration is off: log_config=None), so that
    # each line has the same format and carries its request's id (bot/logs.py).
    configure_logging(settings.log_format)
    # X-Forwarded-For is trusted only as TUTOR_FORWARDED_ALLOW_IPS says (bot/web/middleware/security.py),
    # not as uvicorn says by default.
    # A stop (SIGTERM) lets answers being written finish, for GRACEFUL_STOP_S at most: each open chat page holds
    # a Gradio heartbeat stream that never ends by itself, and without a limit the server would never stop.
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        log_level="info",
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_STOP_S,
    )


if __name__ == "__main__":
    main()

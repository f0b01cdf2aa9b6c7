"""A stand-in for a paid OpenAI-compatible API: a real HTTP server speaking the chat-completions protocol.

Used only where the real thing cannot run here (a hosted judge model). It judges a claim "supported" when
most of its content words occur in the passages of the prompt — a crude judge, but a deterministic one —
and under the ``/no`` prefix it answers NO to everything, so tests can see a judge disagree.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI, Request

from bot.text import content_words
from tests.conftest import free_port


def verdict(prompt: str) -> str:
    passages = prompt.split("Passages:", 1)[1].split("Claim:", 1)[0]
    claim = re.search(r"Claim: (.*)\n", prompt).group(1)
    words = content_words(claim)
    return "YES" if words and len(words & content_words(passages)) / len(words) >= 0.6 else "NO"


def build_app() -> FastAPI:
    app = FastAPI()
    app.state.calls = 0

    def completion(model: str, text: str) -> dict:
        app.state.calls += 1
        return {
            "id": f"chatcmpl-{app.state.calls}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    @app.post("/v1/chat/completions")
    async def judge(request: Request) -> dict:
        body = await request.json()
        return completion(body["model"], verdict(body["messages"][-1]["content"]))

    @app.post("/no/v1/chat/completions")
    async def refuse_all(request: Request) -> dict:
        body = await request.json()
        return completion(body["model"], "NO")

    return app


@contextmanager
def fake_openai() -> Iterator[str]:
    """Serve the fake on a free loopback port; yield its base URL (without /v1)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

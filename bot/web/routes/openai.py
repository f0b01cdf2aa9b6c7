"""An OpenAI-compatible face: ``POST /v1/chat/completions`` (streaming or not) and ``GET /v1/models``.

Any OpenAI client can talk to the tutor. The endpoint is stateless, as OpenAI's is: the conversation is the
``messages`` list (earlier user and assistant turns are the history, the last user message the question).
``system`` messages are ignored — the tutor's rules are not the client's to change. Citations ride along in
an extra top-level ``citations`` field (in the last chunk when streaming).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator
from sse_starlette.sse import EventSourceResponse

from bot.conversation import Done, TokenEvent, TurnRequest
from bot.schema import Turn
from bot.web.deps import ConversationDep, RuntimeDep
from bot.web.middleware.limits import require_max_chars

MODEL_ID = "tutor-bot"
router = APIRouter(prefix="/v1", tags=["openai"])


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class Message(BaseModel):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text for part in self.content)
        return self.content or ""


class CompletionRequest(BaseModel):
    model: str = Field(MODEL_ID, max_length=100)
    messages: list[Message] = Field(..., min_length=1, max_length=200)
    stream: bool = False

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, messages: list[Message]) -> list[Message]:
        if messages[-1].role != "user" or not messages[-1].text.strip():
            raise ValueError("the last message must be a non-empty user message")
        return messages


def _history(messages: list[Message]) -> list[Turn]:
    return [Turn(m.role, m.text) for m in messages[:-1] if m.role in ("user", "assistant") and m.text.strip()]


def _chunk(completion_id: str, created: int, delta: dict, finish: str | None = None, **extra) -> str:
    return json.dumps(
        {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        },
        ensure_ascii=False,
    )


@router.get("/models")
def models() -> dict:
    """The one model this server offers."""
    return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "tutor-bot"}]}


@router.post("/chat/completions", response_model=None)
def completions(
    body: CompletionRequest, runtime: RuntimeDep, conversation: ConversationDep
) -> dict | EventSourceResponse:
    question = body.messages[-1].text.strip()
    require_max_chars(question, runtime.settings.max_message_chars)
    reply = conversation.turn(TurnRequest(question, history=_history(body.messages)))
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def extra(done: Done) -> dict:
        return {
            "citations": [asdict(c) for c in done.reply.citations],
            "mode": done.reply.mode,
            "refused": done.reply.refused,
        }

    if not body.stream:
        done = reply.result()
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_ID,
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": done.reply.answer}}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            **extra(done),
        }

    def events() -> Iterator[dict]:
        yield {"data": _chunk(completion_id, created, {"role": "assistant", "content": ""})}
        for event in reply:
            if isinstance(event, TokenEvent):
                yield {"data": _chunk(completion_id, created, {"content": event.text})}
            elif isinstance(event, Done):
                yield {"data": _chunk(completion_id, created, {}, "stop", **extra(event))}
        yield {"data": "[DONE]"}

    return EventSourceResponse(events())

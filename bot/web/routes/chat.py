"""HTTP routes: parse, call the runtime's services, shape the response. No logic of their own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sse_starlette.sse import EventSourceResponse

from bot.answering.retrieval import Scope
from bot.conversation import CitationsEvent, Conversation, Done, Event, TokenEvent, TurnRequest
from bot.runtime import Runtime
from bot.web.deps import ID_MAX_LENGTH, ID_PATTERN, ConversationDep, RuntimeDep
from bot.web.middleware.limits import require_max_chars
from bot.web.readiness import answerable, dependencies

router = APIRouter()


class ChatRequest(BaseModel):
    session_id: str | None = Field(
        None,
        max_length=ID_MAX_LENGTH,
        pattern=ID_PATTERN,
        description="Conversation to continue; omitted: a new one is started.",
    )
    message: str = Field(..., description="The user's question.")
    lang: Literal["fr", "en"] | None = Field(
        None,
        description=(
            "The interface language: the answer follows the language the message is written in, "
            "and this one only when the message cannot tell (too short or mixed)."
        ),
    )
    programme: str | None = Field(None, max_length=64, description="Only search this programme's content.")
    source_lang: Literal["fr", "en"] | None = Field(None, description="Only search content in this language.")
    learner_id: str | None = Field(
        None,
        max_length=ID_MAX_LENGTH,
        pattern=ID_PATTERN,
        description="Pseudonymous learner for quizzes the chat starts (default: session).",
    )

    @field_validator("message")
    @classmethod
    def _message_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message is empty")
        return value.strip()


class CitationOut(BaseModel):
    n: int
    source_id: str
    title: str
    snippet: str
    url: str | None = None


class ChatResponse(BaseModel):
    session_id: str
    message_id: str
    answer: str
    mode: str = Field(
        description="faq | extractive | llm | refused | tutor (a quiz turn the chat handed over); "
        "an llm answer that failed its checks is served as extractive"
    )
    citations: list[CitationOut]
    refused: bool
    latency_ms: float


def _turn(body: ChatRequest, runtime: Runtime, conversation: Conversation) -> Iterator[Event]:
    require_max_chars(body.message, runtime.settings.max_message_chars)
    return iter(
        conversation.turn(
            TurnRequest(
                body.message,
                body.session_id,
                lang=body.lang,
                scope=Scope(body.programme, body.source_lang),
                learner_id=body.learner_id,
            )
        )
    )


def _done(done: Done) -> dict:
    return {
        "session_id": done.session_id,
        "message_id": done.message_id,
        "answer": done.reply.answer,
        "mode": done.reply.mode,
        "refused": done.reply.refused,
        "latency_ms": done.reply.latency_ms,
    }


@router.post("/api/chat", response_model=ChatResponse, tags=["chat"])
def chat(body: ChatRequest, runtime: RuntimeDep, conversation: ConversationDep) -> ChatResponse:
    """Answer one message of a conversation, with numbered citations `[n]` matching `citations[].n`."""
    done = next(e for e in _turn(body, runtime, conversation) if isinstance(e, Done))
    return ChatResponse(**_done(done), citations=[CitationOut(**asdict(c)) for c in done.reply.citations])


def _sse(event: Event) -> dict:
    if isinstance(event, TokenEvent):
        return {"event": "token", "data": json.dumps({"text": event.text}, ensure_ascii=False)}
    if isinstance(event, CitationsEvent):
        return {"event": "citations", "data": json.dumps([asdict(c) for c in event.citations], ensure_ascii=False)}
    return {"event": "done", "data": json.dumps(_done(event), ensure_ascii=False)}


@router.post("/api/chat/stream", tags=["chat"], response_class=EventSourceResponse)
def chat_stream(body: ChatRequest, runtime: RuntimeDep, conversation: ConversationDep) -> EventSourceResponse:
    """The same answer as server-sent events: `token` events (`{"text"}`) as the answer is written, then
    `citations` (the list of `/api/chat`), then `done` (`session_id`, `message_id`, `answer`, `mode`,
    `refused`, `latency_ms`)."""
    return EventSourceResponse(_sse(event) for event in _turn(body, runtime, conversation))


class FeedbackRequest(BaseModel):
    session_id: str = Field(..., max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
    message_id: str = Field(..., max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


@router.post("/api/feedback", tags=["chat"])
def feedback(body: FeedbackRequest, runtime: RuntimeDep) -> dict:
    """Thumbs up or down (and an optional comment) on an answer; stored with its question, answer and sources.
    Rating the same answer again replaces the earlier rating and keeps its comment unless a new one is given."""
    if not runtime.store.add_feedback(body.session_id, body.message_id, body.rating, body.comment):
        raise HTTPException(404, "no such answer in this session")
    return {"ok": True}


@router.delete("/api/sessions/{session_id}", status_code=204, tags=["chat"])
def delete_session(
    session_id: Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)], runtime: RuntimeDep
) -> Response:
    """Delete a conversation for good: its messages, the feedback on them and its quiz progress. The session
    id is the key: whoever holds it (the learner's browser tab or API client) may erase it."""
    if not runtime.store.delete_session(session_id):
        raise HTTPException(404, "no such conversation (already deleted, or expired)")
    return Response(status_code=204)


@router.get("/health", tags=["ops"])
def health() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", tags=["ops"])
async def ready(request: Request, runtime: RuntimeDep) -> JSONResponse:
    """Readiness: 503 until the index is open and the embedding model loaded (or if start-up failed), and
    whenever the vector store or the database does not answer. `dependencies` reports each one (`ok`,
    `required`, `error`): `vector_store`, `database`, `rate_limit` (`storage`, and `shared`: false when the
    shared storage is down and each worker limits alone) and `llm` (`backend`); a down LLM or rate-limit
    storage is reported without failing. `vector_store` says whether the index is the embedded store or a
    Chroma server, `llm` which LLM backend answers (null: none, or `llm_error` says why the configured one
    cannot)."""
    if not runtime.ready:
        return JSONResponse({"ready": False, "error": runtime.error}, status_code=503)
    service = runtime.service()
    checks = await dependencies(runtime, getattr(request.app.state, "rate_limits", None))
    ok = answerable(checks)
    return JSONResponse(
        {
            "ready": ok,
            "collection": service.index.collection,
            "passages": checks["vector_store"]["passages"],
            "embedding_model": service.index.embeddings.name,
            "vector_store": service.index.vector_store,
            "llm": service.llm_backend,
            "llm_error": service.llm_error,
            "dependencies": checks,
        },
        status_code=200 if ok else 503,
    )

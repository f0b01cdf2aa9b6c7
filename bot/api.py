"""HTTP routes: parse, call the runtime's services, shape the response. No logic of their own."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from sse_starlette.sse import EventSourceResponse

from bot.limits import require_max_chars
from bot.retrieval import Scope
from bot.runtime import NotReadyError, Runtime

router = APIRouter()


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


class ChatRequest(BaseModel):
    session_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                   description="Conversation to continue; omitted: a new one is started.")
    message: str = Field(..., description="The user's question.")
    lang: Literal["fr", "en"] | None = Field(None, description="Answer language; omitted: the question's.")
    programme: str | None = Field(None, max_length=64, description="Only search this programme's content.")
    source_lang: Literal["fr", "en"] | None = Field(None, description="Only search content in this language.")
    learner_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                   description="Pseudonymous learner for quizzes the chat starts (default: session).")

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
    mode: str = Field(description="faq | extractive | llm | refused | tutor (a quiz turn the chat handed over); "
                                  "an llm answer that failed its checks is served as extractive")
    citations: list[CitationOut]
    refused: bool
    latency_ms: float


def _checked(body: ChatRequest, runtime: Runtime) -> None:
    require_max_chars(body.message, runtime.settings.max_message_chars)


def _not_ready(exc: NotReadyError) -> HTTPException:
    return HTTPException(503, str(exc), headers={"Retry-After": "5"})


@router.post("/api/chat", response_model=ChatResponse, tags=["chat"])
def chat(body: ChatRequest, runtime: RuntimeDep) -> ChatResponse:
    """Answer one message of a conversation, with numbered citations `[n]` matching `citations[].n`."""
    _checked(body, runtime)
    try:
        result = runtime.converse(body.session_id, body.message, body.lang, Scope(body.programme, body.source_lang),
                                  body.learner_id)
    except NotReadyError as exc:
        raise _not_ready(exc) from exc
    return ChatResponse(**result)


@router.post("/api/chat/stream", tags=["chat"], response_class=EventSourceResponse)
def chat_stream(body: ChatRequest, runtime: RuntimeDep) -> EventSourceResponse:
    """The same answer as server-sent events: `token` events (`{"text"}`) as the answer is written, then
    `citations` (the list of `/api/chat`), then `done` (`session_id`, `message_id`, `answer`, `mode`,
    `refused`, `latency_ms`)."""
    _checked(body, runtime)
    try:
        _, events = runtime.converse_stream(body.session_id, body.message, body.lang,
                                            Scope(body.programme, body.source_lang), body.learner_id)
    except NotReadyError as exc:
        raise _not_ready(exc) from exc
    return EventSourceResponse(
        {"event": kind, "data": json.dumps(payload, ensure_ascii=False)} for kind, payload in events)


class FeedbackRequest(BaseModel):
    session_id: str = Field(..., max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    message_id: str = Field(..., max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


@router.post("/api/feedback", tags=["chat"])
def feedback(body: FeedbackRequest, runtime: RuntimeDep) -> dict:
    """Thumbs up or down (and an optional comment) on an answer; stored with its question, answer and sources.
    Rating the same answer again replaces the earlier rating."""
    if not runtime.store.add_feedback(body.session_id, body.message_id, body.rating, body.comment):
        raise HTTPException(404, "no such answer in this session")
    return {"ok": True}


@router.delete("/api/sessions/{session_id}", status_code=204, tags=["chat"])
def delete_session(session_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
                   runtime: RuntimeDep) -> Response:
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
def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: the index is open and the embedding model loaded (503 until then, or if start-up failed);
    `vector_store` says whether the index is the embedded store or a Chroma server, `llm` which LLM backend
    answers (null: none, or `llm_error` says why the configured one cannot)."""
    if not runtime.ready:
        return JSONResponse({"ready": False, "error": runtime.error}, status_code=503)
    service = runtime.service()
    return JSONResponse({"ready": True, "collection": service.index.collection,
                         "passages": service.index.count(), "embedding_model": service.index.embeddings.name,
                         "vector_store": service.index.vector_store, "llm": service.llm_backend,
                         "llm_error": service.llm_error})

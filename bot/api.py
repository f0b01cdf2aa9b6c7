"""HTTP routes: parse, call the runtime's services, shape the response. No logic of their own."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

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
    mode: str = Field(description="faq | extractive | refused")
    citations: list[CitationOut]
    refused: bool
    latency_ms: float


@router.post("/api/chat", response_model=ChatResponse, tags=["chat"])
def chat(body: ChatRequest, runtime: RuntimeDep) -> ChatResponse:
    """Answer one message of a conversation, with numbered citations `[n]` matching `citations[].n`."""
    if len(body.message) > runtime.settings.max_message_chars:
        raise HTTPException(422, f"message is too long ({len(body.message)} characters, at most "
                                 f"{runtime.settings.max_message_chars})")
    try:
        session_id, message_id, answer = runtime.converse(body.session_id, body.message, body.lang,
                                                          Scope(body.programme, body.source_lang))
    except NotReadyError as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
    return ChatResponse(session_id=session_id, message_id=message_id, answer=answer.answer, mode=answer.mode,
                        citations=[CitationOut(**asdict(c)) for c in answer.citations], refused=answer.refused,
                        latency_ms=answer.latency_ms)


@router.get("/health", tags=["ops"])
def health() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", tags=["ops"])
def ready(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: the index is open and the embedding model loaded (503 until then, or if start-up failed)."""
    if not runtime.ready:
        return JSONResponse({"ready": False, "error": runtime.error}, status_code=503)
    service = runtime.service()
    return JSONResponse({"ready": True, "collection": service.index.collection,
                         "passages": service.index.count(), "embedding_model": service.index.embeddings.name})

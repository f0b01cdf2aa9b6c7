"""What the routes share: the runtime, its services (503 while starting) and the id rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request

from bot.conversation import Conversation
from bot.runtime import NotReadyError, Runtime
from bot.tutor.service import TutorService

# Session, message and learner ids: opaque, URL-safe, short. One rule for every route and field.
ID_PATTERN = r"^[A-Za-z0-9_-]+$"
ID_MAX_LENGTH = 64


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def not_ready(exc: NotReadyError) -> HTTPException:
    """503 with ``Retry-After``: load balancers and clients retry while the app starts."""
    return HTTPException(503, str(exc), headers={"Retry-After": "5"})


T = TypeVar("T")


def _when_ready(get: Callable[[], T]) -> T:
    try:
        return get()
    except NotReadyError as exc:
        raise not_ready(exc) from exc


def get_conversation(runtime: RuntimeDep) -> Conversation:
    return _when_ready(runtime.conversation)


def get_tutor(runtime: RuntimeDep) -> TutorService:
    return _when_ready(runtime.tutor_service)


ConversationDep = Annotated[Conversation, Depends(get_conversation)]
TutorDep = Annotated[TutorService, Depends(get_tutor)]

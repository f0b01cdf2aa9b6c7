"""The tutor bot's brain, usable as a library without HTTP (FastAPI and Gradio are needed by ``bot.web`` only):

    from bot import ChatService, Conversation, Settings
    conversation = Conversation(ChatService(Settings()))
    print(conversation.ask("Combien de temps dure Objectif IA ?").answer)

The names are imported on first use, so that ``import bot.text`` does not load the model's libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.answering.chat import ChatService
    from bot.config import Settings
    from bot.conversation import Conversation, TurnRequest
    from bot.runtime import Runtime

_EXPORTS = {
    "ChatService": "bot.answering.chat",
    "Conversation": "bot.conversation",
    "Runtime": "bot.runtime",
    "Settings": "bot.config",
    "TurnRequest": "bot.conversation",
}
__all__ = ["ChatService", "Conversation", "Runtime", "Settings", "TurnRequest"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bot' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)

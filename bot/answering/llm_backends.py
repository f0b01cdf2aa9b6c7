"""The LLM backends, chosen by ``TUTOR_LLM_BACKEND``, behind one small interface (``LlmClient``):

- ``local``: a GGUF model run in this process by llama-cpp-python (the optional extra ``pip install .[llm]``);
  by default the Qwen2.5-Coder-1.5B-Instruct prepared by ``python -m bot.models.llm prepare``.
- ``openai``: any OpenAI-compatible server (``TUTOR_LLM_BASE_URL``, ``_API_KEY``, ``_MODEL``): vLLM, Ollama,
  llama.cpp's server, a hosted API.

``timed_stream`` runs either under a time budget, so that a slow model never holds a user.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from bot.config import Settings
from bot.models.llm import gguf_path

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger("tutor.llm")


class LlmUnavailableError(RuntimeError):
    """The configured model cannot be used (extra not installed, model missing, server down)."""


class LlmClient(Protocol):
    name: str

    def check(self) -> None:
        """Raise ``LlmUnavailableError`` unless the model can answer now (loads a local model)."""

    def stream(self, messages: list[dict], max_tokens: int, cancel: threading.Event) -> Iterator[str]:
        """The reply, piece by piece; stops early once ``cancel`` is set."""


class LocalLlm:
    """llama-cpp-python in this process. One generation at a time: on two cores, two at once would each
    run at half speed and both miss their time budget; queued requests fall back to extractive instead."""

    name = "local"

    def __init__(self, model_path: Path, threads: int, context_tokens: int) -> None:
        self.model_path = model_path
        self.threads = threads
        self.context_tokens = context_tokens
        # Loaded by check(), on first use. Typed ``Any``: llama-cpp-python is an optional extra, and its own
        # annotations (present only where it is installed) would make the type check differ between machines.
        self._model: Any = None
        self._load_lock = threading.Lock()
        self.busy = threading.Lock()

    def check(self) -> None:
        with self._load_lock:
            if self._model is not None:
                return
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LlmUnavailableError(
                    "llama-cpp-python is not installed: `make llm` (or pip install '.[llm]') installs it"
                ) from exc
            if not self.model_path.is_file():
                raise LlmUnavailableError(
                    f"no GGUF model at {self.model_path}: run `python -m bot.models.llm "
                    "prepare` or set TUTOR_LLM_MODEL_PATH"
                )
            self._model = Llama(
                model_path=str(self.model_path),
                n_ctx=self.context_tokens,
                n_threads=self.threads,
                n_batch=256,
                verbose=False,
            )

    def stream(self, messages: list[dict], max_tokens: int, cancel: threading.Event) -> Iterator[str]:
        self.check()
        model = self._model
        if model is None:  # check() either loaded it or raised
            raise LlmUnavailableError(f"the model at {self.model_path} is not loaded")
        with self.busy:
            if cancel.is_set():
                return
            chunks = model.create_chat_completion(
                messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True
            )
            for chunk in chunks:
                if cancel.is_set():
                    break
                if text := chunk["choices"][0]["delta"].get("content"):
                    yield text


class OpenAICompatibleLlm:
    """Any server speaking the chat-completions protocol; it does its own queueing and batching."""

    name = "openai"

    def __init__(self, base_url: str, api_key: str | None, model: str, timeout_s: float) -> None:
        from openai import OpenAI

        self.model = model
        self.client = OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout_s, max_retries=0)

    def check(self) -> None:
        from openai import OpenAIError

        try:
            self.client.models.list()
        except OpenAIError as exc:
            raise LlmUnavailableError(f"the LLM server does not answer: {exc}") from exc

    def stream(self, messages: list[dict], max_tokens: int, cancel: threading.Event) -> Iterator[str]:
        # The prompt's plain {"role", "content"} dicts are what the SDK's union of message TypedDicts accepts.
        sdk_messages = cast("list[ChatCompletionMessageParam]", messages)
        response = self.client.chat.completions.create(
            model=self.model, messages=sdk_messages, max_tokens=max_tokens, temperature=0.0, stream=True
        )
        with response:
            for chunk in response:
                if cancel.is_set():
                    break
                if chunk.choices and (text := chunk.choices[0].delta.content):
                    yield text


def build_client(settings: Settings) -> LlmClient | None:
    """The configured backend, not yet loaded or probed; ``None`` when no LLM is configured."""
    if settings.llm_backend == "local":
        return LocalLlm(
            settings.llm_model_path or gguf_path(settings),
            settings.llm_threads or os.cpu_count() or 1,
            settings.llm_context_tokens,
        )
    if settings.llm_backend == "openai":
        if not (settings.llm_base_url and settings.llm_model):
            raise LlmUnavailableError("TUTOR_LLM_BACKEND=openai needs TUTOR_LLM_BASE_URL and TUTOR_LLM_MODEL")
        return OpenAICompatibleLlm(
            settings.llm_base_url, settings.llm_api_key, settings.llm_model, settings.llm_timeout_s
        )
    return None


class Stopped:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def timed_stream(client: LlmClient, messages: list[dict], max_tokens: int, budget_s: float) -> Iterator[str | Stopped]:
    """The reply's pieces until it ends, or a ``Stopped`` saying why it did not. The model runs in a thread so
    that a slow first token (a long prompt, a model busy with another request) cannot hold a user past the
    budget; leaving early cancels it."""
    pieces: queue.Queue = queue.Queue()
    cancel = threading.Event()

    def produce() -> None:
        try:
            for text in client.stream(messages, max_tokens, cancel):
                pieces.put(text)
            pieces.put(None)
        except Exception as exc:  # a server error or a crash in the model: reported, never raised at the user
            log.exception("llm call failed")
            pieces.put(Stopped(f"the model failed: {exc}"))

    threading.Thread(target=produce, name="llm", daemon=True).start()
    deadline = time.monotonic() + budget_s
    try:
        while True:
            try:
                piece = pieces.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                yield Stopped(f"no complete answer within {budget_s:g} s")
                return
            if piece is None:
                return
            yield piece
            if isinstance(piece, Stopped):
                return
    finally:
        cancel.set()

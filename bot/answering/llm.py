"""The ``llm`` answer mode: a language model writes the answer from the passages, under guardrails in code.

Backends, chosen by ``TUTOR_LLM_BACKEND``:

- ``local``: a GGUF model run in this process by llama-cpp-python (the optional extra ``pip install .[llm]``);
  by default the Qwen2.5-Coder-1.5B-Instruct prepared by ``python -m bot.models.llm prepare``.
- ``openai``: any OpenAI-compatible server (``TUTOR_LLM_BASE_URL``, ``_API_KEY``, ``_MODEL``): vLLM, Ollama,
  llama.cpp's server, a hosted API.

What keeps the model honest (``LlmGenerator``):

1. it is only called when the answer decision (``bot.answering.policy``) found passages good enough to answer from:
   a weak retrieval is refused before any model runs;
2. it sees a compact context: the best passages within a character budget, laid out so that the fixed
   system prompt and the passages form a prefix llama.cpp can reuse, with the question and the instructions
   last (a small model follows the instructions it read last);
3. every sentence is checked (``bot.answering.grounding``) before it is shown: numbers, dates and names must be in
   the cited passages, every ``[n]`` must exist, the language must be the question's. If the first sentence
   fails, or the model says the sources do not answer, or nothing comes within the time budget, the
   extractive answer is served instead; a later sentence that fails ends the answer where it stands. Every
   fallback is logged with its reason and reported in the answer's ``reason``.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

from bot.answering.generators import ExtractiveGenerator
from bot.answering.grounding import GroundingCheck, last_sentence, names, numbers, restates, split_complete
from bot.answering.retrieval import Passage
from bot.config import Settings
from bot.language import detect_language
from bot.models.llm import gguf_path
from bot.safety.guard import without_planted_instructions
from bot.schema import AnswerMode, Lang, Turn
from bot.text import fold

log = logging.getLogger("tutor.llm")

SYSTEM_PROMPT = (
    "You answer questions about training programmes in AI and data (La Poste's École de la data et de l'IA, "
    "the free Objectif IA course) and about AI fundamentals, for candidates and learners. You only use the "
    "numbered sources you are given: you never add a fact, number, date or name that is not in them."
)
INSTRUCTIONS: dict[Lang, str] = {
    "fr": (
        "Réponds directement à la question, en français, en une à trois phrases courtes, avec les informations "
        "des sources ci-dessus. Termine chaque phrase par le numéro de sa source entre crochets, par exemple "
        "[1]. Ne donne aucun chiffre, aucune date ni aucun nom absent des sources. Si les sources ne contiennent "
        "rien d'utile pour répondre, réponds seulement : Je ne sais pas."
    ),
    "en": (
        "Answer the question directly, in English, in one to three short sentences, with the information in "
        "the sources above. End each sentence with the number of its source in brackets, for example [1]. "
        "Give no number, date or name that is not in the sources. If the sources contain nothing useful to "
        "answer, reply only: I don't know."
    ),
}
LABELS: dict[Lang, tuple[str, str, str]] = {
    "fr": ("Sources", "Question précédente", "Question"),
    "en": ("Sources", "Previous question", "Question"),
}


class AnswerStream:
    """An answer's text as it is generated, and how it was made: a generator may change its ``mode`` (the
    ``llm`` one falls back to ``extractive``) and explain why in ``note``, known once the text is consumed."""

    def __init__(self, pieces: Iterable[str] = (), mode: AnswerMode = "extractive", note: str = "") -> None:
        self.pieces: Iterator[str] = iter(pieces)
        self.mode = mode
        self.note = note

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self.pieces)


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
        self._model = None
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
        with self.busy:
            if cancel.is_set():
                return
            chunks = self._model.create_chat_completion(
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
        response = self.client.chat.completions.create(
            model=self.model, messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True
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


def build_messages(
    question: str, passages: Sequence[Passage], history: Sequence[Turn], lang: Lang, budget_chars: int
) -> list[dict]:
    """System prompt, then the passages (a stable prefix), then the previous question, the question and the
    instructions. Passages are cut to the budget, the best first; a passage is never split mid-sentence."""
    labels = LABELS[lang]
    blocks, used = [], 0
    for n, passage in enumerate(passages, start=1):
        body = " ".join(without_planted_instructions(passage.body).split())
        room = budget_chars - used
        if room < 200:
            break
        if len(body) > room:
            body = body[:room].rsplit(". ", 1)[0] + "."
        blocks.append(f"[{n}] {passage.title}\n{body}")
        used += len(body)
    previous = [t.content for t in history if t.role == "user"]
    asked = f"{labels[1]} : {previous[-1]}\n" if previous else ""
    user = f"{labels[0]} :\n\n" + "\n\n".join(blocks) + f"\n\n{asked}{labels[2]} : {question}\n\n{INSTRUCTIONS[lang]}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


Prompt = Callable[[str, Sequence[Passage], Sequence[Turn], Lang, int], list[dict]]


class LlmGenerator:
    name = "llm"

    def __init__(
        self,
        client: LlmClient,
        fallback: ExtractiveGenerator,
        vocabulary: frozenset[str],
        settings: Settings,
        prompt: Prompt | None = None,
    ) -> None:
        self.client = client
        self.prompt = prompt or build_messages
        self.fallback = fallback
        self.vocabulary = vocabulary
        self.budget_chars = settings.llm_context_chars
        self.max_tokens = settings.llm_max_tokens
        self.time_budget_s = settings.llm_time_budget_s

    def generate(self, question: str, passages: Sequence[Passage], history: Sequence[Turn], lang: Lang) -> AnswerStream:
        stream = AnswerStream(mode=self.name)
        stream.pieces = self._pieces(question, passages, history, lang, stream)
        return stream

    def _pieces(
        self, question: str, passages: Sequence[Passage], history: Sequence[Turn], lang: Lang, stream: AnswerStream
    ) -> Iterator[str]:
        messages = self.prompt(question, passages, history, lang, self.budget_chars)
        check = GroundingCheck([p.body for p in passages], lang, self.vocabulary)
        shown: list[str] = []
        held: list[str] = []  # sentences that only restate the question, until one says something
        problem = None
        for sentence in self._sentences(messages):
            if isinstance(sentence, _Stop):
                problem = sentence.reason
                break
            verdict = check.sentence(sentence)
            problem = verdict.problem or check.language(" ".join([*shown, *held, verdict.sentence]))
            if problem:
                break
            if not shown and restates(verdict.sentence, question):
                held.append(verdict.sentence)
                continue
            for text in [*held, verdict.sentence]:
                yield ("" if not shown else " ") + text
                shown.append(text)
            held = []
        if not shown and problem is None:
            problem = "the answer only restates the question" if held else "the model wrote nothing"
        if problem and not shown:
            log.info("llm answer replaced by the extractive one: %s", problem)
            stream.mode, stream.note = self.fallback.name, f"llm fallback: {problem}"
            yield from self.fallback.generate(question, passages, history, lang)
        elif problem:
            log.info("llm answer cut after %d sentences: %s", len(shown), problem)
            stream.note = f"llm answer cut: {problem}"

    def _sentences(self, messages: list[dict]) -> Iterator[str | _Stop]:
        """Complete sentences of the reply as they arrive, within the time budget."""
        buffer = ""
        for piece in timed_stream(self.client, messages, self.max_tokens, self.time_budget_s):
            if isinstance(piece, _Stop):
                yield piece
                return
            buffer += piece
            done, buffer = split_complete(buffer)
            yield from done
        if rest := last_sentence(buffer):
            yield rest


class _Stop:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def timed_stream(client: LlmClient, messages: list[dict], max_tokens: int, budget_s: float) -> Iterator[str | _Stop]:
    """The reply's pieces until it ends, or a ``_Stop`` saying why it did not. The model runs in a thread so
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
            pieces.put(_Stop(f"the model failed: {exc}"))

    threading.Thread(target=produce, name="llm", daemon=True).start()
    deadline = time.monotonic() + budget_s
    try:
        while True:
            try:
                piece = pieces.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                yield _Stop(f"no complete answer within {budget_s:g} s")
                return
            if piece is None:
                return
            yield piece
            if isinstance(piece, _Stop):
                return
    finally:
        cancel.set()


REWRITE_PROMPT: dict[Lang, str] = {
    "fr": (
        "Question précédente : {previous}\nNouvelle question : {message}\n\nRéécris la nouvelle question pour "
        "qu'elle se comprenne sans la précédente, en français, en une seule phrase, sans y répondre. "
        "Écris seulement la question réécrite."
    ),
    "en": (
        "Previous question: {previous}\nNew question: {message}\n\nRewrite the new question so that it can be "
        "understood without the previous one, in English, in one sentence, without answering it. Write only "
        "the rewritten question."
    ),
}


def rewrite_follow_up(
    client: LlmClient, message: str, previous: str, lang: Lang, vocabulary: frozenset[str], budget_s: float
) -> str | None:
    """A follow-up ("et ça dure combien de temps ?") as a standalone question, in the user's language; ``None``
    when the model is too slow or its rewrite adds a number or name the conversation did not contain, changes
    language or runs long (the caller then searches with the previous question's help instead)."""
    messages = [{"role": "user", "content": REWRITE_PROMPT[lang].format(previous=previous, message=message)}]
    text = ""
    for piece in timed_stream(client, messages, 48, budget_s):
        if isinstance(piece, _Stop):
            log.info("follow-up not rewritten: %s", piece.reason)
            return None
        text += piece
    rewritten = " ".join(text.strip().strip('"«»').split())
    said = f"{previous} {message}"
    if (
        not rewritten
        or len(rewritten) > 300
        or detect_language(rewritten, default=lang) != lang
        or not numbers(rewritten) <= numbers(said)
        or not {fold(n) for n in names(rewritten, vocabulary)} <= {fold(n) for n in names(said, vocabulary)}
    ):
        log.info("follow-up rewrite rejected: %r", rewritten)
        return None
    return rewritten

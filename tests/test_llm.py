"""The ``llm`` mode against a real llama.cpp: Qwen2.5 0.5B in this process and behind llama.cpp's own
OpenAI-compatible server on loopback. The same tests run on both backends.

The 0.5B model is weak on purpose (fast); these tests check the plumbing and the guardrails, not the
quality of answers (that is the dev-set measurement in the README). Prompts that make the model invent are
passed through ``LlmGenerator``'s ``prompt`` hook: the guardrail must catch what it writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from bot.answering.chat import ChatService
from bot.answering.grounding import lowercase_vocabulary, numbers
from bot.answering.llm import LlmGenerator
from bot.answering.llm_backends import LlmClient, LocalLlm, OpenAICompatibleLlm
from bot.answering.retrieval import Passage
from bot.answering.rewrite import rewrite_follow_up
from bot.config import Settings
from bot.conversation import Conversation
from bot.language import detect_language
from bot.models.llm import gguf_path
from bot.schema import Lang, Turn
from evals.metrics import grounded
from tests.conftest import FIXTURE_KB, IndexTemplates, app_server, free_port


def _require_llm() -> Path:
    """The extra and the small model, which `make test` installs: missing in CI is a failure, not a skip."""
    problem = None
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        problem = "llama-cpp-python is not installed (make llm-test)"
    model = gguf_path(Settings(), "0.5b")
    if problem is None and not model.is_file():
        problem = f"{model} is missing (python -m bot.models.llm prepare --size 0.5b)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return model


@pytest.fixture(scope="module")
def small_model() -> Path:
    return _require_llm()


@pytest.fixture(scope="module")
def llama_server(small_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) with the 0.5B model, on loopback."""
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w+")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(small_model),
            "--model_alias",
            "qwen-0.5b",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
            "--logits_all",
            "false",
            "--verbose",
            "false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, f"llama.cpp server exited: {Path(log.name).read_text()[-2000:]}"
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail("llama.cpp server not up after 120 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


# Marked through the parameters: every test that takes ``client`` is an ``llm`` test (make test-fast skips it).
@pytest.fixture(
    scope="module", params=[pytest.param(backend, marks=pytest.mark.llm) for backend in ("local", "openai")]
)
def client(request: pytest.FixtureRequest, small_model: Path) -> LlmClient:
    if request.param == "local":
        llm = LocalLlm(small_model, threads=2, context_tokens=2048)
    else:
        llm = OpenAICompatibleLlm(request.getfixturevalue("llama_server"), None, "qwen-0.5b", timeout_s=120)
    llm.check()
    return llm


def _generator(client: LlmClient, chat: ChatService, prompt=None, **settings) -> LlmGenerator:
    vocabulary = lowercase_vocabulary(d.page_content for d in chat.index.passages.get())
    return LlmGenerator(
        client, chat.generators["extractive"], vocabulary, chat.settings.model_copy(update=settings), prompt
    )


def _passages(chat: ChatService, question: str) -> list[Passage]:
    _, decision = chat.prepare(question)
    assert decision.mode == "extractive", decision.reason
    return list(decision.passages)


def _saying(sentence: str):
    """A prompt that makes the model write ``sentence``, whatever the passages say."""

    def prompt(
        question: str, passages: Sequence[Passage], history: Sequence[Turn], lang: Lang, budget: int
    ) -> list[dict]:
        return [
            {"role": "system", "content": "You copy text exactly."},
            {"role": "user", "content": f"Écris exactement cette phrase et rien d'autre :\n{sentence}"},
        ]

    return prompt


QUESTION = "Quel diplôme obtient-on à la fin de l'école test ?"


def test_the_model_streams_its_reply_in_pieces(client: LlmClient) -> None:
    pieces = list(
        client.stream(
            [{"role": "user", "content": "Écris les nombres de un à dix en chiffres."}],
            max_tokens=40,
            cancel=threading.Event(),
        )
    )
    assert len(pieces) > 3, pieces
    assert "1" in "".join(pieces) and "5" in "".join(pieces), pieces


def test_a_grounded_answer_streams_sentence_by_sentence_with_citations(
    client: LlmClient, fixture_chat: ChatService
) -> None:
    passages = _passages(fixture_chat, QUESTION)
    stream = _generator(client, fixture_chat).generate(QUESTION, passages, [], "fr")
    pieces = list(stream)
    answer = "".join(pieces)
    assert answer.strip(), f"empty answer ({stream.mode}: {stream.note})"
    # Whatever the model wrote, what was shown is supported by the passages it cites.
    assert grounded(
        answer,
        [p.body for p in passages],
        lowercase_vocabulary(d.page_content for d in fixture_chat.index.passages.get()),
    ), answer
    assert "[" in answer, f"no citation in {answer!r}"
    if stream.mode == "llm":
        assert stream.note == "" or stream.note.startswith("llm answer cut"), stream.note
    else:  # the 0.5B model may fail a check: then the extractive answer is served, and the reason given
        assert stream.mode == "extractive" and stream.note.startswith("llm fallback: "), (stream.mode, stream.note)


def test_an_invented_number_and_name_fall_back_to_the_extractive_answer(
    client: LlmClient, fixture_chat: ChatService
) -> None:
    passages = _passages(fixture_chat, QUESTION)
    invent = _saying("En 1987, 73 % des diplômés de Harvard ont trouvé un emploi [1].")
    stream = _generator(client, fixture_chat, invent).generate(QUESTION, passages, [], "fr")
    answer = "".join(stream)
    assert stream.mode == "extractive", f"the invented answer was shown: {answer!r}"
    assert "is not in the cited passages" in stream.note, stream.note
    assert answer == "".join(fixture_chat.generators["extractive"].generate(QUESTION, passages, [], "fr"))
    assert "1987" not in answer and "Harvard" not in answer, answer


def test_an_answer_that_only_restates_the_question_falls_back(client: LlmClient, fixture_chat: ChatService) -> None:
    passages = _passages(fixture_chat, QUESTION)
    echo = _saying("Oui, on obtient un diplôme à la fin de l'école test [1].")
    stream = _generator(client, fixture_chat, echo).generate(QUESTION, passages, [], "fr")
    answer = "".join(stream)
    assert stream.mode == "extractive" and "only restates the question" in stream.note, (stream.mode, stream.note)
    assert "RNCP" in answer, answer  # the extractive answer says which diploma


def test_a_restating_sentence_is_shown_once_a_sentence_that_answers_follows_it(
    client: LlmClient, fixture_chat: ChatService
) -> None:
    passages = _passages(fixture_chat, QUESTION)
    both = _saying("Oui, on obtient un diplôme à la fin de l'école test [1]. Ce diplôme est inscrit au RNCP [1].")
    stream = _generator(client, fixture_chat, both).generate(QUESTION, passages, [], "fr")
    pieces = list(stream)
    assert stream.mode == "llm", stream.note
    assert len(pieces) == 2 and pieces[0].startswith("Oui") and "RNCP" in pieces[1], pieces


def test_a_citation_of_a_passage_that_was_not_given_falls_back(client: LlmClient, fixture_chat: ChatService) -> None:
    passages = _passages(fixture_chat, QUESTION)
    stream = _generator(client, fixture_chat, _saying("Le diplôme est reconnu par l'État [9].")).generate(
        QUESTION, passages, [], "fr"
    )
    list(stream)
    assert stream.mode == "extractive" and "[9]" in stream.note, (stream.mode, stream.note)


def test_an_answer_in_the_wrong_language_falls_back(client: LlmClient, fixture_chat: ChatService) -> None:
    passages = _passages(fixture_chat, QUESTION)
    english = _saying("The school awards a diploma that is registered with the state [1].")
    stream = _generator(client, fixture_chat, english).generate(QUESTION, passages, [], "fr")
    list(stream)
    assert stream.mode == "extractive" and "answered in en" in stream.note, (stream.mode, stream.note)


def test_past_the_time_budget_the_extractive_answer_is_served(client: LlmClient, fixture_chat: ChatService) -> None:
    passages = _passages(fixture_chat, QUESTION)
    stream = _generator(client, fixture_chat, llm_time_budget_s=0.05).generate(QUESTION, passages, [], "fr")
    started = time.perf_counter()
    answer = "".join(stream)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"the 0.05 s budget took {elapsed:.1f} s"
    assert stream.mode == "extractive" and "within 0.05 s" in stream.note, (stream.mode, stream.note)
    assert "RNCP" in answer, answer


@pytest.mark.llm
def test_llm_mode_through_the_chat_service_refuses_before_calling_the_model(
    llama_server: str, make_settings, fixture_chat: ChatService
) -> None:
    settings = fixture_chat.settings.model_copy(
        update={"answer_mode": "llm", "llm_backend": "openai", "llm_base_url": llama_server, "llm_model": "qwen-0.5b"}
    )
    chat = ChatService(settings, fixture_chat.index)
    assert chat.llm_error is None and "llm" in chat.generators, (chat.llm_error, list(chat.generators))
    out_of_scope = Conversation(chat).ask("Quel temps fera-t-il à Marseille demain ?")
    assert out_of_scope.refused and out_of_scope.mode == "refused", f"{out_of_scope.mode}: {out_of_scope.reason}"
    answer = Conversation(chat).ask(QUESTION)
    assert answer.mode in ("llm", "extractive") and answer.citations, f"{answer.mode}: {answer.reason}"
    assert answer.mode == "llm" or "llm fallback" in answer.reason, answer.reason


def test_an_unreachable_server_leaves_the_no_llm_modes_answering(fixture_chat: ChatService) -> None:
    settings = fixture_chat.settings.model_copy(
        update={
            "answer_mode": "llm",
            "llm_backend": "openai",
            "llm_base_url": f"http://127.0.0.1:{free_port()}/v1",
            "llm_model": "absent",
            "llm_timeout_s": 2,
        }
    )
    chat = ChatService(settings, fixture_chat.index)
    assert "does not answer" in chat.llm_error, chat.llm_error
    answer = Conversation(chat).ask(QUESTION)
    assert answer.mode == "extractive" and "llm unavailable" in answer.reason and "RNCP" in answer.answer, (
        f"{answer.mode}: {answer.reason}: {answer.answer}"
    )


@pytest.mark.llm
def test_the_app_streams_llm_answers_over_http(
    llama_server: str, tmp_path: Path, index_templates: IndexTemplates
) -> None:
    settings = Settings(
        data_dir=index_templates.copy(FIXTURE_KB, tmp_path / "data"),
        kb_dir=FIXTURE_KB,
        llm_backend="openai",
        llm_base_url=llama_server,
        llm_model="qwen-0.5b",
    )
    with app_server(settings) as url:
        ready = httpx.get(f"{url}/ready").json()
        assert (ready["llm"], ready["llm_error"]) == ("openai", None)
        with httpx.stream("POST", f"{url}/api/chat/stream", timeout=120, json={"message": QUESTION}) as response:
            assert response.status_code == 200, response.read()
            body = response.read().decode()
    assert "event: token" in body and "event: citations" in body, body
    assert '"mode": "llm"' in body or '"mode": "extractive"' in body, body


def test_a_follow_up_is_rewritten_standalone_in_the_user_s_language_or_not_at_all(
    client: LlmClient, fixture_chat: ChatService
) -> None:
    vocabulary = lowercase_vocabulary(d.page_content for d in fixture_chat.index.passages.get())
    rewritten = rewrite_follow_up(
        client, "et ça dure combien de temps ?", "Comment entrer à l'école test ?", "fr", vocabulary, budget_s=60
    )
    assert rewritten is None or (detect_language(rewritten) == "fr" and not numbers(rewritten)), rewritten
    assert (
        rewrite_follow_up(
            client, "et ça dure combien de temps ?", "Comment entrer à l'école test ?", "fr", vocabulary, budget_s=0.01
        )
        is None
    )  # too slow: the vector blend is used instead

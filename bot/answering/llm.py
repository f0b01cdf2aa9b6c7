"""The ``llm`` answer mode: a language model writes the answer from the passages, under guardrails in code.

The backends (a local GGUF model, or any OpenAI-compatible server) are in ``bot.answering.llm_backends``; the
rewrite of follow-ups into standalone questions in ``bot.answering.rewrite``.

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
from collections.abc import Callable, Iterator, Sequence

from bot.answering.analysis import AnswerType
from bot.answering.generators import AnswerStream, ExtractiveGenerator
from bot.answering.grounding import GroundingCheck, last_sentence, restates, split_complete
from bot.answering.llm_backends import LlmClient, Stopped, timed_stream
from bot.answering.retrieval import Passage
from bot.config import Settings
from bot.safety.guard import without_planted_instructions
from bot.schema import AnswerMode, Lang, Turn

log = logging.getLogger("tutor.llm")
FALLBACK_NOTE = "llm fallback"  # opens the note (and the answer's ``reason``) of an answer the fallback wrote

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
    name: AnswerMode = "llm"

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

    def generate(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn],
        lang: Lang,
        answer_type: AnswerType | None = None,
    ) -> AnswerStream:
        stream = AnswerStream(mode=self.name)
        stream.pieces = self._pieces(question, passages, history, lang, stream, answer_type)
        return stream

    def _pieces(
        self,
        question: str,
        passages: Sequence[Passage],
        history: Sequence[Turn],
        lang: Lang,
        stream: AnswerStream,
        answer_type: AnswerType | None,
    ) -> Iterator[str]:
        messages = self.prompt(question, passages, history, lang, self.budget_chars)
        check = GroundingCheck([p.body for p in passages], lang, self.vocabulary)
        shown: list[str] = []
        held: list[str] = []  # sentences that only restate the question, until one says something
        problem = None
        for sentence in self._sentences(messages):
            if isinstance(sentence, Stopped):
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
            stream.mode, stream.note = self.fallback.name, f"{FALLBACK_NOTE}: {problem}"
            yield from self.fallback.generate(question, passages, history, lang, answer_type)
        elif problem:
            log.info("llm answer cut after %d sentences: %s", len(shown), problem)
            stream.note = f"llm answer cut: {problem}"

    def _sentences(self, messages: list[dict]) -> Iterator[str | Stopped]:
        """Complete sentences of the reply as they arrive, within the time budget."""
        buffer = ""
        for piece in timed_stream(self.client, messages, self.max_tokens, self.time_budget_s):
            if isinstance(piece, Stopped):
                yield piece
                return
            buffer += piece
            done, buffer = split_complete(buffer)
            yield from done
        if rest := last_sentence(buffer):
            yield rest

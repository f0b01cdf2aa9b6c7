"""Multi-part questions, answered part by part in one reply.

"Combien coûte Objectif IA et combien de temps dure-t-il ?" searched as one question finds the passage that
matches it best, which answers one part; the other is dropped without a word. So each part
(``bot.answering.analysis`` splits them, each standing alone) is searched and decided on its own
(``bot.answering.policy``), and the reply gives the answers in the order asked. A part that cannot be answered
says so in one sentence while the others are answered. The passages of all the parts are cited in one
numbering: a passage two parts quote is one source, cited with one number.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from bot.answering.citations import CITATION, Renumbering
from bot.answering.policy import Decision
from bot.answering.retrieval import Passage
from bot.schema import Lang
from bot.text import fold, sentences

MIN_REPEAT_CHARS = 25  # a piece this long is a sentence (the extractive generator streams sentences)
UNANSWERED = {
    "fr": "Je n'ai pas d'information fiable pour répondre à « {part} ».",
    "en": "I have no reliable information to answer “{part}”.",
}


@dataclass(frozen=True)
class PartAnswer:
    """One part, how it was decided, and its text (citing ``decision.passages`` as ``[k]``)."""

    question: str
    decision: Decision
    pieces: Iterable[str]


def merged_passages(answers: Sequence[PartAnswer]) -> tuple[tuple[Passage, ...], list[dict[int, int]]]:
    """The passages of every part, each once, and for each part the number of its k-th passage in that list."""
    merged: dict[str, int] = {}
    passages: list[Passage] = []
    numberings = []
    for answer in answers:
        numbering = {}
        for k, passage in enumerate(answer.decision.passages, start=1):
            if passage.id not in merged:
                passages.append(passage)
                merged[passage.id] = len(passages)
            numbering[k] = merged[passage.id]
        numberings.append(numbering)
    return tuple(passages), numberings


def reply(answers: Sequence[PartAnswer], numberings: Sequence[dict[int, int]], lang: Lang) -> Iterator[str]:
    """The parts' answers in the order asked, one paragraph each, citing the merged passages. A sentence an
    earlier part said already is not said again (two parts often share a passage), whether it came alone or
    within a curated answer quoted whole."""
    said: set[str] = set()
    for index, (answer, numbering) in enumerate(zip(answers, numberings, strict=True)):
        if index:
            yield "\n\n"
        if answer.decision.mode == "refused":
            yield UNANSWERED[lang].format(part=answer.question.strip().rstrip("?").strip())
            continue
        renumbering = Renumbering(numbering)
        for piece in [*answer.pieces, None]:
            text = renumbering.feed(piece) if piece is not None else renumbering.flush()
            if not text:
                continue
            plain = CITATION.sub("", text)
            key = fold(plain)
            if len(key) >= MIN_REPEAT_CHARS:  # a sentence, not a streamed word that may well recur
                # A curated answer comes whole, an extract sentence by sentence: compared sentence by sentence
                spoken = {fold(s) for s in sentences(plain)} | {key}
                if key in said or spoken <= said:
                    continue
                said |= spoken
            yield text

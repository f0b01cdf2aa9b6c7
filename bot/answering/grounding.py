"""Checks that a generated sentence says nothing the passages do not: the guardrail of the ``llm`` mode.

A small model is fluent and confidently wrong in predictable places: it invents numbers ("80 % des
diplômés"), dates and names, cites passages that do not exist, or slips into the other language. Those are
the facts a reader acts on and the ones a string check can verify, so every sentence is checked before it
is shown:

- every ``[n]`` refers to one of the passages the model was given;
- every number (digits; "2 000" and "2000", "3,5" and "3.5" are the same) appears in the passages the
  sentence cites (a sentence without a citation is given the passage that shares most of its words; one that
  shares none may state no number or name);
- every proper name — a capitalised word that the knowledge base never writes in lower case, or an acronym —
  appears in those passages too;
- the answer is in the language of the question;
- a sentence that says the sources do not answer is not an answer (the extractive answer is served instead);
- a sentence that only restates the question ("Oui, l'école délivre un titre reconnu par l'État.") adds
  nothing the user did not write: it is shown only after a sentence that does. A small model writes these
  when the passages hold more than it can summarise, and sometimes with the wrong polarity ("Yes, social
  scoring is allowed under the EU AI Act"), which no string check could otherwise see.

Paraphrase is not checked (no string check can), which is why the prompt asks for short answers close to
the sources and why the extractive answer stays the default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.language import detect_language
from bot.schema import Lang
from bot.text import content_words, fold

CITATION = re.compile(r"\s*\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[\s\u00a0\u202f]\d{3}(?!\d))*(?:[.,]\d+)?")
_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w’'-]*|\b\w*[a-zà-ÿ][A-Z][\w-]*")  # Capitalised, or camel-case (OpenClassrooms)
_WORD = re.compile(r"[^\W\d_][\w’'-]*")
# Capitalised at the start of a sentence or in a title without being a name; the knowledge base's own
# lower-case vocabulary covers most, these are the short words it may never write in lower case.
_COMMON = set(
    """oui non si ainsi alors aussi bien cependant donc elle elles en enfin et il ils je la le les leur
    mais nous on ou par pour selon toutefois un une vous voici yes no the a an and but also however it its
    in on for to this these that those there they we you i so if as at by of or not yes note""".split()
)
_DONT_KNOW = re.compile(
    r"je ne sais pas|je n['’]ai pas (?:cette |d['’])?information|(?:les|ces) sources? ne (?:pr[ée]cise|mentionne|"
    r"contien|donne|permet|dit|parle|fourni)|ne (?:figure|se trouve) pas dans les sources|"
    r"i (?:do not|don['’]t) know|(?:the|these) sources? (?:do(?:es)? not|don['’]t) (?:say|mention|contain|"
    r"specify|provide|state)|not (?:mentioned|specified|stated) in the sources",
    re.IGNORECASE,
)


def _number_key(raw: str) -> str:
    return re.sub(r"[\s\u00a0\u202f]", "", raw).replace(",", ".")


def numbers(text: str) -> set[str]:
    return {_number_key(m) for m in _NUMBER.findall(CITATION.sub(" ", text))}


def lowercase_vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Words written in lower case somewhere: a capitalised occurrence of one is not a name."""
    return frozenset(fold(w) for text in texts for w in _WORD.findall(text) if w[0].islower())


def names(text: str, vocabulary: frozenset[str]) -> set[str]:
    found = set()
    for match in _NAME.findall(CITATION.sub(" ", text)):
        word = match.strip("’'-")
        folded = fold(word)
        if len(word) > 1 and folded not in vocabulary and folded not in _COMMON:
            found.add(word)
    return found


_YES_NO = {"oui", "non", "yes", "no", "not", "pas", "bien", "sur", "indeed", "effectivement", "absolument"}


def restates(sentence: str, question: str) -> bool:
    """True when the sentence brings no number and at most one content word that the question lacks."""
    sentence = CITATION.sub(" ", sentence)
    if numbers(sentence) - numbers(question):
        return False
    return len(content_words(sentence) - content_words(question) - _YES_NO) <= 1


@dataclass(frozen=True)
class Verdict:
    sentence: str  # with a citation added when the model gave none and one passage clearly supports it
    problem: str | None = None  # why it may not be shown


class GroundingCheck:
    """Checks the sentences of one answer against the passages it was generated from."""

    def __init__(self, passages: Sequence[str], lang: Lang, vocabulary: frozenset[str]) -> None:
        self.passages = passages
        self.lang = lang
        self.vocabulary = vocabulary
        self._folded = [fold(p) for p in passages]
        self._numbers = [numbers(p) for p in passages]
        self._words = [content_words(p) for p in passages]

    def sentence(self, sentence: str) -> Verdict:
        cited = [int(n) for n in CITATION.findall(sentence)]
        if bad := [n for n in cited if not 1 <= n <= len(self.passages)]:
            return Verdict(sentence, f"cites [{bad[0]}], but only {len(self.passages)} passages were given")
        if _DONT_KNOW.search(sentence):
            return Verdict(sentence, "the model says the sources do not answer")
        if not cited and (best := self._best_support(sentence)) is not None:
            sentence, cited = self._cite(sentence, best), [best]
        sources = [n - 1 for n in cited]  # a sentence no passage supports has no source: it may state no fact
        known = set().union(*(self._numbers[i] for i in sources))
        if missing := sorted(numbers(sentence) - known):
            return Verdict(sentence, f"number {missing[0]!r} is not in the cited passages")
        for name in sorted(names(sentence, self.vocabulary)):
            if not any(fold(name) in self._folded[i] for i in sources):
                return Verdict(sentence, f"name {name!r} is not in the cited passages")
        return Verdict(sentence)

    def language(self, answer: str) -> str | None:
        """Checked on the answer so far: one short sentence is too little to tell a language by."""
        text = CITATION.sub(" ", answer)
        if len(text.split()) >= 4 and (found := detect_language(text, default=self.lang)) != self.lang:
            return f"answered in {found}, asked in {self.lang}"
        return None

    def _best_support(self, sentence: str) -> int | None:
        """The passage sharing the most content words with the sentence (1-based), if any shares some."""
        mine = content_words(sentence)
        overlaps = [len(mine & theirs) for theirs in self._words]
        best = max(range(len(overlaps)), key=overlaps.__getitem__, default=None)
        return None if best is None or overlaps[best] == 0 else best + 1

    @staticmethod
    def _cite(sentence: str, n: int) -> str:
        """After the sentence, where the extractive answers put theirs."""
        return f"{sentence.rstrip()} [{n}]"


# A sentence ends at . ! ? (with the citations that follow it) or at a line break, before a new sentence.
_LIST_MARKER = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_BOUNDARY = re.compile(r"(?:[.!?…](?:\s*\[\d+\])*[ \t]+|\s*\n\s*)(?=[^\s\[])")


def split_complete(buffer: str) -> tuple[list[str], str]:
    """The complete sentences of a streamed buffer, and the unfinished rest to wait on. A list marker ("1.",
    "-") is dropped: the answer is read as running text, and "1" is no fact to check."""
    done, start = [], 0
    for match in _BOUNDARY.finditer(buffer):
        if _LIST_MARKER.fullmatch(buffer[start : match.end()]):
            continue  # "1. " alone: the item's text is still to come
        piece = _LIST_MARKER.sub("", buffer[start : match.end()], count=1).strip()
        if piece:
            done.append(piece)
        start = match.end()
    return done, buffer[start:]


def last_sentence(rest: str) -> str:
    """What remains when the stream ends, list marker dropped as in ``split_complete``."""
    return _LIST_MARKER.sub("", rest, count=1).strip()

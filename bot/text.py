"""Small text tools shared by answer composition and evaluation: folding, words, sentences.

Folding (lower case, no accents, collapsed spaces) is what makes "Données", "donnees" and "DONNÉES" the
same word: users type without accents, and evaluation must not fail an answer on an accent.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import pairwise

_STOPWORDS = set(
    """a ai alors au aux avec c ca ce ces cet cette d dans de des du elle elles en est et etre eu il ils j je
    l la le les leur lui m ma mais me mes moi mon n ne nos notre nous on ou par pas pour qu que quel quelle
    quels quelles qui s sa se ses si son sur t ta te tes toi ton tu un une vos votre vous y est-ce c'est quoi
    comment combien pourquoi quand ou sont ont a-t-il peut faut fait faire dois doit the a an of to in on at
    for from by with and or is are was were be been do does did what which who how why when where can could
    should would will i you he she it we they my your its our their this that these those there have has
    had not no yes about into than then so if but me tell please est-il y-a-t-il ya""".split()
)
_WORD = re.compile(r"[a-z0-9]+")
# A sentence ends at . ! ? or … followed by a space and an upper-case letter, digit, quote or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"«(\[A-ZÀ-ÖØ-Þ0-9])")
_MARKUP = re.compile(r"^\s*(?:[-*+]\s+|\d+[.)]\s+|>\s*|#+\s*)")


def fold(text: str) -> str:
    """Lower case, accents removed, whitespace collapsed: the form every comparison uses."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.replace("’", "'").split())


def words(text: str) -> list[str]:
    return list(_words(text))


# The knowledge base's texts are read again each time a staff entry is published (``ChatService.refresh``):
# remembered, only the new entry's words are computed then. Questions are repeated too.
@lru_cache(maxsize=16_384)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


def stem(word: str) -> str:
    """A crude, language-agnostic stem: enough for "donnée/données" and "model/models" to meet."""
    for suffix in ("ements", "ement", "ations", "ation", "ing", "es", "s", "e"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    return set(_content_words(text))


@lru_cache(maxsize=16_384)
def _content_words(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in _words(text) if w not in _STOPWORDS and (len(w) > 2 or w.isdigit()))


class WordWeights:
    """Inverse document frequency of content words over the knowledge base's passages.

    A word found in most passages ("école", "data", "La Poste" here) says little about which sentence
    answers a question; a rare one ("entretien", "rémunération") says a lot.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        counts: Counter[str] = Counter()
        total = 0
        self._written: set[str] = set()  # every word, short and common ones too
        self._pairs: set[tuple[str, str]] = set()  # and every two words written one after the other
        for text in texts:
            counts.update(content_words(text))
            total += 1
            written = _words(text)
            self._written.update(written)
            self._pairs.update(pairwise(written))
        self._idf = {word: math.log((total + 1) / (count + 0.5)) for word, count in counts.items()}
        self.unseen = math.log((total + 1) / 0.5)  # the weight of a word the knowledge base never uses

    def __call__(self, words: Iterable[str]) -> float:
        return sum(self._idf.get(word, self.unseen) for word in words)

    def seen(self, word: str) -> bool:
        """Whether the knowledge base uses this content word at all."""
        return word in self._idf

    def writes(self, name: Sequence[str]) -> bool:
        """Whether the knowledge base writes these words (``words``) one after the other, as a name: one that
        says "France" and "travail" apart does not name France Travail."""
        if len(name) == 1:
            return name[0] in self._written
        return all(pair in self._pairs for pair in pairwise(name))


def sentences(text: str) -> list[str]:
    """Sentences of a passage, list markers and heading marks removed, one line or paragraph at a time."""
    found: list[str] = []
    for line in text.splitlines():
        line = _MARKUP.sub("", line).replace("**", "").strip()
        if not line:
            continue
        found.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return found

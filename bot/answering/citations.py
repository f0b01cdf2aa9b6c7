"""Citation numbers as the reader sees them, renumbered while the text streams.

A generator cites ``[k]``, the k-th passage it was given. What the reader is shown is numbered otherwise: in
order of appearance (``CitationNumbers``), and, in a reply made of several answers (a multi-part question,
``bot.answering.parts``), in one numbering for the whole reply (``Renumbering``). Both must cope with a
citation split across two streamed pieces ("[" then "3]", as an LLM streams it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CITATION = re.compile(r"\[(\d+)\]")
_UNFINISHED_CITATION = re.compile(r"\[\d*$")  # "[" or "[1" at the end of a piece: its end is in the next one


class Renumbering:
    """Rewrites the ``[k]`` of a streamed text through ``mapping`` (a number it does not map is left as it
    is); a citation cut between two pieces is held back until it is whole."""

    def __init__(self, mapping: Mapping[int, int]) -> None:
        self.mapping = mapping
        self._held = ""

    def feed(self, piece: str) -> str:
        """The piece with its citations renumbered, less an unfinished citation at its end (held back)."""
        text = self._held + piece
        unfinished = _UNFINISHED_CITATION.search(text)
        cut = unfinished.start() if unfinished else len(text)
        self._held = text[cut:]
        return CITATION.sub(self._renumber, text[:cut])

    def flush(self) -> str:
        """What was held back when the text ends: an unfinished "[12" is text, not a citation."""
        held, self._held = self._held, ""
        return held

    def number(self, cited: int) -> int | None:
        return self.mapping.get(cited)

    def _renumber(self, match: re.Match[str]) -> str:
        shown = self.number(int(match.group(1)))
        return match.group(0) if shown is None else f"[{shown}]"


class CitationNumbers(Renumbering):
    """Renumbers an answer's citations 1…n in the order the reader meets them.

    The passages an answer quotes are rarely the first k it was given (a passage may give no sentence, a later
    one may answer first), and a reader who sees [1] and [3] looks for the missing [2]. The passage first cited
    becomes [1], the next new one [2], and so on, so the text and the source cards match one to one. A number
    that names no passage is left as it is: it is above every number given out, so it can never be taken for
    one of them.
    """

    def __init__(self, count: int) -> None:
        self.count = count
        self.shown: dict[int, int] = {}  # passage position (1-based) -> number shown, in order of appearance
        super().__init__(self.shown)

    def number(self, cited: int) -> int | None:
        return self.shown.setdefault(cited, len(self.shown) + 1) if 0 < cited <= self.count else None

"""Yes/no questions carry a premise; the answer must not agree with one the knowledge base does not.

"L'école de la data, c'est uniquement pour les salariés du groupe, non ?" was answered "Oui, l'École … est
aussi ouverte aux collaborateurs…": a curated answer written for another question ("can employees join?")
began with its own "Oui". Whether a premise is true is not something string checks can settle in general,
but three ways the knowledge base contradicts a premise are visible in the words, and they are the ones
candidates' questions run into:

- **a restriction the answer widens**: the premise says "only / uniquement / seulement / exclusivement /
  réservé", the answer says "also / aussi / également / as well / not only / pas seulement / ouvert à";
- **a figure the answer replaces**: the premise states an amount in a unit (a price, a duration, a share)
  and the answer gives another amount in that unit and not this one, or calls the thing free ("gratuit",
  "free") when the premise puts a price on it;
- **a term the answer negates**: a focus term of the premise appears in the answer right after a negation
  ("pas de concours", "sans frais", "no entrance exam", "aucun prérequis").

``verdict`` says ``contradicted`` when one of them holds, else ``unsettled``; the bot never says a premise is
confirmed from words alone. ``framed`` turns an answer accordingly: a contradicted premise gets "Non : "/"No: "
before the fact, and an unsettled one loses a leading "Oui"/"Yes" (or "Non"/"No": the curated answer's polarity
was written for its own question, not this one).
"""

from __future__ import annotations

import re
from typing import Literal

from bot.answering.analysis import QuestionAnalysis
from bot.schema import Lang
from bot.text import fold, stem, words

Verdict = Literal["contradicted", "unsettled"]

_RESTRICTS = re.compile(
    r"\b(?:uniquement|seulement|exclusivement|reserve[es]* (?:a|aux)|que pour|rien que|only|exclusively|"
    r"just for|solely|reserved for|limited to)\b"
)
_WIDENS = re.compile(
    r"\b(?:aussi|egalement|pas seulement|pas uniquement|non seulement|ouverte? (?:a|aux)|en premier lieu|"
    r"d'abord|also|as well|not only|not just|open to|first and foremost)\b"
)
_FREE = re.compile(r"\b(?:gratuite?s?|free(?: of charge)?|sans frais|no fee)\b")
# Unit pattern → (what it measures, its size in that measure's base unit): "2 ans" and "12 mois" are both
# durations, and "1 an" is "12 mois".
_UNITS = {
    r"€|euros?|eur": ("money", 1.0),
    r"\$|dollars?": ("dollars", 1.0),
    r"h|heures?|hours?": ("time", 1 / 24),
    r"jours?|days?": ("time", 1.0),
    r"semaines?|weeks?": ("time", 7.0),
    r"mois|months?": ("time", 30.0),
    r"ans|annees?|years?": ("time", 365.0),
    r"%|pour ?cent|percent": ("share", 1.0),
}
_QUANTITY = re.compile(r"(\d+(?:[\s\u00a0\u202f]\d{3})*(?:[.,]\d+)?)\s*(" + "|".join(_UNITS) + r")(?!\w)")
_NEGATION = re.compile(r"\b(?:pas d[e']|pas de|sans|aucune?|ni|no|not an?|without|never|jamais)\s*$")
# Leading agreement or disagreement, with its punctuation: "Oui, ", "Yes. ", "Non : ".
_POLAR = re.compile(r"^\s*(?:oui|non|yes|no)\b\s*[,.:;!—-]*\s*", re.IGNORECASE)
_NO = {"fr": "Non : ", "en": "No: "}


def _restriction_widened(premise: str, answer: str) -> bool:
    return bool(_RESTRICTS.search(premise)) and bool(_WIDENS.search(answer))


def _quantities(text: str) -> dict[str, set[float]]:
    """Amounts by what they measure, in its base unit ("2 ans" → {"time": {730}})."""
    found: dict[str, set[float]] = {}
    for match in _QUANTITY.finditer(text):
        value = float(re.sub(r"[\s\u00a0\u202f]", "", match.group(1)).replace(",", "."))
        measure, size = next(unit for pattern, unit in _UNITS.items() if re.fullmatch(pattern, match.group(2)))
        found.setdefault(measure, set()).add(round(value * size, 3))
    return found


def _figure_replaced(premise: str, answer: str) -> bool:
    stated, given = _quantities(premise), _quantities(answer)
    if any(measure in given and not amounts & given[measure] for measure, amounts in stated.items()):
        return True
    return "money" in stated and not given.get("money") and bool(_FREE.search(answer))


def _term_negated(analysis: QuestionAnalysis, answer: str) -> bool:
    """A focus term of the premise that the answer writes right after a negation (and the premise does not)."""
    if analysis.negated_premise:
        return False
    focus = set(analysis.focus)
    folded = fold(answer)
    for match in re.finditer(r"[a-z0-9]+", folded):
        if stem(match.group()) in focus and _NEGATION.search(folded[max(0, match.start() - 12) : match.start()]):
            return True
    return False


def verdict(analysis: QuestionAnalysis, answer: str) -> Verdict:
    if analysis.premise is None:
        return "unsettled"
    premise, folded = fold(analysis.premise), fold(answer)
    if _restriction_widened(premise, folded) or _figure_replaced(premise, folded) or _term_negated(analysis, answer):
        return "contradicted"
    return "unsettled"


def framed(analysis: QuestionAnalysis, answer: str, lang: Lang, own_polarity: bool = False) -> str:
    """The answer's opening for a yes/no question: "Non"/"No" before a contradicting fact, no polar word before
    anything else. ``own_polarity``: the answer was written for this very question (a curated answer whose
    question covers all of the user's focus terms), so its "Oui"/"Non" stands. Any other question's answer
    is returned as it is."""
    if analysis.premise is None or not words(answer) or own_polarity:
        return answer
    bare = _POLAR.sub("", answer, count=1)
    bare = bare[:1].upper() + bare[1:]
    return _NO[lang] + bare if verdict(analysis, answer) == "contradicted" else bare

"""The one place where the bot decides how to answer: curated FAQ answer, grounded answer, or refusal.

The decision reads the answerability model's probabilities (``bot.answering.answerability``: a small
logistic model over what retrieval found and how it covers the question's focus and expected answer type,
fitted on labelled questions and kept per embedding profile):

1. **faq** — the top FAQ entry's curated answer is served verbatim when the question is one of its phrasings
   (cosine ``>= SAME_WORDING``), or when ``P(faq)`` is the most likely outcome
   *and* at least the model's ``faq_min_probability`` (chosen at fit time, by cross-validation on the fit
   data, as the lowest probability that keeps wrong curated answers at or under 1 %) *and* the entry's answer
   holds the type of answer the question expects (``Features.faq_type``: "how long?" is not answered by an
   entry that gives no duration, however close its wording): a curated answer on a neighbouring subject looks
   official, so it must be surer than an extract;
2. **extractive** (or another grounded generator) — otherwise, unless ``P(decline)`` is above
   ``decline_above`` (0.5 by default: declining is more likely than answering), or the question expects an
   answer of a type words show for sure (``SURE_TYPES``: an amount of money, a person named by the role asked)
   and nothing found holds one; the answer is built from the passages ranking within ``PASSAGE_WINDOW`` of the
   best, only those in the user's language when there are any (FAQ entries are passages too: one not served
   verbatim may still be quoted when it ranks);
3. **refuse** — otherwise;
0. before all this, ``bot.safety.guard`` declines messages that try to take over the assistant (injections).

``answer_mode`` narrows the rule for evaluation and deployments: ``faq`` answers only with a curated answer
(``faq`` as above, or nothing), ``extractive`` and ``llm`` never serve one. Which generator writes a step-2
answer (extractive, or the LLM when one is configured and ready) is the chat service's choice, not this
rule's: the LLM never decides whether to answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.answering.analysis import AnswerType, holds_type
from bot.answering.answerability import TOP_PASSAGES, Answerability, Judgement
from bot.answering.retrieval import FaqMatch, Passage, Retrieval
from bot.config import Settings

Mode = Literal["faq", "extractive", "refused"]

# A question this close to one of an entry's own phrasings (punctuation, case, an accent apart) is the question
# staff wrote that answer for: served whatever the model says of the features around it.
SAME_WORDING = 0.98
# The answer types whose absence words show for sure: a text holding no amount of money (nor "gratuit") cannot say
# what something costs or pays, one naming no one by the role asked cannot say who directs or chairs something.
# On the fit part and dev, every question of these types whose passages and entry held none was one to decline
# (11 about money, 7 about a role holder), and every one with an entry to serve held one; the looser checks (a
# number, a date, a place) are no proof.
SURE_TYPES: frozenset[AnswerType] = frozenset({"money", "role_holder"})
# The tags of a curated entry that says the thing asked is not known ("Cet assistant ne connaît pas la
# rémunération des apprentis…"): that is the answer, whatever type was asked
UNKNOWN_TAGS = frozenset({"unknown", "inconnu"})
# Passages this far below the best one are not used to answer (they are still returned as retrieved).
PASSAGE_WINDOW = 0.08
MAX_ANSWER_PASSAGES = 3
# How far below the best passage one in the user's language may rank and still be preferred.
LANGUAGE_WINDOW = 0.15


@dataclass(frozen=True)
class Limits:
    """How sure the model must be: the profile's fitted FAQ floor and an even bet on declining, unless a
    deployment sets its own (``TUTOR_FAQ_MIN_PROBABILITY``, ``TUTOR_DECLINE_ABOVE``)."""

    faq_min_probability: float
    decline_above: float

    @classmethod
    def for_settings(cls, settings: Settings, answerability: Answerability) -> Limits:
        floor = settings.faq_min_probability
        return cls(answerability.faq_min_probability if floor is None else floor, settings.decline_above)


@dataclass(frozen=True)
class Decision:
    """How to answer, and from what: ``passages`` are the ones the answer may cite, in citation order (the
    FAQ entry alone for a curated answer; none for a refusal). ``judgement`` is what it was decided from."""

    mode: Mode
    reason: str
    faq: FaqMatch | None = None
    passages: tuple[Passage, ...] = ()
    judgement: Judgement | None = None


def says_unknown(entry: FaqMatch) -> bool:
    """Whether a curated entry is one that says what is asked is not known (``UNKNOWN_TAGS``)."""
    return bool(UNKNOWN_TAGS & entry.tags)


def lacks_sure_type(retrieval: Retrieval, expected: AnswerType, entry_likeliest: bool) -> bool:
    """Whether the question expects a ``SURE_TYPES`` answer that nothing found holds: neither the passages the
    answerability model reads nor the top entry's answer. Whole passages, not only their best sentences: an
    extract reads on past the best sentence ("Plus tard, elle sera payée 0,30 dollar de l'heure"). When the
    model finds serving the top entry the likeliest outcome (``entry_likeliest``) and that entry says the thing
    asked is not known, it is the answer; an entry on another subject that says so is not ("Qui dirige
    l'école ?" finding "Le coût n'est pas connu")."""
    if expected not in SURE_TYPES or (entry_likeliest and retrieval.faq and says_unknown(retrieval.faq[0])):
        return False
    texts = [p.body for p in retrieval.passages[:TOP_PASSAGES]] + [m.answer for m in retrieval.faq[:1]]
    return not any(holds_type(text, expected) for text in texts)


def decide(
    retrieval: Retrieval, judgement: Judgement, limits: Limits, mode: str = "auto", expected: AnswerType = "other"
) -> Decision:
    """``expected``: the type of answer the question expects (``bot.answering.analysis``)."""
    p = judgement.probabilities
    why = judgement.describe()
    faq = retrieval.faq[0] if retrieval.faq and mode not in ("extractive", "llm") else None
    likely = judgement.outcome == "faq" and p["faq"] >= limits.faq_min_probability
    # a curated answer that does not hold what the question asks for (a duration, a figure, a date…) answers
    # another question: it is quoted among the passages where it ranks, never served as the answer
    if faq and (faq.score >= SAME_WORDING or (likely and judgement.features.faq_type)):
        return Decision("faq", f"FAQ {faq.source_id} at {faq.score:.3f}; {why}", faq, (faq.as_passage(),), judgement)
    if lacks_sure_type(retrieval, expected, judgement.outcome == "faq"):
        return Decision("refused", f"no {expected.replace('_', ' ')} in what was found; {why}", judgement=judgement)
    if mode == "faq" or not retrieval.passages or p["decline"] > limits.decline_above:
        return Decision("refused", why, judgement=judgement)
    passages = retrieval.passages
    top = passages[0].score
    usable = [p for p in passages if p.score >= top - PASSAGE_WINDOW]
    # Answer in one language: the user's, when a good enough passage in it exists (looking a little further
    # down for one rather than answering an English question in French).
    own = [p for p in usable if p.lang == retrieval.lang] or [
        p for p in passages if p.lang == retrieval.lang and p.score >= top - LANGUAGE_WINDOW
    ]
    chosen = tuple(own or usable)[:MAX_ANSWER_PASSAGES]
    return Decision("extractive", f"best passage {passages[0].source_id}; {why}", passages=chosen, judgement=judgement)

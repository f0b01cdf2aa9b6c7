"""``bot.text``: folding, content words, word weights and sentence splitting, which answer composition and
evaluation both rely on (an accent or a list marker must never make a fact "missing")."""

from __future__ import annotations

import pytest

from bot.text import WordWeights, content_words, fold, sentences, stem, words


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Données", "donnees"),
        ("  DONNÉES   de   l’école ", "donnees de l'ecole"),
        ("Ça\tva\n", "ca va"),
    ],
)
def test_fold_lowers_strips_accents_and_collapses_spaces(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_words_are_folded_alphanumeric_runs() -> None:
    assert words("L'école, c'est 12 mois !") == ["l", "ecole", "c", "est", "12", "mois"]


@pytest.mark.parametrize(
    ("word", "stemmed"),
    [("models", "model"), ("donnees", "donne"), ("formation", "form"), ("data", "data"), ("ias", "ias")],
)
def test_stem_cuts_one_suffix_and_keeps_short_words(word: str, stemmed: str) -> None:
    assert stem(word) == stemmed


def test_content_words_drop_stopwords_and_short_words_but_keep_numbers() -> None:
    assert content_words("Combien de temps dure la formation de l'école ?") == {"temp", "dure", "form", "ecol"}
    assert content_words("Le RGPD en 3 points") == {"rgpd", "3", "point"}
    assert content_words("Données") == content_words("donnees") == content_words("DONNEES")


def test_rare_words_weigh_more_than_common_ones() -> None:
    weights = WordWeights(["école data entretien", "école data", "école"])
    common, rare, unseen = weights(content_words("école")), weights(content_words("entretien")), weights(["zzz"])
    assert common < rare < unseen, (common, rare, unseen)
    assert weights([]) == 0


def test_sentences_split_on_end_marks_and_drop_list_and_heading_marks() -> None:
    text = "# Titre\n- Premier point. Deuxième point!\n\n1. La suite « cite » ceci. 2 mois.\n**Gras** fin."
    assert sentences(text) == [
        "Titre",
        "Premier point.",
        "Deuxième point!",
        "La suite « cite » ceci.",
        "2 mois.",
        "Gras fin.",
    ]


def test_a_full_stop_before_a_lower_case_word_does_not_end_a_sentence() -> None:
    assert sentences("Il est 3 h. Puis il part. il reste.") == ["Il est 3 h.", "Puis il part. il reste."]


def test_a_name_is_written_when_its_words_follow_one_another() -> None:
    weights = WordWeights(["En France, le travail en alternance est courant.", "Objectif IA est gratuit."])
    assert weights.writes(words("Objectif IA")) and weights.writes(words("France"))
    assert not weights.writes(words("France Travail")), "its words are there, apart"
    assert not weights.writes(words("Saclay"))

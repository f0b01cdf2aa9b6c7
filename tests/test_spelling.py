"""``bot.answering.spelling``: the character-level FAQ match and the SMS normaliser, on the shipped knowledge base.

The misspelt questions below are written for these tests (not taken from ``evals/datasets``). "Unchanged"
means character for character: a well-written question, in either language, comes back exactly as typed,
casing, accents, spaces and punctuation included.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.answering.spelling import (
    CharFaqMatcher,
    Phrasing,
    correct_words,
    looks_misspelt,
    normalise,
    vocabulary_of,
)
from tests.conftest import SHIPPED_KB


def faq_entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for path in sorted((SHIPPED_KB / "faq").glob("*.yaml")):
        entries.extend(yaml.safe_load(path.read_text(encoding="utf-8")))
    return entries


@pytest.fixture(scope="module")
def matcher() -> CharFaqMatcher:
    phrasings = [
        Phrasing(str(entry["id"]), str(entry["lang"]), str(text))
        for entry in faq_entries()
        for text in [entry["question"], *entry.get("alternates", [])]
    ]
    return CharFaqMatcher(phrasings)


@pytest.fixture(scope="module")
def vocabulary() -> frozenset[str]:
    """The knowledge base's well-written text: its pages, and the FAQ's questions and answers (not the SMS
    alternates, which would make their misspellings known words)."""
    pages = [path.read_text(encoding="utf-8") for path in sorted(Path(SHIPPED_KB).rglob("*.md"))]
    faq = [str(entry[field]) for entry in faq_entries() for field in ("question", "answer")]
    return vocabulary_of(pages + faq)


# --- CharFaqMatcher ----------------------------------------------------------------------------------------

MISSPELT_PARAPHRASES = [
    ("kel é la durai de la formassion objectif ia", "fr", "faq-objectif-011"),
    ("c koi la diferance entre data analist é data sientist", "fr", "faq-ecole-038"),
    ("sa coute cb lecol de la data", "fr", "faq-ecole-015"),
    ("pk lia invente dé truc", "fr", "faq-fonda-025"),
    ("on é payé pendan lalternanse", "fr", "faq-ecole-017"),
    ("le sertifika objectif ia c un diplom ?", "fr", "faq-objectif-021"),
    ("kesako le surapprentisage", "fr", "faq-fonda-012"),
    ("hw mutch does the ecol de la data cost", "en", "faq-en-ecole-009"),
    ("wats a nueral netwrk", "en", "faq-en-fonda-010"),
    ("is objectiv ia fre", "en", "faq-en-objectif-002"),
    ("who teches at the data skool", "en", "faq-en-ecole-021"),
    ("wat r the risc levls in the ai akt", "en", "faq-en-fonda-023"),
]


@pytest.mark.parametrize(("question", "lang", "entry"), MISSPELT_PARAPHRASES)
def test_a_misspelt_paraphrase_ranks_its_faq_entry_first(
    matcher: CharFaqMatcher, question: str, lang: str, entry: str
) -> None:
    ranked = matcher.best(question, lang)
    assert ranked[0][0] == entry, ranked


def test_best_gives_one_score_per_entry_in_the_language_best_first(matcher: CharFaqMatcher) -> None:
    ranked = matcher.best("combien de temps dure la formation", "fr", k=8)
    ids = [source_id for source_id, _ in ranked]
    scores = [score for _, score in ranked]
    assert len(ranked) == 8
    assert len(set(ids)) == 8
    assert scores == sorted(scores, reverse=True)
    assert all(not source_id.startswith("faq-en-") for source_id in ids)
    assert all(0.0 <= score <= 1.0 + 1e-9 for score in scores)
    english = matcher.best("how long does the course last", "en", k=3)
    assert all(source_id.startswith("faq-en-") for source_id, _ in english)


def test_a_phrasing_itself_scores_one_for_its_entry_whatever_its_accents(matcher: CharFaqMatcher) -> None:
    source_id, score = matcher.best("Qu'est-ce que l'apprentissage supervisé ?", "fr")[0]
    assert source_id == "faq-fonda-007"
    assert score == pytest.approx(1.0)
    source_id, score = matcher.best("QU'EST-CE QUE L'APPRENTISSAGE SUPERVISE ?", "fr")[0]
    assert source_id == "faq-fonda-007"
    assert score == pytest.approx(1.0)


def test_glued_and_unaccented_spellings_still_match(matcher: CharFaqMatcher) -> None:
    clean = dict(matcher.best("Où se trouve l'École de la data et de l'IA ?", "fr", k=60))
    sloppy = dict(matcher.best("ou se trouve lecole de la data et de lia", "fr", k=60))
    assert max(sloppy, key=sloppy.__getitem__) == "faq-ecole-021"
    assert sloppy["faq-ecole-021"] > 0.6 * clean["faq-ecole-021"]


def test_an_unknown_language_or_no_k_gives_nothing(matcher: CharFaqMatcher) -> None:
    assert matcher.best("was ist das", "de") == []
    assert matcher.best("c koi le rgpd", "fr", k=0) == []
    assert CharFaqMatcher([]).best("anything", "fr") == []


def test_a_question_sharing_no_ngram_scores_zero(matcher: CharFaqMatcher) -> None:
    assert all(score == 0.0 for _, score in matcher.best("ØØØ ###", "fr"))


# --- The SMS lexicon ---------------------------------------------------------------------------------------

SMS = [
    ("c koi le rgpd", "fr", "c'est quoi le rgpd"),
    ("c kan la 1ere promo", "fr", "c'est quand la première promo"),
    ("jsp cmb de tps ca dure", "fr", "je ne sais pas combien de temps ca dure"),
    ("pk g pas accès au cours", "fr", "pourquoi j'ai pas accès au cours"),
    ("kel é la durée", "fr", "quel est la durée"),
    ("pk lia é dangereuse", "fr", "pourquoi lia est dangereuse"),
    ("la diff entre ia é machine learning", "fr", "la différence entre ia et machine learning"),
    ("est ce k je peux postuler stp", "fr", "est ce que je peux postuler s'il te plaît"),
    ("l ia c dangereux ?", "fr", "l'ia c'est dangereux ?"),
    ("C est quoi l'IA", "fr", "C'est quoi l'IA"),
    ("y'a un concours ?", "fr", "il y a un concours ?"),
    ("ya bcp de pratique ds la formation", "fr", "il y a beaucoup de pratique dans la formation"),
    ("ki fait lé cours", "fr", "qui fait les cours"),
    ("Pk c payant ou pa", "fr", "Pourquoi c'est payant ou pas"),
    ("can u explain overfitting pls", "en", "can you explain overfitting please"),
    ("wat r the fees 4 the school", "en", "what are the fees for the school"),
    ("idk hw 2 apply", "en", "I don't know how to apply"),
    ("y do ppl say ai is dangerous", "en", "why do people say ai is dangerous"),
    ("is it free 4 me tho", "en", "is it free for me though"),
    ("thx, wat abt the exam?", "en", "thanks, what about the exam?"),
    ("course w/o exam", "en", "course without exam"),
    ("im 50, am i too old cuz ur school seems hard", "en", "I'm 50, am i too old because your school seems hard"),
]


@pytest.mark.parametrize(("text", "lang", "expected"), SMS)
def test_sms_forms_become_readable(text: str, lang: str, expected: str) -> None:
    assert normalise(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Le C est un langage compilé.", "fr"),
        ("J'apprends le C++ et le C#.", "fr"),
        ("Comment choisir k dans k-means ?", "fr"),
        ("les k plus proches voisins", "fr"),
        ("la valeur de k la plus adaptée", "fr"),
        ("le langage c est compilé", "fr"),
        ("la vitamine c aide-t-elle ?", "fr"),
        ("Il tombe 10 mm de pluie.", "fr"),
        ("Ce modèle prend 5 g de mémoire.", "fr"),
        ("la lettre é", "fr"),
        ("y'a-t-il un test ?", "fr"),
        ("Écrivez à info@laposte.fr ou https://openclassrooms.com/fr/courses/objectif-ia", "fr"),
        ("Is R used in data science?", "en"),
        ("I use r and python", "en"),
        ("y is the target and x the features", "en"),
        ("2 years of experience and 4 weeks of holidays", "en"),
        ("What is U-Net used for in the U.S.?", "en"),
    ],
)
def test_a_letter_or_number_that_is_itself_is_left_alone(text: str, lang: str, vocabulary: frozenset[str]) -> None:
    assert normalise(text, lang) == text
    assert normalise(text, lang, vocabulary) == text


# --- Well-written questions come back unchanged ------------------------------------------------------------

WELL_WRITTEN_FR = [
    "Quelle est la durée de la formation Objectif IA ?",
    "Qui peut candidater à l'École de la data et de l'IA ?",
    "C'est quoi le deep learning ?",
    "Combien coûte la formation de l'École ?",
    "Est-ce que je peux suivre le cours à distance ?",
    "Quand commence la prochaine promotion ?",
    "Pourquoi l'IA générative pose-t-elle des risques ?",
    "J'ai un master 1 en biologie, puis-je postuler ?",
    "Qu'est-ce que l'algorithme des k plus proches voisins ?",
    "Quelle est la différence entre précision et rappel ?",
    "Je voudrais savoir si le certificat est reconnu par l'État.",
    "Bonjour, je m'appelle Marie et je travaille à Lyon.",
    "Faut-il savoir coder en Python ou en C++ pour entrer ?",
    "Quel temps fera-t-il demain à Marseille ?",
    "Mon fils de 15 ans peut-il suivre le cours ?",
    "Les données personnelles sont-elles protégées par le RGPD ?",
    "Y a-t-il un entretien d'admission ?",
    "Il y a combien de modules dans le cours ?",
    "Quelle recette de gâteau au chocolat me conseilles-tu ?",
    "Les chaussures vertes sont en solde cette semaine.",
    "Peux-tu m'expliquer la descente de gradient simplement ?",
    "Est-on payé pendant l'alternance ?",
    "Le point C est le milieu du segment AB.",
    "À quoi sert la CNIL en France ?",
    "Netflix utilise-t-il l'intelligence artificielle ?",
    "Est-ce que l'IA va remplacer les comptables ?",
    "Je suis en reconversion après dix ans dans la restauration.",
    "Les apprenants obtiennent-ils un diplôme de niveau bac+5 ?",
    "Que signifie l'acronyme LLM ?",
    "Pouvez-vous me donner l'adresse e-mail du service ?",
]

WELL_WRITTEN_EN = [
    "What is the École de la data et de l'IA?",
    "How long does the Objectif IA course take?",
    "Can you explain what overfitting means?",
    "Why do we split data into a training set and a test set?",
    "Is the course free?",
    "What is the difference between supervised and unsupervised learning?",
    "I work for La Poste: can I take part in the programme?",
    "Which jobs does the school train for?",
    "Is R a good language for statistics?",
    "How do I choose k in k-nearest neighbours?",
    "I'd like to know whether the certificate is recognised.",
    "What's the weather like in London today?",
    "Can I pay with a credit card?",
    "My daughter is 16: can she take Objectif IA?",
    "What are the risk levels in the EU AI Act?",
    "Tell me about large language models.",
    "Where can I find the application form?",
    "Why are neural networks called black boxes?",
    "I don't understand gradient descent.",
    "What is the capital of Australia?",
    "Do you recommend any books about statistics?",
    "Are learners paid during the programme?",
    "Is C still used in machine learning libraries?",
    "What does a data engineer do all day?",
]


@pytest.mark.parametrize(("text", "lang"), [(t, "fr") for t in WELL_WRITTEN_FR] + [(t, "en") for t in WELL_WRITTEN_EN])
def test_a_well_written_question_comes_back_unchanged(text: str, lang: str, vocabulary: frozenset[str]) -> None:
    assert normalise(text, lang) == text
    assert normalise(text, lang, vocabulary) == text
    assert not looks_misspelt(text, lang, vocabulary)


def test_the_knowledge_base_own_sentences_come_back_unchanged(vocabulary: frozenset[str]) -> None:
    """About two thousand well-written sentences, in both languages: the lexicon's guards at scale."""
    changed = []
    for path in sorted(Path(SHIPPED_KB).rglob("*.md")):
        lang = "en" if "/en/" in path.as_posix() else "fr"
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and normalise(line, lang, vocabulary) != line:
                changed.append(line)
    assert not changed, changed[:5]


def test_another_language_is_returned_as_is(vocabulary: frozenset[str]) -> None:
    assert normalise("c koi u r", "de", vocabulary) == "c koi u r"


# --- Correction against the vocabulary ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lecol de la data", "l'ecole de la data"),
        ("lecole de la data", "l'ecole de la data"),
        ("lalternance", "l'alternance"),
        ("sinscrire a lecole", "s'inscrire a l'ecole"),
        ("la formassion", "la formation"),
        ("la diferance", "la difference"),
        ("un concour", "un concours"),
    ],
)
def test_correct_words_fixes_glued_elisions_and_near_misses(
    text: str, expected: str, vocabulary: frozenset[str]
) -> None:
    assert correct_words(text, vocabulary) == expected


def test_correct_words_leaves_names_short_words_and_inflections(vocabulary: frozenset[str]) -> None:
    for text in ["Je travaille chez Formassion", "la promo", "il codera en Python", "il fera beau"]:
        assert correct_words(text, vocabulary) == text


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("c kan la 1ere promo de lecol", "fr", "c'est quand la première promo de l'ecole"),
        ("ki fait lé cour a lecol de la data", "fr", "qui fait les cours a l'ecole de la data"),
        ("pk lia c dangereux", "fr", "pourquoi l'ia c'est dangereux"),
        ("jsp cmb de tps dure lalternance", "fr", "je ne sais pas combien de temps dure l'alternance"),
        (
            "c koi la diferance entre ia é machine learning",
            "fr",
            "c'est quoi la difference entre ia et machine learning",
        ),
        ("can u explain overfiting pls", "en", "can you explain overfitting please"),
        ("idk wat a neural netwrk is", "en", "I don't know what a neural network is"),
    ],
)
def test_normalise_expands_then_corrects_a_misspelt_question(
    text: str, lang: str, expected: str, vocabulary: frozenset[str]
) -> None:
    assert normalise(text, lang, vocabulary) == expected


def test_words_are_corrected_only_in_a_question_that_looks_misspelt() -> None:
    vocabulary = vocabulary_of(["La formation dure combien de temps ?"])
    one_typo = "la formassion dure combien de temps"
    assert correct_words(one_typo, vocabulary) == "la formation dure combien de temps"
    assert normalise(one_typo, "fr", vocabulary) == one_typo  # one typo: the embedding copes
    assert normalise("la formassion dure cmb de tps", "fr", vocabulary) == "la formation dure combien de temps"


# --- looks_misspelt and vocabulary_of ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("c kan la 1ere promo de lecol", "fr"),
        ("ki fait lé cour a lecol de la data", "fr"),
        ("kel é la durai de la formassion", "fr"),
        ("jsp cmb de tps", "fr"),
        ("koi", "fr"),
        ("wat r the fees", "en"),
        ("can u explain overfiting pls", "en"),
        ("hw 2 aply 2 teh skool", "en"),
    ],
)
def test_sms_and_heavy_misspelling_look_misspelt(text: str, lang: str, vocabulary: frozenset[str]) -> None:
    assert looks_misspelt(text, lang, vocabulary)


def test_an_empty_or_symbol_only_text_does_not_look_misspelt(vocabulary: frozenset[str]) -> None:
    assert not looks_misspelt("", "fr", vocabulary)
    assert not looks_misspelt("?? 42 !!", "en", vocabulary)


def test_vocabulary_of_folds_words() -> None:
    assert vocabulary_of(["L'École des Données", "données 2024"]) == {"l", "ecole", "des", "donnees", "2024"}


def test_normalise_is_fast_on_the_knowledge_base_vocabulary(vocabulary: frozenset[str]) -> None:
    """Well under a millisecond a question on a developer machine; the bound leaves room for a busy CI."""
    questions = [text for text, _, _ in SMS] + WELL_WRITTEN_FR
    normalise(questions[0], "fr", vocabulary)  # the vocabulary's index is built once
    start = time.perf_counter()
    for _ in range(5):
        for question in questions:
            normalise(question, "fr", vocabulary)
            looks_misspelt(question, "fr", vocabulary)
    per_question = (time.perf_counter() - start) / (5 * len(questions))
    assert per_question < 0.005, f"{per_question * 1000:.2f} ms"

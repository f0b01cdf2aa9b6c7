"""``bot.tutor.intent``: what a learner asks the tutor for, recognised by wording (no model). The quiz
requests of ``tests/test_tutor.py`` are complemented here by the edges of the other requests."""

from __future__ import annotations

import pytest

from bot.tutor.intent import quiz_topic, wants_answer, wants_hint, wants_next, wants_stop


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("Teste-moi sur l'éthique de l'IA !", "l'ethique de l'ia"),
        ("Give me a quiz about computer vision", "computer vision"),
        ("quizz moi", ""),
        ("ask me some questions on the AI Act", "the ai act"),
        ("Lance-moi un quiz concernant le RGPD", "le rgpd"),
        ("Quel test faut-il passer pour entrer ?", None),
        ("Est-ce que le quiz est noté ?", None),
    ],
)
def test_quiz_requests_and_their_topic(message: str, topic: str | None) -> None:
    assert quiz_topic(message) == topic, f"quiz_topic({message!r})"


@pytest.mark.parametrize("message", ["Stop", "on arrête", "fin du quiz", "retour au chat", "enough", "quit"])
def test_stop_requests(message: str) -> None:
    assert wants_stop(message), message


@pytest.mark.parametrize(
    "message", ["Comment stopper un modèle ?", "la fin de la formation ?", "Peut-on arrêter la formation en cours ?"]
)
def test_questions_that_mention_stopping_are_not_stop_requests(message: str) -> None:
    assert not wants_stop(message), message


@pytest.mark.parametrize("message", ["Suivante", "une autre !", "ok vas-y", "next question please", "Oui"])
def test_next_requests(message: str) -> None:
    assert wants_next(message), message


@pytest.mark.parametrize(
    "message", ["Oui mais pourquoi le modèle surapprend-il autant ?", "suivante au programme de la formation"]
)
def test_a_longer_message_starting_like_a_next_request_is_not_one(message: str) -> None:
    assert not wants_next(message), message


@pytest.mark.parametrize("message", ["Dis-moi la bonne réponse", "réponse ?", "je donne ma langue au chat", "reveal"])
def test_answer_requests(message: str) -> None:
    assert wants_answer(message), message


@pytest.mark.parametrize("message", ["Ma réponse est le gradient", "la solution serait de régulariser"])
def test_an_answer_that_mentions_the_word_is_not_a_request(message: str) -> None:
    assert not wants_answer(message), message


@pytest.mark.parametrize(
    "message", ["Indice", "un indice stp", "another hint please", "je sèche", "I'm stuck", "help me"]
)
def test_hint_requests(message: str) -> None:
    assert wants_hint(message), message


@pytest.mark.parametrize(
    "message", ["L'aide de l'État pour les alternants ?", "help desk opening hours and contact details"]
)
def test_questions_about_help_are_not_hint_requests(message: str) -> None:
    assert not wants_hint(message), message

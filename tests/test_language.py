from __future__ import annotations

import pytest

from bot.answering.chat import ChatService
from bot.conversation import Conversation
from bot.language import detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Combien de temps dure la formation ?", "fr"),
        ("c koi le rythme de l'alternance", "fr"),
        ("et ça dure combien de temps ?", "fr"),
        ("How long does the programme last?", "en"),
        ("whats overfitting", "en"),
        ("is there an entrance exam?", "en"),
        ("RGPD", "fr"),
        ("Can you give me a quick overview of the École de la data et de l'IA run by La Poste?", "en"),
        ("Quelle est la durée de l'École de la data et de l'IA ?", "fr"),
        # an acronym does not vote: "AI" is not French "ai" (j'ai)
        ("AI Act: are high-risk AI systems banned?", "en"),
        ("Hetic courses cost around 9,000 euros, right?", "en"),  # no stop word: the tag and "around" tell
        ("ur AI classes r online?", "en"),  # English SMS forms
        ("J'AI UNE QUESTION SUR LE RGPD", "fr"),  # all in capitals: every word is read
        ("kel est le prix", "fr"),
    ],
)
def test_detects_french_and_english(text: str, lang: str) -> None:
    assert detect_language(text) == lang, f"{text!r} read as {detect_language(text)}"


@pytest.mark.parametrize(
    ("text", "interface", "lang"),
    [
        ("c'est gratuit ?", "en", "fr"),  # an elision votes: "c'est" is "c" and "est"
        ("data scientist ?", "fr", "fr"),  # "data" is French too here: it says nothing
        ("RGPD ?", "en", "en"),  # nothing to tell by: the interface's language
        ("ok", "fr", "fr"),
        ("ecole data ia, is it open to students?", "fr", "en"),  # the school's name is no French word
    ],
)
def test_a_message_that_does_not_tell_keeps_the_interface_language(text: str, interface: str, lang: str) -> None:
    assert detect_language(text, default=interface) == lang, f"{text!r} with {interface} on read as {lang}"


def test_the_answer_follows_the_language_typed_not_the_interfaces(fixture_chat: ChatService) -> None:
    """The FR/EN switch sets the interface; a French question with EN on is answered in French, and back."""
    conversation = Conversation(fixture_chat)
    french = conversation.ask("Comment se passe l'admission à l'école test ?", lang="en")
    english = conversation.ask("How does admission to the test school work?", lang="fr")
    assert french.lang == "fr" and "entretien" in french.answer, (french.lang, french.reason, french.answer)
    assert english.lang == "en" and "interview" in english.answer, (english.lang, english.reason, english.answer)

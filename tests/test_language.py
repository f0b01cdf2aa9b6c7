from __future__ import annotations

import pytest

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
    ],
)
def test_detects_french_and_english(text: str, lang: str) -> None:
    assert detect_language(text) == lang, f"{text!r} read as {detect_language(text)}"

"""Retrieval on a real index: language preference, metadata filters, the keyword signal, sentence scores."""

from __future__ import annotations

from bot.chat import ChatService
from bot.keywords import KeywordIndex
from bot.retrieval import Retriever, Scope


def test_english_content_is_preferred_for_english_questions(fixture_chat: ChatService) -> None:
    found = fixture_chat.retriever.search("How long is the test school's programme?", "en")
    assert found.passages[0].source_id == "en/admission"


def test_metadata_filters_restrict_passages(fixture_chat: ChatService) -> None:
    found = fixture_chat.retriever.search("How long is the test school's programme?", "en", Scope(lang="fr"))
    assert found.passages and all(p.lang == "fr" for p in found.passages)
    assert fixture_chat.retriever.search("durée", "fr", Scope(programme="nothing-here")).passages == []


def test_keyword_signal_brings_exact_terms_forward(fixture_chat: ChatService) -> None:
    documents = fixture_chat.index.passages.get()
    keywords = KeywordIndex(documents)
    diploma = {d.id for d in documents if d.metadata["source_id"] == "ecole/diplome"}
    assert next(iter(keywords.top("RNCP", 3))) in diploma
    fused = Retriever(fixture_chat.index, 5, keywords, keyword_weight=0.5).search("sigle RNCP", "fr")
    assert fused.passages[0].source_id == "ecole/diplome"
    assert fused.passages[0].score > fused.passages[0].dense  # ranked by the fused score, cosine kept apart


def test_sentences_are_scored_by_meaning(fixture_chat: ChatService) -> None:
    found = fixture_chat.retriever.search("Quel est le rythme de l'alternance ?", "fr")
    section = next(p for p in found.passages if p.metadata.get("section") == "Durée de la formation")
    assert set(section.sentence_scores) == {0, 1}
    assert section.sentence_scores[1] > section.sentence_scores[0]  # the rhythm sentence, not the duration one

"""Retrieval on a real index: language preference, metadata filters, the keyword signal, sentence scores."""

from __future__ import annotations

from bot.answering.chat import ChatService
from bot.answering.retrieval import Retriever, Scope
from bot.indexing.keywords import KeywordIndex


def test_english_content_is_preferred_for_english_questions(fixture_chat: ChatService) -> None:
    found = fixture_chat.retriever.search("How long is the test school's programme?", "en")
    assert found.passages[0].source_id == "en/admission", [(p.source_id, round(p.score, 3)) for p in found.passages]


def test_metadata_filters_restrict_passages(fixture_chat: ChatService) -> None:
    found = fixture_chat.retriever.search("How long is the test school's programme?", "en", Scope(lang="fr"))
    assert found.passages and all(p.lang == "fr" for p in found.passages), [
        (p.source_id, p.lang) for p in found.passages
    ]
    elsewhere = fixture_chat.retriever.search("durée", "fr", Scope(programme="nothing-here")).passages
    assert elsewhere == [], [p.source_id for p in elsewhere]


def test_keyword_signal_brings_exact_terms_forward(fixture_chat: ChatService) -> None:
    documents = fixture_chat.index.passages.get()
    keywords = KeywordIndex(documents)
    diploma = {d.id for d in documents if d.metadata["source_id"] == "ecole/diplome"}
    assert next(iter(keywords.top("RNCP", 3))) in diploma, keywords.top("RNCP", 3)
    fused = Retriever(fixture_chat.index, 5, keywords, keyword_weight=0.5).search("sigle RNCP", "fr")
    assert fused.passages[0].source_id == "ecole/diplome", [(p.source_id, round(p.score, 3)) for p in fused.passages]
    assert fused.passages[0].score > fused.passages[0].dense, fused.passages[0]  # ranked by the fused score


def test_sentences_are_scored_by_meaning(fixture_chat: ChatService) -> None:
    found = fixture_chat.retriever.search("Quel est le rythme de l'alternance ?", "fr")
    section = next(p for p in found.passages if p.metadata.get("section") == "Durée de la formation")
    assert set(section.sentence_scores) == {0, 1}, section.sentence_scores
    # the rhythm sentence, not the duration one
    assert section.sentence_scores[1] > section.sentence_scores[0], section.sentence_scores


def test_faq_and_sentences_kept_in_memory_follow_a_sync_in_the_same_process(
    make_settings, kb_copy, indexed_data
) -> None:
    """The embedded store's FAQ phrasings and sentences are searched in memory; a sync by this process (the
    only one that may write the embedded store) must be seen at once, additions and deletions alike."""
    from bot.indexing.index import KnowledgeIndex

    index = KnowledgeIndex(make_settings(kb_dir=kb_copy))
    index.sync(kb_copy)
    chat = ChatService(index.settings, index)
    question = "Peut-on venir avec son chien à l'école test ?"
    assert chat.retriever.in_memory  # the embedded store: both searched from memory
    before = chat.retriever.search(question, "fr")
    assert all(m.source_id != "faq-test-chien" for m in before.faq), before.faq
    (kb_copy / "faq" / "animaux.yaml").write_text(
        "- id: faq-test-chien\n  lang: fr\n  programme: ecole-test\n"
        '  question: "Les chiens sont-ils acceptés à l\'école test ?"\n'
        '  answer: "Non, les animaux ne sont pas acceptés dans les locaux de l\'école test."\n'
    )
    (kb_copy / "ecole" / "pages.md").write_text(
        "---\ntitle: Règlement\nprogramme: ecole-test\n---\n# Règlement intérieur\n\n"
        "Les animaux de compagnie ne sont pas admis dans les salles de cours de l'école test.\n"
    )
    index.sync(kb_copy)
    after = chat.retriever.search(question, "fr")
    assert after.faq[0].source_id == "faq-test-chien" and after.faq[0].score > 0.8, after.faq[:2]
    page = next(p for p in after.passages if p.source_id == "ecole/pages")
    assert page.sentence_scores, "the new page's sentences are not scored: the in-memory copy was not refreshed"
    (kb_copy / "faq" / "animaux.yaml").unlink()
    index.sync(kb_copy)
    gone = chat.retriever.search(question, "fr").faq
    assert all(m.source_id != "faq-test-chien" for m in gone), f"a deleted FAQ entry is still matched: {gone}"

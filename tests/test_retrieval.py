"""Retrieval on a real index: language preference, metadata filters, the keyword signal, sentence scores, and
what a follow-up is searched with (the conversation's subject and programme)."""

from __future__ import annotations

import shutil

import pytest

from bot.answering.chat import REFUSAL, ChatAnswer, ChatService
from bot.answering.followup import conversation_topic
from bot.answering.retrieval import Retriever, Scope
from bot.config import Settings
from bot.conversation import Conversation
from bot.indexing.embeddings import clear_query_cache
from bot.indexing.index import KnowledgeIndex
from bot.indexing.keywords import KeywordIndex
from bot.schema import Turn
from tests.conftest import SHIPPED_KB, IndexTemplates


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


# Pages of the shipped knowledge base on two programmes that both have a duration: what a follow-up that names
# neither ("et ça dure combien de temps ?") must be told apart on. Three pages, not the whole programmes: the
# sentence index embeds every sentence, and these three already put both durations in competition.
PROGRAMME_PAGES = [
    "ecole-data-ia/admission.md",
    "ecole-data-ia/duree-et-rythme.md",
    "ecole-data-ia/ethique.md",
    "ecole-data-ia/presentation.md",
    "objectif-ia/contenu-et-duree.md",
]
ADMISSION_ANSWER = (
    "Lors de l'entretien d'admission, l'École de la data et de l'IA cherche à évaluer l'engagement du candidat. [1]"
)


@pytest.fixture(scope="module")
def programmes_chat(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> ChatService:
    kb = tmp_path_factory.mktemp("programmes") / "kb"
    for page in PROGRAMME_PAGES:
        (kb / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHIPPED_KB / page, kb / page)
    settings = Settings(data_dir=index_templates.copy(kb, tmp_path_factory.mktemp("programmes") / "data"), kb_dir=kb)
    return ChatService(settings, KnowledgeIndex(settings))


def _asked(chat: ChatService, message: str, *turns: str) -> ChatAnswer:
    history = [Turn("user" if n % 2 == 0 else "assistant", text) for n, text in enumerate(turns)]
    return Conversation(chat).ask(message, history)


@pytest.mark.slow  # three real pages embedded once (about 20 s here): left to `make test`
def test_a_follow_up_keeps_the_programme_the_bot_named(programmes_chat: ChatService) -> None:
    """The user never named the school; the bot's answer did."""
    answer = _asked(
        programmes_chat, "et ça dure combien de temps ?", "Comment se passe l'admission ?", ADMISSION_ANSWER
    )
    assert not answer.refused, answer.reason
    assert "3 à 12 mois" in answer.answer, (answer.query, answer.retrieved, answer.answer)


# Follow-ups whose answer is Objectif IA's duration: the topic of two turns back, kept; a switch of programme.
OBJECTIF_IA_FOLLOW_UPS = {
    "two-turns-back": (
        "and how long does it take?",
        (
            "What is Objectif IA?",
            "Objectif IA is a free online course on the fundamentals of artificial intelligence. [1]",
            "is it free?",
            "Yes, it is free. [1]",
        ),
    ),
    "programme-switched": (
        "et pour Objectif IA ?",
        (
            "Combien de temps dure l'École de la data et de l'IA ?",
            "L'École de la data et de l'IA propose un cursus qualifiant d'une durée de 3 à 12 mois. [1]",
        ),
    ),
}


@pytest.mark.slow  # the same index
@pytest.mark.parametrize("message, turns", OBJECTIF_IA_FOLLOW_UPS.values(), ids=list(OBJECTIF_IA_FOLLOW_UPS))
def test_a_follow_up_finds_objectif_ia_two_turns_back_or_after_a_switch(
    programmes_chat: ChatService, message: str, turns: tuple[str, ...]
) -> None:
    answer = _asked(programmes_chat, message, *turns)
    assert answer.retrieved[0][0].startswith("objectif-ia/"), (answer.query, answer.retrieved)
    assert "six heures" in answer.answer or "six hours" in answer.answer, answer.answer


@pytest.mark.slow  # the same index
def test_the_programme_named_weighs_less_than_what_is_asked_of_it(programmes_chat: ChatService) -> None:
    """The school's name pulls the page presenting the school forward; what is asked of it, less so."""
    message = "À l'école de la data de La Poste, on parle des dérives de l'IA comme la surveillance ?"
    found = programmes_chat.examine(message, [], "fr").retrieval
    plain = programmes_chat.retriever.search(message, "fr")  # the same search, the name weighing fully

    def ethics_rank(passages: list) -> int:
        return next((n for n, p in enumerate(passages) if p.source_id == "ecole-data-ia/ethique"), len(passages))

    assert ethics_rank(found.passages) < ethics_rank(plain.passages), (found.passages, plain.passages)
    # the curated answers and the cosines the answerability model reads are the question's own
    assert [(m.source_id, m.score) for m in found.faq] == [(m.source_id, m.score) for m in plain.faq]
    cosine = {p.id: p.dense for p in plain.passages}
    assert all(abs(p.dense - cosine[p.id]) < 1e-6 for p in found.passages if p.id in cosine)


@pytest.mark.slow  # the same index
def test_a_programme_named_as_remembered_costs_no_second_encoding(
    programmes_chat: ChatService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The names' vectors are encoded at start-up (``ChatService.warm``), in the forms the curated questions
    write: a new question naming the school so is then encoded alone, as one that names nothing."""
    embeddings = programmes_chat.index.embeddings
    programmes_chat.retriever.remember_namings(["école de la data", "ECOLE DE LA DATA"])
    encoded: list[str] = []
    real = embeddings._encode
    monkeypatch.setattr(embeddings, "_encode", lambda texts, task: encoded.extend(texts) or real(texts, task))
    for message in ("Combien de temps dure l'école de la data ?", "ECOLE DE LA DATA : quel rythme ?"):
        clear_query_cache()
        encoded.clear()
        found = programmes_chat.examine(message, [], "fr")
        assert len(encoded) == 1, encoded  # the question, not its programme's name
        assert found.retrieval.passages[0].source_id == "ecole-data-ia/duree-et-rythme", found.retrieval.passages


def test_a_refusal_naming_every_programme_sets_no_topic() -> None:
    history = [Turn("user", "Quel temps fait-il ?"), Turn("assistant", REFUSAL["fr"])]
    topic = conversation_topic("et demain ?", history)
    assert topic is not None and topic.programme is None, topic
    switched = conversation_topic(
        "and for Objectif IA?", [Turn("user", "How long does the École de la data et de l'IA last?")]
    )
    assert switched is not None and switched.programme == "objectif-ia", switched
    assert "École" not in switched.context, switched

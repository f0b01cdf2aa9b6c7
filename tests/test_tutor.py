"""The tutor: grading with the real embedding model, Socratic coaching, progress in a real SQLite store that
survives a restart, the chat's hand-over and the HTTP API on a real server (uvicorn, in this process). The
tutor KB is embedded once per session (``IndexTemplates``); each test gets its own copy of that index."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.conversation import Done, TurnRequest
from bot.indexing.embeddings import load_embeddings
from bot.runtime import Runtime
from bot.schema import Lang
from bot.store import Store
from bot.tutor.grading import Grader
from bot.tutor.intent import quiz_topic, wants_answer, wants_hint, wants_next, wants_stop
from bot.tutor.progress import ProgressStore, TutorState
from bot.tutor.quizzes import QuizBank
from bot.tutor.service import TEXTS as TUTOR_TEXTS
from bot.tutor.service import TutorService
from bot.web.pages.quiz import TEXTS as QUIZ_TEXTS
from tests.conftest import FIXTURE_KB, SHIPPED_KB, IndexTemplates, app_server

DL = "fondamentaux/deep-learning"


def tutor_kb(target: Path) -> Path:
    """The fixture KB plus the shipped quizzes and the deep-learning pages they cite.

    The quiz bank reads the sections it cites from these files, not from the index: the tests serve it over
    the fixture KB's index (``index_templates.copy(FIXTURE_KB, ...)``), and the session never embeds the two
    long course pages (minutes on two busy cores). The app ingests only an empty collection at start-up."""
    shutil.copytree(FIXTURE_KB, target)
    shutil.copytree(SHIPPED_KB / "quizzes", target / "quizzes")
    for page in ("deep-learning.md", "en/deep-learning.md"):
        (target / "fondamentaux" / page).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SHIPPED_KB / "fondamentaux" / page, target / "fondamentaux" / page)
    return target


@pytest.fixture(scope="module")
def bank() -> QuizBank:
    return QuizBank(SHIPPED_KB)


@pytest.fixture
def make_tutor(tmp_path: Path, bank: QuizBank) -> Callable[[], TutorService]:
    """A tutor over the shipped quizzes; each call opens the same store file again, as a restarted app would."""
    grader = Grader(load_embeddings(Settings()), "gemma")
    return lambda: TutorService(bank, grader, ProgressStore(Store(tmp_path / "store.sqlite")), seed=7)


def test_progress_is_kept_alike_on_both_engines(store_url: str) -> None:
    """The progress store's own SQL (an upsert, an identity column, a float score) on SQLite and PostgreSQL,
    read back by a store opened afresh, as a restarted app would."""
    progress = ProgressStore(Store(store_url))
    state = TutorState("learner-p", "fr", "quiz", question_id="quiz-dl-01", module=DL)
    progress.save(state)
    state.hints, state.best = 1, "partial"
    progress.save(state)  # the same learner again: updated, not a second row
    progress.record(state, "correct", 0.7)
    progress.save(TutorState("learner-p", "en", "chat", question_id="quiz-dl-02", module=DL))
    progress.record(progress.state("learner-p") or state, "explained", 0.2)
    progress.store.close()

    reopened = ProgressStore(Store(store_url))
    assert reopened.state("learner-p") == TutorState("learner-p", "en", "chat", module=DL)
    assert [(r.question_id, r.outcome, r.hints, r.score) for r in reopened.results("learner-p")] == [
        ("quiz-dl-01", "correct", 1, 0.7),
        ("quiz-dl-02", "explained", 0, 0.2),
    ]
    assert reopened.state("someone-else") is None and reopened.results("someone-else") == []
    reopened.store.close()


def test_quiz_bank_reads_every_module_in_course_order(bank: QuizBank) -> None:
    modules = list(bank.modules.values())
    assert len(modules) == 12 and not bank.failures, (list(bank.modules), bank.failures)
    assert [m.order for m in modules] == sorted(m.order for m in modules), [(m.id, m.order) for m in modules]
    assert modules[0].id == "fondamentaux/ia-definition-histoire"
    assert all(m.title("en") != m.title("fr") for m in modules), [
        m.id for m in modules if m.title("en") == m.title("fr")
    ]
    module, question = bank.question("quiz-dl-01")
    citation = bank.citation(module, question)
    assert citation.source_id == DL and citation.section == question.section, citation
    assert "poids" in citation.snippet, citation.snippet  # the section's own text, read from the page


def test_a_malformed_quiz_file_is_skipped_and_named(tmp_path: Path) -> None:
    (tmp_path / "quizzes").mkdir()
    shutil.copy(SHIPPED_KB / "quizzes" / "deep-learning.yaml", tmp_path / "quizzes")
    (tmp_path / "quizzes" / "broken.yaml").write_text("module: x/y\nquestions: [{id: 1}]\n")
    bank = QuizBank(tmp_path)
    assert list(bank.modules) == [DL]
    assert "broken.yaml" in bank.failures, bank.failures


@pytest.mark.slow  # nine gradings with the embedding model: tens of seconds on two busy cores
def test_reference_answers_are_graded_correct_and_foreign_answers_are_not(bank: QuizBank, make_tutor) -> None:
    grader = make_tutor().grader
    module = bank.modules[DL]
    for question in module.questions[:4]:
        grade = grader.grade(question, question.reference_answer)
        assert grade.verdict == "correct", (question.id, grade)
    neighbour = bank.modules["fondamentaux/rgpd-donnees-personnelles"].questions[0]
    grade = grader.grade(module.questions[0], neighbour.reference_answer)
    assert grade.verdict == "wrong" and grade.reason == "off_topic", grade
    for empty in ("", "   ", "je sais pas", "no idea"):
        grade = grader.grade(module.questions[0], empty)
        assert grade.verdict == "wrong", (empty, grade)


def test_wrong_answers_get_hint_one_then_two_then_the_explanation_with_its_section(make_tutor) -> None:
    tutor = make_tutor()
    turn = tutor.ask("learner-a", DL, "fr")
    question = tutor.bank.question(turn.question_id)[1]
    assert turn.question == question.question and question.lang == "fr", (turn, question.lang)
    first = tutor.answer("learner-a", "Aucune idée.")
    assert first.hint == question.hints[0] and not first.finished and question.reference_answer not in first.message, (
        first
    )
    second = tutor.answer("learner-a", "C'est une image découpée en pixels par un CNN.")
    assert second.verdict == "wrong" and second.hint == question.hints[1] and not second.finished, second
    last = tutor.answer("learner-a", "Je pense que c'est une base de données.")
    assert last.finished and last.score == 0.0 and last.explanation == question.reference_answer, last
    assert last.citation.source_id == DL and last.citation.section == question.section, last.citation
    assert question.section in last.message and last.missing == question.key_ideas, last


def test_partial_answer_names_what_was_found_and_counts_what_is_missing(make_tutor) -> None:
    tutor = make_tutor()
    turn = tutor.ask("learner-b", DL, "fr")
    question = tutor.bank.question(turn.question_id)[1]
    assert question.id == "quiz-dl-01"  # unseen questions come in the module's order
    partial = tutor.answer("learner-b", "Le neurone multiplie chaque entrée par un poids puis fait la somme.")
    assert partial.verdict == "partial" and partial.found and partial.missing_count >= 1, partial
    assert partial.hint == question.hints[0], partial.hint
    leaked = [idea for idea in question.key_ideas if idea not in partial.found and idea in partial.message]
    assert all(idea not in partial.message for idea in question.key_ideas if idea not in partial.found), (
        f"missing ideas given away: {leaked}"
    )


def test_the_answer_on_request_finishes_the_question_without_credit(make_tutor) -> None:
    tutor = make_tutor()
    tutor.ask("learner-c", DL, "en")
    turn = tutor.reveal("learner-c")
    assert turn.finished and turn.score == 0.0 and turn.citation.source_id == "fondamentaux/en/deep-learning", turn
    assert tutor.bank.question(turn.question_id)[1].lang == "en", turn.question_id


@pytest.mark.slow  # questions of two modules embedded for grading: over ten seconds on two busy cores
def test_progress_streak_recommendation_and_restart(make_tutor) -> None:
    tutor = make_tutor()
    for _ in range(2):
        tutor.ask("learner-d", DL, "fr")
        tutor.reveal("learner-d")
    report = tutor.report("learner-d", "fr")
    dl = next(m for m in report.modules if m.module == DL)
    assert (dl.seen, dl.correct, dl.average) == (2, 0, 0.0)
    assert report.recommendation.kind == "review" and report.recommendation.module == DL, report.recommendation

    turn = tutor.ask("learner-d", "fondamentaux/machine-learning", "fr")
    question = tutor.bank.question(turn.question_id)[1]
    right = tutor.answer("learner-d", question.reference_answer)
    assert right.finished and right.score == 1.0, right

    restarted = make_tutor()  # a new service over the same database file
    again = restarted.report("learner-d", "fr")
    assert (again.answered, again.streak, again.best_streak) == (3, 1, 1)
    assert next(m for m in again.modules if m.module == DL).seen == 2
    assert restarted.report("someone-else", "fr").answered == 0, "another learner starts with no progress"


def test_a_right_answer_after_hints_says_how_its_score_was_made(make_tutor) -> None:
    tutor = make_tutor()
    turn = tutor.ask("learner-h", DL, "fr")
    question = tutor.bank.question(turn.question_id)[1]
    tutor.hint("learner-h")
    tutor.hint("learner-h")
    right = tutor.answer("learner-h", question.reference_answer)
    assert right.finished and right.score == 0.4, right
    assert "Score : 40%" in right.message and "bonne réponse après deux indices" in right.message, right.message
    assert "100% sans indice, 70% après un indice, 40% après deux" in right.message, right.message
    tutor.ask("learner-h", DL, "fr")
    shown = tutor.reveal("learner-h")
    assert "Score : 0%, réponse affichée" in shown.message, shown.message


def test_feedback_and_framing_follow_the_language_the_learner_reads_in(make_tutor) -> None:
    """The quiz page's FR/EN switch: a question asked in French is framed, hinted and scored in English once
    the learner switches (its own text stays French: there is no translation of it)."""
    tutor = make_tutor()
    asked = tutor.ask("learner-l", DL, "fr")
    framed = tutor.current("learner-l", "en")
    assert framed is not None and asked.question in framed.message, framed
    assert "Answer in your own words" in framed.message and "Répondez" not in framed.message, framed.message
    hint = tutor.hint("learner-l", lang="en")
    assert hint.message.startswith("💡 Hint 1:"), hint.message
    shown = tutor.reveal("learner-l", lang="en")
    assert "Here is the explanation" in shown.message and "Score: 0%" in shown.message, shown.message
    assert tutor.current("learner-l", "en") is None, "a finished question is no longer in progress"
    assert "Answer in your own words" in tutor.show("learner-l", asked.question_id, "en").message


def test_the_recommendation_follows_the_module_the_learner_chose(make_tutor) -> None:
    tutor = make_tutor()
    ml = "fondamentaux/machine-learning"
    tutor.ask("learner-m", ml, "fr")
    assert tutor.report("learner-m", "fr").recommendation.module == ml, "a question in progress counts"
    tutor.reveal("learner-m")
    recommendation = tutor.report("learner-m", "fr").recommendation
    assert recommendation.module == ml and recommendation.kind == "next", recommendation
    assert tutor.ask("learner-m", None, "fr").module == ml, "the recommended module is the one asked from"


def test_a_first_visit_is_recommended_the_first_module(make_tutor) -> None:
    tutor = make_tutor()
    recommendation = tutor.report("new-learner", "en").recommendation
    assert recommendation.kind == "start" and recommendation.module == "fondamentaux/ia-definition-histoire", (
        recommendation
    )
    turn = tutor.ask("new-learner", None, "en")
    assert turn.module == recommendation.module and "Artificial intelligence" in turn.module_title, turn


def test_surprise_picks_a_module_with_unseen_questions(make_tutor) -> None:
    tutor = make_tutor()
    modules = {tutor.ask("learner-s", "surprise", "fr").module for _ in range(6)}
    assert len(modules) > 1 and modules <= set(tutor.bank.modules), modules


# "tu" and its forms, and imperatives of the tu form before a pronoun ("Dis-moi", "Surprends-moi"): the
# product says "vous" in French, in the chat and the quiz alike.
_TU = re.compile(r"\b(?:tu|te|toi|ton|ta|tes|t'\w+)\b|\b\w+s-(?:moi|nous)\b", re.IGNORECASE)


def test_french_tutor_and_quiz_texts_say_vous() -> None:
    texts = {f"tutor {key}": text for key, text in TUTOR_TEXTS["fr"].items()}
    texts |= {f"quiz page {key}": text for key, text in QUIZ_TEXTS["fr"].items()}
    familiar = {name: text for name, text in texts.items() if _TU.search(text)}
    assert not familiar, familiar
    assert not _TU.search("Dites « suivante » pour une autre question, ou posez-moi une question.")
    assert _TU.search("Surprends-moi") and _TU.search("Écris ta réponse") and _TU.search("il t'interroge")


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("Interroge-moi sur le deep learning", "le deep learning"),
        ("peux-tu m'interroger sur le RGPD ?", "le rgpd"),
        ("quiz me on NLP", "nlp"),
        ("Pose-moi des questions sur l'AI Act", "l'ai act"),
        ("interroge moi", ""),
        ("Fais-moi un quiz", ""),
        ("Combien de temps dure la formation ?", None),
        ("Y a-t-il un quiz à la fin d'Objectif IA ?", None),
        ("Comment est-on évalué à l'école ?", None),
        ("Doit-on passer un test technique en plus de l'entretien ?", None),  # an admission test, not a quiz
        ("Do I have to take a test to get into the school?", None),
        ("Can I start the quiz on machine learning?", "machine learning"),
    ],
)
def test_quiz_requests_are_told_from_questions(message: str, topic: str | None) -> None:
    assert quiz_topic(message) == topic, f"quiz_topic({message!r})"


def test_conversation_requests() -> None:
    assert wants_stop("stop") and wants_stop("Arrête le quiz") and not wants_stop("stopper le surapprentissage ?")
    assert wants_next("question suivante") and wants_next("next one") and not wants_next("encore une fois le biais")
    assert wants_answer("donne-moi la réponse") and wants_answer("I give up") and not wants_answer("la réponse D")
    assert wants_hint("un indice ?") and wants_hint("hint please") and not wants_hint("l'aide au recrutement")


def converse(runtime: Runtime, session_id: str | None, message: str, lang: Lang | None = None) -> Done:
    """One stored turn through the pipeline every face uses."""
    return runtime.conversation().turn(TurnRequest(message, session_id, lang=lang)).result()


def tutor_runtime(tmp_path: Path, index_templates: IndexTemplates) -> Runtime:
    """A started runtime over the tutor KB, its index a private copy of the session's template."""
    kb = tutor_kb(tmp_path / "kb")
    runtime = Runtime(Settings(data_dir=index_templates.copy(FIXTURE_KB, tmp_path / "data"), kb_dir=kb))
    runtime.start(background=False)
    assert runtime.ready, f"start-up failed: {runtime.error}"
    return runtime


@pytest.mark.slow  # a started runtime and a dozen turns
def test_the_chat_hands_over_to_the_tutor_and_back(tmp_path: Path, index_templates: IndexTemplates) -> None:
    runtime = tutor_runtime(tmp_path, index_templates)
    start = converse(runtime, None, "Interroge-moi sur le deep learning")
    session = start.session_id
    assert start.reply.mode == "tutor" and "Les réseaux de neurones et le deep learning" in start.reply.answer, (
        start.reply
    )
    hint = converse(runtime, session, "je sais pas")
    assert hint.reply.mode == "tutor" and "Indice 1" in hint.reply.answer, hint.reply
    shown = converse(runtime, session, "donne-moi la réponse")
    assert shown.reply.mode == "tutor" and shown.reply.citations[0].source_id == DL, shown.reply
    following = converse(runtime, session, "suivante")
    assert following.reply.mode == "tutor" and "question 2/" in following.reply.answer, following.reply
    stopped = converse(runtime, session, "stop")
    assert stopped.reply.mode == "tutor", stopped.reply
    back = converse(runtime, session, "Faut-il passer un concours pour entrer à l'école test ?")
    assert back.reply.mode != "tutor" and "concours" in back.reply.answer, back.reply
    unknown = converse(runtime, None, "interroge-moi sur la cuisine italienne")
    assert unknown.reply.mode == "tutor" and "deep learning" in unknown.reply.answer, unknown.reply


@pytest.mark.slow  # a started runtime, as above
def test_a_question_off_the_quiz_goes_back_to_the_chat(tmp_path: Path, index_templates: IndexTemplates) -> None:
    runtime = tutor_runtime(tmp_path, index_templates)
    session = converse(runtime, None, "quiz me on deep learning", "en").session_id
    back = converse(runtime, session, "How long does the test school's programme last?", "en")
    assert back.reply.mode != "tutor" and "12 months" in back.reply.answer, back.reply


@pytest.mark.slow  # a started runtime, as above
def test_tutor_api_on_a_real_server(tmp_path: Path, index_templates: IndexTemplates) -> None:
    kb = tutor_kb(tmp_path / "kb")
    settings = Settings(data_dir=index_templates.copy(FIXTURE_KB, tmp_path / "data"), kb_dir=kb)
    with app_server(settings) as url, httpx.Client(base_url=url, timeout=60) as client:
        modules = client.get("/api/tutor/modules", params={"lang": "en"}).json()
        assert len(modules) == 12 and modules[3]["title"] == "Neural networks and deep learning", modules
        turn = client.post("/api/tutor/question", json={"module": DL, "lang": "en"}).json()
        learner, question_id = turn["learner_id"], turn["question_id"]
        graded = client.post(
            "/api/tutor/answer", json={"learner_id": learner, "question_id": question_id, "answer": "no idea"}
        ).json()
        assert graded["verdict"] == "wrong" and graded["hint"] and not graded["finished"], graded
        hint = client.post("/api/tutor/hint", json={"learner_id": learner}).json()
        assert hint["hints_used"] == 2, hint
        shown = client.post("/api/tutor/reveal", json={"learner_id": learner}).json()
        assert shown["finished"] and shown["citation"]["source_id"] == "fondamentaux/en/deep-learning", shown
        progress = client.get("/api/tutor/progress", params={"learner_id": learner, "lang": "en"}).json()
        assert progress["answered"] == 1 and progress["recommendation"]["message"], progress

        missing = client.post("/api/tutor/question", json={"module": "nope/nope"})
        assert missing.status_code == 404, missing.text
        stale = client.post("/api/tutor/answer", json={"learner_id": learner, "answer": "x"})
        assert stale.status_code == 409 and "no question in progress" in stale.json()["detail"], stale.text
        bad_learner = client.post("/api/tutor/answer", json={"learner_id": "../etc", "answer": "x"})
        assert bad_learner.status_code == 422, bad_learner.text
        bad_progress = client.get("/api/tutor/progress", params={"learner_id": "a b"})
        assert bad_progress.status_code == 422, bad_progress.text

"""The Quiz tab in a real browser (Debian's Chromium, Playwright): a learner takes a question through a hint to
the explanation, answers another one right, sees the progress, and finds it again after a server restart; a
first-time learner's session (the menu, the kept answer, the score's explanation, the FR/EN switch) on an
in-process server; and the progress box's figures without a browser.

The restart is the point of the first test, so the app runs as two real processes one after the other
(``serve``); every data folder starts with a copy of the fixture KB's index (the quiz bank reads its sections from the
files), so no start-up embeds anything."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page

from bot.config import Settings
from bot.tutor.quizzes import QuizBank
from bot.tutor.service import ModuleProgress, ProgressReport, Recommendation
from bot.web.pages.quiz import progress_view
from tests.conftest import ARTIFACTS, FIXTURE_KB, PROCESS_PROFILE, IndexTemplates, app_server, free_port, serve
from tests.test_tutor import DL, tutor_kb

ML = "fondamentaux/machine-learning"


@dataclass
class QuizSetup:
    kb: Path  # the fixture KB with the shipped quizzes and the pages they cite (tests.test_tutor.tutor_kb)
    bank: QuizBank
    page: Page  # in a browser context of its own, closed after the test


@pytest.fixture
def quiz(tmp_path: Path, browser) -> Iterator[QuizSetup]:
    kb = tutor_kb(tmp_path / "kb")
    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    yield QuizSetup(kb, QuizBank(kb), context.new_page())
    context.close()


def open_quiz(page, url: str) -> None:
    page.goto(url)
    page.get_by_text("Chaque réponse cite ses sources").wait_for(timeout=30_000)
    page.locator("#tab-quiz-button").click()
    page.locator("#learner-id textarea, #learner-id input").first.wait_for(timeout=30_000)


def progress_text(page) -> str:
    return page.locator("#quiz-progress").inner_text()


@pytest.mark.browser
@pytest.mark.slow
def test_a_learner_goes_through_a_quiz_and_finds_the_progress_after_a_restart(
    tmp_path: Path, quiz: QuizSetup, index_templates: IndexTemplates
) -> None:
    bank, page = quiz.bank, quiz.page
    data = index_templates.copy(FIXTURE_KB, tmp_path / "data", embedding_profile=PROCESS_PROFILE)
    env = {"TUTOR_DATA_DIR": str(data), "TUTOR_KB_DIR": str(quiz.kb)}
    port = free_port()
    with serve(tmp_path, env, port) as url:
        open_quiz(page, url)
        page.locator("#quiz-module input").click()
        page.get_by_role("option", name="Les réseaux de neurones et le deep learning").click()
        page.locator("#quiz-new").click()
        first = bank.modules["fondamentaux/deep-learning"].questions[0]
        page.locator("#quiz-question").get_by_text(first.question).wait_for(timeout=30_000)

        page.locator("#quiz-answer textarea").fill("Aucune idée")
        page.locator("#quiz-submit").click()
        page.locator("#quiz-feedback").get_by_text(first.hints[0]).wait_for(timeout=30_000)
        page.locator("#quiz-reveal").click()
        page.locator("#quiz-feedback").get_by_text(first.section).wait_for(timeout=30_000)
        feedback = page.locator("#quiz-feedback").inner_text()
        assert "fondamentaux/deep-learning" in feedback, feedback

        page.locator("#quiz-new").click()
        second = bank.modules["fondamentaux/deep-learning"].questions[1]
        page.locator("#quiz-question").get_by_text(second.question).wait_for(timeout=30_000)
        page.locator("#quiz-answer textarea").fill(second.reference_answer)
        page.locator("#quiz-submit").click()
        page.locator("#quiz-feedback").get_by_text("✅ Bonne réponse !").wait_for(timeout=30_000)
        page.locator("#quiz-progress").get_by_text("2 question(s) terminée(s)").wait_for(timeout=30_000)
        assert "2/12" in progress_text(page) and "50%" in progress_text(page), progress_text(page)
        learner = page.locator("#learner-id textarea, #learner-id input").first.input_value()
        page.screenshot(path=str(ARTIFACTS / "quiz.png"), full_page=True)
        page.goto("about:blank")  # the tab leaves, as a learner's would: its heartbeat stream no longer holds the stop

    with serve(tmp_path, env, port) as url:  # a restarted server, same data folder, same browser and origin
        open_quiz(page, url)
        page.locator("#quiz-progress").get_by_text("2 question(s) terminée(s)").wait_for(timeout=30_000)
        kept = page.locator("#learner-id textarea, #learner-id input").first.input_value()
        assert kept == learner, f"learner id {kept!r} after the restart, {learner!r} before"
        # Deep learning is at 50 %, not weak, and has unseen questions: the learner is told to go on with it.
        recommendation = page.locator("#quiz-recommendation").inner_text()
        assert "Les réseaux de neurones et le deep learning" in recommendation, recommendation


@pytest.mark.browser
@pytest.mark.slow
def test_a_first_time_learner_keeps_the_answer_switches_to_english_and_reads_the_score(
    tmp_path: Path, quiz: QuizSetup, index_templates: IndexTemplates
) -> None:
    bank, page = quiz.bank, quiz.page
    settings = Settings(data_dir=index_templates.copy(FIXTURE_KB, tmp_path / "data"), kb_dir=quiz.kb)
    question = next(q for q in bank.modules[ML].questions if q.lang == "fr")
    with app_server(settings) as url:
        open_quiz(page, url)
        assert page.locator("#quiz-reveal").is_disabled(), "no question yet: nothing to reveal"
        page.locator("#quiz-module input").click()
        options = page.get_by_role("option").all_inner_texts()
        assert sorted(options) == sorted(m.title("fr") for m in bank.modules.values()), (
            f"the module menu lists the modules only, 'recommandé' and 'surprenez-moi' are buttons: {options}"
        )
        page.get_by_role("option", name="Le machine learning").click()
        page.locator("#quiz-new").click()
        page.locator("#quiz-question").get_by_text(question.question).wait_for(timeout=30_000)
        page.locator("#quiz-recommendation").get_by_text("Le machine learning").wait_for(timeout=30_000)

        box = page.locator("#quiz-answer textarea")
        box.fill("Aucune idée")
        page.locator("#quiz-submit").click()
        # the first grading of a question embeds its key ideas: minutes on two busy shared cores
        page.locator("#quiz-feedback").get_by_text(question.hints[0]).wait_for(timeout=240_000)
        assert box.input_value() == "Aucune idée", "the answer box keeps the answer, to be improved"

        page.locator("#lang").get_by_text("en", exact=True).click()
        page.locator("#quiz-question").get_by_text("Answer in your own words").wait_for(timeout=30_000)
        assert question.question in page.locator("#quiz-question").inner_text(), "the question itself stays"
        page.locator("#quiz-hint").get_by_text("A hint").wait_for(timeout=30_000)
        page.locator("#quiz-hint").click()
        page.locator("#quiz-feedback").get_by_text("Hint 2:").wait_for(timeout=30_000)

        page.locator("#quiz-reveal").click()
        page.locator("#quiz-feedback").get_by_text("Score: 0%").wait_for(timeout=30_000)
        feedback = page.locator("#quiz-feedback").inner_text()
        assert question.section in feedback and "the answer was shown" in feedback, feedback
        page.locator("#quiz-progress").get_by_text("1 finished question(s)").wait_for(timeout=30_000)
        assert page.locator("#quiz-reveal").is_disabled(), "a finished question has no answer left to reveal"
        assert page.locator("#quiz-submit").is_disabled(), "a finished question takes no more answers"
        assert box.input_value() == "Aucune idée", "the answer stays until the next question"
        assert page.locator("#quiz-feedback").inner_text() == feedback, "the explanation stays on screen"
        page.screenshot(path=str(ARTIFACTS / "quiz-first-time.png"), full_page=True)


def test_the_progress_chart_is_in_percent_like_the_text() -> None:
    report = ProgressReport(
        "learner",
        [
            ModuleProgress(DL, "Deep learning", 12, 2, 1, 0.55, 0),
            ModuleProgress(ML, "Machine learning", 12, 0, 0, None, 0),
        ],
        2,
        0.55,
        0,
        1,
        Recommendation(DL, "Deep learning", "next", "Go on with “Deep learning”."),
    )
    view = progress_view(report, "en")
    assert "- Deep learning: 2/12 · 55%" in view.summary and "Machine learning" not in view.summary, view.summary
    assert view.chart.to_dict("records") == [{"module": "Deep learning", "average score (%)": 55}], view.chart
    assert view.advice == "**→ Go on with “Deep learning”.**", view.advice

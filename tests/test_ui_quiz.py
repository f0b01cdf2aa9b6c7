"""The Quiz tab in a real browser (Debian's Chromium, Playwright): a learner takes a question through a hint to
the explanation, answers another one right, sees the progress, and finds it again after a server restart.

The restart is the point, so the app runs as two real processes one after the other (``serve``); their data
folder starts with a copy of the tutor KB's index, so neither spends its start-up embedding it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.tutor.quizzes import QuizBank
from tests.conftest import ARTIFACTS, FIXTURE_KB, IndexTemplates, free_port, serve
from tests.test_tutor import tutor_kb


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
    tmp_path: Path, browser, index_templates: IndexTemplates
) -> None:
    kb = tutor_kb(tmp_path / "kb")
    bank = QuizBank(kb)
    env = {"TUTOR_DATA_DIR": str(index_templates.copy(FIXTURE_KB, tmp_path / "data")), "TUTOR_KB_DIR": str(kb)}
    context = browser.new_context(viewport={"width": 1200, "height": 1400})
    page = context.new_page()
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
        page.locator("#quiz-feedback").get_by_text("Bonne réponse").wait_for(timeout=30_000)
        page.locator("#quiz-progress").get_by_text("2 question(s) terminée(s)").wait_for(timeout=30_000)
        assert "2/12" in progress_text(page) and "50%" in progress_text(page), progress_text(page)
        learner = page.locator("#learner-id textarea, #learner-id input").first.input_value()
        page.screenshot(path=str(ARTIFACTS / "quiz.png"), full_page=True)

    with serve(tmp_path, env, port) as url:  # a restarted server, same data folder, same browser and origin
        open_quiz(page, url)
        page.locator("#quiz-progress").get_by_text("2 question(s) terminée(s)").wait_for(timeout=30_000)
        kept = page.locator("#learner-id textarea, #learner-id input").first.input_value()
        assert kept == learner, f"learner id {kept!r} after the restart, {learner!r} before"
        # Deep learning is at 50 %, not weak: the next module of the course is recommended, the first one.
        recommendation = page.locator("#quiz-recommendation").inner_text()
        assert "L'intelligence artificielle" in recommendation, recommendation
    context.close()

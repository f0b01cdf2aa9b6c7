"""The chat page in a real browser (Debian's Chromium, Playwright): answers with sources, feedback, English,
separate sessions per visitor, a phone-width screen. Screenshots are saved in test-artifacts/. The app runs
in this process (``app_server``): none of these tests restarts it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from tests.conftest import ARTIFACTS, FIXTURE_KB, IndexTemplates, app_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("site")
    settings = Settings(data_dir=index_templates.copy(FIXTURE_KB, root / "data"), kb_dir=FIXTURE_KB)
    with app_server(settings) as url:
        yield url, settings.store_db


def ask(page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")


def last_answer(page) -> str:
    return page.locator("#chat .message-row").last.inner_text()


def test_faq_answer_with_source_card(site, browser) -> None:
    url, _ = site
    page = browser.new_page(viewport={"width": 1200, "height": 1100})
    page.goto(url)
    page.get_by_text("Chaque réponse cite ses sources").wait_for(timeout=30_000)
    ask(page, "Faut-il passer un concours pour entrer à l'école test ?")
    page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    assert "pas de concours" in last_answer(page), last_answer(page)
    assert "faq-test-001" in page.locator("#sources").inner_text(), page.locator("#sources").inner_text()
    page.screenshot(path=str(ARTIFACTS / "chat-answer.png"), full_page=True)

    page.close()


def stored_feedback(database: Path) -> dict[str, tuple[str, str | None, str]]:
    """question -> (rating, comment, when), as the store holds them."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return {q: (r, c, t) for r, c, q, t in db.execute("SELECT rating, comment, question, created_at FROM feedback")}


def feedback_after(page, database: Path, question: str, click: str) -> tuple[str, str | None]:
    """Click ``click`` and wait until the rating of ``question`` is stored again; its (rating, comment)."""
    before = stored_feedback(database).get(question)
    page.locator(click).click()
    for _ in range(100):
        now = stored_feedback(database).get(question)
        if now is not None and now != before:
            return now[:2]
        page.wait_for_timeout(100)
    raise AssertionError(f"clicking {click} stored nothing new for {question!r}: {before}")


def test_feedback_keeps_what_was_typed_and_rates_any_answer_in_either_language(site, browser) -> None:
    url, database = site
    first = "Faut-il passer un concours pour entrer à l'école test ?"
    second = "Quel diplôme obtient-on à l'école test ?"
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.goto(url)
    page.get_by_text("Chaque réponse cite ses sources").wait_for(timeout=30_000)
    assert not page.locator("#feedback >> visible=true").count(), "the feedback block is shown before any answer"
    ask(page, first)
    page.locator("#feedback >> visible=true").first.wait_for(timeout=30_000)  # Gradio nests a group's id twice

    page.locator("#comment textarea").fill("clair et net")
    assert feedback_after(page, database, first, "#thumbs-down") == ("down", "clair et net")
    page.get_by_text("Merci pour votre retour").wait_for(timeout=10_000)
    # The same rating again, the comment box now empty: the comment stays.
    assert feedback_after(page, database, first, "#thumbs-down") == ("down", "clair et net"), "a click lost the comment"
    assert "primary" in (page.locator("#thumbs-down").get_attribute("class") or ""), "the chosen rating is not shown"
    assert "primary" not in (page.locator("#thumbs-up").get_attribute("class") or "")

    page.locator("#comment textarea").fill("il manque la durée")  # a comment after rating
    assert feedback_after(page, database, first, "#send-comment") == ("down", "il manque la durée")

    ask(page, second)
    page.get_by_text("RNCP").first.wait_for(timeout=30_000)
    page.wait_for_function("document.querySelector('#rated-answer input').value.startsWith('2.')", timeout=10_000)
    assert "primary" not in (page.locator("#thumbs-down").get_attribute("class") or ""), "a new answer shows a rating"
    page.locator("#rated-answer input").click()  # back to the first answer: it can still be rated
    page.get_by_role("option", name=f"1. {first}").click()
    page.wait_for_function("document.querySelector('#thumbs-down').className.includes('primary')", timeout=10_000)
    assert feedback_after(page, database, first, "#thumbs-up") == ("up", "il manque la durée")
    assert second not in stored_feedback(database), "the rating went to the newest answer, not the chosen one"

    page.locator("#lang").get_by_text("en", exact=True).click()
    page.get_by_text("Was this answer helpful?").wait_for(timeout=10_000)
    page.locator("#feedback-status").get_by_text("Thank you for your feedback!").wait_for(timeout=10_000)
    assert "Merci" not in page.locator("#feedback-status").inner_text(), "the French thanks stayed after the switch"
    ask(page, "What's the weather like in Paris today?")
    page.get_by_text("No sources for this answer.").wait_for(timeout=30_000)
    page.locator("#thumbs-up").click()
    page.get_by_text("Thank you for your feedback!").wait_for(timeout=10_000)
    shown = page.locator("#sources").inner_text() + page.locator("#feedback").first.inner_text()
    assert not any(french in shown for french in ("Aucune source", "Merci", "Cette réponse")), shown
    page.screenshot(path=str(ARTIFACTS / "chat-feedback.png"), full_page=True)
    page.close()


def test_english_switch_and_english_answer(site, browser) -> None:
    url, _ = site
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(url)
    page.get_by_text("Chaque réponse cite ses sources").wait_for(timeout=30_000)
    page.locator("#lang").get_by_text("en", exact=True).click()
    page.get_by_text("Every answer cites its sources").wait_for(timeout=10_000)
    assert page.locator("#send").inner_text().strip() == "Send", page.locator("#send").inner_text()
    ask(page, "How long does the test school's programme last?")
    page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    assert "12 months" in last_answer(page), last_answer(page)
    page.screenshot(path=str(ARTIFACTS / "chat-english.png"), full_page=True)
    page.close()


def test_two_visitors_never_see_each_others_history(site, browser) -> None:
    url, _ = site
    alice, bob = browser.new_context(), browser.new_context()
    a, b = alice.new_page(), bob.new_page()
    for page in (a, b):
        page.goto(url)
        page.get_by_text("Chaque réponse cite ses sources").wait_for(timeout=30_000)
    ask(a, "Parle-moi de la formation de l'école test")
    ask(b, "Quel diplôme obtient-on à l'école test ?")
    for page in (a, b):
        page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    ask(a, "et ça dure combien de temps ?")
    a.get_by_text("12 mois").first.wait_for(timeout=30_000)
    assert "diplôme" not in a.locator("#chat").inner_text(), (
        f"Bob's question in Alice's chat: {a.locator('#chat').inner_text()}"
    )
    assert "Parle-moi" not in b.locator("#chat").inner_text(), (
        f"Alice's question in Bob's chat: {b.locator('#chat').inner_text()}"
    )
    alice.close()
    bob.close()


def test_usable_on_a_phone_width_screen(site, browser) -> None:
    url, _ = site
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(url)
    page.get_by_text("Chaque réponse cite ses sources").wait_for(timeout=30_000)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.evaluate(
        "`page ${document.documentElement.scrollWidth} px wide on a ${window.innerWidth} px screen`"
    )
    page.locator("#example-candidates-0").click()
    page.locator("#sources .source-card, #sources .no-sources").first.wait_for(timeout=30_000)
    assert page.locator("#send").is_visible() and page.locator("#question textarea").is_visible(), (
        "the send button or the question box is hidden on a phone-width screen"
    )
    page.locator("#human").get_by_text("Parler à un humain").click()
    page.get_by_text("site officiel du groupe La Poste").first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "chat-phone.png"), full_page=True)
    page.close()

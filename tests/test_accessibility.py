"""Accessibility of the Gradio pages (RGAA, built on WCAG 2.1 AA) in a real browser: an axe-core audit of `/`, its
Quiz tab and `/staff` (unlocked, with its curation tabs: gaps, the entries editor filled from a gap, the audit
log) in French and English, a question–answer–feedback turn with the keyboard only,
and the page at 320 px with reduced motion. The widget has its own audit in tests/test_widget.py.

axe-core comes inside the PyPI package ``axe-playwright-python``: nothing is fetched at run time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe

from bot.config import Settings
from tests.conftest import FIXTURE_KB, IndexTemplates, app_server

pytestmark = pytest.mark.browser

TOKEN = "a11y-staff-token-0123456789"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING = {"serious", "critical"}
QUESTIONS = {
    "fr": "Faut-il passer un concours pour entrer à l'école test ?",
    "en": "How long does the test school's programme last?",
}
UNANSWERED = "Où peut-on garer sa voiture à l'école test ?"  # a gap in the staff's inbox
CURATION_TABS = {"fr": ["Lacunes", "Entrées", "Journal"], "en": ["Gaps", "Entries", "Audit log"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[str]:
    root = tmp_path_factory.mktemp("a11y")
    settings = Settings(data_dir=index_templates.copy(FIXTURE_KB, root / "data"), kb_dir=FIXTURE_KB, admin_token=TOKEN)
    with app_server(settings) as url:
        yield url


def audit(page, name: str, found: dict[str, Counter]) -> None:
    """Run axe on what the page shows now; count its violations by rule and impact under ``name``."""
    violations = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_AA}}).response["violations"]
    found[name] = Counter({f"{v['impact']}:{v['id']}": len(v["nodes"]) for v in violations})


def choose_language(page, lang: str) -> None:
    if lang == "en":
        page.locator("#lang").get_by_text("en", exact=True).click()
    page.wait_for_function(f"document.documentElement.lang === '{lang}'", timeout=30_000)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_finds_no_serious_violation_on_any_page(site: str, browser, lang: str, figure) -> None:
    found: dict[str, Counter] = {}
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(site)
    page.locator("#site-header h1").wait_for(timeout=30_000)
    choose_language(page, lang)
    page.locator("#question textarea").fill(QUESTIONS[lang])
    page.locator("#question textarea").press("Enter")
    page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    page.locator("#thumbs-up").wait_for(timeout=30_000)
    audit(page, f"/ ({lang}, after an answer)", found)
    page.get_by_role("tab", name="Quiz").click()
    page.locator("#quiz-new").wait_for(timeout=30_000)
    # The progress chart draws after the tab opens, and look.HEAD hides its marks from screen readers in the frame
    # after that: audit what users get, not a frame in between.
    page.locator("#quiz-chart svg[aria-hidden]").first.wait_for(state="attached", timeout=30_000)
    audit(page, f"/ Quiz ({lang})", found)

    refused = httpx.post(f"{site}/api/chat", json={"message": UNANSWERED}, timeout=60).json()
    assert refused["refused"], refused
    page.goto(f"{site}/staff/")
    page.locator("#token input").wait_for(timeout=30_000)
    choose_language(page, lang)
    page.locator("#staff-name input").fill("admin")
    page.locator("#token input").fill(TOKEN)
    page.locator("#unlock").click()
    page.get_by_text({"fr": "Déverrouillé.", "en": "Unlocked."}[lang]).wait_for(timeout=30_000)
    audit(page, f"/staff ({lang}, unlocked)", found)
    gaps, entries, log = CURATION_TABS[lang]
    page.get_by_role("tab", name=gaps).click()
    page.locator("#gaps-questions").get_by_text(UNANSWERED).first.wait_for(timeout=30_000)
    audit(page, f"/staff {gaps} ({lang})", found)
    page.locator("#gaps-answer").click()  # the editor, filled from the gap
    page.wait_for_function("document.querySelector('#entry-question textarea')?.value", timeout=30_000)
    audit(page, f"/staff {entries} ({lang})", found)
    page.get_by_role("tab", name=log).click()
    page.locator("#audit-table").wait_for(timeout=30_000)
    audit(page, f"/staff {log} ({lang})", found)
    page.close()

    for name, counts in found.items():
        figure(f"axe {name}: {sum(counts.values())} nodes {dict(counts) or ''}")
    blocking = {name: [rule for rule in counts if rule.split(":")[0] in BLOCKING] for name, counts in found.items()}
    assert not any(blocking.values()), blocking
    curation = {name: dict(found[name]) for name in (f"/staff {tab} ({lang})" for tab in CURATION_TABS[lang])}
    assert not any(curation.values()), f"the curation tabs have violations of some impact: {curation}"


def test_a_whole_turn_with_the_keyboard_only(site: str, browser) -> None:
    """Tab to the question, type, Enter, hear the answer once, Tab to 👍, Enter: the rating is taken, and the
    focused control is outlined all the way."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(site)
    page.locator("#site-header h1").wait_for(timeout=30_000)

    def tab_to(selector: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.closest('{selector}') !== null"):
                outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert outline != "none", f"{selector} has focus but no visible outline"
                return
        pytest.fail(f"{selector} not reached in {limit} presses of Tab")

    tab_to("#question")
    page.keyboard.type(QUESTIONS["fr"])
    page.keyboard.press("Enter")
    page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    announcer = page.locator("#tutor-announcer")
    page.wait_for_function(
        "document.querySelector('#tutor-announcer').textContent.includes('pas de concours')", timeout=30_000
    )
    assert announcer.get_attribute("aria-live") == "polite" and announcer.get_attribute("role") == "status"
    live_messages = page.locator("#chat [aria-live]:not([aria-live='off'])").count()
    assert live_messages == 0, "chat messages would be read again at every streamed token"
    tab_to("#thumbs-up")
    page.keyboard.press("Enter")
    page.locator("#feedback-status").get_by_text("Merci pour votre retour").wait_for(timeout=30_000)
    page.close()


def test_narrow_screen_and_reduced_motion(site: str, browser) -> None:
    """At 320 px (WCAG's reflow width, 1280 px at 400 % zoom) nothing scrolls sideways and the question can be
    sent; with reduced motion asked for, transitions are cut."""
    context = browser.new_context(viewport={"width": 320, "height": 700}, reduced_motion="reduce")
    page = context.new_page()
    page.goto(site)
    page.locator("#site-header h1").wait_for(timeout=30_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"the page scrolls sideways at 320 px: {width} px wide"
    send = page.locator("#send").bounding_box()
    assert send is not None and send["x"] >= 0 and send["x"] + send["width"] <= 320, send

    def longest_transition() -> float:
        durations = page.evaluate("getComputedStyle(document.querySelector('#send')).transitionDuration")
        return max(float(d.strip().rstrip("s")) for d in durations.split(","))

    assert longest_transition() <= 0.001, "transitions run although reduced motion is asked for"
    page.emulate_media(reduced_motion="no-preference")
    assert longest_transition() > 0.001, "the button has no transition to cut: this test would prove nothing"
    context.close()

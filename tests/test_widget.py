"""The embeddable widget (bot/web/static/widget.js, bot/web/routes/widget.py, docs/widget.md).

The browser tests embed it as a programme's site would: host pages served by a second HTTP server (another
origin than the bot's) under a strict CSP of their own (scripts and requests from the bot only, no inline
style), with the one tag. The app runs in this process, its CORS origins naming that host; a third server is
a site that is not allowed. Every console error, page error and CSP violation, on the host page or in the
framed widget, fails the test. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.config import Settings
from bot.runtime import Runtime
from bot.web.middleware.security import protect
from bot.web.pages.chat import TEXTS
from bot.web.routes.widget import STATIC, frame_ancestors, widget_router
from tests.conftest import ARTIFACTS, FIXTURE_KB, IndexTemplates, app_server

SCRIPT = STATIC / "widget.js"
VERSION = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:12]
MAX_SCRIPT_BYTES = 30_000
PARTNER = "https://ecole-test.example"
FR_QUESTION = "Faut-il passer un concours pour entrer à l'école test ?"
EN_QUESTION = "Is there an entrance exam for the test school?"
DIPLOMA_QUESTION = "Quel diplôme obtient-on à l'école test ?"
# Markup, a script address and a web address in text the widget shows: text, nothing run, the web address a link.
HOSTILE_GREETING = "Bonjour <img src=x onerror=alert(1)> **en gras** javascript:alert(1) https://example.org/faq."


# --- the routes, without a browser or a model -------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The widget's routes behind the app's protections (headers, CORS), as ``create_app`` installs them."""
    root = tmp_path_factory.mktemp("widget-routes")
    settings = Settings(data_dir=root / "data", kb_dir=FIXTURE_KB, cors_origins=[PARTNER])
    app = FastAPI()
    app.state.runtime = Runtime(settings)  # not started: these routes need its settings only
    app.include_router(widget_router(TEXTS))
    protect(app, settings)
    with TestClient(app) as test_client:
        yield test_client


def test_script_is_small_versioned_and_cached(client: TestClient, figure) -> None:
    body = SCRIPT.read_bytes()
    zipped = len(gzip.compress(body, 9))
    figure(f"widget.js: {len(body)} bytes, {zipped} gzipped, version {VERSION}")
    assert len(body) <= MAX_SCRIPT_BYTES, f"widget.js is {len(body)} bytes (budget {MAX_SCRIPT_BYTES})"

    source = body.decode()
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert unsafe not in source, f"widget.js uses {unsafe}: answers must stay text, and a host CSP may forbid eval"

    plain = client.get("/widget.js")
    assert plain.status_code == 200 and plain.content == body
    assert plain.headers["content-type"].startswith("application/javascript"), plain.headers
    assert plain.headers["etag"] == f'"{VERSION}"'
    assert plain.headers["cache-control"] == "public, max-age=3600", plain.headers
    assert plain.headers["x-content-type-options"] == "nosniff"  # the app's headers are there too

    versioned = client.get(f"/widget.js?v={VERSION}")
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable", versioned.headers
    stale = client.get("/widget.js?v=0123456789ab")  # an old version's URL gets today's script, cached briefly
    assert stale.content == body and "immutable" not in stale.headers["cache-control"]
    revalidated = client.get("/widget.js", headers={"If-None-Match": f'"{VERSION}"'})
    assert revalidated.status_code == 304 and not revalidated.content
    assert client.get("/widget.js", headers={"If-None-Match": '"other"'}).status_code == 200


def test_config_says_which_origins_may_use_the_bot_and_serves_the_chat_page_texts(client: TestClient) -> None:
    partner = client.get("/widget/config.json", headers={"Origin": PARTNER})
    assert partner.json()["allowed"] is True and partner.json()["version"] == VERSION
    assert partner.headers["access-control-allow-origin"] == PARTNER
    assert "Origin" in partner.headers["vary"]
    texts = partner.json()["texts"]
    for lang in ("fr", "en"):  # the chat page's own strings, not a copy of them
        assert texts[lang]["human"] == TEXTS[lang]["human"] and texts[lang]["human_text"] == TEXTS[lang]["human_text"]
    evil = client.get("/widget/config.json", headers={"Origin": "https://evil.example"})
    assert evil.json()["allowed"] is False, evil.json()
    assert evil.headers["access-control-allow-origin"] == "*"  # readable, so that the widget can say it is refused
    assert client.get("/widget/config.json").json()["allowed"] is True  # same origin: no Origin header
    assert client.get("/widget/config.json", headers={"Origin": "http://["}).json()["allowed"] is False
    same_host = client.get("/widget/config.json", headers={"Origin": "http://testserver"})
    assert same_host.json()["allowed"] is True

    # What enforces it: the browser's preflight of the chat route is refused to the other origin.
    for origin, allowed in ((PARTNER, True), ("https://evil.example", False)):
        preflight = client.options(
            "/api/chat/stream",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert (preflight.headers.get("access-control-allow-origin") == origin) is allowed, preflight.headers


def test_frame_page_may_be_framed_by_the_allowed_origins_only_and_escapes_its_options(client: TestClient) -> None:
    greeting = '"><script>alert(1)</script>'
    frame = client.get("/widget/frame", params={"lang": "en", "programme": "ecole-test", "greeting": greeting})
    assert frame.status_code == 200, frame.text
    policy = frame.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {PARTNER}" in policy, policy
    assert "'unsafe-inline'" not in policy and "script-src 'self'" in policy, policy
    assert "x-frame-options" not in frame.headers, "X-Frame-Options would forbid what frame-ancestors allows"
    assert f'<script src="../widget.js?v={VERSION}" data-mode="inline" data-lang="en"' in frame.text, frame.text
    assert "<script>alert" not in frame.text and "&lt;script&gt;alert(1)" in frame.text, frame.text
    for bad in ({"lang": "de"}, {"programme": "a b"}, {"color": "red;x"}):
        assert client.get("/widget/frame", params=bad).status_code == 422, bad

    assert frame_ancestors(["https://ok.example:8443", "https://bad.example; script-src *", "*"]) == "*"
    assert frame_ancestors(["https://ok.example:8443", "https://bad.example; script-src *"]) == (
        "'self' https://ok.example:8443"
    )

    demo = client.get("/demo")
    assert demo.status_code == 200 and f'src="widget.js?v={VERSION}"' in demo.text
    assert demo.headers["x-frame-options"] == "SAMEORIGIN", "other pages are still framed by the app only"


# --- in Chromium, embedded by another origin -----------------------------------------------------------------


HOST_CSS = """body { margin: 0; font: 16px/1.5 Georgia, serif; color: #222; background: #fff; }
header, main { max-width: 40rem; margin: 0 auto; padding: 1rem; }
a { color: #0b4f9c; }
iframe { width: 100%; height: 560px; border: 1px solid #666; }
"""


def host_page(bot: str, title: str, body: str = "", *, widget: bool = True) -> str:
    tag = (
        f'<script src="{bot}/widget.js?v={VERSION}" defer data-lang="fr" data-programme="ecole-test" '
        'data-color="#ffcc00" data-position="right"></script>'
        if widget
        else ""
    )
    return f"""<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>École test : {title}</title><link rel="stylesheet" href="/site.css"></head>
<body>
<header><nav aria-label="Site de l'école">
<a href="/">Accueil</a> <a href="/admissions.html">Admissions</a></nav></header>
<main><h1>{title}</h1><p>La page d'un programme, sur son propre site.</p>{body}</main>
{tag}
</body>
</html>
"""


class HostSite(ThreadingHTTPServer):
    """A school's site on its own origin, with a CSP that admits nothing inline and nothing but the bot."""

    bot = ""

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class HostPages(BaseHTTPRequestHandler):
    server: HostSite

    def do_GET(self) -> None:
        bot = self.server.bot
        query = html.escape(urlencode({"lang": "fr", "programme": "ecole-test", "greeting": HOSTILE_GREETING}))
        frame = f'<iframe src="{bot}/widget/frame?{query}" title="Assistant"></iframe>'
        pages = {
            "/": ("text/html", host_page(bot, "Accueil")),
            "/admissions.html": ("text/html", host_page(bot, "Admissions")),
            "/frame.html": ("text/html", host_page(bot, "L'assistant en iframe", frame, widget=False)),
            "/site.css": ("text/css", HOST_CSS),
        }
        if self.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        if self.path not in pages:
            self.send_error(404)
            return
        content_type, text = pages[self.path]
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header(
            "Content-Security-Policy",
            f"default-src 'self'; script-src {bot}; connect-src {bot}; frame-src {bot}; style-src 'self'; "
            "img-src 'self'; object-src 'none'; base-uri 'none'",
        )
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_host() -> HostSite:
    server = HostSite(("127.0.0.1", 0), HostPages)
    threading.Thread(target=server.serve_forever, name=f"host {server.origin}", daemon=True).start()
    return server


@dataclass
class Site:
    bot: str
    host: str  # an allowed origin
    stranger: str  # a site that is not allowed
    store_db: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[Site]:
    allowed, refused = serve_host(), serve_host()
    root = tmp_path_factory.mktemp("widget")
    settings = Settings(
        data_dir=index_templates.copy(FIXTURE_KB, root / "data"), kb_dir=FIXTURE_KB, cors_origins=[allowed.origin]
    )
    try:
        with app_server(settings) as url:
            allowed.bot = refused.bot = url
            yield Site(url, allowed.origin, refused.origin, settings.store_db)
    finally:
        for server in (allowed, refused):
            server.shutdown()
            server.server_close()


# Reported to the console, where the listener below collects every error of the page and its frames.
WATCH_CSP = """document.addEventListener('securitypolicyviolation',
  e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"""


@dataclass
class Watched:
    page: object
    errors: list[str]
    requests: list[str]


def open_page(browser, width: int = 1280, height: int = 800) -> Watched:
    """A page in a fresh context (its own storage: a first visit), collecting console errors and requests."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    watched = Watched(page, [], [])
    page.on("console", lambda message: watched.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: watched.errors.append(f"page error: {error}"))
    page.on("request", lambda request: watched.requests.append(request.url))
    return watched


LIVE = "tutor-widget [aria-live=polite]"


def answered(page, text: str, timeout: float = 30_000) -> str:
    """Wait for the live region to announce an answer containing ``text``; the announcement."""
    from playwright.sync_api import expect

    expect(page.locator(LIVE)).to_contain_text(text, timeout=timeout)
    return page.locator(LIVE).inner_text()


def stored_ratings(database: Path) -> dict[str, str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return dict(db.execute("SELECT question, rating FROM feedback").fetchall())


def wait_rating(database: Path, question: str, rating: str) -> None:
    deadline = time.monotonic() + 10
    while stored_ratings(database).get(question) != rating:
        assert time.monotonic() < deadline, f"no {rating} stored for {question!r}: {stored_ratings(database)}"
        time.sleep(0.1)


def audit(page, label: str, figure: Callable[[str], None]) -> dict[str, int]:
    """axe-core on the widget (its open shadow root included): violations per rule, printed; none serious."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context={"include": [["tutor-widget"]]})
    violations = results.response["violations"]
    counts = {f"{v['id']} ({v['impact']})": len(v["nodes"]) for v in violations}
    passed = len(results.response["passes"])
    figure(f"axe, widget {label}: {passed} rules passed; violations per rule: {counts or 'none'}")
    serious = [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, f"axe ({label}): serious or critical violations {serious}: {violations}"
    assert passed >= 10, f"axe looked at too little of the widget ({passed} rules passed): is the shadow root in?"
    return counts


def ask(page, question: str, textbox: str = "Votre question") -> None:
    box = page.locator("tutor-widget").get_by_role("textbox", name=textbox)
    box.fill(question)
    box.press("Enter")


def fits(page, width: int, height: int) -> None:
    """The open panel lies within a ``width`` x ``height`` viewport, its box and send button visible, and the host
    page does not scroll sideways because of it."""
    page.set_viewport_size({"width": width, "height": height})
    panel = page.locator("tutor-widget .panel").bounding_box()
    assert panel and panel["x"] >= 0 and panel["y"] >= 0, panel
    assert panel["x"] + panel["width"] <= width + 0.5 and panel["y"] + panel["height"] <= height + 0.5, (width, panel)
    for control in ("textarea", ".send"):
        box = page.locator(f"tutor-widget {control}").bounding_box()
        assert box and box["y"] + box["height"] <= height and box["x"] + box["width"] <= width, (control, box, width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.browser
def test_widget_on_another_site_answers_in_french_and_english_and_follows_the_visitor(
    site: Site, browser, figure
) -> None:
    from playwright.sync_api import expect

    watched = open_page(browser)
    page = watched.page
    page.goto(f"{site.host}/")
    widget = page.locator("tutor-widget")
    widget.get_by_role("button", name="Une question ?").click()
    expect(widget.get_by_role("dialog", name="Assistant des formations")).to_be_visible()
    assert widget.get_attribute("lang") == "fr"

    ask(page, FR_QUESTION)
    announced = answered(page, "pas de concours")
    last = widget.locator("li.m").last
    assert "faq-test-001" in last.locator(".src").inner_text(), last.inner_text()
    assert announced == last.locator(".body").inner_text(), "the live region should hold the whole answer, once"
    last.get_by_role("button", name="👍 Utile").click()
    expect(last.get_by_text("Merci pour votre retour !")).to_be_visible()
    wait_rating(site.store_db, FR_QUESTION, "up")
    audit(page, "in French, after an answer", figure)

    widget.get_by_role("button", name="English").click()
    expect(widget.get_by_role("dialog", name="Programmes assistant")).to_be_visible()
    assert widget.get_attribute("lang") == "en"
    ask(page, EN_QUESTION, "Your question")
    answered(page, "No. Admission to the test school")
    assert "faq-en-test-001" in widget.locator("li.m").last.locator(".src").inner_text()
    audit(page, "in English, after an answer", figure)
    page.screenshot(path=str(ARTIFACTS / "widget-answer.png"))

    fits(page, 640, 400)  # a 1280 x 800 screen at 200 % zoom
    fits(page, 320, 640)  # a phone
    page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    page.set_viewport_size({"width": 1280, "height": 800})

    # Another page of the same site: the conversation, its ratings and the language are still there.
    page.get_by_role("link", name="Admissions").click()
    page.wait_for_url(f"{site.host}/admissions.html")
    expect(widget.get_by_role("dialog", name="Programmes assistant")).to_be_visible()
    shown = widget.locator("li.m.user").all_inner_texts()
    assert [text.split(":", 1)[-1].strip() for text in shown] == [FR_QUESTION, EN_QUESTION], shown
    first_answer = widget.locator("li.m.bot").nth(1)
    assert "pas de concours" in first_answer.inner_text()
    assert first_answer.get_by_role("button", name="👍 Helpful").get_attribute("aria-pressed") == "true"
    ask(page, DIPLOMA_QUESTION, "Your question")
    answered(page, "RNCP")
    session = page.evaluate(
        "JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('tutor-widget:')))).session"
    )
    query = "SELECT content FROM messages WHERE session_id = ? AND role = 'user' ORDER BY rowid"
    with sqlite3.connect(f"file:{site.store_db}?mode=ro", uri=True) as db:
        asked = [question for (question,) in db.execute(query, (session,))]
    db.close()
    assert asked == [FR_QUESTION, EN_QUESTION, DIPLOMA_QUESTION], "the conversation did not go on in one session"

    widget.get_by_role("button", name="Talk to a human").click()  # the chat page's text, its list and bold kept
    expect(widget.locator("li.m").last.locator("ul > li strong").first).to_have_text("École de la data et de l'IA")

    # The other embedding: the widget in an iframe, framed by this (allowed) site.
    page.goto(f"{site.host}/frame.html")
    frame = page.frame_locator("iframe")
    greeting = frame.locator("li.m").first
    expect(greeting).to_contain_text("<img src=x onerror=alert(1)>")
    assert not frame.locator("img").count() and greeting.locator("strong").inner_text() == "en gras"
    links = greeting.locator("a")
    assert links.count() == 1 and links.get_attribute("href") == "https://example.org/faq", links.all_inner_texts()
    assert links.get_attribute("rel") == "noopener noreferrer"
    frame.get_by_role("textbox", name="Votre question").fill(FR_QUESTION)
    frame.get_by_role("textbox", name="Votre question").press("Enter")
    expect(frame.locator("[aria-live=polite]")).to_contain_text("pas de concours", timeout=30_000)
    assert frame.locator("main").get_attribute("lang") == "fr"

    assert not watched.errors, f"console errors or CSP violations: {watched.errors}"
    page.context.close()


@pytest.mark.browser
def test_a_site_that_is_not_allowed_is_told_so_and_sends_no_question(site: Site, browser) -> None:
    from playwright.sync_api import expect

    watched = open_page(browser)
    page = watched.page
    page.goto(f"{site.stranger}/")
    page.locator("tutor-widget").get_by_role("button", name="Une question ?").click()
    notice = page.locator("tutor-widget .notice")
    expect(notice).to_contain_text("n'est pas autorisé sur ce site")
    assert site.stranger in notice.inner_text() and "TUTOR_CORS_ORIGINS" in notice.inner_text()
    assert not page.locator("tutor-widget textarea").count(), "a refused site should not offer to ask"
    page.screenshot(path=str(ARTIFACTS / "widget-refused.png"))
    assert not [url for url in watched.requests if "/api/" in url], watched.requests
    assert not watched.errors, f"console errors or CSP violations: {watched.errors}"
    # And the bot refuses that origin itself: its browser could not call the chat route.
    preflight = httpx.options(
        f"{site.bot}/api/chat/stream",
        headers={"Origin": site.stranger, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers, preflight.headers
    page.context.close()


FOCUSED = """() => {
  let node = document.activeElement;
  while (node && node.shadowRoot && node.shadowRoot.activeElement) node = node.shadowRoot.activeElement;
  const style = node ? getComputedStyle(node) : null;
  return {
    inWidget: !!node && node.getRootNode() !== document,
    tag: node ? node.tagName.toLowerCase() : null,
    name: node ? (node.getAttribute('aria-label') || node.textContent || '').trim().slice(0, 40) : null,
    outline: style ? style.outlineStyle + ' ' + style.outlineWidth : null,
  };
}"""


def tab_to(page, name: str, key: str = "Tab", limit: int = 15) -> dict:
    """Press ``key`` until the widget control named ``name`` has focus, checking every stop shows its focus."""
    for _ in range(limit):
        page.keyboard.press(key)
        now = page.evaluate(FOCUSED)
        if now["inWidget"]:
            style, width = now["outline"].split()
            assert style != "none" and float(width.removesuffix("px")) >= 2, f"focus not visible on {now}"
        if now["inWidget"] and now["name"] == name:
            return now
    raise AssertionError(f"{key} never reached {name!r}; last focus {now}")


@pytest.mark.browser
def test_keyboard_only_turn_on_a_phone(site: Site, browser) -> None:
    """Tab, Enter and Escape (and typing): open, ask, read, rate, close, on a 320-pixel-wide screen."""
    from playwright.sync_api import expect

    watched = open_page(browser, 320, 640)
    page = watched.page
    page.goto(f"{site.host}/")
    page.wait_for_function("document.querySelector('tutor-widget')?.shadowRoot.childElementCount")
    tab_to(page, "💬Une question ?")
    page.keyboard.press("Enter")
    # The cursor goes to the question box (once the widget has its texts from the bot: under load, a moment after)
    page.wait_for_function(f"({FOCUSED})().tag === 'textarea'", timeout=15_000)
    panel = page.locator("tutor-widget .panel").bounding_box()
    assert panel and panel["width"] == 320, panel  # full screen on a phone

    page.keyboard.type(FR_QUESTION)
    page.keyboard.press("Enter")
    answered(page, "pas de concours")
    tab_to(page, "👍 Utile", key="Shift+Tab")  # back from the question box to the answer's rating
    page.keyboard.press("Enter")
    expect(page.locator("tutor-widget li.m").last.get_by_text("Merci pour votre retour !")).to_be_visible()
    wait_rating(site.store_db, FR_QUESTION, "up")
    page.screenshot(path=str(ARTIFACTS / "widget-keyboard.png"))

    page.keyboard.press("Escape")
    expect(page.locator("tutor-widget .panel")).to_be_hidden()
    assert page.evaluate(FOCUSED)["name"] == "💬Une question ?", "closing should return focus to the launcher"

    page.keyboard.press("Enter")  # open again: Tab goes through the panel and out of it (no trap)
    for _ in range(30):
        page.keyboard.press("Tab")
        if not page.evaluate(FOCUSED)["inWidget"]:
            break
    else:
        raise AssertionError("Tab never left the widget")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert not watched.errors, f"console errors or CSP violations: {watched.errors}"
    page.context.close()


@pytest.mark.browser
def test_demo_page_of_the_app_embeds_the_widget(site: Site, browser) -> None:
    """``/demo``, served by the app itself (the same origin: allowed without any CORS origin)."""
    from playwright.sync_api import expect

    watched = open_page(browser)
    page = watched.page
    page.goto(f"{site.bot}/demo")
    page.locator("tutor-widget").get_by_role("button", name="Une question ?").click()
    expect(page.locator("tutor-widget").get_by_role("textbox", name="Votre question")).to_be_focused()
    page.screenshot(path=str(ARTIFACTS / "widget-demo.png"))
    assert not watched.errors, f"console errors or CSP violations: {watched.errors}"
    page.context.close()

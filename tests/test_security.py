"""Access, rate limit, CORS and security headers on real servers (uvicorn, in this process): one with an
admin token, a tight rate limit, a trusted proxy and one allowed origin; one with the defaults (no token, no
proxy, no origin) and a tight rate limit. Routes are read from ``/openapi.json``, so routes added later are
covered as well.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from tests.conftest import FIXTURE_KB, IndexTemplates, app_server

TOKEN = "s3cret-security-token"
LIMIT = 3
PARTNER = "https://partner.example"
DATASETS = FIXTURE_KB.parent / "evals"
SECRET_COMMENT = "commentaire-réservé-au-personnel"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("guarded")
    settings = Settings(
        data_dir=index_templates.copy(FIXTURE_KB, root / "data"),
        kb_dir=FIXTURE_KB,
        admin_token=TOKEN,
        eval_datasets_dir=DATASETS,
        rate_limit_per_minute=LIMIT,
        forwarded_allow_ips="127.0.0.1",  # the address the in-process server sees every request come from
        cors_origins=[PARTNER],
    )
    with app_server(settings) as url:
        yield url, root / "data"


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[str]:
    root = tmp_path_factory.mktemp("plain")
    settings = Settings(
        data_dir=index_templates.copy(FIXTURE_KB, root / "data"), kb_dir=FIXTURE_KB, rate_limit_per_minute=LIMIT
    )
    with app_server(settings) as url:
        yield url


def operations(url: str, prefixes: tuple[str, ...]) -> list[tuple[str, str, dict, dict | None]]:
    """(method, path, query, body) for every spec operation under ``prefixes``, parameters filled with dummies."""
    spec = httpx.get(f"{url}/openapi.json").json()
    found = []
    for path, item in spec["paths"].items():
        if not path.startswith(prefixes):
            continue
        for method, operation in item.items():
            query = {p["name"]: "x" for p in operation.get("parameters", []) if p["in"] == "query" and p["required"]}
            body = {"dataset": "none.jsonl"} if "requestBody" in operation else None
            found.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path), query, body))
    return found


def call(url: str, operation: tuple, headers: dict) -> httpx.Response:
    method, path, query, body = operation
    return httpx.request(method, f"{url}{path}", params=query, json=body, headers=headers, timeout=60)


def test_every_admin_route_needs_the_right_token(guarded) -> None:
    url, _ = guarded
    admin = operations(url, ("/api/admin/",))
    # staff: analytics, feedback, evaluation runs (9); curation: inbox, entries, suggestions, audit, export (16)
    assert len(admin) >= 25, [op[:2] for op in admin]
    for operation in admin:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": TOKEN},
        ):
            response = call(url, operation, headers)
            assert response.status_code == 401, (operation, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer", (operation, headers, response.headers)
        allowed = call(url, operation, {"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code not in (401, 403) and allowed.status_code < 500, (operation, allowed.text)
    datasets = httpx.get(f"{url}/api/admin/datasets", headers={"Authorization": f"Bearer {TOKEN}"})
    assert datasets.json() == ["fixture.jsonl"], datasets.text


def test_admin_routes_are_off_without_a_configured_token(plain: str) -> None:
    for operation in operations(plain, ("/api/admin/",)):
        for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer anything"}):
            response = call(plain, operation, headers)
            assert response.status_code == 403 and "TUTOR_ADMIN_TOKEN" in response.text, (operation, headers)
    from gradio_client import Client

    staff_page = httpx.get(f"{plain}/staff/", follow_redirects=True).text
    assert "Staff features are off" in staff_page, staff_page[:500]
    endpoints = Client(f"{plain}/staff/", verbose=False).view_api(print_info=False, return_format="dict")
    assert endpoints["named_endpoints"] == {}, f"the staff page exposes functions: {endpoints['named_endpoints']}"


def staff_endpoints(url: str) -> dict[str, list]:
    """The staff page's functions as Gradio exposes them: name -> the values of their inputs after the staff name
    and token (which come first), each its field's default."""
    from gradio_client import Client

    info = Client(f"{url}/staff/", verbose=False).view_api(print_info=False, return_format="dict")
    return {
        name.lstrip("/"): [p.get("parameter_default") for p in endpoint["parameters"][2:]]
        for name, endpoint in info["named_endpoints"].items()
    }


def test_staff_page_gives_nothing_without_the_token(guarded) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    url, data_dir = guarded
    answer = httpx.post(
        f"{url}/api/chat",
        json={"message": "Quel diplôme obtient-on à l'école test ?"},
        headers={"X-Forwarded-For": "192.0.2.200"},
        timeout=60,
    ).json()
    vote = {
        "session_id": answer["session_id"],
        "message_id": answer["message_id"],
        "rating": "down",
        "comment": SECRET_COMMENT,
    }
    voted = httpx.post(f"{url}/api/feedback", json=vote)
    assert voted.status_code == 200, voted.text

    for page in ("/staff/", "/staff/config", "/staff/gradio_api/info"):
        text = httpx.get(f"{url}{page}", follow_redirects=True).text
        assert SECRET_COMMENT not in text and "fixture.jsonl" not in text, page
    endpoints = staff_endpoints(url)
    assert {"unlock", "analytics", "export_feedback", "gaps", "publish_entry", "export_audit"} <= endpoints.keys()
    client = Client(f"{url}/staff/", verbose=False)
    for name, inputs in endpoints.items():
        # no token, a wrong one, the right token under a name that is not its account's
        for staff, token in (("admin", ""), ("admin", TOKEN[:-1]), ("alice", TOKEN)):
            with pytest.raises(AppError, match="Wrong or missing name or token"):
                client.predict(staff, token, *inputs, api_name=f"/{name}")

    exported = Path(client.predict("admin", TOKEN, api_name="/export_feedback"))
    assert SECRET_COMMENT in exported.read_text(encoding="utf-8"), exported
    for export in (exported, Path(client.predict("admin", TOKEN, "fr", api_name="/export_audit"))):
        assert not export.is_relative_to(data_dir), f"the export {export} is served from the data folder"
    for guess in (data_dir / "exports" / "feedback.csv", data_dir / "store.sqlite"):
        for prefix in ("/staff", ""):
            response = httpx.get(f"{url}{prefix}/gradio_api/file={guess}")
            assert response.status_code == 403, f"{prefix}/gradio_api/file={guess}: {response.status_code}"


def limited_operations(url: str) -> list[tuple]:
    return [op for op in operations(url, tuple(Settings().rate_limited_paths)) if op[0] == "POST"]


def test_chat_routes_are_rate_limited_per_client(guarded) -> None:
    url, _ = guarded
    limited = limited_operations(url)
    assert {op[1] for op in limited} >= {"/api/chat", "/api/chat/stream", "/v1/chat/completions"}, limited
    for n, (method, path, query, _) in enumerate(limited):
        client = {"X-Forwarded-For": f"198.51.100.{n + 1}"}  # one client per route, named by the trusted proxy
        for _ in range(LIMIT):
            counted = call(url, (method, path, query, {}), client)
            assert counted.status_code != 429, (path, counted.text)  # counted, not limited
        refused = call(url, (method, path, query, {}), client)
        assert refused.status_code == 429, (path, refused.text)
        assert 1 <= int(refused.headers["retry-after"]) <= 60, refused.headers
        assert "too many requests" in refused.json()["detail"], refused.text
        feedback = httpx.post(f"{url}/api/feedback", json={}, headers=client)
        assert feedback.status_code == 422, feedback.text  # not a chat route
    fresh = httpx.post(
        f"{url}/api/chat",
        json={"message": "Faut-il passer un concours pour entrer à l'école test ?"},
        headers={"X-Forwarded-For": "198.51.100.250"},
        timeout=60,
    )
    assert fresh.status_code == 200 and fresh.json()["mode"] == "faq", fresh.text  # another client is served as usual


def test_forwarded_for_is_ignored_without_a_trusted_proxy(plain: str) -> None:
    statuses = [
        httpx.post(f"{plain}/api/chat", json={}, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(LIMIT + 1)
    ]
    assert statuses == [422] * LIMIT + [429], statuses


HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN", "referrer-policy": "same-origin"}


def assert_protected(response: httpx.Response, what: str) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (what, name, response.status_code)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "object-src 'none'" in policy and "default-src 'self'" in policy, (
        what,
        policy,
    )


def test_security_headers_on_every_response(plain: str, guarded) -> None:
    gets = [op for op in operations(plain, ("/",)) if op[0] == "GET"]
    for operation in gets:
        assert_protected(call(plain, operation, {}), operation[1])
    for path in ("/", "/staff/", "/docs", "/openapi.json", "/config", "/no-such-page"):
        assert_protected(httpx.get(f"{plain}{path}", follow_redirects=True), path)
    assert_protected(
        httpx.post(f"{plain}/api/feedback", content=b"x" * 70_000, headers={"content-type": "application/json"}), "413"
    )
    assert_protected(httpx.post(f"{plain}/api/feedback", content=b"rating=up"), "415")
    url, _ = guarded
    for _ in range(LIMIT + 1):
        last = httpx.post(f"{url}/v1/chat/completions", json={}, headers={"X-Forwarded-For": "198.51.100.240"})
    assert last.status_code == 429, last.text
    assert_protected(last, "429")


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        f"{url}/api/chat",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_cors_allows_only_the_configured_origins(plain: str, guarded) -> None:
    evil = "https://evil.example"
    for url in (plain, guarded[0]):
        assert "access-control-allow-origin" not in preflight(url, evil).headers, f"{url} allows {evil}"
        health = httpx.get(f"{url}/health", headers={"Origin": evil})
        assert "access-control-allow-origin" not in health.headers, f"{url}/health allows {evil}"
    default = preflight(plain, PARTNER)
    assert "access-control-allow-origin" not in default.headers, default.headers  # default: same origin only
    allowed = preflight(guarded[0], PARTNER)
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == PARTNER, (
        allowed.status_code,
        allowed.headers,
    )
    health = httpx.get(f"{guarded[0]}/health", headers={"Origin": PARTNER})
    assert health.headers["access-control-allow-origin"] == PARTNER, health.headers


WATCH_CSP = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"""


def test_chat_and_staff_pages_work_under_the_content_security_policy(guarded, browser) -> None:
    url, _ = guarded
    page = browser.new_page(viewport={"width": 1200, "height": 1100})
    refused = []
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.add_init_script(WATCH_CSP)
    page.goto(url)
    page.locator("#question textarea").fill("Faut-il passer un concours pour entrer à l'école test ?")
    page.locator("#question textarea").press("Enter")
    page.locator("#sources .source-card").first.wait_for(timeout=30_000)
    answer = page.locator("#chat .message-row").last.inner_text()
    assert "pas de concours" in answer, answer
    assert page.evaluate("window.__csp") == [], f"CSP violations on the chat page: {page.evaluate('window.__csp')}"
    page.goto(f"{url}/staff/")
    page.locator("#staff-name input").fill("admin")
    page.locator("#token input").fill(TOKEN)
    page.locator("#unlock").click()
    page.get_by_text("Déverrouillé.").wait_for(timeout=10_000)
    assert page.evaluate("window.__csp") == [] and refused == [], (
        f"CSP violations on the staff page: {page.evaluate('window.__csp')}; console: {refused}"
    )
    page.close()

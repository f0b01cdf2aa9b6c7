"""``/metrics``: scraped from the real app (in process, over the fixture KB) before and after a few turns; the
counters move by what the turns did, the labels are route templates, and nothing a user typed shows.

The route's token rule and the route labels are also checked on small apps, without the model."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import Settings
from bot.metrics import OTHER_ROUTE, AppMetrics
from bot.web.middleware.metrics import MOUNT_ROUTE, RequestMetricsMiddleware
from bot.web.routes.metrics import router as metrics_router
from tests.conftest import FIXTURE_KB, IndexTemplates, app_server

TOKEN = "metrics-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FAQ_QUESTION = "Faut-il passer un concours pour entrer à l'école test ?"
REFUSED_QUESTION = "Quelle est la recette du cassoulet ?"
RATE_LIMIT = 5  # a minute, on the chat routes: /metrics is not one of them


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Samples:
    """Every sample of a scrape: (name, labels) → value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: Samples, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def total(scraped: Samples, name: str, **labels: str) -> float:
    """The sum over the series of ``name`` that carry ``labels`` (and any others)."""
    wanted = set(labels.items())
    return sum(v for (n, series), v in scraped.items() if n == name and wanted <= series)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[str]:
    root = tmp_path_factory.mktemp("metrics")
    settings = Settings(
        data_dir=index_templates.copy(FIXTURE_KB, root / "data"),
        kb_dir=FIXTURE_KB,
        metrics_token=TOKEN,
        rate_limit_per_minute=RATE_LIMIT,
    )
    with app_server(settings) as url:
        yield url


def scrape(url: str) -> tuple[str, Samples]:
    response = httpx.get(f"{url}/metrics", headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain"), response.headers
    return response.text, samples(response.text)


def test_the_counters_move_with_the_turns_and_show_no_text_or_id(server: str) -> None:
    _, before = scrape(server)
    faq = httpx.post(f"{server}/api/chat", json={"message": FAQ_QUESTION}, timeout=60).json()
    assert faq["mode"] == "faq", faq
    refused = httpx.post(f"{server}/api/chat", json={"message": REFUSED_QUESTION}, timeout=60).json()
    assert refused["refused"] is True and refused["mode"] == "refused", refused
    again = httpx.post(
        f"{server}/api/chat", json={"message": FAQ_QUESTION, "session_id": faq["session_id"]}, timeout=60
    ).json()
    assert again["mode"] == "faq", again
    assert httpx.delete(f"{server}/api/sessions/{faq['session_id']}", timeout=30).status_code == 204
    text, after = scrape(server)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("tutor_answers_total", mode="faq", lang="fr") == 2
    assert moved("tutor_answers_total", mode="refused", lang="fr") == 1
    assert moved("tutor_answers_total") == 3  # the start-up warm-up is not counted, nor anything else
    assert moved("tutor_refusals_total") == 1
    assert moved("tutor_llm_fallbacks_total") == 0  # no LLM configured
    assert moved("tutor_answer_duration_seconds_count", mode="faq") == 2
    assert moved("tutor_answer_duration_seconds_sum", mode="faq") > 0
    assert moved("tutor_http_requests_total", route="/api/chat", method="POST", status="200") == 3
    assert moved("tutor_http_request_duration_seconds_count", route="/api/chat") == 3
    # The route's template, never the raw path: the session id is in no label.
    assert moved("tutor_http_requests_total", route="/api/sessions/{session_id}", method="DELETE", status="204") == 1
    # The scrape before this one was counted once it was answered.
    assert value(after, "tutor_http_requests_total", route="/metrics", method="GET", status="200") >= 1
    for secret in (FAQ_QUESTION, REFUSED_QUESTION, "concours", "cassoulet", faq["session_id"], faq["message_id"]):
        assert secret not in text, secret
    # The fixture's index was copied, not ingested: no ingest run; the embedding queue is empty between turns.
    assert total(after, "tutor_ingest_runs_total") == 0
    assert value(after, "tutor_embedding_queue_depth") == 0


def test_gradio_pages_and_unknown_paths_are_one_label_each(server: str) -> None:
    _, before = scrape(server)
    httpx.get(f"{server}/", timeout=30)
    httpx.get(f"{server}/staff/", timeout=30)
    httpx.get(f"{server}/no-such-page-8f3a", timeout=30)
    text, after = scrape(server)
    routes = {dict(series).get("route") for name, series in after if name == "tutor_http_requests_total"}
    assert MOUNT_ROUTE in routes, routes
    assert not any(route and ("8f3a" in route or route.startswith("/staff/")) for route in routes), routes
    assert "no-such-page" not in text
    moved = total(after, "tutor_http_requests_total", route=MOUNT_ROUTE) - total(
        before, "tutor_http_requests_total", route=MOUNT_ROUTE
    )
    assert moved >= 3, moved


def test_a_scrape_needs_the_token_when_one_is_set(server: str) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
    ):
        response = httpx.get(f"{server}/metrics", headers=headers, timeout=30)
        assert response.status_code == 401, (headers, response.status_code)
        assert response.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{server}/metrics", headers=AUTH, timeout=30).status_code == 200


def test_metrics_are_not_rate_limited(server: str) -> None:
    for _ in range(RATE_LIMIT * 2):
        assert httpx.get(f"{server}/metrics", headers=AUTH, timeout=30).status_code == 200


# Without the model: the route on its own, and the labels of the middleware.


def small_app(settings: Settings) -> tuple[FastAPI, AppMetrics]:
    metrics = AppMetrics()
    app = FastAPI()
    app.state.runtime = SimpleNamespace(settings=settings, metrics=metrics)
    app.include_router(metrics_router)

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict:
        return {"id": item_id}

    app.mount("/pages", FastAPI())
    app.add_middleware(RequestMetricsMiddleware, metrics=metrics)
    return app, metrics


def test_metrics_are_served_by_default_without_a_token() -> None:
    app, metrics = small_app(Settings(metrics_token=None))
    metrics.answered("faq", "en", False, 0.02, False)
    response = TestClient(app).get("/metrics")
    assert response.status_code == 200, response.text
    assert value(samples(response.text), "tutor_answers_total", mode="faq", lang="en") == 1


def test_routes_are_labelled_by_their_template() -> None:
    client = TestClient(small_app(Settings(metrics_token=None))[0])
    client.get("/items/secret-id-42")
    client.post("/items/secret-id-42")  # 405: still the route's template
    client.get("/pages/anything")
    client.get("/nowhere/secret-id-42")
    scraped = samples(client.get("/metrics").text)
    assert value(scraped, "tutor_http_requests_total", route="/items/{item_id}", method="GET", status="200") == 1
    assert value(scraped, "tutor_http_requests_total", route="/items/{item_id}", method="POST", status="405") == 1
    assert value(scraped, "tutor_http_requests_total", route=MOUNT_ROUTE, method="GET", status="404") == 1
    assert value(scraped, "tutor_http_requests_total", route=OTHER_ROUTE, method="GET", status="404") == 1
    assert not any("secret-id-42" in label for _, series in scraped for _, label in series)


def test_each_app_counts_its_own() -> None:
    first, second = AppMetrics(), AppMetrics()
    first.answered("refused", "fr", True, 0.1, False)
    first.answered("extractive", "fr", False, 0.3, True)
    first.ingested("ok")
    scraped = samples(TestClient(small_app(Settings())[0]).get("/metrics").text)
    assert total(scraped, "tutor_answers_total") == 0
    mine, theirs = samples(generate_latest(first.registry).decode()), samples(generate_latest(second.registry).decode())
    assert value(mine, "tutor_refusals_total") == 1 and value(mine, "tutor_llm_fallbacks_total") == 1
    assert value(mine, "tutor_ingest_runs_total", outcome="ok") == 1
    assert value(theirs, "tutor_refusals_total") == 0 and total(theirs, "tutor_answers_total") == 0


def test_an_llm_answer_served_as_extractive_is_counted_as_a_fallback() -> None:
    from bot.answering.chat import ChatAnswer
    from bot.answering.llm import FALLBACK_NOTE
    from bot.conversation import Conversation

    metrics = AppMetrics()
    conversation = Conversation(chat=None, observer=metrics)  # type: ignore[arg-type]  # only _observe is used
    for reason in ("grounded", f"grounded; {FALLBACK_NOTE}: the answer only restates the question"):
        conversation._observe(ChatAnswer("…", "extractive", False, "fr", [], "q", reason=reason, latency_ms=250))
    scraped = samples(generate_latest(metrics.registry).decode())
    assert value(scraped, "tutor_llm_fallbacks_total") == 1
    assert value(scraped, "tutor_answers_total", mode="extractive", lang="fr") == 2


def test_the_queue_gauge_reads_no_model_into_being(tmp_path) -> None:
    """Reading the queue depth of a profile whose model was never created is 0, and creates nothing (creating
    one checks the model is prepared: a missing model is start-up's to report, not a scrape's)."""
    from bot.indexing import embeddings

    settings = Settings(model_cache=tmp_path / "no-models-here")
    assert embeddings.queued_queries(settings) == 0
    assert not any(key[1] == str(settings.model_cache) for key in embeddings._INSTANCES)

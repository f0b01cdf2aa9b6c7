"""Staff features behind the admin token (the account ``admin``): evaluation runs over the admin API and on the
staff page (a real uvicorn server in this process, over a copy of the fixture KB's index)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.store import Store
from evals.jobs import EvalJobs
from tests.conftest import ARTIFACTS, FIXTURE_KB, IndexTemplates, app_server

TOKEN = "s3cret-staff-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIXTURE_DATASETS = FIXTURE_KB.parent / "evals"


@pytest.fixture(scope="module")
def staff_settings(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Settings:
    root = tmp_path_factory.mktemp("staff")
    return Settings(
        data_dir=index_templates.copy(FIXTURE_KB, root / "data"),
        kb_dir=FIXTURE_KB,
        admin_token=TOKEN,
        eval_datasets_dir=FIXTURE_DATASETS,
    )


@pytest.fixture(scope="module")
def staff_server(staff_settings: Settings) -> Iterator[str]:
    with app_server(staff_settings) as url:
        yield url


def wait_for(url: str, run_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{url}/api/admin/evals/{run_id}", headers=AUTH).json()
        if status["state"] != "running":
            return status
        time.sleep(0.5)
    pytest.fail(f"run {run_id} did not finish")


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token"}, 401),
        ({"Authorization": f"Basic {TOKEN}"}, 401),
        (AUTH, 200),
    ],
)
def test_admin_token_is_required(staff_server: str, headers: dict, code: int) -> None:
    response = httpx.get(f"{staff_server}/api/admin/datasets", headers=headers)
    assert response.status_code == code, response.text


def test_run_report_failures_and_compare_over_the_admin_api(staff_server: str) -> None:
    datasets = httpx.get(f"{staff_server}/api/admin/datasets", headers=AUTH).json()
    assert "fixture.jsonl" in datasets, datasets
    run_ids = []
    for _ in range(2):
        started = httpx.post(f"{staff_server}/api/admin/evals", json={"dataset": "fixture.jsonl"}, headers=AUTH)
        assert started.status_code == 202, started.text
        status = wait_for(staff_server, started.json()["run_id"])
        assert status["state"] == "done" and status["done"] == status["total"] == 6, status
        assert status["summary"]["n"] == 6, status["summary"]
        run_ids.append(status["run_id"])
        time.sleep(1.1)  # run ids carry the second they started
    listed = httpx.get(f"{staff_server}/api/admin/evals", headers=AUTH).json()
    assert listed[:2] == run_ids[::-1], f"newest run first: {listed} for runs {run_ids}"
    report = httpx.get(f"{staff_server}/api/admin/evals/{run_ids[0]}/report", headers=AUTH)
    assert report.status_code == 200 and "Evaluation report" in report.text, (report.status_code, report.text[:300])
    failures = httpx.get(f"{staff_server}/api/admin/evals/{run_ids[0]}/failures", headers=AUTH).json()
    assert all(not f["correct"] for f in failures), failures
    compared = httpx.get(
        f"{staff_server}/api/admin/evals/compare", params={"a": run_ids[0], "b": run_ids[1]}, headers=AUTH
    ).json()
    assert {d["metric"] for d in compared["deltas"]} >= {"hit@1", "answer_accuracy"}, compared["deltas"]
    assert compared["fixed"] == [] and compared["broken"] == [], compared  # same bot, same answers


def test_another_worker_sees_the_runs_of_the_app(staff_server: str, staff_settings: Settings, tmp_path: Path) -> None:
    """A second worker on the same store (its own ``Store``, an empty runs folder of its own) finds a run the
    app started, with its progress while it runs and its summary once done."""
    store = Store(staff_settings.store_url)
    another_worker = EvalJobs(tmp_path / "evals", FIXTURE_DATASETS, lambda: pytest.fail("no run here"), store)
    started = httpx.post(f"{staff_server}/api/admin/evals", json={"dataset": "fixture.jsonl"}, headers=AUTH)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    seen = another_worker.status(run_id)
    assert seen.dataset == "fixture.jsonl" and seen.state in ("running", "done"), seen  # recorded at its start
    finished = wait_for(staff_server, run_id)
    seen = another_worker.status(run_id)
    assert (seen.state, seen.done, seen.total, seen.summary) == ("done", 6, 6, finished["summary"]), seen
    assert another_worker.runs()[0] == run_id
    store.close()


@pytest.mark.parametrize("dataset", ["../../../etc/passwd", "missing.jsonl"])
def test_only_listed_datasets_can_be_run(staff_server: str, dataset: str) -> None:
    response = httpx.post(f"{staff_server}/api/admin/evals", json={"dataset": dataset}, headers=AUTH)
    assert response.status_code == 422 and "unknown dataset" in response.text, (response.status_code, response.text)


def test_staff_without_a_trailing_slash_leads_to_the_staff_page(staff_server: str) -> None:
    moved = httpx.get(f"{staff_server}/staff?x=1")
    assert moved.status_code == 307 and moved.headers["location"] == f"{staff_server}/staff/?x=1", moved.headers
    page = httpx.get(f"{staff_server}/staff", follow_redirects=True)
    assert page.status_code == 200 and "gradio" in page.text.lower(), (page.status_code, page.text[:300])


def test_a_route_typed_with_a_slash_too_many_is_redirected_to_it(staff_server: str) -> None:
    """The chat mounted at / matches every path: without the redirect these got its bare 404."""
    for typed, served in [("/docs/", "/docs"), ("/ready/", "/ready"), ("/openapi.json/", "/openapi.json")]:
        moved = httpx.get(f"{staff_server}{typed}")
        assert moved.status_code == 307 and moved.headers["location"] == f"{staff_server}{served}", (
            f"slash redirect of {typed}: {moved.status_code} {moved.headers.get('location')} {moved.text[:200]}"
        )
    sent = httpx.post(f"{staff_server}/api/chat/", json={"message": "Quelle est la durée ?"}, follow_redirects=True)
    assert sent.status_code == 200 and sent.json()["answer"], f"a POST with a slash too many: {sent.status_code}"
    unknown = httpx.get(f"{staff_server}/no-such-page/")
    assert unknown.status_code == 404, f"an unknown path is not redirected: {unknown.status_code}"


def test_unknown_run_is_404(staff_server: str) -> None:
    response = httpx.get(f"{staff_server}/api/admin/evals/nope/report", headers=AUTH)
    assert response.status_code == 404, response.text


def test_staff_page_runs_an_evaluation_in_the_browser(staff_server: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    page.goto(f"{staff_server}/staff/")
    page.locator("#staff-name input").fill("admin")
    page.locator("#token input").fill("wrong")
    page.locator("#unlock").click()
    page.get_by_text("Wrong or missing name or token").first.wait_for(timeout=10_000)
    page.locator("#token input").fill(TOKEN)
    page.locator("#unlock").click()
    page.get_by_text("Connecté·e en tant que admin").wait_for(timeout=10_000)
    page.get_by_role("tab", name="Évaluation").click()
    page.locator("#run").click()
    page.get_by_text("terminée").wait_for(timeout=120_000)
    summary = page.locator("#summary").inner_text()
    assert "category: out-of-scope" in summary, summary
    cells = [line.strip() for line in summary.splitlines() if line.strip()]  # one line per cell
    refusals = cells[cells.index("category: out-of-scope") :]
    # Its items expect no source: hit@1, hit@5, MRR, nDCG@5, fact recall and citation precision measured nothing.
    assert refusals[2:6] == ["—"] * 4, f"a rank metric with nothing to measure shown as a figure: {refusals}"
    frame = page.frame_locator("#report iframe")
    frame.get_by_text("Evaluation report").wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "staff-page.png"), full_page=True)
    page.close()


def test_analytics_list_gaps_and_export_feedback(staff_server: str, browser) -> None:
    refused = httpx.post(f"{staff_server}/api/chat", json={"message": "Quelle est la recette du cassoulet ?"}).json()
    assert refused["refused"], refused
    answered = httpx.post(
        f"{staff_server}/api/chat", json={"message": "Quel diplôme obtient-on à l'école test ?"}
    ).json()
    vote = {
        "session_id": answered["session_id"],
        "message_id": answered["message_id"],
        "rating": "down",
        "comment": "il manque le niveau",
    }
    voted = httpx.post(f"{staff_server}/api/feedback", json=vote)
    assert voted.status_code == 200, voted.text

    anonymous = httpx.get(f"{staff_server}/api/admin/analytics")
    assert anonymous.status_code == 401, anonymous.text
    report = httpx.get(f"{staff_server}/api/admin/analytics", headers=AUTH).json()
    assert "Quelle est la recette du cassoulet ?" in [r["question"] for r in report["unanswered"]], report["unanswered"]
    down = report["thumbs_down"][0]
    assert (down["question"], down["comment"]) == ("Quel diplôme obtient-on à l'école test ?", "il manque le niveau")
    assert "ecole/diplome" in down["sources"], down
    assert any(t["source_id"] == "ecole/diplome" for t in report["topics"]), report["topics"]

    exported = httpx.get(f"{staff_server}/api/admin/feedback.csv", headers=AUTH)
    assert exported.headers["content-type"].startswith("text/csv"), exported.headers["content-type"]
    lines = exported.text.splitlines()
    assert lines[0] == "created_at,rating,comment,question,answer,sources"
    assert any("il manque le niveau" in line and "ecole/diplome" in line for line in lines[1:]), lines

    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(f"{staff_server}/staff/")
    page.locator("#staff-name input").fill("admin")
    page.locator("#token input").fill(TOKEN)
    page.locator("#unlock").click()
    page.get_by_text("Déverrouillé.").wait_for(timeout=10_000)
    page.get_by_role("tab", name="Statistiques").click()
    page.locator("#refresh-analytics").click()
    page.wait_for_function("document.querySelector('#unanswered').innerText.includes('cassoulet')", timeout=10_000)
    page.locator("#export").click()
    page.locator("#export-file").get_by_text("feedback.csv").first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "staff-analytics.png"), full_page=True)
    page.close()

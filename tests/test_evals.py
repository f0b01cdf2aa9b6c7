"""The evaluation suite: metrics, dataset errors, runs, reports, comparisons and the quality gate.

The command line (``python -m evals``) runs in this process (``tests.conftest.run_cli``): same exit status
and output, without a process and a model load per run. Runs that ingest the fixture KB (``--kb``) start
from a copy of its session index, so their ingest finds every file unchanged."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from evals.__main__ import main as evals_main
from evals.compare import compare_runs
from evals.dataset import DatasetError, load_dataset
from evals.gate import check_gate
from evals.metrics import ANSWER_KEYS, SUMMARY_KEYS, fact_found, grounded, hit_rank, ndcg, shown, summarise
from tests.conftest import ARTIFACTS, FIXTURE_KB, IndexTemplates, run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "evals"


def test_fact_matching_ignores_case_accents_and_spaces() -> None:
    assert fact_found("pas de concours", "Il n'y a PAS  de\nconcours d'entrée.")
    assert fact_found(["entretien", "interview"], "Admission is by INTERVIEW.")
    assert fact_found("Données personnelles", "les donnees personnelles")
    assert not fact_found("12 mois", "La formation dure 3 mois.")


def test_rank_metrics() -> None:
    assert hit_rank(["a", "b", "c"], ["c", "z"]) == 3
    assert hit_rank(["a"], ["z"]) is None
    assert ndcg(["x", "a"], ["a"]) == pytest.approx(1 / 1.5849625, rel=1e-6)
    assert ndcg(["a", "b"], ["a", "b"]) == pytest.approx(1.0)


def row(**values) -> dict:
    base = {
        "should_refuse": False,
        "refused": False,
        "expected_sources": ["s"],
        "expected_facts": ["f"],
        "hit_rank": 1,
        "ndcg@5": 1.0,
        "facts_found": ["f"],
        "citations": [{"source_id": "s"}],
        "citations_supported": 1,
        "correct": True,
        "latency_ms": 10.0,
    }
    return {**base, **values}


def test_summary_counts_refusals_and_misses() -> None:
    rows = [
        row(mode="llm"),
        row(hit_rank=None, facts_found=[], correct=False, latency_ms=30.0, grounded=False),
        row(
            should_refuse=True,
            refused=True,
            expected_sources=[],
            expected_facts=[],
            citations=[],
            citations_supported=0,
        ),
        row(refused=True, facts_found=[], correct=False, citations=[], citations_supported=0),
    ]
    summary = summarise(rows)
    assert set(summary) == {*SUMMARY_KEYS, *ANSWER_KEYS}
    assert summary["grounded_share"] == 0.5, summary  # of the answers given, refusals aside
    assert summary["modes"] == {"llm": 1}
    assert summary["hit@1"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["answer_accuracy"] == 0.5, summary
    assert summary["fact_recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["refusal_precision"] == 0.5 and summary["refusal_recall"] == 1.0, summary


def test_a_faq_answer_from_an_entry_the_item_does_not_expect_is_wrong() -> None:
    faq = {"mode": "faq", "retrieved": [("faq-1", 0.9)]}
    rows = [
        row(**faq, citations=[{"source_id": "faq-1"}], expected_sources=["faq-1", "page"]),  # the right entry
        row(**faq, citations=[{"source_id": "faq-2"}], expected_sources=["faq-1", "page"]),  # a neighbour's
        row(**faq, citations=[{"source_id": "faq-1"}], should_refuse=True, expected_sources=[]),  # to decline
        row(mode="extractive", citations=[{"source_id": "page-2"}]),  # a passage off the mark is no FAQ answer
    ]
    assert summarise(rows)["faq_wrong_rate"] == 0.5


def test_multi_part_and_premise_figures_count_only_the_items_that_carry_them() -> None:
    plain = summarise([row(answer="Oui.")])
    assert plain["multipart_complete"] is None and plain["premise_confirmed"] is None
    rows = [
        row(parts=2, answer="…"),
        row(parts=2, answer="…", correct=False),
        row(premise="contradicted", answer="Oui, l'école est ouverte aux salariés [1]."),
        row(premise="contradicted", answer="Non : elle s'adresse d'abord à des candidats externes [1]."),
        row(premise="unconfirmed", answer="  Yes, indeed."),
        row(premise="confirmed", answer="Oui, c'est gratuit."),  # agreeing with a true premise is right
    ]
    summary = summarise(rows)
    assert summary["multipart_complete"] == 0.5
    assert summary["premise_confirmed"] == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "a", "question": "q"', "invalid JSON"),
        ('{"id": "a"}', "question: Field required"),
        ('{"id": "a", "question": "q", "expected_facts": [""]}', "expected_facts"),
        ('{"id": "a", "question": "q", "history": [{"role": "bot", "content": "x"}]}', "history.0.role"),
    ],
)
def test_malformed_dataset_line_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    dataset = tmp_path / "bad.jsonl"
    dataset.write_text('{"id": "ok", "question": "Bonjour ?"}\n' + line + "\n")
    with pytest.raises(DatasetError, match=rf"bad\.jsonl:2: .*{message}"):
        load_dataset(dataset)


def evals_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m evals ARGS`` with ``env``, run in this process."""
    return run_cli(evals_main, list(args), env)


def test_cli_reports_a_bad_dataset_without_traceback(tmp_path: Path) -> None:
    dataset = tmp_path / "broken.jsonl"
    dataset.write_text("not json\n")
    result = evals_cli("run", "--dataset", str(dataset), env={"TUTOR_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 2, result.stderr
    assert "broken.jsonl:1: invalid JSON" in result.stderr and "Traceback" not in result.stderr, result.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> dict[str, Path]:
    """Two runs on the fixture KB: the default configuration, and one weakened to refuse everything."""
    root = tmp_path_factory.mktemp("evals")
    env = {"TUTOR_DATA_DIR": str(index_templates.copy(FIXTURE_KB, root / "data", collection="eval-fixture"))}
    common = [
        "run",
        "--dataset",
        str(FIXTURES / "fixture.jsonl"),
        "--kb",
        str(FIXTURE_KB),
        "--collection",
        "eval-fixture",
        "--gate",
        str(FIXTURES / "thresholds.yaml"),
    ]
    good = evals_cli(*common, "--out", str(root / "good"), env=env)
    weak = evals_cli(
        *common,
        "--out",
        str(root / "weak"),
        env={
            **env,
            "TUTOR_FAQ_MIN_PROBABILITY": "1.0",
            "TUTOR_DECLINE_ABOVE": "0.0",
        },
    )
    return {"root": root, "good": root / "good", "weak": root / "weak", "good_result": good, "weak_result": weak}


def test_run_writes_summary_results_and_report(runs) -> None:
    result = runs["good_result"]
    assert result.returncode == 0, result.stderr
    assert "gate passed" in result.stderr, result.stderr
    summary = json.loads((runs["good"] / "summary.json").read_text())
    assert set(SUMMARY_KEYS) <= summary.keys(), f"missing keys: {set(SUMMARY_KEYS) - summary.keys()}"
    assert set(summary["by_category"]) == {"enrolment", "curriculum", "follow-up", "out-of-scope"}
    assert set(SUMMARY_KEYS) <= summary["by_category"]["enrolment"].keys()
    assert summary["n"] == 6 and summary["hit@5"] >= 0.8 and summary["refusal_recall"] == 1.0, summary
    rows = [json.loads(line) for line in (runs["good"] / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["t-001", "t-002", "t-003", "t-004", "t-005", "t-006"]
    for key in (
        "answer",
        "mode",
        "citations",
        "retrieved",
        "hit_rank",
        "facts_found",
        "facts_missing",
        "refused",
        "latency_ms",
    ):
        assert key in rows[0], f"{key} missing from {sorted(rows[0])}"
    assert "Evaluation report" in (runs["good"] / "report.html").read_text()


def test_gate_fails_naming_the_metric_when_the_configuration_is_weakened(runs) -> None:
    result = runs["weak_result"]
    assert result.returncode == 1, result.stderr
    assert "GATE FAILED" in result.stderr and "answer_accuracy" in result.stderr, result.stderr


def test_compare_lists_flipped_items_and_writes_html(runs) -> None:
    html = runs["root"] / "compare.html"
    result = evals_cli("compare", str(runs["good"]), str(runs["weak"]), "--html", str(html))
    assert result.returncode == 0, result.stderr
    assert "broken" in result.stderr and "t-001" in result.stderr, result.stderr
    assert "Broken (right in A, wrong in B)" in html.read_text()


@pytest.mark.browser
def test_report_renders_in_a_browser(runs, browser) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.goto((runs["good"] / "report.html").as_uri())
    charts = page.locator("svg").count()
    assert charts >= 2, f"{charts} charts, expected the category chart and the latency histogram"
    assert page.get_by_text("refusal_recall").first.is_visible(), "the summary table is not visible"
    page.screenshot(path=str(ARTIFACTS / "eval-report.png"), full_page=True)
    size = (ARTIFACTS / "eval-report.png").stat().st_size
    assert size > 10_000, f"a {size}-byte screenshot: the page is blank"
    page.close()


def test_import_squad_then_run_on_the_imported_folder(tmp_path: Path) -> None:
    kb, dataset = tmp_path / "kb", tmp_path / "squad.jsonl"
    imported = evals_cli(
        "import-squad", str(FIXTURES / "squad.json"), "--kb-out", str(kb), "--dataset-out", str(dataset)
    )
    assert imported.returncode == 0, imported.stderr
    assert (kb / "le-havre" / "p001.md").exists() and (kb / "le-havre" / "p002.md").exists(), sorted(kb.rglob("*"))
    items = [json.loads(line) for line in dataset.read_text().splitlines()]
    assert [i["id"] for i in items] == ["q1", "q2", "q3", "q4"]
    assert items[0]["expected_sources"] == ["le-havre/p001"]
    assert items[0]["expected_facts"] == [["Normandie", "en Normandie"]]
    assert items[3]["should_refuse"] is True and items[0]["category"] == "geographie", items

    run = evals_cli(
        "run",
        "--dataset",
        str(dataset),
        "--kb",
        str(kb),
        "--collection",
        "squad-test",
        "--out",
        str(tmp_path / "run"),
        env={"TUTOR_DATA_DIR": str(tmp_path / "data")},
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["hit@1"] == 1.0 and summary["refusal_recall"] == 1.0, summary


@pytest.mark.llm
def test_judged_tier_scores_faithfulness_through_an_openai_compatible_server(
    tmp_path: Path, index_templates: IndexTemplates
) -> None:
    from tests.fakes.openai_server import fake_openai

    data_dir = index_templates.copy(FIXTURE_KB, tmp_path / "data", collection="judged")

    common = [
        "run",
        "--dataset",
        str(FIXTURES / "fixture.jsonl"),
        "--kb",
        str(FIXTURE_KB),
        "--collection",
        "judged",
        "--judge",
    ]
    with fake_openai() as url:
        results = {}
        for name, base in (("fair", f"{url}/v1"), ("harsh", f"{url}/no/v1")):
            env = {"TUTOR_DATA_DIR": str(data_dir), "TUTOR_LLM_BASE_URL": base, "TUTOR_LLM_MODEL": "judge"}
            run = evals_cli(*common, "--out", str(tmp_path / name), env=env)
            assert run.returncode == 0, run.stderr
            assert "judged tier" in run.stderr, run.stderr
            results[name] = json.loads((tmp_path / name / "summary.json").read_text())["judged_tier"]
    assert results["fair"]["judged"] is True and results["fair"]["judge_model"] == "judge", results["fair"]
    assert results["fair"]["n_judged"] >= 3 and results["fair"]["faithfulness"] >= 0.8, results["fair"]
    assert results["harsh"]["faithfulness"] == 0.0, results["harsh"]
    assert "Judged tier" in (tmp_path / "fair" / "report.html").read_text()


def test_judged_tier_without_a_configured_server_is_a_clear_error(tmp_path: Path) -> None:
    run = evals_cli(
        "run", "--dataset", str(FIXTURES / "fixture.jsonl"), "--judge", env={"TUTOR_DATA_DIR": str(tmp_path / "data")}
    )
    assert run.returncode == 2 and "TUTOR_LLM_BASE_URL" in run.stderr and "Traceback" not in run.stderr, (
        run.returncode,
        run.stderr,
    )


def test_gate_names_each_breached_floor_and_ceiling(tmp_path: Path) -> None:
    limits = tmp_path / "limits.yaml"
    limits.write_text(
        "floors: {hit@1: 0.9, mrr: 0.5}\nceilings: {latency_p95_ms: 100}\n"
        "by_category: {faq: {floors: {answer_accuracy: 0.8}}, nope: {floors: {n: 1}}}\n"
    )
    summary = {
        "hit@1": 0.85,
        "mrr": 0.7,
        "latency_p95_ms": 150.0,
        "by_category": {"faq": {"answer_accuracy": 0.9}},
        "by_lang": {},
    }
    assert check_gate(summary, limits) == [
        "overall: hit@1 = 0.85 is below the floor 0.9",
        "overall: latency_p95_ms = 150.0 is above the ceiling 100",
        "by_category.nope: no such group in the run",
    ]


def test_an_answer_is_grounded_when_its_numbers_and_names_are_in_the_sources_it_cites() -> None:
    sources = ["La formation dure 12 mois chez OpenClassrooms."]
    vocabulary = frozenset({"la", "formation", "dure", "mois", "chez"})
    assert grounded("La formation dure 12 mois [1].", sources, vocabulary)
    assert not grounded("La formation dure 18 mois [1].", sources, vocabulary)
    assert not grounded("La formation est proposée par Coursera [1].", sources, vocabulary)
    assert not grounded("La formation dure 12 mois [1].", [], vocabulary)


def test_a_run_over_attacks_says_what_it_did_not_measure(tmp_path: Path, index_templates: IndexTemplates) -> None:
    """Items without expected sources leave the rank metrics unmeasured ("—", not 1.0), an item written for
    another knowledge base is skipped and named (not scored 0), and the guard's 0.1 ms is labelled."""
    attacks = {
        json.loads(line)["id"]: line
        for line in (Path(__file__).parents[1] / "evals" / "datasets" / "attacks.jsonl").read_text().splitlines()
    }
    dataset = tmp_path / "sample.jsonl"
    dataset.write_text("\n".join([attacks["atk-ign-001"], attacks["atk-ign-003"], attacks["atk-kb-001"]]) + "\n")
    env = {"TUTOR_DATA_DIR": str(index_templates.copy(FIXTURE_KB, tmp_path / "data", collection="eval-fixture"))}
    out = tmp_path / "run"
    args = ["run", "--dataset", str(dataset), "--kb", str(FIXTURE_KB), "--collection", "eval-fixture"]
    result = evals_cli(*args, "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skipped_for_kb"] == {"tests/fixtures/kb-attacks": ["atk-kb-001"]}, summary["skipped_for_kb"]
    assert "written for the knowledge base tests/fixtures/kb-attacks" in result.stderr, result.stderr
    assert summary["n"] == 2, summary
    group = summary["by_category"]["ignore-instructions"]
    assert all(group[key] is None for key in ("hit@1", "hit@5", "mrr", "ndcg@5", "fact_recall")), group
    assert summary["hit@1"] is None and summary["refusal_recall"] == 1.0, summary
    assert shown(group, "hit@1") == "—" and shown(group, "latency_p50_ms").endswith("(declined before retrieval)")
    report = (out / "report.html").read_text()
    assert "tests/fixtures/kb-attacks" in report and "declined before retrieval" in report, report[:2000]
    assert ">—<" in report and ">1.0<" not in report.split("Per category")[1].split("Latency")[0], "1.0 for nothing"


def test_the_gate_and_comparisons_treat_nothing_measured_as_such(tmp_path: Path) -> None:
    limits = tmp_path / "limits.yaml"
    limits.write_text("by_category: {attack: {floors: {hit@1: 0.9, refusal_recall: 1.0}}}\n")
    summary = {**summarise([row(should_refuse=True, refused=True, expected_sources=[], expected_facts=[])])}
    summary["by_category"], summary["by_lang"] = {"attack": dict(summary)}, {}
    assert check_gate(summary, limits) == [
        "by_category.attack: hit@1 had nothing to measure, so the floor 0.9 cannot be checked"
    ]
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps(summary))
        (tmp_path / name / "results.jsonl").write_text("")
    deltas = {d["metric"]: d for d in compare_runs(tmp_path / "a", tmp_path / "b")[0]}
    assert deltas["hit@1"]["delta"] is None and deltas["refusal_recall"]["delta"] == 0, deltas

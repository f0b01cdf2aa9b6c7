"""The staff's loop from a gap to a fix, in a real browser, on a real in-process server (over a copy of the
fixture KB's index): users are refused, staff answer them from /staff, and the chat at / answers with the new
entry at once, then with its edit, then declines again once it is unpublished; the audit log says who did it.
The page's refusals (an invalid entry, a colleague's edit in between), a dismissal and questions added to a
repository entry, through the page's functions as two staff members' browsers call them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.curation.accounts import hash_token
from tests.conftest import ARTIFACTS, FIXTURE_KB, IndexTemplates, app_server

pytestmark = pytest.mark.browser

ALICE = "alice-curation-token-0123456789"
BOB = "bob-curation-token-9876543210"
# Two phrasings of one question the fixture KB cannot answer.
ASKED = ("Où peut-on garer sa voiture à l'école test ?", "Y a-t-il un parking pour les étudiants de l'école test ?")
REFUSED = "Je n'ai pas d'information fiable"
ANSWER = "Un parking gratuit de 40 places est réservé aux étudiants de l'école test."
EDITED = "Le parking de l'école test est gratuit : 60 places, accès par la rue des Tests."


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[str]:
    root = tmp_path_factory.mktemp("curation-ui")
    settings = Settings(
        data_dir=index_templates.copy(FIXTURE_KB, root / "data"),
        kb_dir=FIXTURE_KB,
        staff_accounts={"alice": hash_token(ALICE), "bob": hash_token(BOB)},
    )
    with app_server(settings) as url:
        yield url


def ask(page, url: str, question: str) -> tuple[str, str]:
    """``question`` in a new chat session (a fresh page load): the bot's answer and its sources panel."""
    page.goto(url)
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    page.locator("#sources .source-card, #sources .no-sources").first.wait_for(timeout=30_000)
    return page.locator("#chat .message-row").last.inner_text(), page.locator("#sources").inner_text()


def field(page, elem_id: str):
    return page.locator(f"#{elem_id}").locator("input, textarea").first


# A Gradio table's rows, each a list of its cells' texts.
CELLS = """(selector) => {
  const rows = {};
  document.querySelectorAll(`${selector} .body-cell[data-row]`).forEach((cell) => {
    (rows[cell.dataset.row] ??= [])[Number(cell.dataset.col)] = cell.innerText.trim();
  });
  return Object.values(rows);
}"""


def wait_for_text(page, selector: str, *texts: str, timeout: float = 60_000) -> str:
    """Wait until the element shows every one of ``texts``; its text."""
    page.wait_for_function(
        "([selector, texts]) => { const el = document.querySelector(selector);"
        " return el !== null && texts.every((t) => el.innerText.includes(t)); }",
        arg=[selector, list(texts)],
        timeout=timeout,
    )
    return page.locator(selector).inner_text()


def test_staff_answer_a_gap_and_the_chat_follows_each_change(site: str, browser, figure) -> None:
    started = time.monotonic()
    chat = browser.new_page(viewport={"width": 1200, "height": 1000})
    for question in ASKED:
        answer, _ = ask(chat, site, question)
        assert REFUSED in answer, f"the fixture KB answers {question!r}: {answer}"

    staff = browser.new_page(viewport={"width": 1280, "height": 2200})
    staff.goto(f"{site}/staff/")
    field(staff, "staff-name").fill("alice")
    field(staff, "token").fill(ALICE)
    staff.locator("#unlock").click()
    wait_for_text(staff, "#status", "alice")
    staff.get_by_role("tab", name="Lacunes").click()
    # The two phrasings are one group, the first (the most asked), chosen already.
    group = wait_for_text(staff, "#gaps-questions", *ASKED)
    rows = staff.evaluate(CELLS, "#gaps-table")
    holding = [row for row in rows if all(q in row[2] + row[3] for q in ASKED)]
    assert len(holding) == 1 and holding[0][:2] == ["1", "2"], rows
    staff.locator("#gaps-answer").click()

    # The editor holds the group: its newest question, the other as an alternate, a suggested id, French.
    staff.wait_for_function("document.querySelector('#entry-question textarea')?.value", timeout=10_000)
    entry_id = field(staff, "entry-id").input_value()
    question, alternates = field(staff, "entry-question").input_value(), field(staff, "entry-alternates").input_value()
    assert entry_id.startswith("faq-staff-") and {question, alternates} == set(ASKED), (entry_id, question, group)
    assert staff.locator("#entry-lang input[value=fr]").is_checked()
    field(staff, "entry-answer").fill(ANSWER)

    staff.locator("#entry-preview").click()
    preview = wait_for_text(staff, "#preview-answers", *ASKED, f"[{entry_id}]")
    assert preview.count(f"[{entry_id}]") == 2 and preview.count("[refus]") == 2, preview
    wait_for_text(staff, "#preview-warning", "Aucun conflit")
    staff.screenshot(path=str(ARTIFACTS / "staff-curation-preview.png"), full_page=True)

    staff.locator("#entry-publish").click()
    published = wait_for_text(staff, "#entry-status", "est en ligne", *ASKED)  # and how they are answered now
    assert published.count(f"[{entry_id}]") == 2, published
    wait_for_text(staff, "#entries-table", entry_id)
    for question in ASKED:
        answer, sources = ask(chat, site, question)
        assert ANSWER in answer and entry_id in sources, (question, answer, sources)

    field(staff, "entry-answer").fill(EDITED)
    staff.locator("#entry-save").click()
    wait_for_text(staff, "#entry-status", "révision 2")
    answer, sources = ask(chat, site, ASKED[0])
    assert EDITED in answer and entry_id in sources, (answer, sources)

    staff.locator("#entry-unpublish").click()
    wait_for_text(staff, "#entry-status", "dépubliée")
    answer, _ = ask(chat, site, ASKED[1])
    assert REFUSED in answer, f"an unpublished entry still served: {answer}"

    staff.get_by_role("tab", name="Journal").click()
    staff.locator("#audit-refresh").click()
    log = wait_for_text(staff, "#audit-table", "création", "modification", "dépublication")
    rows = staff.evaluate(CELLS, "#audit-table")
    changes = [(row[2], row[1], row[3]) for row in rows if row[3] == entry_id]
    assert changes == [(a, "alice", entry_id) for a in ("dépublication", "modification", "création")], (rows, log)
    staff.screenshot(path=str(ARTIFACTS / "staff-curation-audit.png"), full_page=True)
    figure(f"curation loop in the browser: {time.monotonic() - started:.0f} s; {published.splitlines()[0]}")
    staff.close()
    chat.close()


def test_refusals_a_dismissal_and_alternates_through_the_pages_functions(site: str) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    alice, bob = Client(f"{site}/staff/", verbose=False), Client(f"{site}/staff/", verbose=False)
    entry = ["faq-staff-cafeteria", "fr", "general", "Y a-t-il une cafétéria à l'école test ?", "", "Oui.", "", "", ""]
    with pytest.raises(AppError, match="Entrée invalide — Identifiant : minuscules"):
        alice.predict("alice", ALICE, "fr", "Bad Id", *entry[1:], api_name="/publish_entry")
    with pytest.raises(AppError, match=r"Réponse .* : trop long, 5000 caractères au plus"):
        alice.predict("alice", ALICE, "fr", *entry[:5], "x" * 5001, *entry[6:], api_name="/publish_entry")

    said = alice.predict("alice", ALICE, "fr", *entry, api_name="/publish_entry")  # alice's editor: revision 1
    assert "est en ligne (révision 1)" in said, said
    with pytest.raises(AppError, match="'faq-staff-cafeteria' is already the id"):
        bob.predict("bob", BOB, "fr", *entry, api_name="/publish_entry")
    bob.predict("bob", BOB, "fr", api_name="/entries")  # his list, then the entry in his editor
    bob.predict("bob", BOB, "fr", "faq-staff-cafeteria", api_name="/load_entry")
    said = bob.predict("bob", BOB, "fr", *entry[:5], "Oui, au rez-de-chaussée.", *entry[6:], api_name="/save_entry")
    assert "révision 2" in said, said
    with pytest.raises(AppError, match=r"Un·e collègue a modifié cette entrée entre-temps : .* was changed by bob"):
        alice.predict("alice", ALICE, "fr", *entry[:5], "Non.", *entry[6:], api_name="/save_entry")

    off_topic = "Quelle est la recette du cassoulet ?"
    assert httpx.post(f"{site}/api/chat", json={"message": off_topic}, timeout=60).json()["refused"]
    table, _, questions = bob.predict("bob", BOB, "fr", api_name="/gaps")  # the first group's, all ticked
    chosen = questions["value"]
    assert table["data"][0][2] == off_topic and len(chosen) == 1, (table, questions)  # the newest first
    with pytest.raises(AppError, match="Donnez un motif"):
        bob.predict("bob", BOB, "fr", chosen, " ", api_name="/dismiss_gap")
    said, _ = bob.predict("bob", BOB, "fr", chosen, "hors sujet", api_name="/dismiss_gap")
    assert said == "1 question(s) écartée(s).", said
    table, *_ = bob.predict("bob", BOB, "fr", api_name="/gaps")
    assert off_topic not in str(table["data"]), table
    log = bob.predict("bob", BOB, "fr", api_name="/audit")["data"]
    assert log[0][1:3] == ["bob", "questions écartées"] and "hors sujet — 1 réponse(s)" in log[0][4], log[0]
    assert off_topic not in str(log), "the audit log keeps what a user asked"

    # A down-rated answer's question, added to a repository entry as one of its phrasings.
    question = "Comment se passe l'entrée à l'école test ?"
    answered = httpx.post(f"{site}/api/chat", json={"message": question}, timeout=60).json()
    vote = {"session_id": answered["session_id"], "message_id": answered["message_id"], "rating": "down"}
    assert httpx.post(f"{site}/api/feedback", json=vote).status_code == 200
    table, _, questions = bob.predict("bob", BOB, "fr", api_name="/gaps")
    assert table["data"][0][2] == question and "jugée pas utile ×1" in table["data"][0][7], table
    said = bob.predict("bob", BOB, "fr", questions["value"], "faq-test-001", api_name="/attach_gap")
    assert "Questions ajoutées à **faq-test-001**" in said and "[faq-test-001]" in said, said
    answer = httpx.post(f"{site}/api/chat", json={"message": question}, timeout=60).json()
    assert answer["mode"] == "faq" and answer["citations"][0]["source_id"] == "faq-test-001", answer

    exported = Path(bob.predict("bob", BOB, api_name="/export_entries")).read_text(encoding="utf-8")
    assert "- id: faq-staff-cafeteria" in exported and "au rez-de-chaussée" in exported, exported
    log_csv = Path(bob.predict("bob", BOB, "en", api_name="/export_audit")).read_text(encoding="utf-8")
    assert log_csv.startswith("at,actor,action,entry_id,before,after") and ",bob,attach,faq-test-001," in log_csv

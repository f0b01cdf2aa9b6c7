"""Bad input on a real server (uvicorn, in this process): every route that takes a body refuses oversize,
mistyped, undecodable and malformed bodies with a 4xx and a JSON message; chat messages are checked for
emptiness, length and type; control characters never reach the SQLite store; a fuzz run over the whole
OpenAPI spec finds no 5xx.

The routes are read from ``/openapi.json``, so a route added later is covered without editing this file.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from bot.config import Settings
from tests.conftest import FIXTURE_KB, IndexTemplates, app_server

TOKEN = "fuzz-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_CHARS = 300
CHAT_ROUTES = ["/api/chat", "/api/chat/stream", "/v1/chat/completions"]
INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
FAQ_QUESTION = "Faut-il passer un concours pour entrer à l'école test ?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, index_templates: IndexTemplates) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("limits")
    (root / "no-datasets").mkdir()  # the fuzzer may call the admin API: give it nothing to run
    settings = Settings(
        data_dir=index_templates.copy(FIXTURE_KB, root / "data"),
        kb_dir=FIXTURE_KB,
        max_message_chars=MAX_CHARS,
        rate_limit_per_minute=0,
        admin_token=TOKEN,
        eval_datasets_dir=root / "no-datasets",
    )
    with app_server(settings) as url:
        yield url, settings.store_db


def body_operations(url: str) -> list[tuple[str, str, bool]]:
    """(method, path with its parameters filled, whether a JSON body is required) for every route with a body."""
    spec = httpx.get(f"{url}/openapi.json").json()
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch"):
                found.append(
                    (
                        method.upper(),
                        re.sub(r"\{[^}]+\}", "x", path),
                        bool(operation.get("requestBody", {}).get("required")),
                    )
                )
    return found


def body_message(response: httpx.Response) -> str:
    """The JSON error message of a response (FastAPI's shape: ``{"detail": ...}``)."""
    detail = response.json()["detail"]
    return detail if isinstance(detail, str) else json.dumps(detail)


def send(url: str, method: str, path: str, content: bytes, content_type: str | None) -> httpx.Response:
    headers = {**AUTH, **({"content-type": content_type} if content_type else {})}
    return httpx.request(method, f"{url}{path}", content=content, headers=headers, timeout=60)


BAD_BODIES = {  # kind: (body, content type, expected status, words of the message, applies to optional bodies)
    "oversize": (b'{"message": "' + b"a" * 70_000 + b'"}', "application/json", 413, "larger than", True),
    "wrong content type": (b"message=hello", "application/x-www-form-urlencoded", 415, "JSON body", True),
    "no content type": (b'{"message": "hello"}', None, 415, "JSON body", True),
    "invalid UTF-8": (b'{"message": "caf\xe9 \xff"}', "application/json", 400, "UTF-8", True),
    "UTF-16": ('{"message": "hello"}'.encode("utf-16"), "application/json", 400, "UTF-8", True),
    "nested too deeply": (b"[" * 30_000 + b"]" * 30_000, "application/json", 400, "nested", True),
    "malformed JSON": (b'{"message": "hello",', "application/json", 422, "JSON decode error", False),
    "not an object": (b'["hello"]', "application/json", 422, "valid dictionary", False),
    "empty": (b"", "application/json", 422, "Field required", False),
}


@pytest.mark.parametrize("kind", BAD_BODIES)
def test_every_route_with_a_body_refuses_a_bad_one_with_a_clear_4xx(server, kind: str) -> None:
    url, _ = server
    body, content_type, status, words, optional_too = BAD_BODIES[kind]
    operations = [op for op in body_operations(url) if optional_too or op[2]]
    # chat, stream, feedback, completions, the admin evaluation run; curation: dismiss, preview, create, edit,
    # unpublish, restore, alternates, a suggestion's decision
    assert len(operations) >= 13, operations
    wrong = {}
    for method, path, _ in operations:
        response = send(url, method, path, body, content_type)
        if response.status_code != status or words not in body_message(response):
            wrong[f"{method} {path}"] = (response.status_code, response.text[:200])
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("", "message is empty"),
        ("  \n\t  ", "message is empty"),
        ("\x00\x01\x1b\x7f", "message is empty"),  # nothing but control characters: empty once they are stripped
        ("x" * (MAX_CHARS + 1), "too long"),
        (42, "valid string"),
        (["a question"], "valid string"),
        ({"text": "a question"}, "valid string"),
        (None, "valid string"),
    ],
)
def test_chat_routes_refuse_empty_long_and_mistyped_messages(server, message, words: str) -> None:
    url, _ = server
    for route in CHAT_ROUTES:
        payload = (
            {"messages": [{"role": "user", "content": message}]} if route.startswith("/v1/") else {"message": message}
        )
        response = httpx.post(f"{url}{route}", json=payload, timeout=60)
        assert response.status_code == 422, (route, response.text)
        if route.startswith("/api/"):  # the OpenAI face names the rule in its own words
            assert words in body_message(response), (route, response.text)


def test_a_message_at_the_limit_is_answered(server) -> None:
    url, _ = server
    message = (FAQ_QUESTION + " ") * (MAX_CHARS // (len(FAQ_QUESTION) + 1))
    message += "x" * (MAX_CHARS - len(message))
    assert len(message) == MAX_CHARS
    response = httpx.post(f"{url}/api/chat", json={"message": message}, timeout=60)
    assert response.status_code == 200, response.text


def stored_strings(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [
            value
            for table in tables
            for row in db.execute(f'SELECT * FROM "{table}"')
            for value in row
            if isinstance(value, str)
        ]


def test_control_characters_are_stripped_before_anything_is_stored(server) -> None:
    from gradio_client import Client

    url, database = server
    dirty = "Faut-il passer un\x00 concours\x07 pour entrer à l'école\x1b test ?\ud83d"  # and a lone surrogate
    answered = send(url, "POST", "/api/chat", json.dumps({"message": dirty}).encode(), "application/json")
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["mode"] == "faq" and body["citations"][0]["source_id"] == "faq-test-001", (
        body
    )  # understood all the same
    vote = {
        "session_id": body["session_id"],
        "message_id": body["message_id"],
        "rating": "up",
        "comment": "merci\x00 beaucoup\x0c",
    }
    voted = httpx.post(f"{url}/api/feedback", json=vote)
    assert voted.status_code == 200, voted.text
    streamed = httpx.post(f"{url}/api/chat/stream", json={"message": "Quel diplôme\x00 obtient-on ?"}, timeout=60)
    assert streamed.status_code == 200, streamed.text
    question = {"role": "user", "content": "Combien de temps\x00 dure la formation ?"}
    completion = httpx.post(f"{url}/v1/chat/completions", json={"messages": [question]}, timeout=60)
    assert completion.status_code == 200, completion.text
    page = Client(f"{url}/", verbose=False)  # the chat page goes through the same checks
    inputs = page.view_api(print_info=False, return_format="dict")["named_endpoints"]["/ask"]["parameters"]
    values = {"message": "Le diplôme\x00 est-il reconnu\x08 ?", "history": [], "language": "fr"}
    history, *_ = page.predict(*[values.get(p["parameter_name"]) for p in inputs], api_name="/ask")
    asked = history[-2]["content"]  # Gradio 6 sends message content as a list of typed parts
    asked = "".join(part["text"] for part in asked) if isinstance(asked, list) else asked
    assert asked == "Le diplôme est-il reconnu ?", repr(asked)

    strings = stored_strings(database)
    assert "Faut-il passer un concours pour entrer à l'école test ?" in strings, strings
    assert "merci beaucoup" in strings and "Le diplôme est-il reconnu ?" in strings, strings
    assert not [s for s in strings if INVISIBLE.search(s)], [s for s in strings if INVISIBLE.search(s)]


def test_the_chat_page_refuses_an_oversize_request(server) -> None:
    url, _ = server
    response = httpx.post(
        f"{url}/gradio_api/queue/join",
        content=b'{"data": ["' + b"a" * 1_100_000 + b'"]}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413 and "larger than" in body_message(response), (
        response.status_code,
        response.text,
    )


class FuzzTally:
    """Counts the cases each fuzz test sends, and the answers that were not a 4xx with a JSON message."""

    def __init__(self) -> None:
        self.cases, self.problems = 0, []

    def check(self, label: str, response) -> None:
        self.cases += 1
        status = response.status_code
        if status >= 500 or (status >= 400 and "detail" not in response.json()):
            self.problems.append((label, response.status_code, response.text[:300]))

    def report(self) -> dict[str, tuple[int, str]]:
        """The first problem of each operation."""
        return {label: (status, text) for label, status, text in reversed(self.problems)}


FUZZ = settings(
    max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.slow  # hundreds of generated requests
def test_fuzz_every_operation_of_the_spec_finds_no_server_error(server, figure) -> None:
    """Schemathesis generates requests from ``/openapi.json`` (valid ones, and ones that break the schema)."""
    import schemathesis
    from schemathesis import GenerationMode

    url, _ = server
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    tally = FuzzTally()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40, [operation.label for operation in operations]  # 42 in 2026-12, curation included

    def fuzz(operation, mode: GenerationMode) -> None:
        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode, headers=AUTH))
        def run(case) -> None:
            tally.check(f"{mode.value} {operation.label}", case.call(base_url=url, timeout=60))

        run()

    unbreakable = []
    for operation in operations:
        fuzz(operation, GenerationMode.POSITIVE)
        try:
            fuzz(operation, GenerationMode.NEGATIVE)
        except Unsatisfiable:  # no input, or only strings in the path: nothing that breaks the schema
            unbreakable.append(operation.label)
    figure(
        f"fuzz (schemathesis): {tally.cases} cases over {len(operations)} operations, "
        f"{len(tally.problems)} server errors; no schema-breaking input for {unbreakable}"
    )
    assert not tally.problems, tally.report()


@pytest.mark.slow  # hundreds of generated requests
def test_fuzz_raw_bodies_on_every_route_finds_no_server_error(server, figure) -> None:
    """Arbitrary bytes under arbitrary content types, and JSON with arbitrary text in every string field."""
    url, _ = server
    tally = FuzzTally()
    content_types = st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/json; charset=latin-1",
            "multipart/form-data; boundary=x",
            "",
            "application/x-www-form-urlencoded",
        ]
    )
    any_json = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
    fields = st.fixed_dictionaries(
        {},
        optional={
            "message": st.text(),
            "messages": st.lists(st.fixed_dictionaries({"role": st.text(), "content": any_json})),
            "session_id": st.text(),
            "message_id": st.text(),
            "rating": st.text(),
            "comment": st.text(),
            "dataset": st.text(),
            "lang": st.text(),
            "programme": st.text(),
        },
    )

    def fuzz(method: str, path: str) -> None:
        @FUZZ
        @given(body=st.binary(max_size=3000), content_type=content_types)
        def raw(body: bytes, content_type: str) -> None:
            tally.check(f"raw {method} {path}", send(url, method, path, body, content_type))

        @FUZZ
        @given(payload=fields | any_json)
        def typed(payload) -> None:
            tally.check(
                f"json {method} {path}", send(url, method, path, json.dumps(payload).encode(), "application/json")
            )

        raw()
        typed()

    for method, path, _ in body_operations(url):
        fuzz(method, path)
    figure(f"fuzz (hypothesis, raw bodies): {tally.cases} cases, {len(tally.problems)} server errors")
    assert not tally.problems, tally.report()

"""Responses: newest first, a cursor that never skips or repeats under concurrent writes,
since/until, and CSV / NDJSON exports that continue by cursor."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.logic import clock
from tests.conftest import Api, Emulator, path_of
from tests.helpers import invited

pytestmark = pytest.mark.integration

CSI = {
    "name": "Visit",
    "kind": "csi",
    "question": "Rate your visit",
    "attributes": [{"key": "speed", "label": "Speed"}],
}
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def moments(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """The clock, set by the test: clock.now() returns moments[-1]."""
    moments = [START]
    monkeypatch.setattr(clock, "now", lambda: moments[-1])
    yield moments


def answered_survey(
    api: Api, key: str, n: int, moments: list[datetime]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A new CSI survey and its invitations: n customers invited, each answering one minute
    after the previous."""
    survey = api.json("POST", "/v1/surveys", key, CSI, expect=201)
    rows = [
        {"customer_id": f"cust-{i}", "touchpoint": "visit", "properties": {"store": f"s{i % 2}"}}
        for i in range(n)
    ]
    out = api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, {"recipients": rows}, expect=201)
    for i, inv in enumerate(out["invitations"]):
        moments.append(START + timedelta(minutes=i + 1))
        form = {"score": str(1 + i % 10), "attr.speed": str(1 + i % 10), "comment": f"comment {i}"}
        assert api.form(path_of(inv["url"]), form).status_code == 303
    return survey, out["invitations"]


def walk(api: Api, key: str, path: str, limit: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.json("GET", f"{path}?limit={limit}" + (f"&cursor={cursor}" if cursor else ""), key)
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_responses_are_listed_newest_first_in_the_public_shape(
    api: Api, emulator: Emulator, tenant: dict, moments: list[datetime]
) -> None:
    key = tenant["api_key"]
    survey, invitations = answered_survey(api, key, 5, moments)
    path = f"/v1/surveys/{survey['id']}/responses"
    seen = walk(api, key, path, 2)
    assert [r["customer_id"] for r in seen] == [f"cust-{i}" for i in reversed(range(5))]
    newest = seen[0]
    assert newest == {
        "id": invitations[4]["invitation_id"],
        "invitation_id": invitations[4]["invitation_id"],
        "survey_id": survey["id"],
        "customer_id": "cust-4",
        "channel": "email",
        "touchpoint": "visit",
        "properties": {"store": "s0"},
        "score": 5,
        "comment": "comment 4",
        "attributes": {"speed": 5},
        "answers": {},
        "created_at": "2026-03-01T09:05:00.000Z",
        "updated_at": "2026-03-01T09:05:00.000Z",
        "invited_at": "2026-03-01T09:00:00.000Z",
    }
    # An unanswered invitation is not a response
    invited(api, key, survey["id"], [{"customer_id": "x"}])
    assert len(walk(api, key, path, 100)) == 5


def test_a_walk_never_skips_or_repeats_while_others_write(
    api: Api, emulator: Emulator, tenant: dict, moments: list[datetime]
) -> None:
    key = tenant["api_key"]
    survey, invitations = answered_survey(api, key, 7, moments)
    late = invited(api, key, survey["id"], [{"customer_id": "late"}])["invitations"][0]
    path = f"/v1/surveys/{survey['id']}/responses"

    first = api.json("GET", f"{path}?limit=3", key)
    assert [r["customer_id"] for r in first["data"]] == ["cust-6", "cust-5", "cust-4"]

    # While the walk is between pages: cust-1 (not yet seen) and cust-5 (seen) change their
    # answers, and "late" answers for the first time
    moments.append(START + timedelta(hours=1))
    api.form(path_of(invitations[1]["url"]), {"score": "10"})
    api.form(path_of(invitations[5]["url"]), {"score": "1"})
    api.form(path_of(late["url"]), {"score": "8"})

    rest: list[dict[str, Any]] = []
    cursor = first["next_cursor"]
    while cursor:
        page = api.json("GET", f"{path}?limit=3&cursor={cursor}", key)
        rest += page["data"]
        cursor = page["next_cursor"]
    walked = first["data"] + rest
    assert [r["customer_id"] for r in walked] == [f"cust-{i}" for i in reversed(range(7))]
    edited = next(r for r in walked if r["customer_id"] == "cust-1")
    assert edited["score"] == 10 and edited["created_at"] < edited["updated_at"]

    # A new walk starts with the late answer
    again = walk(api, key, path, 3)
    assert [r["customer_id"] for r in again][:2] == ["late", "cust-6"] and len(again) == 8


def test_since_and_until_select_by_first_answer_time(
    api: Api, emulator: Emulator, tenant: dict, moments: list[datetime]
) -> None:
    key = tenant["api_key"]
    survey, _ = answered_survey(api, key, 6, moments)
    path = f"/v1/surveys/{survey['id']}/responses"
    since = int((START + timedelta(minutes=2)).timestamp())
    page = api.json("GET", f"{path}?since={since}&until=2026-03-01T09:05:00Z", key)
    assert [r["customer_id"] for r in page["data"]] == ["cust-3", "cust-2", "cust-1"]  # until is exclusive
    page = api.json("GET", f"{path}?since={since}&until=2026-03-01T09:05:00Z&limit=2", key)
    rest = api.json(
        "GET", f"{path}?since={since}&until=2026-03-01T09:05:00Z&limit=2&cursor={page['next_cursor']}", key
    )
    assert [r["customer_id"] for r in rest["data"]] == ["cust-1"] and rest["next_cursor"] is None
    for bad, field in [
        ("since=tomorrow", "since"),
        ("since=2026-03-02&until=2026-03-01", "since"),
        ("limit=101", "limit"),
    ]:
        response = api.call("GET", f"{path}?{bad}", key)
        assert response.status_code == 400 and json.loads(response.body)["error"]["field"] == field
    # A cursor from one span cannot be used with another
    other = api.call("GET", f"{path}?since=2026-03-01T10:00:00Z&cursor={page['next_cursor']}", key)
    assert other.status_code == 400 and json.loads(other.body)["error"]["code"] == "invalid_cursor"


def test_csv_export_neutralises_formulas_and_continues_by_cursor(
    api: Api, emulator: Emulator, tenant: dict, moments: list[datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.logic import responses

    key = tenant["api_key"]
    survey, invitations = answered_survey(api, key, 9, moments)
    api.form(
        path_of(invitations[0]["url"]), {"score": "3", "comment": '=HYPERLINK("http://evil.example","x")'}
    )
    path = f"/v1/surveys/{survey['id']}/responses"

    whole = api.call("GET", path, key, headers={"Accept": "text/csv"})
    assert whole.status_code == 200 and whole.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in whole.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(whole.body.decode())))
    assert [r["customer_id"] for r in rows] == [f"cust-{i}" for i in reversed(range(9))]
    assert rows[-1]["comment"] == '\'=HYPERLINK("http://evil.example","x")' and rows[-1]["attr.speed"] == "1"
    assert json.loads(rows[0]["properties"]) == {"store": "s0"}

    # A small response budget splits the export; the chunks concatenate into the same file
    monkeypatch.setattr(responses, "EXPORT_BYTES", 700)
    chunks = []
    url = path + "?format=csv"
    while url:
        chunk = api.call("GET", url, key)
        assert chunk.status_code == 200
        chunks.append(chunk.body.decode())
        link = chunk.headers.get("Link")
        url = path_of(link[1 : link.index(">")]) if link else None
        assert bool(link) == ("X-Next-Cursor" in chunk.headers)
    assert len(chunks) > 2
    assert "".join(chunks) == whole.body.decode()


def test_ndjson_export_by_accept_header(
    api: Api, emulator: Emulator, tenant: dict, moments: list[datetime]
) -> None:
    key = tenant["api_key"]
    survey, _ = answered_survey(api, key, 3, moments)
    path = f"/v1/surveys/{survey['id']}/responses"
    response = api.call("GET", path, key, headers={"Accept": "application/x-ndjson"})
    assert response.headers["Content-Type"].startswith("application/x-ndjson")
    lines = response.body.decode().splitlines()
    listed = api.json("GET", path, key)["data"]
    assert [json.loads(line) for line in lines] == listed
    limited = api.call("GET", f"{path}?limit=2", key, headers={"Accept": "application/x-ndjson"})
    assert len(limited.body.decode().splitlines()) == 2 and "Link" in limited.headers

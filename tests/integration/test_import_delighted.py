"""`hark import delighted`: a Delighted export becomes answers on their own days, once.

The 10,000-row import runs on tables of its own (same emulator, other names), so other tests'
scans and the shared stream stay small; its scores are checked by the recomputation `hark
verify` uses (the aggregator's ledger rules applied to the stored items), because draining
20,000 ledger writes and their day tallies through moto would take minutes. A smaller export goes all the way
through the stream and the aggregator to `GET …/scores`.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.cli import main
from functions.domain.kinds import Kind
from functions.domain.scoring import Tally, summarize
from tests.conftest import Api, Emulator
from tests.delighted_csv import delighted_nps, write_export

pytestmark = pytest.mark.integration

ROWS = 10_000


def make_survey(tenant_id: str, kind: str = "nps", name: str = "Imported NPS") -> str:
    from functions.domain.codes import new_id
    from functions.domain.survey import Brand, Survey
    from functions.logic import clock
    from functions.store import core

    survey = Survey(
        id=new_id("srv"),
        tenant_id=tenant_id,
        name=name,
        kind=Kind(kind),
        question="How likely are you to recommend us?",
        follow_up_question=None,
        attributes=(),
        brand=Brand("Acme", "#1f6feb"),
        cooldown_days=None,
        status="active",
        created_at=clock.iso(clock.now()),
    )
    core.put_survey(survey, new=True)
    return survey.id


def run_import(path: Path, survey_id: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    code = main(["import", "delighted", str(path), "--survey", survey_id])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def stream_tail(table: str) -> Callable[[], int]:
    """Start watching the table's stream here; the returned call counts records written since."""
    from functions.store.clients import client
    from infra.tables import stream_arn

    streams = client("dynamodbstreams")
    arn = stream_arn(client("dynamodb"), table)
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterators = [
        streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST")[
            "ShardIterator"
        ]
        for s in shards
    ]

    def written_since() -> int:
        return sum(len(streams.get_records(ShardIterator=it, Limit=1000)["Records"]) for it in iterators)

    return written_since


STATE = (
    "pk, tenant_id, survey_id, rev, created_at, channel, touchpoint, props, score, smin, smax, "
    "first_answered_at"
)


def recomputed_tallies(table: str) -> dict[tuple[str, str], dict[str, Tally]]:
    """(survey, segment) → day → tally, by the aggregator's ledger rules over the stored items.

    The same rules `hark verify` applies (domain/ledger.py), read with a projection so 10,000
    items come back from moto in seconds rather than a minute.
    """
    from functions.domain.ledger import StoredEntry, day_tallies, entries_for_change
    from functions.store.clients import client
    from functions.store.items import from_item
    from functions.store.responses import state_from_plain

    by_day: dict[tuple[str, str], list[StoredEntry]] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ProjectionExpression": STATE}
    while True:
        out = client("dynamodb").scan(**kwargs)
        for raw in out["Items"]:
            state = state_from_plain(from_item(raw) or {})
            for e in entries_for_change("INSERT", None, state, expired_by_ttl=False):
                by_day.setdefault((e.survey_id, e.day), []).append(StoredEntry.of(e))
        if "LastEvaluatedKey" not in out:
            break
        kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
    result: dict[tuple[str, str], dict[str, Tally]] = {}
    for (survey_id, day), entries in by_day.items():
        for segment, tally in day_tallies(entries).items():
            result.setdefault((survey_id, segment), {})[day] = tally
    return result


@pytest.fixture
def own_tables(emulator: Emulator) -> Iterator[dict[str, str]]:
    """Tables of the test's own, created from infra/tables.json, removed afterwards."""
    from functions.store.clients import client
    from infra.local import stack
    from infra.tables import TABLE_SETTINGS, create_tables

    saved = {setting: os.environ[setting] for setting in TABLE_SETTINGS.values()}
    suffix = secrets.token_hex(3)
    names = {setting: f"hark-import-{suffix}-{setting.split('_')[1].lower()}" for setting in saved}
    stack.apply_settings(names)
    create_tables(client("dynamodb"), names)
    try:
        yield names
    finally:
        for name in names.values():
            client("dynamodb").delete_table(TableName=name)
        stack.apply_settings(saved)


def test_a_large_export_imports_with_a_progress_bar_and_again_changes_nothing(
    emulator: Emulator, own_tables: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.logic.tenants import create_tenant

    # Given a Delighted export of 10,000 responses over two years (older than the 365 days
    # a summary keeps day by day) and an NPS survey to import them into. The full size runs on
    # DynamoDB Local (DynamoDB's engine); moto proves the same rules on 3,000 rows, in a
    # quarter of the time, instead of repeating the large run.
    rows = ROWS if emulator.backend != "moto" else 3_000  # no NPS lands on a rounding tie
    tenant = create_tenant("Migrating from Delighted")
    survey_id = make_survey(tenant["tenant_id"])
    export = write_export(tmp_path / "delighted.csv", rows, days=730)

    # When the operator imports it
    code, summary, err = run_import(export.path, survey_id, capsys)

    # Then every row is imported, with a progress bar on stderr and a summary on stdout
    assert code == 0, summary
    assert (summary["rows"], summary["imported"], summary["already_present"], summary["skipped"]) == (
        rows,
        rows,
        0,
        0,
    )
    assert f"\r[##############################] {rows:,}/{rows:,}" in err
    assert err.count("\r") >= 50  # it moved as rows were written, not only at the end
    assert summary["columns"]["properties"] == {"plan": "Plan", "country": "Country"}

    # And the scores the aggregator's ledger rules give these items match Delighted's formula
    # on the same rows, day by day (each answer counts on the day it was given)
    table = own_tables["HARK_RESPONSES_TABLE"]
    expected = recomputed_tallies(table)
    days = expected[(survey_id, "all")]
    assert {day: dict(t.counts) for day, t in days.items()} == {
        day: dict(counts) for day, counts in export.days.items()
    }
    total = Tally()
    for tally in days.values():
        total.merge(tally)
    nps = summarize(Kind.NPS, total)
    assert nps["responses"] == rows
    assert nps["nps"] == delighted_nps(export.counts())
    by_plan = {
        segment: sum(t.responses for t in d.values())
        for (survey, segment), d in expected.items()
        if survey == survey_id and segment.startswith("prop:plan=")
    }
    assert set(by_plan) == {"prop:plan=free", "prop:plan=pro", "prop:plan=enterprise"}
    assert sum(by_plan.values()) == rows

    # When it is imported again, nothing is written
    written_since = stream_tail(table)
    code, again, err = run_import(export.path, survey_id, capsys)
    assert code == 0
    assert (again["imported"], again["already_present"], again["skipped"]) == (0, rows, 0)
    assert f"{rows:,}/{rows:,}" in err
    assert written_since() == 0


def test_the_imported_history_reaches_the_scores_api(
    api: Api, emulator: Emulator, tenant: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a smaller export over 400 days, imported and passed through the stream
    survey_id = make_survey(tenant["tenant_id"])
    export = write_export(tmp_path / "small.csv", 240, days=400, seed=11)
    code, summary, _ = run_import(export.path, survey_id, capsys)
    assert code == 0 and summary["imported"] == 240
    emulator.drain()

    # Then the score API agrees with Delighted's formula on the same rows, for all time and 30 days
    key = tenant["api_key"]
    whole = api.json("GET", f"/v1/surveys/{survey_id}/scores?window=all", key)
    assert whole["responses"] == 240
    assert whole["nps"] == delighted_nps(export.counts())
    assert whole["counts"] == {str(s): export.counts()[s] for s in range(11)}
    today = datetime.now(UTC).date()
    recent = export.counts(first=(today - timedelta(days=29)).isoformat())
    month = api.json("GET", f"/v1/surveys/{survey_id}/scores?window=30d", key)
    assert month["responses"] == sum(recent.values())
    if recent:
        assert month["nps"] == delighted_nps(recent)

    # And `hark scores` shows the table with a 12-week sparkline
    assert main(["scores", survey_id]) == 0
    out = capsys.readouterr().out
    assert f"all{whole['nps']:>13.1f}{240:>11}" in out
    sparkline = out.strip().splitlines()[-1]
    assert len(sparkline.split()[0]) == 12 and set(sparkline.split()[0]) <= set("▁▂▃▄▅▆▇█·")


def test_rows_that_cannot_be_imported_are_counted_by_reason(
    emulator: Emulator, tenant: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.store import responses

    # Given an export with 12 person-property columns and a few bad rows
    survey_id = make_survey(tenant["tenant_id"])
    extra = [f"Prop {n}" for n in range(12)]
    path = tmp_path / "messy.csv"
    good = ["2024-03-01 10:00:00 UTC", "nps"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["Response ID", "Score", "Comment", "Created At", "Survey Type", *extra])
        props = [f"v{n}" for n in range(12)]
        out.writerow(["r1", "9", "Lovely", *good, *props])
        out.writerow(["r2", "11", "", *good, *props])  # out of range
        out.writerow(["r3", "nine", "", *good, *props])  # not a number
        out.writerow(["r4", "7", "", "", "nps", *props])  # no time
        out.writerow(["r5", "7", "", "yesterday", "nps", *props])  # not a time
        out.writerow(["r6", "3", "", "2999-01-01T00:00:00Z", "nps", *props])  # future
        out.writerow(["r7", "4", "", "2024-03-01T10:00:00Z", "csat", *props])  # another survey type
        out.writerow(["r1", "2", "", *good, *props])  # the same response again
        out.writerow(["", "5", "", *good, *props])  # no id
        out.writerow(["r8", "0", "Rude <script>alert(1)</script>", "1709287200", "nps", *props])

    # When it is imported
    code, summary, _ = run_import(path, survey_id, capsys)

    # Then the good rows are in, and the summary names every other row's reason
    assert code == 0
    assert (summary["rows"], summary["imported"], summary["skipped"]) == (10, 2, 8)
    assert summary["skipped_reasons"] == {
        "bad_score": 2,
        "bad_timestamp": 1,
        "duplicate_response_id": 1,
        "future_timestamp": 1,
        "missing_response_id": 1,
        "missing_timestamp": 1,
        "other_survey_type": 1,
    }
    assert [e["line"] for e in summary["skipped_examples"]] == [3, 4, 5, 6, 7, 8, 9, 10]
    # Only the first 10 unknown columns become properties (at most 10, docs/api.md); the rest are named
    assert list(summary["columns"]["properties"]) == [f"prop_{n}" for n in range(10)]
    assert summary["columns"]["dropped"] == ["Prop 10", "Prop 11"]
    assert summary["first_answer"] == "2024-03-01T10:00:00.000Z"

    # And the stored answer keeps its time, comment, properties and origin, closed to links
    items = list(responses.answers_by_survey(tenant["tenant_id"], survey_id, lowest="0", highest="~"))
    by_id = {item["imported"]["response_id"]: item for item in items}
    assert set(by_id) == {"r1", "r8"}
    first = by_id["r1"]
    assert (first["score"], first["comment"], first["first_answered_at"]) == (
        9,
        "Lovely",
        "2024-03-01T10:00:00.000Z",
    )
    assert first["props"] == {f"prop_{n}": f"v{n}" for n in range(10)}
    assert first["expires_at"] == int(datetime(2024, 3, 1, 10, tzinfo=UTC).timestamp())
    assert by_id["r8"]["first_answered_at"] == "2024-03-01T10:00:00.000Z"


def test_a_file_that_is_not_a_delighted_export_changes_nothing(
    emulator: Emulator, tenant: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.store import responses

    survey_id = make_survey(tenant["tenant_id"])
    path = tmp_path / "other.csv"
    path.write_text("Name,Rating\nAda,9\n", encoding="utf-8")

    assert main(["import", "delighted", str(path), "--survey", survey_id]) == 1
    captured = capsys.readouterr()
    assert "no column for response_id, created_at" in captured.err and captured.out == ""
    assert list(responses.answers_by_survey(tenant["tenant_id"], survey_id, lowest="0", highest="~")) == []

    assert main(["import", "delighted", str(path), "--survey", "srv_doesnotexist00"]) == 1
    assert "no survey srv_doesnotexist00" in capsys.readouterr().err
    assert main(["import", "delighted", str(tmp_path / "missing.csv"), "--survey", survey_id]) == 1
    assert "no file" in capsys.readouterr().err


def test_an_exports_question_columns_become_additional_answers(
    api: Api, emulator: Emulator, tenant: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a survey with the questions the Delighted account asked, and its export
    key = tenant["api_key"]
    questions = [
        {
            "key": "liked",
            "type": "select_many",
            "text": "What did you like?",
            "options": ["Speed", "Price, value"],
        },
        {"key": "ease", "type": "scale", "text": "How easy was it?", "scale": "1-5"},
        {"key": "why", "type": "free_response", "text": "Why?"},
    ]
    survey = api.json(
        "POST",
        "/v1/surveys",
        key,
        {"name": "Moved", "kind": "nps", "question": "Recommend?", "questions": questions},
        expect=201,
    )
    path = tmp_path / "questions.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "Response ID",
                "Email",
                "Score",
                "Created At",
                "What did you like?",
                "How easy was it?",
                "Why?",
                "Plan",
            ]
        )
        out.writerow(
            [
                "1",
                "a@example.com",
                "9",
                "2026-11-20 10:00:00 UTC",
                "Speed; Price, value",
                "4",
                "Quick",
                "gold",
            ]
        )
        out.writerow(
            ["2", "b@example.com", "6", "2026-11-21 10:00:00 UTC", "Price, value", "9", "", "silver"]
        )
        out.writerow(["3", "c@example.com", "10", "2026-11-22 10:00:00 UTC", "Coffee", "", "", ""])

    # When it is imported
    code, summary, _ = run_import(path, survey["id"], capsys)
    assert code == 0 and summary["imported"] == 3
    assert summary["columns"]["questions"] == {
        "liked": "What did you like?",
        "ease": "How easy was it?",
        "why": "Why?",
    }
    assert summary["columns"]["properties"] == {"plan": "Plan"}
    # "9" on a 1-5 scale and "Coffee" are not among the choices: left out, and counted
    assert summary["truncated"]["answers_not_among_choices"] == 2
    emulator.drain()

    # Then the answers are stored with the responses and counted in the summary
    rows = {
        r["customer_id"]: r for r in api.json("GET", f"/v1/surveys/{survey['id']}/responses", key)["data"]
    }
    assert rows["a@example.com"]["answers"] == {
        "liked": ["Speed", "Price, value"],
        "ease": ["4"],
        "why": ["Quick"],
    }
    assert rows["b@example.com"]["answers"] == {"liked": ["Price, value"]}
    assert rows["c@example.com"]["answers"] == {}
    counted = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)["additional"]
    assert counted["liked"] == {"Speed": 1, "Price, value": 2}
    assert counted["ease"]["4"] == 1 and sum(counted["ease"].values()) == 1

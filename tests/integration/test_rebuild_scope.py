"""`hark rebuild` and `hark verify` at scale (docs/operations.md): scoped by tenant and survey,
over parallel scan segments, resumable from a checkpoint, and a survey read by its own keys only."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.cli import main
from functions.logic import clock
from functions.store import responses as response_store
from tests.conftest import Api, Emulator, path_of

pytestmark = pytest.mark.integration

NPS = {"name": "Checkout", "kind": "nps", "question": "How likely are you to recommend us?"}


TABLES = ("HARK_CORE_TABLE", "HARK_RESPONSES_TABLE", "HARK_SCORES_TABLE")


@pytest.fixture
def own_tables(emulator: Emulator) -> Iterator[Emulator]:
    """The emulator with tables of this test's own: a `--tenant` rebuild scans the whole table
    (as it does on AWS), so on the session's tables its pages would grow with every test before."""
    import os
    import uuid
    from dataclasses import replace

    from functions.store.clients import client
    from infra.local import stack as local

    shared = {name: os.environ[name] for name in TABLES}
    suffix = uuid.uuid4().hex[:8]
    own = {name: f"{table}-{suffix}" for name, table in shared.items()}
    local.apply_settings(own)
    try:
        stream, queue = local.create_tables_and_queue()
        yield replace(
            emulator,
            stream_arn=stream,
            poller=local.make_poller(stream, queue),
            events_poller=local.make_events_poller(stream, queue),
        )
    finally:
        local.apply_settings(shared)
        for table in own.values():
            client("dynamodb").delete_table(TableName=table)


def survey_with_answers(api: Api, key: str, scores: list[int], channel: str = "email") -> str:
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    recipients = [{"customer_id": f"c{i}", "channel": channel} for i in range(len(scores) + 2)]
    out = api.json(
        "POST", f"/v1/surveys/{survey['id']}/invitations", key, {"recipients": recipients}, expect=201
    )
    assert out["errors"] == []
    for invitation, score in zip(out["invitations"], scores, strict=False):
        assert api.form(path_of(invitation["url"]), {"score": str(score)}).status_code == 303
    return str(survey["id"])


def damage(tenant_id: str, survey_id: str, segment: str = "all") -> None:
    """Lose one 10 from today's day tally, this month's tally and the total of `segment`."""
    from functions.domain.scoring import Tally
    from functions.store import scores as score_store

    today = clock.now().date().isoformat()
    day = score_store.read_day_tally(tenant_id, survey_id, segment, today)
    total = score_store.read_total(survey_id, segment)
    (month,) = score_store.read_month_tallies(tenant_id, survey_id, segment)
    assert day is not None and total is not None
    damaged = Tally.from_compact(total.total.to_compact())
    damaged.counts[10] -= 1
    assert score_store.put_day_tally(tenant_id, survey_id, segment, today, damaged, day.gen)
    assert score_store.put_rollup(tenant_id, survey_id, segment, today[:7], damaged, month.gen)
    assert score_store.put_rollup(tenant_id, survey_id, segment, None, damaged, total.gen)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(list(args))
    return code, json.loads(capsys.readouterr().out)


def stored_scores(tenant_id: str, survey_id: str) -> dict[str, Any]:
    """Every day tally, month tally and total of one survey, as stored (versions left out)."""
    from functions.store import scores as score_store

    out: dict[str, Any] = {}
    for total in score_store.query_summaries(survey_id):
        segment = total.segment
        out[f"T {segment}"] = total.total.to_compact()
        for day in score_store.read_day_tallies(tenant_id, survey_id, segment):
            out[f"D {segment} {day.day}"] = day.tally.to_compact()
        for month in score_store.read_month_tallies(tenant_id, survey_id, segment):
            out[f"M {segment} {month.day}"] = month.tally.to_compact()
    return out


@pytest.fixture
def two_tenants(own_tables: Emulator, api: Api) -> Iterator[dict[str, Any]]:
    from functions.logic.tenants import create_tenant

    first, second = create_tenant("First"), create_tenant("Second")
    world = {
        "a": first["tenant_id"],
        "b": second["tenant_id"],
        "a1": survey_with_answers(api, first["api_key"], [10, 9, 10, 3, 10]),
        "a2": survey_with_answers(api, first["api_key"], [10, 7, 0], channel="link"),
        "b1": survey_with_answers(api, second["api_key"], [10, 10, 8, 6]),
    }
    own_tables.drain()
    yield world


def test_verify_and_rebuild_by_tenant_touch_that_tenant_only(
    two_tenants: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    w = two_tenants
    healthy = {s: stored_scores(w[s[0]], w[s]) for s in ("a1", "a2", "b1")}
    # Given one survey of each tenant damaged
    damage(w["a"], w["a1"])
    damage(w["b"], w["b1"])

    # When verify is scoped to the first tenant, then it reports that tenant's drift only
    code, report = run(capsys, "verify", "--tenant", w["a"], "--segments", "3")
    assert code == 1
    assert {(d["tenant_id"], d["survey_id"]) for d in report["drift"]} == {(w["a"], w["a1"])}
    # And scoped to one survey, only that survey is checked
    code, clean = run(capsys, "verify", "--survey", w["a2"])
    assert code == 0 and clean["checked"] > 0
    assert run(capsys, "verify", "--survey", w["b1"])[0] == 1

    # When the first tenant is rebuilt, then it is repaired and the second is left as it was
    checkpoint = tmp_path / "a.json"
    code, rebuilt = run(
        capsys, "rebuild", "--tenant", w["a"], "--segments", "3", "--checkpoint", str(checkpoint)
    )
    assert code == 0
    assert rebuilt["scope"] == {"tenant_id": w["a"], "survey_id": None} and rebuilt["segments"] == 3
    # invitations and answers of both surveys, and the follow-ups of the 3 and the 0 (docs/follow-ups.md)
    assert rebuilt["ledger_entries"] == 7 + 5 + 5 + 3 + 2
    assert rebuilt["ledger_written"] == 0  # the ledger was right: nothing rewritten
    assert stored_scores(w["a"], w["a1"]) == healthy["a1"]
    assert not checkpoint.exists()  # a completed rebuild leaves no checkpoint
    assert run(capsys, "verify", "--tenant", w["a"])[0] == 0
    assert stored_scores(w["b"], w["b1"]) != healthy["b1"]
    assert run(capsys, "verify", "--tenant", w["b"])[0] == 1
    assert run(capsys, "rebuild", "--tenant", w["b"], "--checkpoint", str(checkpoint))[0] == 0
    assert stored_scores(w["b"], w["b1"]) == healthy["b1"]


def test_many_scan_segments_rebuild_what_one_does(
    two_tenants: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    w = two_tenants
    results = []
    for segments in ("1", "4"):
        damage(w["a"], w["a1"])
        damage(w["a"], w["a2"])
        code, report = run(
            capsys,
            "rebuild",
            "--tenant",
            w["a"],
            "--segments",
            segments,
            "--checkpoint",
            str(tmp_path / "c.json"),
        )
        assert code == 0
        results.append(
            (
                {k: report[k] for k in ("ledger_entries", "days", "summaries", "unreadable")},
                stored_scores(w["a"], w["a1"]),
                stored_scores(w["a"], w["a2"]),
            )
        )
        assert run(capsys, "verify", "--tenant", w["a"], "--segments", segments)[0] == 0
    assert results[0] == results[1]


def count_pages(monkeypatch: pytest.MonkeyPatch, name: str, fail_after: int | None = None) -> Counter[str]:
    """Count calls of a responses read (`scan_page` or `survey_page`); optionally fail the call
    after the first `fail_after` (an interruption: a crash, a lost connection, Ctrl-C)."""
    calls: Counter[str] = Counter()
    real = getattr(response_store, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        if fail_after is not None and calls["pages"] >= fail_after:
            raise ConnectionError("interrupted")
        calls["pages"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(response_store, name, counted)
    return calls


def test_an_interrupted_survey_rebuild_resumes_from_its_checkpoint(
    api: Api, emulator: Emulator, tenant: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    survey_id = survey_with_answers(api, tenant["api_key"], [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 10])
    emulator.drain()
    healthy = stored_scores(tenant["tenant_id"], survey_id)
    checkpoint = tmp_path / "survey.json"
    args = ["rebuild", "--survey", survey_id, "--page-size", "3", "--checkpoint", str(checkpoint)]

    # A whole run reads the survey's 14 items in pages of 3
    with pytest.MonkeyPatch.context() as patch:
        whole = count_pages(patch, "survey_page")
        assert run(capsys, *args)[0] == 0
    assert whole["pages"] == 5

    # Given a damaged survey whose rebuild is interrupted after 2 pages
    damage(tenant["tenant_id"], survey_id)
    with pytest.MonkeyPatch.context() as patch:
        count_pages(patch, "survey_page", fail_after=2)
        with pytest.raises(ConnectionError):
            main(args)
    saved = json.loads(checkpoint.read_text())
    assert saved["cursors"]["0"]["pages"] == 2 and not saved["cursors"]["0"]["done"]
    assert saved["ledger_entries"] >= 6  # 6 invitations, most of them answered
    assert "checkpoint" in capsys.readouterr().err

    # When it is run again with --resume, then it reads only the pages left and repairs the survey
    with pytest.MonkeyPatch.context() as patch:
        resumed = count_pages(patch, "survey_page")
        code, report = run(capsys, *args, "--resume")
    assert code == 0 and resumed["pages"] == whole["pages"] - 2
    # every invitation and answer counted once, and the follow-ups of the seven answers 0–6
    assert report["ledger_entries"] == 14 + 12 + 7
    assert stored_scores(tenant["tenant_id"], survey_id) == healthy
    assert not checkpoint.exists()
    assert run(capsys, "verify", "--survey", survey_id)[0] == 0

    # Nothing to resume, or a nonsense segment count: a clear refusal (exit 2) that changes nothing
    assert main([*args, "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        main(["rebuild", "--survey", survey_id, "--segments", "0"])
    assert refused.value.code == 2
    assert stored_scores(tenant["tenant_id"], survey_id) == healthy


def test_an_interrupted_parallel_scan_resumes_each_segment_where_it_stopped(
    two_tenants: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    w = two_tenants
    checkpoint = tmp_path / "tenant.json"
    args = [
        "rebuild",
        "--tenant",
        w["a"],
        "--segments",
        "3",
        "--page-size",
        "4",
        "--checkpoint",
        str(checkpoint),
    ]
    with pytest.MonkeyPatch.context() as patch:
        whole = count_pages(patch, "scan_page")
        code, complete = run(capsys, *args)
    assert code == 0 and whole["pages"] >= 4
    healthy = stored_scores(w["a"], w["a1"])

    damage(w["a"], w["a1"])
    with pytest.MonkeyPatch.context() as patch:
        count_pages(patch, "scan_page", fail_after=2)
        with pytest.raises(ConnectionError):
            main(args)
    saved = json.loads(checkpoint.read_text())
    done_before = sum(cursor["pages"] for cursor in saved["cursors"].values())
    assert done_before == 2

    with pytest.MonkeyPatch.context() as patch:
        resumed = count_pages(patch, "scan_page")
        code, report = run(capsys, *args, "--resume")
    assert code == 0
    assert resumed["pages"] == whole["pages"] - done_before  # no page read twice
    assert report["ledger_entries"] == complete["ledger_entries"]
    assert stored_scores(w["a"], w["a1"]) == healthy

    # A checkpoint of another scope is refused, not misread
    damage(w["a"], w["a1"])
    with pytest.MonkeyPatch.context() as patch:
        count_pages(patch, "scan_page", fail_after=1)
        with pytest.raises(ConnectionError):
            main(args)
    other = ["rebuild", "--tenant", w["b"], "--checkpoint", str(checkpoint), "--resume"]
    assert main(other) == 2
    assert "another rebuild" in capsys.readouterr().err
    assert run(capsys, *args, "--resume")[0] == 0


def test_rebuild_of_one_survey_reads_no_other_survey(
    two_tenants: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from functions.store.clients import client

    w = two_tenants
    damage(w["a"], w["a1"])
    operations: Counter[str] = Counter()
    foreign: list[Any] = []
    items_read = [0]

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        operations[model.name] += 1
        text = json.dumps(params)
        for other in (w["a2"], w["b1"]):
            if other in text:
                foreign.append((model.name, params))

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        found = parsed.get("Items", []) + [
            item for items in parsed.get("Responses", {}).values() for item in items
        ]
        items_read[0] += len(found)
        for item in found:
            names = json.dumps(item)
            if w["a1"] not in names:
                foreign.append((model.name, item))

    events = client("dynamodb").meta.events
    events.register("provide-client-params.dynamodb.*", before)
    events.register("after-call.dynamodb.*", after)
    try:
        code, report = run(capsys, "rebuild", "--survey", w["a1"])
    finally:
        events.unregister("provide-client-params.dynamodb.*", before)
        events.unregister("after-call.dynamodb.*", after)
    assert code == 0 and report["ledger_entries"] == 12 + 1  # and the 3's follow-up
    # Then no request scanned a table or named another survey, and every item read is the survey's
    assert "Scan" not in operations, operations
    assert foreign == []
    # One day of answers: its ledger is read (a Query per bucket and one of the older single key)
    # by the snapshot and by the day's rebuild, its pending deltas (a Query per bucket) by the
    # snapshot and twice by the day's rebuild (docs/scale.md); the rest is the same as before.
    from functions.store.scores import LEDGER_BUCKETS, PENDING_BUCKETS

    budget = 30 + 2 * (LEDGER_BUCKETS + 1) + 3 * PENDING_BUCKETS
    assert sum(operations.values()) <= budget and items_read[0] > 0, (operations, items_read)
    assert run(capsys, "verify", "--survey", w["a1"])[0] == 0


def test_a_local_stack_saved_before_the_survey_index_gets_it(emulator: Emulator) -> None:
    import copy
    import uuid

    from functions.store.clients import client
    from infra import tables

    dynamodb = client("dynamodb")
    suffix = uuid.uuid4().hex[:8]
    names = {setting: f"old-{suffix}-{setting.lower()}" for setting in tables.TABLE_SETTINGS.values()}
    # Given a responses table made by the definition before `by_survey_code`
    for kwargs, _ in tables.create_table_requests(names):
        if kwargs["TableName"] == names["HARK_RESPONSES_TABLE"]:
            older = copy.deepcopy(kwargs)
            older["GlobalSecondaryIndexes"] = [
                g for g in older["GlobalSecondaryIndexes"] if g["IndexName"] != "by_survey_code"
            ]
            older["AttributeDefinitions"] = [
                a for a in older["AttributeDefinitions"] if a["AttributeName"] != "survey_id"
            ]
            dynamodb.create_table(**older)
    # When the stack's tables are made again, then the index is added and answers Queries
    tables.create_tables(dynamodb, names)
    table = dynamodb.describe_table(TableName=names["HARK_RESPONSES_TABLE"])["Table"]
    assert "by_survey_code" in {g["IndexName"] for g in table["GlobalSecondaryIndexes"]}
    dynamodb.put_item(
        TableName=names["HARK_RESPONSES_TABLE"], Item={"pk": {"S": "c1"}, "survey_id": {"S": "s1"}}
    )
    found = dynamodb.query(
        TableName=names["HARK_RESPONSES_TABLE"],
        IndexName="by_survey_code",
        KeyConditionExpression="survey_id = :s",
        ExpressionAttributeValues={":s": {"S": "s1"}},
    )
    assert [item["pk"]["S"] for item in found["Items"]] == ["c1"]
    for name in names.values():
        dynamodb.delete_table(TableName=name)

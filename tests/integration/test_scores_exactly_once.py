"""Exactly once and nothing lost in the two-stage scores pipeline (docs/scale.md, "Writes: two
stages" and "Exactly once, rebuild and verify"), under interleavings that
tests/integration/test_tally_writer.py does not break: a retried batch whose newer revision
supersedes an entry whose message was never sent, the tally writer landing inside a rebuild of
a day, and a legacy ledger entry whose move is refused by a concurrent transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace as dataclass_replace
from datetime import date, timedelta
from typing import Any

import pytest

from functions.aggregator.handler import handle_stream_event
from functions.aggregator.writer import handle_queue_event
from functions.domain.ledger import LedgerEntry
from functions.domain.scoring import Tally
from functions.logic import aggregation, tally_writer
from functions.logic import rebuild as rebuild_logic
from functions.logic.rebuild import verify
from functions.store import dynamo, queues
from functions.store import scores as score_store
from functions.store.clients import TransactionCancelled
from tests.integration.aws_in_process import InProcessStack, in_process_aws
from tests.integration.scores_model import SurveyWorld

pytestmark = pytest.mark.integration


@pytest.fixture
def stack() -> Iterator[InProcessStack]:
    with in_process_aws({"HARK_TALLY_WRITER_FROM": "1"}) as created:  # every batch through stage 2
        yield created


def total_counts(world: SurveyWorld) -> dict[int, int]:
    total = score_store.read_total(world.survey_id, "all")
    return {} if total is None else {k: v for k, v in total.total.counts.items() if v}


def pending_of(world: SurveyWorld) -> list[score_store.PendingDelta]:
    return score_store.scan_scores(world.survey_id).pending


def test_a_retried_batch_that_supersedes_an_unsent_transaction_loses_nothing(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an invitation already counted, then its answer committed with its pending deltas
    # while the queue refused the message naming them
    world = SurveyWorld()
    world.invite([("email", None, {}, 0)])
    assert stack.aggregate(stack.new_records()) == {"batchItemFailures": []}
    world.answer(0, 3, 0, {})
    first = stack.new_records()
    real = queues.send_grouped

    def refused(queue_url: str, messages: Any) -> None:
        raise RuntimeError("SQS unavailable")

    monkeypatch.setattr(queues, "send_grouped", refused)
    with pytest.raises(RuntimeError):
        handle_stream_event({"Records": first})
    monkeypatch.setattr(queues, "send_grouped", real)
    assert total_counts(world) == {} and pending_of(world)

    # When the customer changes the answer before Lambda's retry, which reads from the
    # checkpoint and so brings both records: the newer revision supersedes the entry whose
    # transaction was never named to the tally writer
    world.answer(0, 9, 0, {})
    assert stack.aggregate(first + stack.new_records()) == {"batchItemFailures": []}

    # Then the answer counts once, at its new score, and nothing is left pending
    assert total_counts(world) == {9: 1}
    assert pending_of(world) == []
    assert verify(world.survey_id)["drift"] == []


def test_the_tally_writer_landing_while_a_rebuild_reads_a_new_segment_loses_nothing(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given answers committed by the aggregator whose message the tally writer has not received
    world = SurveyWorld()
    sent: list[dict[str, Any]] = []
    real_send = queues.send_grouped

    def keep(queue_url: str, messages: Any) -> None:
        sent.extend(json.loads(json.dumps(body)) for _, _, body in messages)
        real_send(queue_url, messages)

    monkeypatch.setattr(queues, "send_grouped", keep)
    world.invite([("email", None, {}, 0), ("sms", None, {}, 0)])
    world.answer(0, 10, 0, {})
    world.answer(1, 4, 0, {})
    handle_stream_event({"Records": stack.new_records()})
    (message,) = sent
    assert total_counts(world) == {}
    answered_day = next(p.day for p in pending_of(world) if p.delta.counts)

    # When a rebuild of that day, which did not know its segments yet (the aggregator wrote
    # them after the rebuild's snapshot), has read the tallies, the pending deltas, the ledger
    # and the pending deltas again, and the tally writer applies the message right then
    real_read = score_store.read_pending_day
    reads = [0]

    def writer_lands_after_the_second_read(*args: Any) -> list[score_store.PendingDelta]:
        found = real_read(*args)
        reads[0] += 1
        if reads[0] == 2:
            event = {"Records": [{"messageId": "m0", "body": json.dumps(message)}]}
            assert handle_queue_event(event) == {"batchItemFailures": []}
        return found

    monkeypatch.setattr(score_store, "read_pending_day", writer_lands_after_the_second_read)
    rebuild_logic.rebuild_day(world.tenant_id, world.survey_id, answered_day, set())
    monkeypatch.setattr(score_store, "read_pending_day", real_read)
    assert reads[0] >= 2

    # Then each day tally still equals its ledger (no delta was subtracted after it landed)
    day = score_store.read_day_tally(world.tenant_id, world.survey_id, "all", answered_day)
    assert day is not None and {k: v for k, v in day.tally.counts.items() if v} == {10: 1, 4: 1}
    assert pending_of(world) == []
    rebuild_logic.rebuild_rollups(world.tenant_id, world.survey_id, "all")
    assert verify(world.survey_id)["drift"] == []


def test_a_legacy_entry_whose_move_meets_a_transaction_conflict_is_kept(stack: InProcessStack) -> None:
    # Given an answer's ledger entry under its day's older single key, and nothing in its bucket
    world = SurveyWorld()
    entry = LedgerEntry(
        tenant_id=world.tenant_id,
        survey_id=world.survey_id,
        day="2026-11-30",
        part="R",
        code="legacycode01",
        rev=2,
        segments=("all",),
        score=8,
    )
    legacy_pk = score_store.legacy_ledger_pk(world.tenant_id, world.survey_id, entry.day)
    dynamo.request(
        "put_item", TableName=score_store._table(), Item=score_store._ledger_item(entry, pk=legacy_pk)
    )
    (held,) = score_store.read_held_day(world.tenant_id, world.survey_id, entry.day)
    assert held.pk == legacy_pk

    # When the move's transaction is cancelled by another transaction holding one of its items
    # (TransactionConflict: nothing failed a condition, and nothing was written)
    real = dynamo.request
    conflicts = [0]

    def conflict_once(operation: str, **kwargs: Any) -> dict[str, Any]:
        if operation == "transact_write_items" and not conflicts[0]:
            conflicts[0] += 1
            raise TransactionCancelled("conflict", ["TransactionConflict", "None"])
        return real(operation, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dynamo, "request", conflict_once)
        score_store.move_legacy_entry(world.tenant_id, world.survey_id, entry.day, held)
    assert conflicts[0] == 1

    # Then the entry still exists under one of its keys, at its revision
    found = score_store.read_held_day(world.tenant_id, world.survey_id, entry.day)
    assert [(h.entry.key, h.entry.rev, h.entry.score) for h in found] == [("R#legacycode01", 2, 8)]


def test_the_largest_messages_of_one_batch_fit_sqs(stack: InProcessStack) -> None:
    # Given one stream batch of 80 CSI answers rated on 12 long-named attributes, each on a day
    # of its own (an import of old answers), committed in several transactions
    world = SurveyWorld(kind="csi")
    attributes = [f"attribute-{n:02d}-".ljust(40, "x") for n in range(12)]
    segments = ("all", "ch:email", "tp:" + "t" * 40, "p:plan:" + "v" * 30, "p:team:" + "w" * 30)
    changes: list[tuple[LedgerEntry, None]] = [
        (
            LedgerEntry(
                tenant_id=world.tenant_id,
                survey_id=world.survey_id,
                day=(date(2024, 1, 1) + timedelta(days=n)).isoformat(),
                part="R",
                code=f"import{n:06d}",
                rev=1,
                segments=segments,
                score=1 + n % 5,
                attrs={key: 1 + (n + i) % 10 for i, key in enumerate(attributes)},
            ),
            None,
        )
        for n in range(80)
    ]
    refs = [
        ref
        for group in aggregation.transactions(changes)
        for ref in score_store.apply_ledger_changes(group, aggregation.tally_deltas(group))
    ]
    bodies = [len(json.dumps(ref.to_message(), separators=(",", ":"))) for ref in refs]
    # SQS takes 1 MiB per message and per SendMessageBatch (it was 256 KiB until 2025): one
    # transaction's message stays far below the older limit, and ten of them below the newer one
    assert max(bodies) < 256 * 1024 and 10 * max(bodies) < 1024 * 1024

    # When the aggregator names them to the tally writer, and the writer drains its queue
    tally_writer.notify(refs)
    stack.settle_scores()

    # Then every answer counts once and nothing is left pending
    assert sum(total_counts(world).values()) == 80
    assert pending_of(world) == []


def legacy_entry(world: SurveyWorld, code: str, rev: int, pk: str | None = None) -> LedgerEntry:
    """An answer's ledger entry (score 8, day 2026-11-30) stored under `pk`: by default its
    day's older single key, where entries lived before they were spread over buckets."""
    entry = LedgerEntry(
        tenant_id=world.tenant_id,
        survey_id=world.survey_id,
        day="2026-11-30",
        part="R",
        code=code,
        rev=rev,
        segments=("all",),
        score=8,
    )
    where = pk or score_store.legacy_ledger_pk(world.tenant_id, world.survey_id, entry.day)
    dynamo.request("put_item", TableName=score_store._table(), Item=score_store._ledger_item(entry, pk=where))
    return entry


def test_moving_a_legacy_entry_keeps_the_newer_copy(stack: InProcessStack) -> None:
    world = SurveyWorld()
    day = "2026-11-30"
    # One entry only under the older key, one also in its bucket at a newer revision
    legacy_entry(world, "alone0000001", 2)
    legacy_entry(world, "twice0000001", 2)
    legacy_entry(
        world, "twice0000001", 3, score_store.ledger_pk(world.tenant_id, world.survey_id, day, "twice0000001")
    )
    held = {h.entry.key: h for h in score_store.read_held_day(world.tenant_id, world.survey_id, day)}
    older = score_store.HeldEntry(held["R#alone0000001"].entry, held["R#alone0000001"].pk)
    stale = dataclass_replace(
        held["R#twice0000001"], pk=score_store.legacy_ledger_pk(world.tenant_id, world.survey_id, day)
    )
    stale = dataclass_replace(stale, entry=dataclass_replace(stale.entry, rev=2))

    assert score_store.move_legacy_entry(world.tenant_id, world.survey_id, day, older)
    assert score_store.move_legacy_entry(world.tenant_id, world.survey_id, day, stale)

    bucket = {
        score_store.ledger_pk(world.tenant_id, world.survey_id, day, c)
        for c in ("alone0000001", "twice0000001")
    }
    found = score_store.read_held_day(world.tenant_id, world.survey_id, day)
    assert [(h.entry.key, h.entry.rev) for h in found] == [("R#alone0000001", 2), ("R#twice0000001", 3)]
    assert {h.pk for h in found} <= bucket
    assert score_store.scan_scores(world.survey_id).legacy_ledger == []


def test_a_rebuild_moves_legacy_entries_and_counts_them_once(stack: InProcessStack) -> None:
    # Given an expired answer whose entry lives under its day's older key, counted in its day
    # tally, month tally and total (as the pipeline before the spread keys wrote them)
    world = SurveyWorld()
    entry = legacy_entry(world, "legacycode02", 1)
    tally = Tally()
    tally.add_answer(8)
    assert score_store.put_day_tally(world.tenant_id, world.survey_id, "all", entry.day, tally, None)
    assert score_store.put_rollup(world.tenant_id, world.survey_id, "all", entry.day[:7], tally, None)
    assert score_store.put_rollup(world.tenant_id, world.survey_id, "all", None, tally, None)
    before = verify(world.survey_id)
    assert before["drift"] == [] and before["legacy_ledger_entries"] == 1

    # When the rebuild runs: the entry moves to its bucket and counts once
    report = rebuild_logic.rebuild(world.survey_id)
    assert report["ledger_moved"] == 1
    assert total_counts(world) == {8: 1}
    after = verify(world.survey_id)
    assert after["drift"] == [] and after["legacy_ledger_entries"] == 0

    # And an answer arriving afterwards for the same code finds it in its bucket
    (held,) = score_store.read_held_day(world.tenant_id, world.survey_id, "2026-11-30")
    assert held.pk == score_store.ledger_pk(world.tenant_id, world.survey_id, "2026-11-30", "legacycode02")


def test_a_refused_middle_chunk_of_the_tally_writer_is_read_again_and_each_delta_applied_once(
    stack: InProcessStack,
) -> None:
    # Given pending deltas on 60 days (two aggregator transactions), more than one writer
    # transaction holds
    world = SurveyWorld()
    changes = [
        (
            LedgerEntry(
                tenant_id=world.tenant_id,
                survey_id=world.survey_id,
                day=(date(2025, 1, 1) + timedelta(days=n)).isoformat(),
                part="R",
                code=f"chunked{n:05d}",
                rev=1,
                segments=("all",),
                score=n % 11,
            ),
            None,
        )
        for n in range(60)
    ]
    refs = [
        ref
        for group in aggregation.transactions(changes)
        for ref in score_store.apply_ledger_changes(group, aggregation.tally_deltas(group))
    ]
    deltas = [p for ref in refs for p in ref.deltas]
    assert len(list(tally_writer._chunks(deltas))) == 2

    # And one delta of the second chunk already applied (a rebuild, or another receive)
    late = sorted(deltas, key=lambda p: (p.day_key, p.sk))[-2]
    score_store.apply_pending([late])

    # When the writer applies the messages: its first chunk commits, its second is refused
    assert tally_writer.apply(refs) == 59

    # Then every answer counts once and nothing is left pending
    assert sum(total_counts(world).values()) == 60
    assert pending_of(world) == []

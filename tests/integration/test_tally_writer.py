"""The tally writer (stage 2 of the scores pipeline, docs/scale.md): exactly once, whatever the
messages do.

The aggregator commits ledger entries with pending deltas, then sends the deltas on the scores
FIFO queue; the writer applies them and deletes them in one transaction. These tests break each
step: a duplicate message, a message that names only its transaction, a crash between the
commit and the message, a message never sent (a rebuild applies its deltas), a message that
cannot be read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.aggregator.handler import handle_stream_event
from functions.aggregator.writer import handle_queue_event
from functions.logic.rebuild import rebuild, verify
from functions.store import queues
from functions.store import scores as score_store
from tests.integration.aws_in_process import InProcessStack, in_process_aws
from tests.integration.scores_model import SurveyWorld

pytestmark = pytest.mark.integration


@pytest.fixture
def stack() -> Iterator[InProcessStack]:
    with in_process_aws({"HARK_TALLY_WRITER_FROM": "1"}) as created:  # every batch through stage 2
        yield created


def answered(world: SurveyWorld, stack: InProcessStack, scores: list[int]) -> list[dict[str, Any]]:
    """Invitations to `world` answered with `scores`: their stream records (one batch)."""
    world.invite([("email", None, {}, 0) for _ in scores])
    for i, score in enumerate(scores):
        world.answer(i, score, 0, {})
    return stack.new_records()


def total_counts(world: SurveyWorld) -> dict[int, int]:
    total = score_store.read_total(world.survey_id, "all")
    return {} if total is None else {k: v for k, v in total.total.counts.items() if v}


def pending_of(world: SurveyWorld) -> list[score_store.PendingDelta]:
    return score_store.scan_scores(world.survey_id).pending


def sent_messages(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every message body the aggregator sends to the tally writer (and still sends them)."""
    bodies: list[dict[str, Any]] = []
    real = queues.send_grouped

    def keep(queue_url: str, messages: Any) -> None:
        bodies.extend(json.loads(json.dumps(body)) for _, _, body in messages)
        real(queue_url, messages)

    monkeypatch.setattr(queues, "send_grouped", keep)
    return bodies


def sqs_event(*bodies: dict[str, Any] | str) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{i}", "body": body if isinstance(body, str) else json.dumps(body)}
            for i, body in enumerate(bodies)
        ]
    }


def test_the_aggregator_writes_no_tally_and_the_writer_applies_each_delta_once(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch of three answers through the aggregator alone
    world = SurveyWorld()
    sent = sent_messages(monkeypatch)
    assert handle_stream_event({"Records": answered(world, stack, [10, 9, 2])}) == {"batchItemFailures": []}

    # Then no tally moved yet: the change waits as pending deltas, named in one message with them
    assert total_counts(world) == {}
    assert len(pending_of(world)) >= 1
    assert len(sent) == 1 and sent[0]["s"] == world.survey_id and sent[0]["d"]

    # When the writer receives that message twice (SQS delivers at least once), in one batch and
    # then again alone
    assert handle_queue_event(sqs_event(sent[0], sent[0])) == {"batchItemFailures": []}
    assert handle_queue_event(sqs_event(sent[0])) == {"batchItemFailures": []}

    # Then each answer counts once and nothing is left pending
    assert total_counts(world) == {10: 1, 9: 1, 2: 1}
    assert pending_of(world) == []
    assert verify(world.survey_id)["drift"] == []


def test_a_message_naming_only_its_transaction_is_applied_from_the_table(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = SurveyWorld()
    sent = sent_messages(monkeypatch)
    handle_stream_event({"Records": answered(world, stack, [7, 8])})
    (body,) = sent
    assert handle_queue_event(sqs_event({"s": body["s"], "tx": body["tx"]})) == {"batchItemFailures": []}
    assert total_counts(world) == {7: 1, 8: 1} and pending_of(world) == []


def test_a_crash_between_the_commit_and_the_message_loses_nothing(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the queue refuses the aggregator's message once, after its transaction committed
    world = SurveyWorld()
    records = answered(world, stack, [10, 3])
    real = queues.send_grouped
    refused = [0]

    def down_once(queue_url: str, messages: Any) -> None:
        if not refused[0]:
            refused[0] += 1
            raise RuntimeError("SQS unavailable")
        real(queue_url, messages)

    monkeypatch.setattr(queues, "send_grouped", down_once)
    with pytest.raises(RuntimeError):
        handle_stream_event({"Records": records})
    stack.settle_scores()
    assert total_counts(world) == {} and pending_of(world)

    # When Lambda retries the batch: its entries are already written, so they name their
    # transaction again
    assert stack.aggregate(records) == {"batchItemFailures": []}

    # Then the deltas are applied, once
    assert total_counts(world) == {10: 1, 3: 1} and pending_of(world) == []
    assert stack.aggregate(records) == {"batchItemFailures": []}
    assert total_counts(world) == {10: 1, 3: 1}


def test_deltas_whose_message_was_lost_are_applied_by_a_rebuild(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch whose message was never sent (its records then expired from the stream)
    world = SurveyWorld()
    monkeypatch.setattr(queues, "send_grouped", lambda queue_url, messages: None)
    handle_stream_event({"Records": answered(world, stack, [9, 9, 0])})
    monkeypatch.undo()
    stranded = len(pending_of(world))
    assert stranded >= 1 and total_counts(world) == {}

    # Then verify counts them as pending, not as drift
    report = verify(world.survey_id)
    assert report["drift"] == [] and report["pending_deltas"] == stranded
    assert report["oldest_pending_seconds"] is not None and report["oldest_pending_seconds"] >= 0

    # And a rebuild applies them: the scores are whole and nothing is pending
    rebuild(world.survey_id)
    assert total_counts(world) == {9: 2, 0: 1} and pending_of(world) == []
    after = verify(world.survey_id)
    assert after["drift"] == [] and after["pending_deltas"] == 0 and after["oldest_pending_seconds"] is None


def test_a_rebuild_beside_pending_deltas_counts_each_answer_once(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch applied and a later one still pending (its message not yet received)
    world = SurveyWorld()
    sent = sent_messages(monkeypatch)
    stack.aggregate(answered(world, stack, [10]))
    world.invite([("email", None, {}, 0), ("sms", None, {}, 0)])
    world.answer(1, 1, 0, {})
    world.answer(2, 2, 0, {})
    handle_stream_event({"Records": stack.new_records()})
    assert total_counts(world) == {10: 1} and pending_of(world)

    # When a rebuild runs, and only then the writer receives the message
    rebuild(world.survey_id)
    handle_queue_event(sqs_event(sent[-1]))

    # Then every answer counts once
    assert total_counts(world) == {10: 1, 1: 1, 2: 1} and pending_of(world) == []
    assert verify(world.survey_id)["drift"] == []


def test_an_unreadable_message_is_dropped_and_the_rest_apply(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = SurveyWorld()
    sent = sent_messages(monkeypatch)
    handle_stream_event({"Records": answered(world, stack, [6])})
    event = sqs_event("not json", {"s": world.survey_id}, sent[0])
    assert handle_queue_event(event) == {"batchItemFailures": []}
    assert total_counts(world) == {6: 1}


def test_a_survey_whose_deltas_cannot_be_applied_fails_its_messages_alone(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = SurveyWorld(), SurveyWorld()
    sent = sent_messages(monkeypatch)
    handle_stream_event({"Records": answered(first, stack, [4])})
    handle_stream_event({"Records": answered(second, stack, [5])})
    real = score_store.apply_pending

    def broken_for_first(pending: Any) -> None:
        if any(p.survey_id == first.survey_id for p in pending):
            raise RuntimeError("throttled for good")
        real(pending)

    monkeypatch.setattr(score_store, "apply_pending", broken_for_first)
    out = handle_queue_event(sqs_event(sent[0], sent[1]))
    assert out == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert total_counts(first) == {} and total_counts(second) == {5: 1}


def test_a_hot_survey_goes_through_the_writer_and_a_quiet_one_moves_its_own_tallies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the default threshold (10 changes of a survey in one batch) and one batch holding
    # 12 answers to a hot survey and 2 to a quiet one
    with in_process_aws({"HARK_TALLY_WRITER_FROM": "10"}) as stack:
        hot, quiet = SurveyWorld(), SurveyWorld()
        sent = sent_messages(monkeypatch)
        hot.invite([("email", None, {}, 0) for _ in range(12)])
        quiet.invite([("sms", None, {}, 0) for _ in range(2)])
        stack.aggregate(stack.new_records())  # the invitations first
        sent.clear()
        for i in range(12):
            hot.answer(i, 9, 0, {})
        quiet.answer(0, 3, 0, {})
        quiet.answer(1, 10, 0, {})

        # When the aggregator applies the batch alone
        assert handle_stream_event({"Records": stack.new_records()}) == {"batchItemFailures": []}

        # Then the quiet survey's tallies moved in the batch's own transaction, the hot one's wait
        assert total_counts(quiet) == {3: 1, 10: 1} and pending_of(quiet) == []
        assert total_counts(hot) == {} and pending_of(hot)
        assert [body["s"] for body in sent] == [hot.survey_id]

        # And once the writer has run, both are exact
        stack.settle_scores()
        assert total_counts(hot) == {9: 12} and pending_of(hot) == []
        assert verify(hot.survey_id)["drift"] == [] and verify(quiet.survey_id)["drift"] == []

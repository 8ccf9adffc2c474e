"""Exactly once and nothing lost in the two-stage scores pipeline (docs/scale.md, "Writes: two
stages" and "Exactly once, rebuild and verify"), under interleavings that
tests/integration/test_tally_writer.py does not break: a retried batch whose newer revision
supersedes an entry whose message was never sent, the tally writer landing inside a rebuild of
a day, and a legacy ledger entry whose move is refused by a concurrent transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.aggregator.handler import handle_stream_event
from functions.logic.rebuild import verify
from functions.store import queues
from functions.store import scores as score_store
from tests.integration.aws_in_process import InProcessStack, in_process_aws
from tests.integration.scores_model import SurveyWorld

pytestmark = pytest.mark.integration


@pytest.fixture
def stack() -> Iterator[InProcessStack]:
    with in_process_aws() as created:
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

"""How the aggregator packs a batch's ledger changes into DynamoDB transactions."""

from __future__ import annotations

from collections import Counter

import pytest

from functions.domain.ledger import LedgerEntry
from functions.logic.aggregation import Change, queued_surveys, tally_deltas, transactions

pytestmark = pytest.mark.unit


def answers(count: int, surveys: int) -> list[Change]:
    return [
        (
            LedgerEntry(
                "ten_a", f"srv_{i % surveys}", "2026-11-03", "R", f"c{i:04d}", 1,
                ("all", "channel:email" if i % 2 else "channel:sms", f"touchpoint:t{i % 3}"), score=i % 11,
            ),
            None,
        )
        for i in range(count)
    ]  # fmt: skip


def test_many_surveys_pack_whole_into_transactions_that_fit() -> None:
    changes = answers(300, 7)
    groups = transactions(changes)
    # each transaction: its ledger entries plus one pending delta per (survey, segment, day)
    assert all(len(g) + len(tally_deltas(g)) <= 100 for g in groups)
    assert sorted(c[0].code for g in groups for c in g) == sorted(c[0].code for c in changes)
    # each (survey, segment, day) gets its pending delta from exactly one transaction
    assert set(Counter(k for g in groups for k in tally_deltas(g)).values()) == {1}


def test_94_answers_to_one_survey_fit_one_transaction_and_95_do_not() -> None:
    # 6 segments, one day: 6 pending deltas beside the ledger entries (no shared tally)
    assert len(transactions(answers(94, 1))) == 1
    split = transactions(answers(95, 1))
    assert len(split) == 2 and sum(len(g) for g in split) == 95
    assert all(len(g) + len(tally_deltas(g)) <= 100 for g in split)


def test_a_quiet_survey_moves_its_tallies_in_the_batch_and_a_hot_one_queues_them() -> None:
    changes = answers(30, 3)[:12] + [c for c in answers(30, 3) if c[0].survey_id == "srv_0"]
    queued = queued_surveys(changes, least=10)
    assert queued == {("ten_a", "srv_0")}  # 4 + 10 changes of srv_0, 4 each of srv_1 and srv_2
    groups = transactions(changes, queued)
    # a queued survey adds one pending delta per (segment, day); a direct one its day tally,
    # month tally and total per touched segment
    for group in groups:
        hot = [c for c in group if c[0].survey_id == "srv_0"]
        quiet = [c for c in group if c[0].survey_id != "srv_0"]
        items = len(group) + len(tally_deltas(hot)) + 3 * len(tally_deltas(quiet))
        assert items <= 100

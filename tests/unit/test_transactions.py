"""How the aggregator packs a batch's ledger changes into DynamoDB transactions."""

from __future__ import annotations

from collections import Counter

import pytest

from functions.domain.ledger import LedgerEntry
from functions.logic.aggregation import Change, tally_deltas, transactions
from functions.store.scores import rollup_deltas

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
    assert all(len(g) + len(rollup_deltas(tally_deltas(g))) <= 100 for g in groups)
    assert sorted(c[0].code for g in groups for c in g) == sorted(c[0].code for c in changes)
    # each (survey, segment) day tally, month tally and total is written by exactly one transaction
    assert set(Counter(k for g in groups for k in rollup_deltas(tally_deltas(g))).values()) == {1}


def test_82_answers_to_one_survey_fit_one_transaction_and_83_do_not() -> None:
    # 6 segments, one day: 6 day tallies + 6 month tallies + 6 totals beside the ledger entries
    assert len(transactions(answers(82, 1))) == 1
    split = transactions(answers(83, 1))
    assert len(split) == 2 and sum(len(g) for g in split) == 83
    assert all(len(g) + len(rollup_deltas(tally_deltas(g))) <= 100 for g in split)

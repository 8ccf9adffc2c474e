"""The capacity and cost model (bench/capacity.py, docs/scale.md), fed fixed counts: every figure
is checked against arithmetic done by hand here."""

from __future__ import annotations

import pytest

from bench import capacity
from bench.capacity import Measured

# The figures of make bench on 2026-12-02 (bench/results.json), with round durations
FIXED = Measured(
    fill=80,
    segments_per_answer=3,
    segments_per_batch=5.0,
    ledger_entries_per_answer=1.0,
    ledger_entry_bytes=379,
    tally_bytes=115,
    response_item_bytes=900,
    aggregator_reads_per_batch=2.0,
    aggregator_ledger_reads_per_answer=1.0,
    scores_wcu_per_answer=2.64,
    mixed_scores_wcu_per_answer=12.17,
    api_answer_ms=20.0,
    api_page_ms=10.0,
    aggregator_batch_ms=400.0,
)


def test_write_units_round_up_per_kb_and_double_in_a_transaction() -> None:
    assert capacity.wcu(1) == 1 and capacity.wcu(1024) == 1 and capacity.wcu(1025) == 2
    assert capacity.wcu(379, transactional=True) == 2 and capacity.wcu(2523, transactional=True) == 6


def test_one_hot_survey_sustains_ten_thousand_answers_a_second() -> None:
    survey = capacity.one_survey(FIXED)
    limits = {row["limit"].split(" ")[0]: row for row in survey["limits"]}
    # 1,000 WCU/s × 64 keys ÷ (2 WCU × 1 entry) = 32,000 answers/s; a third of that is 10,667
    assert (limits["ledger"]["answers_per_second"], limits["ledger"]["at_a_third"]) == (32_000, 10_667)
    # the index copy of each answered item: 1,000 × 32 keys ÷ 1 WCU
    assert limits["by_survey"]["answers_per_second"] == 32_000
    # 1,000 × 16 keys ÷ (5 deltas × (2 + 2) WCU ÷ 80 answers) = 64,000
    assert limits["pending-delta"]["answers_per_second"] == 64_000
    # the tally writer: 1,000 × (10 messages × 80) ÷ (5 totals × 2 WCU) = 80,000
    assert limits["totals"]["answers_per_second"] == 80_000
    # 1,000 × 800 ÷ 2 WCU = 400,000 per hot item
    assert limits["hot"]["answers_per_second"] == 400_000
    # one writer per survey: 800 answers per 30 ms transaction = 26,667, planned at half
    (writer,) = [row for row in survey["limits"] if "tally writer" in row["limit"]]
    assert (writer["answers_per_second"], writer["at_a_third"]) == (26_667, 13_333)
    # its FIFO group: 300 sends/s × 80 answers = 24,000, planned at half
    (group,) = [row for row in survey["limits"] if "FIFO" in row["limit"]]
    assert (group["answers_per_second"], group["at_a_third"]) == (24_000, 12_000)
    assert survey["binding"].startswith("ledger partition")
    assert survey["sustains_answers_per_second"] == 10_667
    assert survey["sustains_answers_per_second"] >= 10_000
    # 80 answers per 400 ms batch = 200 per shard, so 10,667 answers/s need 54 shards
    assert survey["per_shard_answers_per_second"] == 200 and survey["stream_shards_needed"] == 54
    assert "1000 WCU/s × 64 keys ÷ (2 WCU × 1 entries per answer) = 32,000" in limits["ledger"]["arithmetic"]


def test_one_table_is_limited_by_the_scores_tables_quota() -> None:
    table = capacity.one_table(FIXED)
    by_name = {row["limit"].split(" ")[0]: row for row in table["limits"]}
    assert by_name["responses"]["answers_per_second"] == 20_000  # 40,000 ÷ (1 + 1)
    assert by_name["scores"]["answers_per_second"] == round(40_000 / 12.17)  # 3,287
    assert table["binding"].startswith("scores table") and table["sustains_answers_per_second"] == 3287
    assert table["stream_shards_needed"] == 17  # 3,287 ÷ 200 per shard, rounded up


def test_a_million_answers_costs_the_sum_of_its_lines() -> None:
    cost = capacity.cost_per_million_answers(FIXED)
    lines = {line["what"]: line["usd"] for line in cost["lines"]}
    assert lines["API Gateway (HTTP API)"] == 2.00  # 2 requests × $1.00 per million
    assert lines["Lambda, API requests"] == 0.40
    # 1M × 0.5 GB × 0.030 s × $0.0000133334 = $0.2000
    assert lines["Lambda, API duration"] == pytest.approx(0.2000, abs=1e-4)
    # 12,500 batches × ($0.0000002 + 0.5 GB × 0.4 s × $0.0000133334) = $0.0025 + $0.0333
    assert lines["Lambda, aggregator"] == pytest.approx(0.0358, abs=1e-4)
    # the tally writer: 1M ÷ (10 messages × 80) = 1,250 invocations × $0.0000002 (0 ms here)
    assert lines["Lambda, tally writer"] == pytest.approx(0.00025, abs=1e-4)
    # its FIFO queue: 12,500 sends + 1,250 receives + 1,250 deletes = 15,000 × $0.50 per million
    assert lines["SQS FIFO (scores queue)"] == pytest.approx(0.0075, abs=1e-5)
    # (1 + 1 + 2.64) WRU × $0.625 = $2.90
    assert lines["DynamoDB writes"] == pytest.approx(2.90, abs=1e-4)
    # (0.5 + 1 + 2 / 80) RRU × $0.125 = $0.1906
    assert lines["DynamoDB reads"] == pytest.approx(0.1906, abs=1e-4)
    assert lines["DynamoDB Streams"] == 0
    assert cost["total_usd"] == round(sum(lines.values()), 2) == 5.73


def test_a_change_that_adds_a_write_shows_up_as_cost() -> None:
    base = capacity.cost_per_million_answers(FIXED)["total_usd"]
    heavier = capacity.cost_per_million_answers(
        Measured(**{**capacity.model(FIXED)["inputs"], "scores_wcu_per_answer": 3.64})
    )
    assert heavier["total_usd"] == pytest.approx(base + 0.625, abs=0.01)


def test_sending_a_million_invitations() -> None:
    sends = capacity.cost_per_million_invitations(FIXED)
    # SES $100 + DynamoDB 3 × $0.625 + SQS 3 × $0.40
    assert sends["email_usd"] == pytest.approx(100 + 1.875 + 1.2, abs=0.01)
    assert sends["sms_usd"] == pytest.approx(5810 + 1.875 + 1.2, abs=0.01)


def test_the_model_names_its_prices_and_prints_its_arithmetic() -> None:
    out = capacity.model(FIXED)
    assert out["prices"]["region"] == "us-east-1" and out["prices"]["as_of"] == capacity.PRICES_AS_OF
    text = "\n".join(capacity.report_lines(out))
    assert "One hot survey: 10,667 answers/s, limited by ledger partition" in text
    assert "A million answers: $5.73" in text
    assert "= 80,000" in text


def test_the_inputs_are_read_from_a_bench_run() -> None:
    row = {
        "ledger_writes_per_batch": 76.92,
        "day_tally_writes_per_batch": 5.0,
        "summary_writes_per_batch": 5.0,
        "read_requests_per_batch_last_tenth": 2.0,
        "batch_ms_median": 400.0,
        "answers": 1000,  # 13 batches, the last one of 40
        "batches": 13,
    }
    mixed = {
        "ledger_writes_per_batch": 100.0,
        "pending_delta_writes_per_batch": 169.52,
        "day_tally_writes_per_batch": 169.52,
        "summary_writes_per_batch": 169.52,
    }
    results = {
        "machine": {"date": "2026-12-02"},
        "aggregator": {"one hot survey, batches of 80": row, "50 surveys x 5 segments": mixed},
        "item_sizes": {
            "nps, batches of 90": {
                "largest_score_item_bytes": 115,
                "wcu_per_answer": 2.64,
                "largest_ledger_entry_bytes": 379,
            }
        },
        "timings": {"api_answer_ms": 20.0, "api_page_ms": 10.0, "response_item_bytes": 900},
    }
    measured = capacity.measured_from(results)
    # 2 × (100 ledger + 2 × 169.52 pending deltas put and deleted + 2 × 169.52 day and month
    # tallies + 169.52 totals) ÷ 100 answers
    assert measured.mixed_scores_wcu_per_answer == 18.95
    fixed = {**capacity.model(FIXED)["inputs"], "mixed_scores_wcu_per_answer": 18.95, "pending_bytes": 115}
    assert measured == Measured(**{**fixed, "source": measured.source})

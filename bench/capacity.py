"""The capacity and cost model (docs/scale.md#capacity-and-cost-model), computed from measured figures.

`model(Measured(...))` is a pure function: it turns the request and item counts, item sizes
and handler durations that `make bench` measures into the answers per second one survey and
one table sustain on real DynamoDB (and which limit binds), and the cost of a million answers
at AWS list prices. Every figure carries the arithmetic that produced it, so a change that
adds a request, a write or a millisecond shows up as a number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

# ---- AWS list prices, us-east-1 --------------------------------------------------------------
# As published on the AWS pricing pages in January 2025 (the last time they were read; this
# workplace has no network to check them again). Free tiers are left out.
PRICES_AS_OF = "2025-01"
PRICES_REGION = "us-east-1"
API_GATEWAY_HTTP_PER_MILLION = 1.00  # HTTP API, first 300 million requests a month
LAMBDA_PER_MILLION_REQUESTS = 0.20
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334  # arm64 (chalice.json lambda_architecture)
DYNAMODB_PER_MILLION_WRU = 0.625  # on-demand, standard table class
DYNAMODB_PER_MILLION_RRU = 0.125
DYNAMODB_STREAMS_PER_100K_READS = 0.02  # not charged when Lambda's event source mapping reads
SQS_STANDARD_PER_MILLION = 0.40
SQS_FIFO_PER_MILLION = 0.50
SES_PER_1000_EMAILS = 0.10
SNS_SMS_US_PER_MESSAGE = 0.00581  # base price of one US message; carrier fees come on top

# ---- DynamoDB's documented limits -------------------------------------------------------------
PARTITION_WCU_PER_SECOND = 1000  # per partition key (and so per item)
# SQS FIFO: per partition (a message group lives on one), 300 calls/s per API action (send,
# receive, delete), each carrying up to 10 messages; Lambda hands a group one batch at a time.
FIFO_CALLS_PER_SECOND = 300
FIFO_BATCH = 10
SERIAL_SHARE = 1 / 2  # one consumer planned at half its rate: its queue stays short
TABLE_ON_DEMAND_WRU_PER_SECOND = 40_000  # default per-table on-demand maximum (a raisable quota)
SAFE_SHARE = 1 / 3  # headroom: no key or item planned above a third of its limit
KB = 1024
RRU_ITEM = 4096  # a read unit covers 4 KB


def wcu(size_bytes: int, transactional: bool = False) -> int:
    """Write units of one item: 1 per KB started, twice that inside a transaction."""
    return max(1, math.ceil(size_bytes / KB)) * (2 if transactional else 1)


@dataclass(frozen=True)
class Measured:
    """What `make bench` counts and measures (bench/results.json), and the deployed settings."""

    fill: int  # answers per stream batch as deployed (BatchSize)
    segments_per_answer: int  # segments one answer counts in (all, its channel, its touchpoint)
    segments_per_batch: float  # distinct segments one hot survey's batch touches
    ledger_entries_per_answer: float  # ledger entries one answer writes (hot survey)
    ledger_entry_bytes: int
    tally_bytes: int  # the largest day/month tally or total written
    response_item_bytes: int  # an answered item of the responses table
    aggregator_reads_per_batch: float  # requests
    aggregator_ledger_reads_per_answer: float  # items read by consistent BatchGetItem
    scores_wcu_per_answer: float  # measured at a batch fill near `fill`
    mixed_scores_wcu_per_answer: float  # 50 surveys in one stream: small fills per survey
    api_answer_ms: float  # handler duration of recording an answer (median)
    api_page_ms: float  # handler duration of rendering a landing page (median)
    aggregator_batch_ms: float  # handler duration of one full batch (median)
    http_requests_per_answer: int = 2  # the landing page, then the form's POST
    lambda_memory_mb: int = 512
    parallelization_factor: int = 1
    transaction_ms: float = 30.0  # assumed latency of a TransactWriteItems of ~100 items on DynamoDB
    pending_bytes: int = 0  # the largest pending delta item (0: a tally and its key, ~150 B more)
    writer_batch_ms: float = 0.0  # the tally writer's handler duration per batch of messages (median)
    ledger_keys: int = 64  # a day's ledger keys per survey (functions/store/scores.py)
    pending_keys: int = 16  # a survey's pending-delta keys
    listing_keys: int = 32  # a survey's by_survey index keys (functions/store/responses.py)
    sender_requests_per_email: float = 3.0  # DynamoDB requests per scheduled email (bench_sending)
    sqs_requests_per_email: float = 3.0  # send, receive, delete (unbatched: an upper bound)
    source: str = ""
    notes: list[str] = field(default_factory=list)


def _limit(
    name: str, per_second: float, arithmetic: str, what: str, share: float = SAFE_SHARE
) -> dict[str, Any]:
    """One limit: its ceiling, and the planning figure (a third of a DynamoDB key's, half of a
    single consumer's) in `at_a_third`."""
    return {
        "limit": name,
        "answers_per_second": round(per_second),
        "at_a_third": round(per_second * share),
        "planned_share": round(share, 3),
        "arithmetic": arithmetic,
        "what": what,
    }


def one_survey(m: Measured) -> dict[str, Any]:
    """Answers/s one hot survey sustains, per limit; the smallest planning figure binds.

    Stage 1 (an aggregator per stream shard) writes ledger entries and pending deltas under
    spread keys and no shared item, so shards never conflict; stage 2 (one tally writer per
    survey, a FIFO message group) writes the tallies once per batch of messages
    (docs/scale.md).
    """
    P = PARTITION_WCU_PER_SECOND
    ledger = wcu(m.ledger_entry_bytes, transactional=True) * m.ledger_entries_per_answer
    tally = wcu(m.tally_bytes, transactional=True)
    pending = wcu(m.pending_bytes or m.tally_bytes + 150, transactional=True)
    response = wcu(m.response_item_bytes)
    per_shard = m.fill * m.parallelization_factor * 1000 / m.aggregator_batch_ms
    writer_answers = FIFO_BATCH * m.fill  # answers one tally-writer transaction carries, when busy
    # a pending delta per touched segment and batch, put by stage 1 and deleted by stage 2
    pending_per_answer = m.segments_per_batch * 2 * pending / m.fill
    writer_rate = writer_answers * 1000 / m.transaction_ms
    limits = [
        _limit(
            f"ledger partition L#<tenant>#<survey>#<day>#<0..{m.ledger_keys - 1}>",
            P * m.ledger_keys / ledger,
            f"{P} WCU/s × {m.ledger_keys} keys ÷ ({wcu(m.ledger_entry_bytes, True)} WCU × "
            f"{m.ledger_entries_per_answer:g} entries per answer) = {P * m.ledger_keys / ledger:,.0f}",
            "every answer writes its entry inside a transaction, under one of the day's keys "
            "(a hash of its code)",
        ),
        _limit(
            f"by_survey index partition <tenant>#<survey>#<0..{m.listing_keys - 1}>",
            P * m.listing_keys / response,
            f"{P} WCU/s × {m.listing_keys} keys ÷ {response} WCU per answered item "
            f"({m.response_item_bytes:,} B) = {P * m.listing_keys / response:,.0f}",
            "every answer rewrites its item in the index (all attributes projected) under one of "
            "the survey's keys (a hash of its code); a listing merges them",
        ),
        _limit(
            f"pending-delta partition P#<survey>#<0..{m.pending_keys - 1}>",
            P * m.pending_keys / pending_per_answer,
            f"{P} WCU/s × {m.pending_keys} keys ÷ ({m.segments_per_batch:g} deltas per batch × "
            f"({pending} WCU put + {pending} WCU delete) ÷ {m.fill} answers) = "
            f"{P * m.pending_keys / pending_per_answer:,.0f}",
            "each batch's transaction puts a delta per touched segment; the tally writer deletes it",
        ),
        _limit(
            "totals partition T#<survey>",
            P * writer_answers / (m.segments_per_batch * tally),
            f"{P} WCU/s × {writer_answers} answers per tally-writer transaction ({FIFO_BATCH} "
            f"messages × {m.fill}) ÷ ({m.segments_per_batch:g} totals × {tally} WCU) = "
            f"{P * writer_answers / (m.segments_per_batch * tally):,.0f}",
            "only the tally writer writes totals: once per segment and transaction",
        ),
        _limit(
            "hot tally item (today's day tally of `all`, its month, its total)",
            P * writer_answers / tally,
            f"{P} WCU/s × {writer_answers} answers per tally-writer transaction ÷ {tally} WCU "
            f"= {P * writer_answers / tally:,.0f}",
            "written once per tally-writer transaction",
        ),
        _limit(
            "the survey's tally writer (one at a time)",
            writer_rate,
            f"{FIFO_BATCH} messages × {m.fill} answers × 1000 ms ÷ {m.transaction_ms:g} ms per "
            f"transaction (assumed; it reads nothing) = {writer_rate:,.0f}",
            "a FIFO message group has one consumer: planned at half its rate",
            SERIAL_SHARE,
        ),
        _limit(
            "the survey's FIFO message group (sends)",
            FIFO_CALLS_PER_SECOND * m.fill,
            f"{FIFO_CALLS_PER_SECOND} SendMessageBatch calls/s per group × {m.fill} answers per "
            f"call (one per stream batch) = {FIFO_CALLS_PER_SECOND * m.fill:,.0f}",
            "receives and deletes are 10 times fewer (a batch of 10 messages each)",
            SERIAL_SHARE,
        ),
    ]
    binding = min(limits, key=lambda row: row["at_a_third"])
    sustained = binding["at_a_third"]
    return {
        "limits": limits,
        "binding": binding["limit"],
        "sustains_answers_per_second": sustained,
        "ceiling_answers_per_second": binding["answers_per_second"],
        "transaction_conflicts": "none across shards: stage 1 writes no item another shard writes",
        "stream_shards_needed": math.ceil(sustained / per_shard),
        "per_shard_answers_per_second": round(per_shard),
        "per_shard_arithmetic": (
            f"{m.fill} answers per batch × {m.parallelization_factor} batch(es) in flight × 1000 ms ÷ "
            f"{m.aggregator_batch_ms:g} ms per batch (measured on the emulator) = {per_shard:,.0f}"
        ),
    }


def one_table(m: Measured) -> dict[str, Any]:
    """Answers/s one stack sustains over many surveys (no survey hot): the table-wide limits."""
    response = wcu(m.response_item_bytes) * 2  # the item, and its copy in the by_survey index
    per_shard = m.fill * m.parallelization_factor * 1000 / m.aggregator_batch_ms
    limits = [
        _limit(
            "responses table on-demand maximum",
            TABLE_ON_DEMAND_WRU_PER_SECOND / response,
            f"{TABLE_ON_DEMAND_WRU_PER_SECOND:,} WRU/s ÷ {response} WRU per answer (item + index) = "
            f"{TABLE_ON_DEMAND_WRU_PER_SECOND / response:,.0f}",
            "the per-table quota (raisable on request)",
        ),
        _limit(
            "scores table on-demand maximum",
            TABLE_ON_DEMAND_WRU_PER_SECOND / m.mixed_scores_wcu_per_answer,
            f"{TABLE_ON_DEMAND_WRU_PER_SECOND:,} WRU/s ÷ {m.mixed_scores_wcu_per_answer:g} WCU per answer "
            f"(50 surveys sharing batches) = "
            f"{TABLE_ON_DEMAND_WRU_PER_SECOND / m.mixed_scores_wcu_per_answer:,.0f}",
            "the per-table quota (raisable on request)",
        ),
    ]
    binding = min(limits, key=lambda row: row["answers_per_second"])
    sustained = binding["answers_per_second"]
    return {
        "limits": limits,
        "binding": binding["limit"],
        "sustains_answers_per_second": sustained,
        "stream_shards_needed": math.ceil(sustained / per_shard),
        "shards_arithmetic": (
            f"{sustained:,} answers/s ÷ {per_shard:,.0f} per shard = "
            f"{math.ceil(sustained / per_shard)} shards "
            "(one per responses-table partition; on demand adds partitions as traffic grows, and "
            "each shard runs one aggregator at a time)"
        ),
    }


def _line(what: str, usd: float, arithmetic: str) -> dict[str, Any]:
    return {"what": what, "usd": round(usd, 4), "arithmetic": arithmetic}


def cost_per_million_answers(m: Measured) -> dict[str, Any]:
    """US dollars for a million answers (no invitation sending), at the list prices above."""
    million = 1_000_000
    gb = m.lambda_memory_mb / 1024
    api_seconds = (m.api_page_ms + m.api_answer_ms) / 1000
    batches = million / m.fill
    writer_batches = million / (FIFO_BATCH * m.fill)  # a hot survey's: through the tally writer
    sqs_requests = batches + 2 * writer_batches
    write_units = 2 * wcu(m.response_item_bytes) + m.scores_wcu_per_answer
    read_units = 0.5 + m.aggregator_ledger_reads_per_answer + m.aggregator_reads_per_batch / m.fill
    lines = [
        _line(
            "API Gateway (HTTP API)",
            m.http_requests_per_answer * API_GATEWAY_HTTP_PER_MILLION,
            f"{m.http_requests_per_answer} requests × ${API_GATEWAY_HTTP_PER_MILLION:.2f} per million",
        ),
        _line(
            "Lambda, API requests",
            m.http_requests_per_answer * LAMBDA_PER_MILLION_REQUESTS,
            f"{m.http_requests_per_answer} invocations × ${LAMBDA_PER_MILLION_REQUESTS:.2f} per million",
        ),
        _line(
            "Lambda, API duration",
            million * gb * api_seconds * LAMBDA_ARM_PER_GB_SECOND,
            f"1M × {gb:g} GB × ({m.api_page_ms:g} + {m.api_answer_ms:g}) ms × "
            f"${LAMBDA_ARM_PER_GB_SECOND} per GB-s",
        ),
        _line(
            "Lambda, aggregator",
            batches
            * (
                LAMBDA_PER_MILLION_REQUESTS / million
                + gb * m.aggregator_batch_ms / 1000 * LAMBDA_ARM_PER_GB_SECOND
            ),
            f"1M ÷ {m.fill} = {batches:,.0f} batches × (${LAMBDA_PER_MILLION_REQUESTS:.2f} per million + "
            f"{gb:g} GB × {m.aggregator_batch_ms:g} ms × ${LAMBDA_ARM_PER_GB_SECOND} per GB-s)",
        ),
        _line(
            "Lambda, tally writer",
            writer_batches
            * (
                LAMBDA_PER_MILLION_REQUESTS / million
                + gb * m.writer_batch_ms / 1000 * LAMBDA_ARM_PER_GB_SECOND
            ),
            f"1M ÷ ({FIFO_BATCH} messages × {m.fill}) = {writer_batches:,.0f} batches × "
            f"(${LAMBDA_PER_MILLION_REQUESTS:.2f} per million + {gb:g} GB × {m.writer_batch_ms:g} ms × "
            f"${LAMBDA_ARM_PER_GB_SECOND} per GB-s)",
        ),
        _line(
            "SQS FIFO (scores queue)",
            sqs_requests * SQS_FIFO_PER_MILLION / million,
            f"{batches:,.0f} sends + {writer_batches:,.0f} receives + {writer_batches:,.0f} deletes = "
            f"{sqs_requests:,.0f} requests × ${SQS_FIFO_PER_MILLION:.2f} per million",
        ),
        _line(
            "DynamoDB writes",
            write_units * DYNAMODB_PER_MILLION_WRU,
            f"({wcu(m.response_item_bytes)} answer UpdateItem + {wcu(m.response_item_bytes)} by_survey "
            f"index + {m.scores_wcu_per_answer:g} scores) = {write_units:g} WRU per answer × "
            f"${DYNAMODB_PER_MILLION_WRU} per million",
        ),
        _line(
            "DynamoDB reads",
            read_units * DYNAMODB_PER_MILLION_RRU,
            f"(0.5 page GetItem + {m.aggregator_ledger_reads_per_answer:g} ledger entry read + "
            f"{m.aggregator_reads_per_batch:g} requests per batch ÷ {m.fill}) = {read_units:.3f} RRU "
            "per answer × "
            f"${DYNAMODB_PER_MILLION_RRU} per million",
        ),
        _line("DynamoDB Streams", 0.0, "read by Lambda's event source mapping: not charged"),
    ]
    return {"lines": lines, "total_usd": round(sum(line["usd"] for line in lines), 2)}


def cost_per_million_invitations(m: Measured) -> dict[str, Any]:
    """US dollars for sending a million invitations, by email and by SMS (on top of answers)."""
    million = 1_000_000
    dynamodb = m.sender_requests_per_email * DYNAMODB_PER_MILLION_WRU  # ≤ 1 KB writes/reads: ≤ 1 unit each
    sqs = m.sqs_requests_per_email * SQS_STANDARD_PER_MILLION
    email = million / 1000 * SES_PER_1000_EMAILS
    sms = million * SNS_SMS_US_PER_MESSAGE
    return {
        "email_usd": round(email + dynamodb + sqs, 2),
        "email_arithmetic": (
            f"SES 1,000 × ${SES_PER_1000_EMAILS:.2f} = ${email:,.2f}; DynamoDB ≤ "
            f"{m.sender_requests_per_email:g} units × ${DYNAMODB_PER_MILLION_WRU} = ${dynamodb:.2f}; "
            f"SQS ≤ {m.sqs_requests_per_email:g} requests × "
            f"${SQS_STANDARD_PER_MILLION:.2f} = ${sqs:.2f}"
        ),
        "sms_usd": round(sms + dynamodb + sqs, 2),
        "sms_arithmetic": (
            f"SNS 1M × ${SNS_SMS_US_PER_MESSAGE} = ${sms:,.2f} (US, before carrier fees) "
            "+ the same DynamoDB and SQS"
        ),
    }


def model(m: Measured) -> dict[str, Any]:
    return {
        "inputs": asdict(m),
        "prices": {
            "as_of": PRICES_AS_OF,
            "region": PRICES_REGION,
            "api_gateway_http_per_million": API_GATEWAY_HTTP_PER_MILLION,
            "lambda_per_million_requests": LAMBDA_PER_MILLION_REQUESTS,
            "lambda_arm_per_gb_second": LAMBDA_ARM_PER_GB_SECOND,
            "dynamodb_per_million_wru": DYNAMODB_PER_MILLION_WRU,
            "dynamodb_per_million_rru": DYNAMODB_PER_MILLION_RRU,
            "dynamodb_streams_per_100k_reads": DYNAMODB_STREAMS_PER_100K_READS,
            "sqs_standard_per_million": SQS_STANDARD_PER_MILLION,
            "ses_per_1000_emails": SES_PER_1000_EMAILS,
            "sns_sms_us_per_message": SNS_SMS_US_PER_MESSAGE,
        },
        "one_survey": one_survey(m),
        "one_table": one_table(m),
        "cost_per_million_answers": cost_per_million_answers(m),
        "cost_per_million_invitations": cost_per_million_invitations(m),
    }


def measured_from(results: dict[str, Any]) -> Measured:
    """The model's inputs from a bench run's results (bench/run.py)."""
    deployed = results["aggregator"]["one hot survey, batches of 80"]
    mixed = results["aggregator"]["50 surveys x 5 segments"]
    sizes = results["item_sizes"]
    nps = sizes["nps, batches of 90"]
    timings = results["timings"]
    fill = 80
    # WCU per answer with 50 surveys in one stream: each batch of 100 holds ~2 answers per
    # survey, so every item it writes is one transactional write of ≤ 1 KB (NPS).
    # Stage 1: the ledger entries and a pending delta per (survey, segment, day); stage 2: the
    # day and month tallies and the total it moves, and the delete of each pending delta.
    mixed_items = (
        mixed["ledger_writes_per_batch"]
        + 2 * mixed.get("pending_delta_writes_per_batch", 0)
        + 2 * mixed["day_tally_writes_per_batch"]
        + mixed["summary_writes_per_batch"]
    )
    # (the last batch of a run may be partial: count per answer, not per full batch)
    entries_per_answer = round(
        deployed["ledger_writes_per_batch"] * deployed["batches"] / deployed["answers"], 4
    )
    return Measured(
        fill=fill,
        segments_per_answer=3,
        segments_per_batch=deployed["summary_writes_per_batch"],
        ledger_entries_per_answer=entries_per_answer,
        ledger_entry_bytes=nps["largest_ledger_entry_bytes"],
        tally_bytes=nps["largest_score_item_bytes"],
        pending_bytes=nps["largest_score_item_bytes"],
        response_item_bytes=timings["response_item_bytes"],
        aggregator_reads_per_batch=deployed["read_requests_per_batch_last_tenth"],
        aggregator_ledger_reads_per_answer=entries_per_answer,
        scores_wcu_per_answer=nps["wcu_per_answer"],
        mixed_scores_wcu_per_answer=round(2 * mixed_items / 100, 2),
        api_answer_ms=timings["api_answer_ms"],
        api_page_ms=timings["api_page_ms"],
        aggregator_batch_ms=deployed["batch_ms_median"],
        writer_batch_ms=deployed.get("tally_writer_ms_median", 0.0),
        source=f"make bench on {results['machine']['date']} (durations on moto, not DynamoDB)",
    )


def report_lines(out: dict[str, Any]) -> list[str]:
    """The model as `make bench` prints it, arithmetic included."""
    lines = [f"Capacity and cost model (prices {out['prices']['region']}, {out['prices']['as_of']})"]
    for scope, title in (("one_survey", "One hot survey"), ("one_table", "One table, many surveys")):
        part = out[scope]
        lines.append(
            f"  {title}: {part['sustains_answers_per_second']:,} answers/s, limited by {part['binding']}"
        )
        for row in part["limits"]:
            lines.append(
                f"    {row['limit']:<62} {row['answers_per_second']:>8,}/s  "
                f"planned: {row['at_a_third']:>7,}/s   "
                f"{row['arithmetic']}"
            )
        lines.append(f"    stream shards needed: {part['stream_shards_needed']}")
    cost = out["cost_per_million_answers"]
    lines.append(f"  A million answers: ${cost['total_usd']:,.2f}")
    for line in cost["lines"]:
        lines.append(f"    {line['what']:<26} ${line['usd']:>9,.2f}   {line['arithmetic']}")
    sends = out["cost_per_million_invitations"]
    lines.append(f"  A million invitations: email ${sends['email_usd']:,.2f} ({sends['email_arithmetic']})")
    lines.append(f"                         SMS ${sends['sms_usd']:,.2f} ({sends['sms_arithmetic']})")
    return lines

"""Many shards, one hot survey: 16 aggregator processes on DynamoDB Local, conflicts emulated.

In AWS a stream has a shard per table partition and Lambda runs one aggregator per shard, so a
campaign's answers to one survey arrive on many shards at once. This scenario (docs/benchmarks.md,
"Many shards, one hot survey"):

1. creates one NPS survey and N invitations over 2 channels × 2 touchpoints through the API
   (in-process), and answers each through the real answer path (`logic.answers.record`), so
   the responses table and its stream hold what production would;
2. reads the stream (invitations and answers), splits its records into `shards` shards by a
   hash of the item key (an item's records stay in order on one shard, as in DynamoDB
   Streams), and runs one OS process per shard (multiprocessing, spawn) that feeds its records
   in batches of 80 to `functions.aggregator.handler.handle_stream_event`, as Lambda does: a
   batch whose handler raises or reports failures is retried, and counted lost after
   `MAX_TRIES`;
3. runs the second stage, the tally writer (`infra.local.stack.make_tally_writer`, one
   consumer of the scores FIFO queue, as Lambda gives each survey's message group one at a
   time), beside the aggregators, and drains what it has left once they are done;
4. checks every window and segment through the score API against the scores the answers make,
   and runs `hark verify`'s check for the survey.

Every aggregator's DynamoDB request goes through `infra.local.conflicts.ConflictProxy`, which
emulates DynamoDB's transaction-conflict rule and counts transactions, refusals and write units.

    .venv/bin/python bench/contention.py --answers 2000     # alone, with its own emulators
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra.local import stack  # noqa: E402

SHARDS = 16
BATCH = 80  # the deployed stream mapping's batch size (infra/template.py)
MAX_TRIES = 10  # tries of one batch before it counts as lost
CHANNELS = ("email", "link")
TOUCHPOINTS = ("delivery", "support")
DYNAMODB_ENDPOINTS = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS")
Log = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


# ---- the stack: moto (SQS, SSM) beside DynamoDB Local, as tests/conftest.py assembles it ----------


@dataclass
class LocalStack:
    stream_arn: str
    queue_url: str
    stop: Callable[[], None]


@contextmanager
def dynamodb_local_stack() -> Iterator[LocalStack]:
    """moto for SQS and SSM, DynamoDB Local for DynamoDB and its stream, the real tables."""
    from infra.local import dynamodb_local

    reason = dynamodb_local.unavailable()
    if reason:
        raise RuntimeError(reason)
    stack.use_emulator_credentials()
    server, endpoint = stack.start_moto()
    ddb = dynamodb_local.start()
    try:
        env = stack.stage_environment("dev")
        env.update(
            AWS_ENDPOINT_URL=endpoint,
            HARK_SIGNING_KEYS=stack.new_signing_keys(),
            HARK_PUBLIC_BASE_URL="http://localhost:8000",
            HARK_RATE_PER_ADDRESS="0",
            HARK_RATE_PER_LINK="0",
        )
        env.update(dict.fromkeys(DYNAMODB_ENDPOINTS, ddb.endpoint))
        stack.apply_settings(env)
        stream, queue = stack.create_tables_and_queue()
        yield LocalStack(stream, queue, lambda: None)
    finally:
        ddb.stop()
        server.stop()
        for name in DYNAMODB_ENDPOINTS:
            os.environ.pop(name, None)


# ---- the answers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    code: str
    channel: str
    touchpoint: str
    score: int


def make_answers(api: Any, answers: int, log: Log, seed: int = 22) -> tuple[str, str, list[Answered]]:
    """A tenant, a survey (follow-ups off: their openings write records this run does not feed)
    and `answers` answered invitations; (API key, survey id, the answers)."""
    from bench.run import _path
    from functions import telemetry
    from functions.logic import answers as answer_logic
    from functions.logic.tenants import create_tenant

    rng = random.Random(seed)
    key = create_tenant("Contention")["api_key"]
    body = {
        "name": "Campaign",
        "kind": "nps",
        "question": "Recommend us?",
        "follow_up_rule": {"enabled": False},
    }
    created = api.call("POST", "/v1/surveys", key, body)
    assert created.status_code == 201, created.body
    survey = json.loads(created.body)["id"]
    made: list[tuple[str, str, str]] = []
    for start in range(0, answers, 1000):
        recipients = [
            {"customer_id": f"c{n}", "channel": rng.choice(CHANNELS), "touchpoint": rng.choice(TOUCHPOINTS)}
            for n in range(start, min(answers, start + 1000))
        ]
        out = api.call("POST", f"/v1/surveys/{survey}/invitations", key, {"recipients": recipients})
        invitations = json.loads(out.body)["invitations"]
        assert len(invitations) == len(recipients), out.body
        for invitation in invitations:
            row = recipients[invitation["index"]]
            made.append((_path(invitation["url"]), row["channel"], row["touchpoint"]))
        log(f"  invitations {len(made):,}/{answers:,}")
    scores = [rng.randrange(11) for _ in made]

    def answer(at: int) -> Answered:
        path, channel, touchpoint = made[at]
        code = answer_logic.code_from_token(path.rsplit("/", 1)[1])
        answer_logic.record(code, {"score": str(scores[at])})
        # The API publishes an answer's metric per request; metrics are off locally, and left to
        # pile up Powertools would print them every 100 answers.
        telemetry.metrics().clear_metrics()
        return Answered(code, channel, touchpoint, scores[at])

    out_answers: list[Answered] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for done, answered in enumerate(pool.map(answer, range(len(made))), 1):
            out_answers.append(answered)
            if done % 2000 == 0 or done == len(made):
                log(f"  answers {done:,}/{len(made):,}")
    return key, survey, out_answers


def stream_records(stream_arn: str, queue_url: str, survey: str) -> list[dict[str, Any]]:
    """Every stream record of `survey`'s items, in stream order, shaped as Lambda delivers them
    (read with the local stand-in for Lambda's mapping, which follows shards as Lambda does)."""
    from functions.store import streams

    found: list[dict[str, Any]] = []

    def collect(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        for record in event["Records"]:
            image = streams.new_image(record) or streams.old_image(record) or {}
            if image.get("survey_id") == survey:
                found.append(record)
        return {"batchItemFailures": []}

    poller = stack.make_poller(stream_arn, queue_url, collect, batch_size=1000)
    while poller.poll_once():
        pass
    return found


def shard_of(record: dict[str, Any], shards: int) -> int:
    """A stable shard for an item's records (DynamoDB Streams keeps one item on one shard)."""
    key = json.dumps(record["dynamodb"]["Keys"], sort_keys=True)
    return zlib.crc32(key.encode()) % shards


# ---- one aggregator per shard ---------------------------------------------------------------


def feed_shard(
    shard: int,
    records: list[dict[str, Any]],
    env: dict[str, str],
    batch: int,
    start: Any,
    done_batches: Any,
    results: Any,
) -> None:
    """One shard's aggregator (an OS process): its records in batches, retried as Lambda retries."""
    import logging

    logging.disable(logging.CRITICAL)  # a retried batch is counted, not logged 16 times over
    stack.apply_settings(env)
    from functions.aggregator.handler import handle_stream_event

    out: dict[str, Any] = {"shard": shard, "batches": 0, "retries": 0, "lost": 0, "most_tries": 0}
    out["errors"] = Counter[str]()
    # A warm start, as Lambda's aggregators are mid-campaign: an empty batch loads what the
    # handler imports on first use, so the shards start their first batches together.
    handle_stream_event({"Records": []})
    start.wait()
    began = time.perf_counter()
    for at in range(0, len(records), batch):
        pending = records[at : at + batch]
        tries = 0
        while pending and tries < MAX_TRIES:
            tries += 1
            try:
                failed = {
                    f["itemIdentifier"]
                    for f in handle_stream_event({"Records": pending})["batchItemFailures"]
                }
            except Exception as exc:  # the whole batch is retried, as Lambda retries it
                out["errors"][type(exc).__name__] += 1
                failed = {pending[0]["dynamodb"]["SequenceNumber"]}
            sequence = [r["dynamodb"]["SequenceNumber"] for r in pending]
            first = min((sequence.index(s) for s in failed if s in sequence), default=None)
            pending = [] if first is None else pending[first:]
            if pending:
                time.sleep(min(0.05 * 2**tries, 0.5))  # the local mapping's back-off (infra/local/poller.py)
        out["batches"] += 1
        out["retries"] += tries - 1
        out["most_tries"] = max(out["most_tries"], tries)
        out["lost"] += bool(pending)
        with done_batches.get_lock():
            done_batches.value += 1
    out["seconds"] = time.perf_counter() - began
    out["errors"] = dict(out["errors"])
    results.put(out)


def run_shards(
    records: list[dict[str, Any]], shards: int, batch: int, endpoint: str, proxy: Any, log: Log
) -> tuple[list[dict[str, Any]], float]:
    """Run one aggregator process per shard, all starting together; (their reports, wall seconds)."""
    by_shard: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_shard[shard_of(record, shards)].append(record)
    total = sum(math.ceil(len(rs) / batch) for rs in by_shard.values())
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(by_shard) + 1)
    done_batches = context.Value("i", 0)
    results = context.Queue()
    env = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "HARK_", "POWERTOOLS_"))}
    env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
    processes = [
        context.Process(
            target=feed_shard,
            args=(shard, rs, env, batch, start, done_batches, results),
            name=f"aggregator-{shard}",
            daemon=True,
        )
        for shard, rs in sorted(by_shard.items())
    ]
    for process in processes:
        process.start()
    start.wait(timeout=300)  # every process has imported the handler
    began = time.perf_counter()
    reports: list[dict[str, Any]] = []
    last = 0.0
    while len(reports) < len(processes):
        try:
            reports.append(results.get(timeout=1.0))
        except Exception:  # queue.Empty: still running
            if not any(p.is_alive() for p in processes) and results.empty():
                raise RuntimeError("an aggregator process died without reporting") from None
        if time.perf_counter() - last >= 3 or len(reports) == len(processes):
            last = time.perf_counter()
            counts = proxy.counts()
            log(
                f"  stage 1: {done_batches.value}/{total} batches, {len(reports)}/{len(processes)} shards "
                f"done, {counts['transactions_committed']} commits of "
                f"{counts['transactions_attempted']} transactions ({counts['transactions_conflicted']} "
                f"conflicts), {time.perf_counter() - began:.0f} s"
            )
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join(timeout=30)
    return reports, elapsed


class StageTwo:
    """The tally writer (stage 2, docs/scale.md) running beside the aggregators, as Lambda runs
    it, through the proxy; `finish` drains what is left once the aggregators are done and
    returns those seconds (None when the local stack has no second stage)."""

    def __init__(self, proxy_endpoint: str, log: Log) -> None:
        self.proxy_endpoint, self.log = proxy_endpoint, log
        self.worker: Any = None
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> StageTwo:
        make = getattr(stack, "make_tally_writer", None)
        if make is None:
            return self
        self.upstream = {name: os.environ[name] for name in DYNAMODB_ENDPOINTS}
        stack.apply_settings({"AWS_ENDPOINT_URL_DYNAMODB": self.proxy_endpoint})
        self.worker = make()

        def run() -> None:
            while not self.stop.is_set():
                self.worker.poll_once(wait_seconds=1)

        self.thread = threading.Thread(target=run, name="tally-writer", daemon=True)
        self.thread.start()
        return self

    def finish(self) -> float | None:
        if self.worker is None:
            return None
        began = time.perf_counter()
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=30)
        rounds = 0
        while self.worker.drain():
            rounds += 1
            if rounds % 10 == 0:
                self.log(f"  stage 2: {rounds} rounds, {time.perf_counter() - began:.0f} s")
        return time.perf_counter() - began

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.worker is not None:
            stack.apply_settings(self.upstream)


# ---- exact? -----------------------------------------------------------------------------------


def expected_counts(answers: list[Answered]) -> dict[str, Counter[int]]:
    """segment → answers per score point."""
    out: dict[str, Counter[int]] = defaultdict(Counter)
    for a in answers:
        for segment in ("all", f"channel:{a.channel}", f"touchpoint:{a.touchpoint}"):
            out[segment][a.score] += 1
    return out


def check_scores(api: Any, key: str, survey: str, answers: list[Answered]) -> list[str]:
    """Every window and segment through the score API against the answers; the differences."""
    from functions.domain.scoring import rounded
    from functions.domain.windows import WINDOWS

    problems: list[str] = []
    for segment, counts in sorted(expected_counts(answers).items()):
        n = sum(counts.values())
        promoters = counts[9] + counts[10]
        detractors = sum(counts[p] for p in range(7))
        want = {
            "responses": n,
            "invited": n,
            "counts": {str(p): counts[p] for p in range(11)},
            "nps": rounded(Fraction(100 * (promoters - detractors), n)),
        }
        for window in WINDOWS:
            out = api.call("GET", f"/v1/surveys/{survey}/scores?window={window}&segment={segment}", key)
            have = json.loads(out.body)
            got = {name: have.get(name) for name in want}
            if out.status_code != 200 or got != want:
                problems.append(f"{segment} {window}: expected {want}, read {got}")
    return problems


def verify_survey(survey: str) -> list[dict[str, Any]]:
    """`hark verify --survey`'s check: its drift (none when the stored tallies are exact)."""
    from functions.logic.rebuild import verify

    drift: list[dict[str, Any]] = verify(survey)["drift"]
    return drift


# ---- the scenario -------------------------------------------------------------------------------


def run(
    stream_arn: str,
    queue_url: str,
    answers: int,
    *,
    shards: int = SHARDS,
    batch: int = BATCH,
    hold_seconds: float | None = None,
    log: Log = _print,
) -> dict[str, Any]:
    """The scenario on the stack the environment names (DynamoDB Local); its figures."""
    from infra.local.conflicts import DEFAULT_HOLD_SECONDS, ConflictProxy
    from infra.local.in_process import InProcessApi

    hold = DEFAULT_HOLD_SECONDS if hold_seconds is None else hold_seconds
    api = InProcessApi.open()
    began = time.perf_counter()
    log(f"contention: {answers:,} answers to one survey, {shards} aggregator processes")
    key, survey, answered = make_answers(api, answers, log)
    records = stream_records(stream_arn, queue_url, survey)
    log(f"  stream: {len(records):,} records ({time.perf_counter() - began:.0f} s to make and read)")
    with ConflictProxy(os.environ["AWS_ENDPOINT_URL_DYNAMODB"], hold_seconds=hold) as proxy:
        with StageTwo(proxy.endpoint, log) as writer:
            reports, stage_one = run_shards(records, shards, batch, proxy.endpoint, proxy, log)
            after_one = proxy.counts()
            stage_two = writer.finish()
        counts = proxy.counts()
    problems = check_scores(api, key, survey, answered)
    verify_began = time.perf_counter()
    drift = verify_survey(survey)
    log(f"  checked every window and segment, and verify ({time.perf_counter() - verify_began:.1f} s)")
    attempted, committed = counts["transactions_attempted"], counts["transactions_committed"]
    units = counts["write_units"] + counts["write_units_refused"]
    errors: Counter[str] = Counter()
    for report in reports:
        errors.update(report["errors"])
    return {
        "answers": answers,
        "stream_records": len(records),
        "shards": len(reports),
        "batch_size": batch,
        "hold_ms": round(hold * 1000, 1),
        "batches": sum(r["batches"] for r in reports),
        "stage_one_seconds": round(stage_one, 2),
        "stage_two_seconds": None if stage_two is None else round(stage_two, 2),
        "answers_per_second": round(answers / stage_one, 1),
        "answers_per_second_with_stage_two": round(answers / (stage_one + (stage_two or 0)), 1),
        "transactions_attempted": attempted,
        "transactions_committed": committed,
        "attempts_per_commit": round(attempted / committed, 2) if committed else None,
        "conflicts": counts["transactions_conflicted"] + counts["single_writes_conflicted"],
        "transaction_conflicts": counts["transactions_conflicted"],
        "single_write_conflicts": counts["single_writes_conflicted"],
        "condition_refusals": counts["transactions_refused"] + counts["single_writes_refused"],
        "batch_retries": sum(r["retries"] for r in reports),
        "batches_retried_most_tries": max((r["most_tries"] for r in reports), default=0),
        "batches_lost": sum(r["lost"] for r in reports),
        "handler_errors": dict(errors),
        "single_writes": counts["single_writes"],
        "items_written": counts["items_written"],
        "write_units": units,
        "wcu_per_answer": round(units / answers, 2),
        "stage_one_transactions": after_one["transactions_attempted"],
        # how long DynamoDB Local took to apply a transaction it was sent (beside the hold)
        "dynamodb_local_ms_per_transaction": round(
            counts["transaction_upstream_ms"] / max(1, attempted - counts["transactions_conflicted"]), 1
        ),
        "requests": counts["requests"],
        "exact": not problems and not drift,
        "score_problems": problems[:5],
        "verify_drift": len(drift),
        "seconds": round(time.perf_counter() - began, 1),
    }


def report_lines(figures: dict[str, Any]) -> list[str]:
    """One line per figure, as `make bench` prints them."""
    f = figures
    stage_two = "none in this pipeline" if f["stage_two_seconds"] is None else f"{f['stage_two_seconds']} s"
    apc = f["attempts_per_commit"]
    met = "" if apc is not None and apc <= 1.2 else ": missed"
    return [
        f"Many shards, one hot survey ({f['shards']} aggregator processes on DynamoDB Local, "
        f"conflicts emulated, hold {f['hold_ms']} ms; DynamoDB Local applied a transaction in "
        f"{f.get('dynamodb_local_ms_per_transaction', '?')} ms)",
        f"  answers                      {f['answers']:,} ({f['stream_records']:,} stream records)",
        f"  shards                       {f['shards']} (batches of {f['batch_size']}: {f['batches']})",
        f"  answers/s, stage 1           {f['answers_per_second']} ({f['stage_one_seconds']} s)",
        f"  answers/s, with stage 2      {f['answers_per_second_with_stage_two']} (stage 2: {stage_two})",
        f"  transactions attempted       {f['transactions_attempted']:,}",
        f"  transactions committed       {f['transactions_committed']:,}",
        f"  attempts per commit          {apc} (target ≤ 1.2{met})",
        f"  conflicts                    {f['conflicts']:,} ({f['transaction_conflicts']:,} transactions, "
        f"{f['single_write_conflicts']:,} single writes)",
        f"  condition refusals           {f['condition_refusals']:,}",
        f"  batch retries                {f['batch_retries']:,} (most tries of one batch: "
        f"{f['batches_retried_most_tries']})",
        f"  batches lost                 {f['batches_lost']}",
        f"  WCU per answer               {f['wcu_per_answer']} ({f['write_units']:,} units)",
        f"  exact                        {'yes' if f['exact'] else 'NO'} (verify drift: {f['verify_drift']})",
    ]


def main(argv: list[str] | None = None) -> int:
    import logging

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--shards", type=int, default=SHARDS)
    parser.add_argument("--hold-ms", type=float, default=None, help="how long a transaction holds its items")
    parser.add_argument(
        "--write-results",
        action="store_true",
        help="also store the figures under 'contention' in bench/results.json (as `make bench` does)",
    )
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with dynamodb_local_stack() as local:
        figures = run(
            local.stream_arn,
            local.queue_url,
            args.answers,
            shards=args.shards,
            hold_seconds=None if args.hold_ms is None else args.hold_ms / 1000,
        )
    print("\n".join(report_lines(figures)))
    print(json.dumps(figures, indent=2))
    if args.write_results:
        from bench.run import RESULTS, machine

        results = json.loads(RESULTS.read_text())
        results["contention"] = figures | {"machine": machine()}
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(f"Written to {RESULTS.relative_to(ROOT)} under 'contention'")
    return 0


if __name__ == "__main__":
    sys.exit(main())

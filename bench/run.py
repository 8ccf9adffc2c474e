"""`make bench`: the costs that matter for a serverless survey API (docs/benchmarks.md, issue 8).

Prints a table and writes bench/results.json:
1. DynamoDB requests per operation, counted with botocore event hooks on the real code paths
   (the Chalice app in-process) against moto server;
2. aggregator writes per stream batch against the floor (distinct (survey, segment, day) keys);
3. cold import of each Lambda handler in fresh interpreters, as a ratio to a bare Chalice app
   that imports boto3 (median of 15+ runs, measured in the same run);
4. the local stack end to end: answers per second with 8 concurrent clients, click-to-score
   delay p50/p99 (emulator figures: moto is a Python emulator, not DynamoDB);
5. the size of the deployment zip;
6. many shards, one hot survey: 16 aggregator processes on DynamoDB Local with DynamoDB's
   transaction-conflict rule emulated (bench/contention.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import capacity  # noqa: E402
from infra.local import loopback, stack  # noqa: E402
from infra.local.in_process import InProcessApi  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"


# ---- counting DynamoDB requests -------------------------------------------------------------


class RequestCounter:
    """Counts DynamoDB API calls made by the process-wide client by operation, and the items
    its write requests write by kind (ledger, day tally, summary, …: the store names them)."""

    def __init__(self) -> None:
        from functions.store.clients import client

        self.calls: Counter[str] = Counter()
        events = client("dynamodb").meta.events
        events.register("before-parameter-build.dynamodb.*", self._count)

    def _count(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        from functions.store.scores import items_written

        self.calls[model.name] += 1
        for kind in items_written(model.name, params):
            self.calls[f"writes {kind}"] += 1

    @contextmanager
    def measure(self) -> Iterator[Counter[str]]:
        before = Counter(self.calls)
        out: Counter[str] = Counter()
        yield out
        out.update(self.calls)
        out.subtract(before)
        for name in [k for k, v in out.items() if v == 0]:
            del out[name]


def settle_scores() -> int:
    """Stage 2: the tally writer applies every pending delta (docs/scale.md)."""
    return int(stack.make_tally_writer().drain())


def requests_of(calls: Counter[str]) -> dict[str, int]:
    """The API calls alone (not the item counts) of a measurement."""
    return {name: n for name, n in calls.items() if not name.startswith("writes ")}


def start_emulator() -> tuple[Any, str, str]:
    stack.use_emulator_credentials()
    server, endpoint = stack.start_moto()
    env = stack.stage_environment("dev")
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        HARK_SIGNING_KEYS=stack.new_signing_keys(),
        HARK_PUBLIC_BASE_URL="http://localhost:8000",
    )
    stack.apply_settings(env)
    stream, queue = stack.create_tables_and_queue()
    return server, stream, queue


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def bench_requests(api: InProcessApi, counter: RequestCounter, poller: Any) -> dict[str, Any]:
    """DynamoDB requests per user-facing operation."""
    from functions.logic.tenants import create_tenant

    key = create_tenant("Bench")["api_key"]
    survey = json.loads(
        api.call(
            "POST", "/v1/surveys", key, {"name": "Bench", "kind": "nps", "question": "Recommend us?"}
        ).body
    )
    recipients = [{"customer_id": f"c{i}", "touchpoint": "delivery"} for i in range(1000)]
    with counter.measure() as invite_calls:
        response = api.call(
            "POST", f"/v1/surveys/{survey['id']}/invitations", key, {"recipients": recipients}
        )
    invitations = json.loads(response.body)["invitations"]
    assert len(invitations) == 1000, response.body
    url = _path(invitations[0]["url"])
    with counter.measure() as page_calls:
        assert api.call("GET", url + "?score=9").status_code == 200
    with counter.measure() as answer_calls:
        assert api.call("POST", url, form={"score": "9"}).status_code == 303
    while poller.poll_once():
        pass
    settle_scores()
    timings = handler_timings(api, [_path(inv["url"]) for inv in invitations[1:21]])
    with counter.measure() as summary_calls:
        assert api.call("GET", f"/v1/surveys/{survey['id']}/scores?window=30d", key).status_code == 200
    today = datetime.now(UTC).date()
    trend_path = (
        f"/v1/surveys/{survey['id']}/trend?interval=week"
        f"&from={(today - timedelta(days=364)).isoformat()}&to={today.isoformat()}"
    )
    with counter.measure() as trend_calls:
        trend = api.call("GET", trend_path, key)
    rows = {
        name: (sum(requests_of(calls).values()), target, requests_of(calls))
        for name, target, calls in [
            ("record an answer", 1, answer_calls),
            ("render a landing page", 1, page_calls),
            # 30d: the key, survey and total, then the window's day and month tallies (docs/scale.md)
            ("read a score summary", 2, summary_calls),
            ("create 1,000 invitations", None, invite_calls),
        ]
    }
    if trend.status_code == 200:
        rows["read a year of trend"] = (sum(requests_of(trend_calls).values()), 2, requests_of(trend_calls))
    else:
        rows["read a year of trend"] = (None, 2, {"unavailable": trend.status_code})
    return {
        name: {"requests": n, "target": target, "by_operation": ops}
        for name, (n, target, ops) in rows.items()
    } | {"timings": timings}


def handler_timings(api: InProcessApi, urls: list[str]) -> dict[str, Any]:
    """Median handler durations of rendering a landing page and recording an answer (the
    Chalice app in-process against moto: DynamoDB's own latency differs), and the size of an
    answered responses item as DynamoDB bills it (the capacity model's inputs)."""
    from functions.settings import get_settings
    from functions.store.clients import client
    from functions.store.scores import item_size

    pages, answers = [], []
    for url in urls:
        began = time.perf_counter()
        assert api.call("GET", url).status_code == 200
        pages.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        assert api.call("POST", url, form={"score": "8"}).status_code == 303
        answers.append((time.perf_counter() - began) * 1000)
    code = urls[-1].rsplit("/", 1)[1].split(".")[1]
    item = client("dynamodb").get_item(TableName=get_settings().responses_table, Key={"pk": {"S": code}})[
        "Item"
    ]
    return {
        "api_page_ms": round(statistics.median(pages), 1),
        "api_answer_ms": round(statistics.median(answers), 1),
        "response_item_bytes": item_size(item),
        "samples": len(urls),
    }


def bench_insight_requests(api: InProcessApi, counter: RequestCounter, poller: Any) -> dict[str, Any]:
    """DynamoDB requests per compare and per roll-up (docs/insight.md), as rows of the table above."""
    from functions.logic.tenants import create_tenant

    key = create_tenant("Bench insight")["api_key"]

    def new_survey(name: str) -> str:
        body = {"name": name, "kind": "nps", "question": "Recommend us?"}
        return str(json.loads(api.call("POST", "/v1/surveys", key, body).body)["id"])

    surveys = [new_survey(f"Store {i}") for i in range(100)]
    # One answer per channel in the first survey, so its summaries exist and are read
    recipients = [{"customer_id": f"i{n}", "channel": channel} for n, channel in enumerate(("email", "link"))]
    out = json.loads(
        api.call("POST", f"/v1/surveys/{surveys[0]}/invitations", key, {"recipients": recipients}).body
    )
    for invitation in out["invitations"]:
        assert api.call("POST", _path(invitation["url"]), form={"score": "9"}).status_code == 303
    while poller.poll_once():
        pass
    settle_scores()
    today = datetime.now(UTC).date()
    last_month = f"{today - timedelta(days=60)}..{today - timedelta(days=31)}"
    years_ago = f"{today - timedelta(days=800)}..{today - timedelta(days=400)}"
    ids = {n: ",".join(surveys[:n]) for n in (3, 49, 100)}
    # Targets of issue 21 item 5: a compare reads its summaries in 2 requests at most; a roll-up
    # in 1 BatchGetItem per 100 surveys. A windowed roll-up (30d, the default) also reads its
    # surveys' day and month tallies, whose keys need the tenant the first request finds, and
    # every roll-up reads the surveys' definitions (kind, attributes) beside their totals:
    # ⌈(2N + 1 + tallies) / 100⌉, at least 2 with a window (docs/insight.md, Cost).
    cases: list[tuple[str, int, str]] = [
        ("compare 30d with a date window", 2, f"/v1/surveys/{surveys[0]}/compare?a=30d&b={last_month}"),
        (
            "compare two channels",
            2,
            f"/v1/surveys/{surveys[0]}/compare?a_segment=channel:email&b_segment=channel:link",
        ),
        ("compare with a window >1 year old", 2, f"/v1/surveys/{surveys[0]}/compare?a=30d&b={years_ago}"),
        *(
            (
                f"roll up {n} surveys, {window}",
                -(-n // 100),
                f"/v1/scores?survey_ids={ids[n]}&window={window}",
            )
            for n in (3, 49, 100)
            for window in ("all", "30d")
        ),
    ]
    rows: dict[str, Any] = {}
    for name, target, path in cases:
        with counter.measure() as calls:
            status = api.call("GET", path, key).status_code
        ops = requests_of(calls) if status == 200 else {"unavailable": status}
        requests = sum(requests_of(calls).values()) if status == 200 else None
        rows[name] = {"requests": requests, "target": target, "by_operation": ops}
    return rows


# ---- sending ----------------------------------------------------------------------------------


def bench_sending(api: InProcessApi, counter: RequestCounter, sends: int = 20) -> dict[str, Any]:
    """DynamoDB requests and provider calls per scheduled send (target: <= 3 and 1, docs/sending.md),
    measured on the scheduler's tick and the sender's handler; then a duplicated message."""
    from functions.logic.sending import enqueue_due
    from functions.logic.tenants import create_tenant
    from functions.sending.sender import handle_send_event
    from functions.settings import get_settings
    from functions.store.clients import client

    provider: Counter[str] = Counter()
    client("sesv2").meta.events.register(
        "before-parameter-build.sesv2.SendEmail", lambda **_: provider.update(["SendEmail"])
    )
    key = create_tenant("Bench sending")["api_key"]
    survey = json.loads(
        api.call(
            "POST", "/v1/surveys", key, {"name": "Send", "kind": "nps", "question": "Recommend us?"}
        ).body
    )
    recipients = [{"customer_id": f"s{i}", "email": f"s{i}@example.com"} for i in range(sends)]
    api.call("POST", f"/v1/surveys/{survey['id']}/invitations", key, {"send": True, "recipients": recipients})
    with counter.measure() as tick_calls:
        queued = enqueue_due()
    url = get_settings().required("send_queue_url")
    messages: list[dict[str, Any]] = []
    while len(messages) < queued:
        messages += client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    event = {"Records": [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]}
    with counter.measure() as send_calls:
        handle_send_event(event)
    emails = provider["SendEmail"]
    with counter.measure() as duplicate_calls:
        handle_send_event(
            {"Records": [{"messageId": f"dup-{r['messageId']}", "body": r["body"]} for r in event["Records"]]}
        )
    return {
        "sends": queued,
        "dynamodb_requests_per_send": round(sum(requests_of(send_calls).values()) / max(queued, 1), 2),
        "provider_calls_per_send": round(emails / max(queued, 1), 2),
        "target": {"dynamodb_requests_per_send": 3, "provider_calls_per_send": 1},
        "by_operation": requests_of(send_calls),
        "scheduler_requests_per_tick": sum(requests_of(tick_calls).values()),
        "duplicate_message": {
            "emails": provider["SendEmail"] - emails,
            "dynamodb_requests": sum(requests_of(duplicate_calls).values()),
        },
    }


# ---- aggregator writes per batch ------------------------------------------------------------


def _image(
    code: str, tenant: str, survey: str, channel: str, touchpoint: str, rev: int, score: int | None, day: str
) -> dict[str, Any]:
    from functions.store.items import to_item

    values: dict[str, Any] = {
        "pk": code,
        "invitation_id": f"inv_{code}",
        "tenant_id": tenant,
        "survey_id": survey,
        "customer_id": code,
        "channel": channel,
        "touchpoint": touchpoint,
        "created_at": f"{day}T08:00:00.000Z",
        "expires_at": 4_000_000_000,
        "rev": rev,
        # Follow-ups off: these records are not in the table (an opening's conditional write would
        # fail on each), and the scenarios measure the score floor. A follow-up's own cost (one
        # UpdateItem + one ledger entry) is counted in tests/integration/test_follow_ups.py.
        "page": {"kind": "nps", "fu": {"on": False, "sla": 24, "max": 0}},
        "smin": 0,
        "smax": 10,
    }
    if score is not None:
        values.update(score=score, first_answered_at=f"{day}T09:00:00.000Z")
    return to_item(values)


def _answer_record(seq: int, image_old: dict[str, Any], image_new: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventID": str(seq),
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:0:table/r/stream/x",
        "dynamodb": {
            "ApproximateCreationDateTime": time.time(),
            "Keys": {"pk": image_new["pk"]},
            "OldImage": image_old,
            "NewImage": image_new,
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def bench_aggregator(
    counter: RequestCounter, scenario: str, answers: int, surveys: int, batch: int = 100
) -> dict[str, Any]:
    """Feed answer records (MODIFY: invitation → answered) to the real stream handler."""
    from functions.aggregator.handler import handle_stream_event
    from functions.domain.segments import segments_for

    rng = random.Random(7)
    day = datetime.now(UTC).date().isoformat()
    records = []
    floors = []
    for i in range(answers):
        survey = f"srv_bench{scenario[0]}{rng.randrange(surveys):010d}"
        channel = rng.choice(["email", "sms"])
        touchpoint = rng.choice(["delivery", "support"])
        code = f"{scenario[0]}{i:09d}"
        old = _image(code, "ten_bench", survey, channel, touchpoint, 0, None, day)
        new = _image(code, "ten_bench", survey, channel, touchpoint, 1, rng.randrange(11), day)
        records.append(
            (
                _answer_record(i + 1, old, new),
                {(survey, s, day) for s in segments_for(channel, touchpoint, {})},
            )
        )
    written: Counter[str] = Counter()
    reads: list[int] = []
    writer_reads: list[int] = []
    durations: list[float] = []
    writer_durations: list[float] = []
    floors = summaries_floor = 0
    batches = 0
    for start in range(0, len(records), batch):
        chunk = records[start : start + batch]
        floor = set().union(*(keys for _, keys in chunk))
        floors += len(floor)
        summaries_floor += len({(s, seg) for s, seg, _ in floor})
        with counter.measure() as calls:
            began = time.perf_counter()
            result = handle_stream_event({"Records": [r for r, _ in chunk]})
            durations.append((time.perf_counter() - began) * 1000)
        assert not result.get("batchItemFailures"), result
        with counter.measure() as stage_two:
            began = time.perf_counter()
            settle_scores()
            writer_durations.append((time.perf_counter() - began) * 1000)
        written.update({k: v for k, v in calls.items() if k.startswith("writes ")})
        written.update({k: v for k, v in stage_two.items() if k.startswith("writes ")})
        reads.append(sum(calls[op] for op in ("GetItem", "BatchGetItem", "Query")))
        writer_reads.append(sum(stage_two[op] for op in ("GetItem", "BatchGetItem", "Query")))
        batches += 1
    # Summaries are now each touched segment's total (with its month tally: docs/scale.md)
    tallies, summaries = written["writes day tally"], written["writes total"]
    tenth = max(1, batches // 10)
    return {
        "answers": answers,
        "batches": batches,
        "day_tally_writes_per_batch": round(tallies / batches, 2),
        "day_tally_floor_per_batch": round(floors / batches, 2),
        "summary_writes_per_batch": round(summaries / batches, 2),
        "summary_floor_per_batch": round(summaries_floor / batches, 2),
        "ledger_writes_per_batch": round(written["writes ledger"] / batches, 2),
        "pending_delta_writes_per_batch": round(written["writes pending delta"] / batches, 2),
        "tally_writer_reads_per_batch": round(sum(writer_reads) / batches, 1),
        "tally_writer_ms_median": round(statistics.median(writer_durations), 1),
        "segment_index_writes": written["writes segment index"],
        "within_floor": tallies <= floors and summaries <= summaries_floor,
        "read_requests_per_batch_first_tenth": round(sum(reads[:tenth]) / tenth, 1),
        "read_requests_per_batch_last_tenth": round(sum(reads[-tenth:]) / tenth, 1),
        "batch_ms_median": round(statistics.median(durations), 1),
    }


# ---- item sizes and WCU per answer (docs/scale.md) --------------------------------------------

CSI_KEYS = [f"attribute_{n:02d}_{word}" for n, word in enumerate("abcdefghijkl")]  # 12 keys, 14 chars


def bench_item_sizes(fills: tuple[int, ...] = (1, 10, 90), answers: int = 360) -> dict[str, Any]:
    """Largest score item written and WCU per answer, by kind and batch fill.

    Every write request's items are noted by a botocore hook; items written whole (Put) are
    sized as sent, updated ones (ADD) read back after their batch, as stored. WCU: 1 per KB
    (rounded up) per item, twice that inside a transaction, as DynamoDB bills on demand.
    """
    from functions.aggregator.handler import handle_stream_event
    from functions.settings import get_settings
    from functions.store import scores
    from functions.store.clients import client

    dynamodb, table = client("dynamodb"), get_settings().scores_table
    rng = random.Random(22)
    day = datetime.now(UTC).date().isoformat()
    out: dict[str, Any] = {}
    for kind in ("nps", "csi"):
        for fill in fills:
            # Fewer answers at small fills (40 batches of 1, 10 of 10) give the same average per answer
            count = min(answers, max(40, fill * 10))
            survey = f"srv_size{kind}{fill:04d}{rng.randrange(10**6):06d}"
            noted: list[tuple[str, tuple[str, str], int | None]] = []

            put_sizes: dict[tuple[str, str], int] = {}

            def note(
                params: dict[str, Any],
                model: Any,
                noted: list[Any] = noted,
                put_sizes: dict[tuple[str, str], int] = put_sizes,
                **_: Any,
            ) -> None:
                doubled = model.name == "TransactWriteItems"
                for key, item in scores.written_items(model.name, params):
                    if key["pk"]["S"].split("#", 1)[0] in scores.KINDS:
                        size = None if item is None else scores.item_size(item)
                        at = (key["pk"]["S"], key["sk"]["S"])
                        if size is not None:
                            put_sizes[at] = size
                        noted.append(("T" if doubled else "S", at, size))
                # A delete bills the deleted item's size: the tally writer's of pending deltas
                for action in params.get("TransactItems", []) if doubled else []:
                    if "Delete" in action:
                        at = (action["Delete"]["Key"]["pk"]["S"], action["Delete"]["Key"]["sk"]["S"])
                        noted.append(("T", at, -put_sizes.get(at, 1)))

            records = []
            for i in range(count):
                code = f"z{kind}{fill}{i:08d}"
                channel, touchpoint = rng.choice(["email", "sms"]), rng.choice(["delivery", "support"])
                old = _image(code, "ten_bench", survey, channel, touchpoint, 0, None, day)
                new = _image(code, "ten_bench", survey, channel, touchpoint, 1, rng.randrange(11), day)
                if kind == "csi":
                    for image in (old, new):
                        image["page"] = {"M": {"kind": {"S": "csi"}, "fu": image["page"]["M"]["fu"]}}
                        image["smin"] = {"N": "1"}
                    new["score"] = {"N": str(rng.randint(1, 10))}
                    new["attrs"] = {"M": {k: {"N": str(rng.randint(1, 10))} for k in CSI_KEYS}}
                records.append(_answer_record(i + 1, old, new))
            wcu = largest = ledger_largest = 0
            largest_kind = ""
            events = dynamodb.meta.events
            for start in range(0, count, fill):
                noted.clear()
                events.register("before-parameter-build.dynamodb.*", note)
                try:
                    result = handle_stream_event({"Records": records[start : start + fill]})
                    settle_scores()
                finally:
                    events.unregister("before-parameter-build.dynamodb.*", note)
                assert not result.get("batchItemFailures"), result
                stored: dict[tuple[str, str], int] = {}
                keys = sorted({key for _, key, size in noted if size is None})
                deleted = [(how, key, -size) for how, key, size in noted if size is not None and size < 0]
                noted[:] = [row for row in noted if row[2] is None or row[2] >= 0]
                for at in range(0, len(keys), 100):
                    request = {
                        table: {
                            "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[at : at + 100]]
                        }
                    }
                    while request:
                        found = dynamodb.batch_get_item(RequestItems=request)
                        for item in found["Responses"].get(table, []):
                            stored[(item["pk"]["S"], item["sk"]["S"])] = scores.item_size(item)
                        request = found.get("UnprocessedKeys") or {}
                for how, _, size in deleted:
                    wcu += (2 if how == "T" else 1) * max(1, -(-size // 1024))
                for how, key, size in noted:
                    size = stored.get(key, 0) if size is None else size
                    wcu += (2 if how == "T" else 1) * max(1, -(-size // 1024))
                    if key[0].split("#", 1)[0] == "L":
                        ledger_largest = max(ledger_largest, size)
                    elif size > largest:
                        largest, largest_kind = size, key[0].split("#", 1)[0]
            out[f"{kind}{' (12 attributes)' if kind == 'csi' else ''}, batches of {fill}"] = {
                "largest_score_item_bytes": largest,
                "largest_item_kind": scores.KINDS.get(largest_kind, largest_kind),
                "wcu_per_answer": round(wcu / count, 2),
                "largest_ledger_entry_bytes": ledger_largest,
                "answers": count,
            }
    return out


# ---- cold import ----------------------------------------------------------------------------

BASELINE = "import boto3\nfrom chalice import Chalice\napp = Chalice(app_name='bare')\n"
IMPORTS = {
    "bare Chalice + boto3": "import bare_app",
    "API handler (app.py)": "import app",
    # what the packaged template's Handler names (infra/template.py AGGREGATOR_HANDLER)
    "aggregator handler": "import functions.aggregator.handler",
    "tally writer handler": "import functions.aggregator.writer",
}


def bench_imports(runs: int) -> dict[str, Any]:
    """Each subject imported from a copy of the code with bytecode, as the deployment zip ships
    it (infra/precompile.py) and as the installed boto3 and Chalice of the baseline have it."""
    import compileall
    import py_compile
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bare_app.py").write_text(BASELINE)
        shutil.copytree(
            ROOT / "functions", Path(tmp, "functions"), ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copy(ROOT / "app.py", tmp)
        compileall.compile_dir(tmp, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARK_", "AWS_"))}
        env["PYTHONPATH"] = tmp
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        samples: dict[str, list[float]] = {name: [] for name in IMPORTS}
        for _ in range(runs):  # interleaved, so machine noise hits every subject alike
            for name, statement in IMPORTS.items():
                code = (
                    "import time\nt = time.perf_counter()\n" + statement + "\nprint(time.perf_counter() - t)"
                )
                out = subprocess.run(
                    [sys.executable, "-c", code], env=env, cwd=tmp, capture_output=True, text=True, check=True
                )
                samples[name].append(float(out.stdout))
    base = statistics.median(samples["bare Chalice + boto3"])
    return {
        name: {
            "median_ms": round(statistics.median(values) * 1000, 1),
            "ratio": round(statistics.median(values) / base, 2),
            "runs": runs,
        }
        for name, values in samples.items()
    }


# ---- end to end on the local stack ----------------------------------------------------------


def _http(
    method: str, url: str, key: str | None = None, body: Any = None, form: str | None = None
) -> tuple[int, bytes]:
    status, _headers, data = loopback.call(method, url, key, body, form, timeout=30)
    return status, data


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def bench_end_to_end(stream: str, queue: str, answers: int, clients: int, probes: int) -> dict[str, Any]:
    import socket

    from functions.logic.tenants import create_tenant

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api_url = f"http://127.0.0.1:{port}"
    # Every simulated customer comes from 127.0.0.1: the per-address limit would refuse them.
    stack.apply_settings(
        {"HARK_PUBLIC_BASE_URL": api_url, "HARK_RATE_PER_ADDRESS": "0", "HARK_RATE_PER_LINK": "0"}
    )
    server = stack.serve_api("127.0.0.1", port, quiet=True)
    poller = stack.make_poller(stream, queue)
    poller.start(interval=0.02)
    tally_writer = stack.make_tally_writer()
    tally_writer.start()
    try:
        key = create_tenant("Bench e2e")["api_key"]
        _, body = _http(
            "POST", f"{api_url}/v1/surveys", key, {"name": "Load", "kind": "nps", "question": "Recommend us?"}
        )
        survey = json.loads(body)["id"]
        urls: list[str] = []
        for start in range(0, answers + probes, 1000):
            count = min(1000, answers + probes - start)
            _status, body = _http(
                "POST",
                f"{api_url}/v1/surveys/{survey}/invitations",
                key,
                {"recipients": [{"customer_id": f"c{start + i}"} for i in range(count)]},
            )
            urls += [i["url"] for i in json.loads(body)["invitations"]]
        load, probe_urls = urls[:answers], urls[answers:]
        accepted = Counter()
        lock = threading.Lock()

        def worker(chunk: list[str]) -> None:
            for url in chunk:
                code, _ = _http("POST", url, form=f"score={random.randrange(11)}")
                with lock:
                    accepted[code] += 1

        threads = [threading.Thread(target=worker, args=(load[i::clients],)) for i in range(clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began

        def responses() -> int:
            _, body = _http("GET", f"{api_url}/v1/surveys/{survey}/scores?window=all", key)
            return int(json.loads(body)["responses"])

        deadline = time.monotonic() + 120
        while responses() < accepted[303] and time.monotonic() < deadline:
            time.sleep(0.05)
        delays = []
        for url in probe_urls:
            before = responses()
            clicked = time.perf_counter()
            _http("POST", url, form="score=9")
            while responses() <= before and time.perf_counter() - clicked < 30:
                time.sleep(0.01)
            delays.append(time.perf_counter() - clicked)
        return {
            "label": "emulator figures (moto server, one process, loopback)",
            "clients": clients,
            "answers_sent": answers,
            "accepted": accepted[303],
            "non_303": sum(v for k, v in accepted.items() if k != 303),
            "answers_per_second": round(accepted[303] / elapsed, 1),
            "click_to_score_p50_ms": round(_percentile(delays, 50) * 1000),
            "click_to_score_p99_ms": round(_percentile(delays, 99) * 1000),
            "probes": len(delays),
        }
    finally:
        tally_writer.stop()
        poller.stop()
        server.stop()


# ---- many shards, one hot survey (bench/contention.py) ---------------------------------------

# 4,000 answers (as `make reliability` runs it) take about 2.5 minutes here; issue 22 measured
# 20,000 (`--contention 20000`: about 10 minutes). See docs/benchmarks.md.
CONTENTION_ANSWERS = 4_000


def bench_contention(answers: int, shards: int) -> dict[str, Any]:
    """16 aggregator processes on one survey, on DynamoDB Local with DynamoDB's transaction-
    conflict rule emulated, on emulators of its own (the scenario needs DynamoDB Local)."""
    from bench import contention
    from infra.local import dynamodb_local

    reason = dynamodb_local.unavailable()
    if reason:
        print(f" skipped: {reason}", end="", flush=True)
        return {"unavailable": reason}
    print(flush=True)
    with contention.dynamodb_local_stack() as local:
        return contention.run(local.stream_arn, local.queue_url, answers, shards=shards)


# ---- deployment zip -------------------------------------------------------------------------


def bench_zip() -> dict[str, Any]:
    """The size of the zip `make package STAGE=prod` builds (bytecode included)."""
    from infra.package import build

    with tempfile.TemporaryDirectory() as tmp:
        out = build("prod", Path(tmp, "prod"))
        size = (out / "deployment.zip").stat().st_size
    return {"bytes": size, "mib": round(size / 1024 / 1024, 2), "target_mib": 12}


# ---- report ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "os": platform.platform(),
        "date": date.today().isoformat(),
    }


def print_report(results: dict[str, Any]) -> None:
    m = results["machine"]
    print(f"\nHark benchmarks — {m['date']}, {m['cpu']}, {m['cores']} cores, Python {m['python']}\n")
    print(f"{'DynamoDB requests per operation':<34}{'requests':>9}{'target':>8}")
    for name, row in results["requests"].items():
        target = "-" if row["target"] is None else f"≤{row['target']}"
        value = "n/a" if row["requests"] is None else row["requests"]
        print(f"  {name:<32}{value!s:>9}{target:>8}   {row['by_operation']}")
    sending = results.get("sending")
    if sending:
        print(
            f"\nSending {sending['sends']} emails: {sending['dynamodb_requests_per_send']} DynamoDB requests "
            f"(target ≤3) and {sending['provider_calls_per_send']} provider calls (target 1) per send "
            f"{sending['by_operation']}; duplicated messages: {sending['duplicate_message']['emails']} emails"
        )
    print(
        f"\n{'Aggregator items written per batch':<34}{'tallies':>9}{'floor':>8}{'summ.':>8}{'floor':>8}"
        f"{'ledger':>8}{'reads first→last':>20}"
    )
    for name, row in results["aggregator"].items():
        print(
            f"  {name:<32}{row['day_tally_writes_per_batch']:>9}{row['day_tally_floor_per_batch']:>8}"
            f"{row['summary_writes_per_batch']:>8}{row['summary_floor_per_batch']:>8}"
            f"{row['ledger_writes_per_batch']:>8}"
            f"{row['read_requests_per_batch_first_tenth']:>11} → "
            f"{row['read_requests_per_batch_last_tenth']:<6}"
            f"  within floor: {row['within_floor']}"
        )
    print(f"\n{'Largest score item, WCU per answer':<34}{'bytes':>9}{'WCU/ans':>9}   (target ≤ 4096 bytes)")
    for name, row in results.get("item_sizes", {}).items():
        size, wcu, kind = row["largest_score_item_bytes"], row["wcu_per_answer"], row["largest_item_kind"]
        print(f"  {name:<32}{size:>9}{wcu:>9}   {kind}")
    print(f"\n{'Cold import (median)':<34}{'ms':>9}{'ratio':>8}   (target ratio ≤ 1.3)")
    for name, row in results["imports"].items():
        print(f"  {name:<32}{row['median_ms']:>9}{row['ratio']:>8}")
    e2e = results.get("end_to_end")
    if e2e:
        print(f"\nEnd to end ({e2e['label']})")
        print(
            f"  {e2e['clients']} clients: {e2e['answers_per_second']} answers/s, "
            f"{e2e['accepted']} accepted, {e2e['non_303']} refused; click→score p50 "
            f"{e2e['click_to_score_p50_ms']} ms, p99 {e2e['click_to_score_p99_ms']} ms"
        )
    dev = results.get("dev_stack")
    if dev:
        print(
            f"\nmake dev: idle {dev['idle_cpu_percent_of_one_core']} % of one core over "
            f"{dev['idle_seconds_measured']:.0f} s (target < 5 %); Ctrl-C ends it in "
            f"{dev['ctrl_c_exit_seconds']} s (target < 2 s)"
        )
    z = results.get("zip")
    if z:
        print(f"\nDeployment zip: {z['mib']} MiB (target < {z['target_mib']} MiB)")
    contended = results.get("contention")
    if contended and "unavailable" not in contended:
        print()
        print("\n".join(contention_report(contended)))
    if "capacity_model" in results:
        print()
        print("\n".join(capacity.report_lines(results["capacity_model"])))
    print(f"\nThis run: {results['seconds']} s, peak memory {results['peak_memory_mib']} MiB")


def contention_report(figures: dict[str, Any]) -> list[str]:
    from bench.contention import report_lines

    return report_lines(figures)


class Progress:
    """One line per scenario as it starts and ends, with the time it took (flushed at once)."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.began = total, 0, time.monotonic()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.done += 1
        print(f"[{self.done}/{self.total}] {name} …", end="", flush=True)
        began = time.monotonic()
        yield
        print(f" {time.monotonic() - began:.1f} s (at {time.monotonic() - self.began:.0f} s)", flush=True)


def bench_dev_stack(idle_seconds: float) -> dict[str, Any]:
    """`make dev` as a newcomer runs it: CPU while idle, and how long Ctrl-C takes to end it."""
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as state:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HARK_"))}
        proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local.devstack", "--port", str(port), "--state-dir", state],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 90
            while not Path(state, "dev.json").exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("make dev did not start")
                time.sleep(0.1)
            time.sleep(2)  # let the seeding's records drain

            def cpu_seconds() -> float:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            before, began = cpu_seconds(), time.monotonic()
            time.sleep(idle_seconds)
            idle = (cpu_seconds() - before) / (time.monotonic() - began)
            stopped = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
            exit_seconds = time.monotonic() - stopped
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return {
        "idle_cpu_percent_of_one_core": round(idle * 100, 2),
        "idle_seconds_measured": idle_seconds,
        "ctrl_c_exit_seconds": round(exit_seconds, 2),
        "targets": {"idle_cpu_percent": 5, "ctrl_c_exit_seconds": 2},
    }


def only_insight() -> int:
    """The compare and roll-up request counts alone (`python bench/run.py --only insight`)."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server, stream, queue = start_emulator()
    try:
        rows = bench_insight_requests(InProcessApi.open(), RequestCounter(), stack.make_poller(stream, queue))
    finally:
        server.stop()
    for name, row in rows.items():
        met = row["requests"] is not None and row["requests"] <= row["target"]
        print(f"  {name:<34}{row['requests']!s:>4} (target ≤{row['target']}{'' if met else ', missed'})")
    print(json.dumps(rows, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, no zip (the smoke test CI runs)")
    parser.add_argument("--hot", type=int, default=10_000, help="answers for the one-hot-survey scenario")
    parser.add_argument("--mixed", type=int, default=5_000, help="answers for the 50-survey scenario")
    parser.add_argument(
        "--contention",
        type=int,
        default=CONTENTION_ANSWERS,
        help="answers for the many-shards scenario (16 aggregator processes, one survey)",
    )
    parser.add_argument(
        "--only",
        choices=["insight"],
        help="run one scenario alone and print its rows as JSON (insight: compare and roll-up requests)",
    )
    args = parser.parse_args(argv)
    if args.only == "insight":
        return only_insight()
    quick = args.quick
    import logging
    import resource

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    progress = Progress(10 if quick else 11)
    with progress.step("emulator and tables"):
        server, stream, queue = start_emulator()
    try:
        counter = RequestCounter()
        api = InProcessApi.open()
        poller = stack.make_poller(stream, queue)
        results: dict[str, Any] = {"machine": machine()}
        with progress.step("DynamoDB requests per operation"):
            results["requests"] = bench_requests(api, counter, poller)
            results["timings"] = results["requests"].pop("timings")
            results["requests"].update(bench_insight_requests(api, counter, poller))
            results["sending"] = bench_sending(api, counter)
        hot = 300 if quick else args.hot
        mixed = 200 if quick else args.mixed
        results["aggregator"] = {}
        for name, scenario, answers, surveys, batch in (
            ("one hot survey, batches of 100", "hot", hot, 1, 100),
            ("one hot survey, batches of 80", "deployed", hot, 1, 80),
            ("50 surveys x 5 segments", "mixed", mixed, 50, 100),
        ):
            with progress.step(f"aggregator: {name} ({answers:,} answers)"):
                results["aggregator"][name] = bench_aggregator(
                    counter, scenario, answers, surveys, batch=batch
                )
        with progress.step("largest items written, WCU per answer"):
            results["item_sizes"] = bench_item_sizes(answers=90 if quick else 360)
        results["capacity_model"] = capacity.model(capacity.measured_from(results))
        with progress.step("cold imports"):
            results["imports"] = bench_imports(3 if quick else 15)
        with progress.step("end to end on the local stack"):
            # On emptied tables: the scenarios above left tens of thousands of items behind.
            reset = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/reset", method="POST")
            urllib.request.urlopen(reset, timeout=60).close()
            stream, queue = stack.create_tables_and_queue()
            results["end_to_end"] = bench_end_to_end(
                stream, queue, 80 if quick else 1000, 8, 10 if quick else 50
            )
    finally:
        server.stop()
    with progress.step(f"make dev: idle CPU over {3 if quick else 20} s, then Ctrl-C"):
        results["dev_stack"] = bench_dev_stack(3.0 if quick else 20.0)
    contention_answers, contention_shards = (300, 4) if quick else (args.contention, 16)
    with progress.step(
        f"many shards, one hot survey ({contention_answers:,} answers, {contention_shards} aggregators)"
    ):
        results["contention"] = bench_contention(contention_answers, contention_shards)
    if not quick:
        with progress.step("deployment zip (make package STAGE=prod)"):
            results["zip"] = bench_zip()
    results["peak_memory_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["seconds"] = round(time.monotonic() - progress.began)
    print_report(results)
    results["arguments"] = {
        "quick": quick,
        "hot": args.hot,
        "mixed": args.mixed,
        "contention": args.contention,
    }
    if not quick:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nWritten to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

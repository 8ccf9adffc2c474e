"""Exactly-once scores, by property: any stream of changes, delivered any way, scores the same.

Hypothesis generates a survey's life (invitations on different days, answers and changed
answers, follow-up comments, segment changes, erasures, TTL expiries), writes it through the
store into moto's in-process DynamoDB, takes the real stream records, and hands them to the
real Lambda handler in random batches with duplicates, replays of earlier batches and
reordering. Then the stored summaries (every segment, every window), the day tallies trends
read, and `hark verify` must all agree with a from-scratch recomputation of the model.

A second test counts DynamoDB writes per batch, so coalescing cannot silently regress.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from functions.domain.windows import WINDOWS, window_span
from functions.logic import clock
from functions.logic.aggregation import entries_for_record
from functions.logic.rebuild import verify
from functions.store import scores as score_store
from tests.integration.aws_in_process import InProcessStack, in_process_aws
from tests.integration.scores_model import (
    SurveyWorld,
    expected_tallies,
    no_fold_needed,
    window_of,
)

pytestmark = pytest.mark.integration

LIMIT = 2  # a small cardinality limit, so folding happens in most examples


@pytest.fixture
def stack() -> Iterator[InProcessStack]:
    with in_process_aws({"HARK_SEGMENT_VALUE_LIMIT": str(LIMIT)}) as created:
        yield created


CHANNELS = ["email", "sms", "link"]
TOUCHPOINTS = [None, "delivery", "support", "billing"]
PLANS = ["free", "pro", "team", "enterprise"]

invitation_rows = st.lists(
    st.tuples(
        st.sampled_from(CHANNELS),
        st.sampled_from(TOUCHPOINTS),
        st.fixed_dictionaries({}, optional={"plan": st.sampled_from(PLANS), "region": st.just("eu")}),
        st.sampled_from([0, 0, 1, 3, 6, 8, 29, 31, 89, 91, 364, 366, 400]),  # days ago, around window edges
    ),
    min_size=1,
    max_size=7,
)


def operations(kind: str) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    low = 1 if kind == "csi" else 0
    attrs = (
        st.fixed_dictionaries({}, optional={"speed": st.integers(1, 10), "price": st.integers(1, 10)})
        if kind == "csi"
        else st.just({})
    )
    who = st.integers(0, 6)
    return st.lists(
        st.one_of(
            st.tuples(st.just("answer"), who, st.integers(low, 10), st.integers(0, 40), attrs),
            st.tuples(st.just("answer"), who, st.integers(low, 10), st.integers(0, 40), attrs),
            st.tuples(st.just("comment"), who),
            st.tuples(st.just("move"), who, st.sampled_from(TOUCHPOINTS[1:])),
            st.tuples(st.just("erase"), who),
            st.tuples(st.just("expire"), who),
        ),
        max_size=16,
    )


def apply(world: SurveyWorld, op: tuple[Any, ...]) -> None:
    name, who, *args = op
    if who >= len(world.customers):
        return
    if name == "answer":
        world.answer(who, args[0], args[1], args[2])
    else:
        getattr(world, name)(who, *args)


def deliveries(data: st.DataObject, count: int) -> list[list[int]]:
    """Batches of record positions: every record at least once, maybe shuffled, duplicated, replayed."""
    order = list(range(count))
    if data.draw(st.booleans(), label="reorder"):
        order = data.draw(st.permutations(order), label="order")
    for extra in data.draw(st.lists(st.integers(0, count - 1), max_size=5), label="duplicates"):
        order.insert(data.draw(st.integers(0, len(order)), label="at"), extra)
    batches = []
    while order:
        size = data.draw(st.integers(1, 12), label="batch size")
        batches.append(order[:size])
        order = order[size:]
    replays = data.draw(st.lists(st.integers(0, len(batches) - 1), max_size=3), label="replays")
    batches += [batches[i] for i in replays]
    if data.draw(st.booleans(), label="replay all backwards"):
        # the harshest replay: every older revision arrives after the newer one, batch by batch
        size = data.draw(st.integers(1, 3), label="backwards batch size")
        backwards = list(reversed(range(count)))
        batches += [backwards[i : i + size] for i in range(0, count, size)]
    return batches


def live_and_deliver(stack: InProcessStack, world: SurveyWorld, rows: list[Any], data: st.DataObject) -> None:
    """`world`'s survey invites `rows` and lives a drawn series of operations, written through
    the store; then its stream reaches the aggregator (and the tally writer) in random batches,
    duplicated, replayed and reordered, and no batch fails."""
    world.invite(rows)
    for op in data.draw(operations(world.kind), label="operations"):
        apply(world, op)
    records = stack.new_records(world.ttl_codes)
    for batch in deliveries(data, len(records)):
        assert stack.aggregate([records[i] for i in batch]) == {"batchItemFailures": []}


def window_of_summary(
    survey_id: str, summary: score_store.StoredSummary | None, window: str, today: Any = None
) -> score_store.Tally:
    """A window as a score read reads it: the total, or its day and month tallies."""
    if summary is None:
        return score_store.Tally()
    today = today or clock.now().date()
    span = window_span(window, today)
    if span is not None:
        summary = score_store.with_parts(survey_id, summary, *span)
    return summary.window(window, today)


def stored_window(survey_id: str, summary: score_store.StoredSummary | None, window: str) -> dict[str, Any]:
    return window_of_summary(survey_id, summary, window).to_compact()


def assert_scores_match_model(world: SurveyWorld) -> None:
    index = score_store.read_segment_index(world.survey_id)
    for dimension, values in index.items():
        assert len(values) <= LIMIT, dimension
        assert values <= world.seen.get(dimension, set()), dimension
    expected = expected_tallies(world, index)
    summaries = {s.segment: s for s in score_store.query_summaries(world.survey_id)}
    for segment in sorted(set(expected) | set(summaries)):
        days = expected.get(segment, {})
        for window in WINDOWS:
            want = window_of(days, window, clock.now())
            assert stored_window(world.survey_id, summaries.get(segment), window) == want, (segment, window)
        stored_days = {
            d.day: d.tally.to_compact()
            for d in score_store.read_day_tallies(world.tenant_id, world.survey_id, segment)
            if not d.tally.is_empty()
        }
        assert stored_days == {d: t.to_compact() for d, t in days.items() if not t.is_empty()}, segment
    for other in no_fold_needed(world, LIMIT):
        assert other not in expected, other
    report = verify(world.survey_id)
    assert report["drift"] == [] and report["unreadable"] == []


@settings(
    max_examples=int(os.environ.get("HARK_PROPERTY_EXAMPLES", "20")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    kind=st.sampled_from(["nps", "nps", "csi"]),
    rows=invitation_rows,
    data=st.data(),
)
def test_any_delivery_of_any_stream_scores_like_a_fresh_recomputation(
    kind: str, rows: list[Any], data: st.DataObject
) -> None:
    # Tables of its own per example: moto copies a whole table on every transaction, so a
    # shared, growing table would make each example slower than the last.
    with in_process_aws({"HARK_SEGMENT_VALUE_LIMIT": str(LIMIT)}) as stack:
        # Given a survey's life written through the store, its stream reaching the aggregator
        # in random batches, duplicated, replayed, reordered
        world = SurveyWorld(kind=kind)
        live_and_deliver(stack, world, rows, data)

        # Then every stored score equals a recomputation from scratch
        assert_scores_match_model(world)


# ---- coalescing ---------------------------------------------------------------------------------


class WriteCounter:
    """Counts the items this process's client writes, by kind (botocore event hooks)."""

    def __init__(self, dynamodb: Any) -> None:
        self.items: Counter[str] = Counter()
        dynamodb.meta.events.register("before-parameter-build.dynamodb.*", self._count)

    def _count(self, params: dict[str, Any], model: Any, **kwargs: Any) -> None:
        self.items.update(score_store.items_written(model.name, params))

    def since(self, before: Counter[str]) -> dict[str, int]:
        return {kind: n for kind, n in (self.items - before).items() if n}


def write_budget(records: list[dict[str, Any]]) -> dict[str, int]:
    """The ceiling for one batch (docs/scale.md): one ledger write per ledger entry the batch
    changes and one pending delta per (survey, segment, day) from the aggregator; then, from
    the tally writer, one tally per (survey, segment, day), one month tally per (survey,
    segment, month) and one total per (survey, segment)."""
    entries = [entry for record in records for entry in entries_for_record(record)]
    return {
        "ledger": len({e.identity for e in entries}),
        "pending delta": len({(e.survey_id, s, e.day) for e in entries for s in e.segments}),
        "day tally": len({(e.survey_id, s, e.day) for e in entries for s in e.segments}),
        "month tally": len({(e.survey_id, s, e.day[:7]) for e in entries for s in e.segments}),
        "total": len({(e.survey_id, s) for e in entries for s in e.segments}),
    }


def test_a_batch_costs_one_write_per_touched_day_and_segment_not_one_per_record(
    stack: InProcessStack,
) -> None:
    from functions.store.clients import client

    # Given 40 invitations in 4 segments and their INSERTs already applied
    world = SurveyWorld()
    world.invite([("email", "delivery", {"plan": "pro" if i % 2 else "free"}, 0) for i in range(40)])
    assert stack.aggregate(stack.new_records())["batchItemFailures"] == []

    # And 40 answers, 10 of them changed a day later
    for i in range(40):
        world.answer(i, i % 11, 0, {})
    for i in range(10):
        world.answer(i, 10, 1, {})
    answers = stack.new_records()
    batch = answers + answers[:15]  # with duplicates, as a retried Lambda batch has
    budget = write_budget(batch)
    assert budget == {"ledger": 40, "pending delta": 5, "day tally": 5, "month tally": 5, "total": 5}

    # When the batch is applied, and then replayed
    counter = WriteCounter(client("dynamodb"))
    assert stack.aggregate(batch)["batchItemFailures"] == []
    first = counter.since(Counter())
    before = Counter(counter.items)
    assert stack.aggregate(batch)["batchItemFailures"] == []
    replay = counter.since(before)

    # Then it writes each changed ledger entry once and each touched day tally, month tally and
    # total once; the replay writes nothing at all
    assert first == budget, first
    assert replay == {}, replay
    summary = score_store.get_summary(world.survey_id, "all")
    assert window_of_summary(world.survey_id, summary, "all").responses == 40
    assert window_of_summary(world.survey_id, summary, "7d").responses == 40


def test_property_values_beyond_the_limit_fold_into_other(stack: InProcessStack) -> None:
    # Given invitations with five plans (the limit is 2), arriving in two batches
    world = SurveyWorld()
    world.invite([("email", None, {"plan": plan}, 0) for plan in ["a", "b", "a", "c", "d", "e"]])
    records = stack.new_records()
    stack.aggregate(records[:3])
    stack.aggregate(records[3:])

    # Then the first two values seen keep their own segment and the rest share __other__
    assert score_store.read_segment_index(world.survey_id) == {"prop:plan": {"a", "b"}}
    today = clock.now().date()

    def invited_by_plan() -> dict[str, int]:
        found = score_store.query_summaries(world.survey_id, "prop:plan=")
        return {s.segment: window_of_summary(world.survey_id, s, "all", today).invited for s in found}

    assert invited_by_plan() == {"prop:plan=a": 2, "prop:plan=b": 1, "prop:plan=__other__": 3}

    # When the whole stream is replayed backwards
    stack.aggregate(list(reversed(records)))

    # Then nothing moves: the decision was made once, when each ledger entry was written
    assert invited_by_plan() == {"prop:plan=a": 2, "prop:plan=b": 1, "prop:plan=__other__": 3}


def test_days_older_than_a_year_stay_in_all_time_but_leave_365d(stack: InProcessStack) -> None:
    world = SurveyWorld()
    world.invite([("email", None, {}, 400), ("email", None, {}, 2)])
    world.answer(0, 9, 0, {})
    world.answer(1, 3, 0, {})
    stack.aggregate(stack.new_records())
    summary = score_store.get_summary(world.survey_id, "all")
    today = clock.now().date()
    assert window_of_summary(world.survey_id, summary, "all", today).counts == {9: 1, 3: 1}
    assert window_of_summary(world.survey_id, summary, "365d", today).counts == {3: 1}
    # and a read on a later day cuts its windows from the stored day and month tallies
    assert window_of_summary(world.survey_id, summary, "7d", today + timedelta(days=10)).counts == {}
    assert window_of_summary(world.survey_id, summary, "7d", today + timedelta(days=4)).counts == {3: 1}


def test_a_poison_record_is_reported_alone_and_the_rest_of_the_batch_applies(stack: InProcessStack) -> None:
    import copy

    # Given a batch of three answers and, among them, a record whose score is off the scale
    world = SurveyWorld()
    world.invite([("email", None, {}, 0)] * 3)
    stack.aggregate(stack.new_records())
    for i, score in enumerate([10, 9, 0]):
        world.answer(i, score, 0, {})
    answers = stack.new_records()
    poison = copy.deepcopy(answers[0])
    poison["dynamodb"]["NewImage"]["score"] = {"N": "42"}
    poison["dynamodb"]["SequenceNumber"] = "9" * 21
    poison["eventID"] = "poison"

    # When the handler gets the batch
    response = stack.aggregate([answers[0], poison, *answers[1:]])

    # Then only the poison record is reported, and every other answer counts
    assert response == {"batchItemFailures": [{"itemIdentifier": "9" * 21}]}
    summary = score_store.get_summary(world.survey_id, "all")
    counts = window_of_summary(world.survey_id, summary, "all").counts
    assert counts == {10: 1, 9: 1, 0: 1}


# ---- transactions: a crash between them, and a concurrent duplicate -----------------------------


def test_a_batch_split_over_transactions_survives_a_crash_between_them(stack: InProcessStack) -> None:
    from functions.store.clients import client

    # Given 150 invitations and their answers in one batch: 300 ledger entries, 4 transactions
    world = SurveyWorld()
    world.invite([("email", "delivery", {}, 0) for _ in range(150)])
    batch = stack.new_records()
    for i in range(150):
        world.answer(i, i % 11, 0, {})
    batch += stack.new_records()
    committed = [0]

    def killed_after_the_first(**_: Any) -> None:
        committed[0] += 1
        if committed[0] == 1:
            raise RuntimeError("aggregator killed between two transactions")

    # When the aggregator dies right after its first transaction commits
    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb.TransactWriteItems", killed_after_the_first)
    try:
        with pytest.raises(RuntimeError):
            stack.aggregate(batch)
    finally:
        events.unregister("after-call.dynamodb.TransactWriteItems", killed_after_the_first)

    # Then Lambda's retry of the whole batch applies the rest, and nothing twice
    counter = WriteCounter(client("dynamodb"))
    assert stack.aggregate(batch) == {"batchItemFailures": []}
    assert committed[0] == 1 and 0 < counter.items["ledger"] < 300, counter.items
    assert_scores_match_model(world)


def test_a_duplicate_batch_running_concurrently_counts_once(
    stack: InProcessStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch of answers
    world = SurveyWorld()
    world.invite([("sms", "support", {}, 0) for _ in range(6)])
    stack.aggregate(stack.new_records())
    for i in range(6):
        world.answer(i, 9 if i % 2 else 2, 0, {})
    batch = stack.new_records()
    real_read = score_store.read_held_entries
    raced = [False]

    def read_then_race(identities: Any) -> Any:
        seen = real_read(identities)
        if not raced[0]:
            raced[0] = True  # another invocation applies the same records after our read
            assert stack.aggregate(batch) == {"batchItemFailures": []}
        return seen

    # When a duplicate applies the batch between this invocation's read and its write
    monkeypatch.setattr(score_store, "read_held_entries", read_then_race)
    assert stack.aggregate(batch) == {"batchItemFailures": []}

    # Then the stale transaction is refused, re-read, found applied, and nothing counts twice
    assert raced[0]
    assert_scores_match_model(world)


def test_rebuild_of_one_survey_repairs_it_and_leaves_the_others_alone(stack: InProcessStack) -> None:
    from functions.logic.rebuild import rebuild

    # Given two surveys with answers, both totals and month tallies of `all` corrupted (a
    # promoter lost)
    worlds = [SurveyWorld(), SurveyWorld()]
    for world in worlds:
        world.invite([("email", None, {}, 0), ("sms", None, {}, 0)])
        world.answer(0, 10, 0, {})
        world.answer(1, 2, 0, {})
    stack.aggregate(stack.new_records())
    month = clock.now().date().isoformat()[:7]
    for world in worlds:
        stored = score_store.read_total(world.survey_id, "all")
        assert stored is not None
        damaged = score_store.Tally.from_compact(stored.total.to_compact())
        damaged.counts[10] = 0
        tenant = world.tenant_id
        assert score_store.put_rollup(tenant, world.survey_id, "all", None, damaged, stored.gen)
        (held,) = score_store.read_month_tallies(tenant, world.survey_id, "all")
        assert score_store.put_rollup(tenant, world.survey_id, "all", month, damaged, held.gen)
    first, second = worlds

    # When one survey is rebuilt, then it is repaired and the other still drifts
    report = rebuild(first.survey_id)
    assert report["ledger_entries"] == 4 and report["unreadable"] == []
    assert verify(first.survey_id)["drift"] == []
    assert {d["segment"] for d in verify(second.survey_id)["drift"]} == {"all"}

    # And a whole rebuild repairs every survey
    rebuild()
    assert all(verify(world.survey_id)["drift"] == [] for world in worlds)

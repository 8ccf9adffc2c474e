"""A survey's answers spread over 32 `by_survey` keys, plus the unsuffixed key of items stored
before the spread, and every listing still reads them as one index (docs/api.md, Responses):
one order, the same bounds, cursors that resume strictly after their position, a bounded
number of Queries per page."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from functions.domain.codes import BASE62, spread
from functions.domain.survey import Invitation
from functions.settings import get_settings
from functions.store import responses
from functions.store.clients import client
from tests.conftest import Api, Emulator

pytestmark = pytest.mark.integration

NPS = {"name": "Spread", "kind": "nps", "question": "Recommend us?"}
KEYS = responses.LISTING_KEYS + 1  # the buckets and the legacy key


class Reads:
    """Queries of the `by_survey` index sent by this process, and the items they read (the
    first pages are sent from several threads at once)."""

    def __init__(self) -> None:
        self.queries = 0
        self.items = 0
        self._lock = threading.Lock()

    def __call__(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            self.queries += 1
            self.items += int(parsed.get("ScannedCount", 0))

    def reset(self) -> None:
        with self._lock:
            self.queries = self.items = 0


@pytest.fixture
def reads() -> Iterator[Reads]:
    counter = Reads()
    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb.Query", counter)
    yield counter
    events.unregister("after-call.dynamodb.Query", counter)


def template_invitation(api: Api, key: str) -> tuple[str, Invitation]:
    """A new survey and one real invitation to it, to copy answered items from."""
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    out = api.json(
        "POST", f"/v1/surveys/{survey}/invitations", key, {"recipients": [{"customer_id": "t"}]}, expect=201
    )
    code = out["invitations"][0]["url"].rsplit("/", 1)[1].split(".")[1]
    inv = responses.get_invitation(code)
    assert inv is not None
    return survey, inv


def put_answers(template: Invitation, rng: random.Random, count: int, *, legacy: bool) -> list[str]:
    """`count` answered items copied from `template` (seeded codes and times, several answers
    in the same millisecond); with `legacy`, under the unsuffixed key items stored before the
    spread keep. Returns their answer_sk."""
    written = []
    rows = []
    for _ in range(count):
        code = "".join(rng.choice(BASE62) for _ in range(10))
        when = f"2026-11-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:{rng.randrange(3):02d}:00.000Z"
        item = responses.invitation_to_item(replace(template, code=code), None)
        answer_sk = f"{when}#{code}"
        item.update(
            score={"N": str(rng.randrange(11))},
            first_answered_at={"S": when},
            answered_at={"S": when},
            answer_sk={"S": answer_sk},
            rev={"N": "1"},
        )
        if legacy:
            item["survey_key"] = {"S": f"{template.tenant_id}#{template.survey_id}"}
        rows.append({"PutRequest": {"Item": item}})
        written.append(answer_sk)
    table = get_settings().responses_table
    for start in range(0, len(rows), 25):
        request = {table: rows[start : start + 25]}
        while request:
            request = client("dynamodb").batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return written


def walk_in_pages(
    template: Invitation, page_size: int, newest_first: bool, lowest: str = "0", highest: str = "~"
) -> list[str]:
    """Every answer_sk, page after page, each page a new walk resumed after the last one seen
    (as the API's cursors do)."""
    seen: list[str] = []
    after: tuple[str, str] | None = None
    while True:
        walk = responses.answers_by_survey(
            template.tenant_id,
            template.survey_id,
            lowest=lowest,
            highest=highest,
            after=after,
            page_size=page_size,
            newest_first=newest_first,
        )
        page = [item["answer_sk"] for _, item in zip(range(page_size), walk, strict=False)]
        seen += page
        if len(page) < page_size:
            return seen
        after = (page[-1], page[-1].rsplit("#", 1)[1])


def test_an_answer_goes_to_the_bucket_of_its_code(
    api: Api, emulator: Emulator, tenant: dict[str, str]
) -> None:
    survey, inv = template_invitation(api, tenant["api_key"])
    out = client("dynamodb").get_item(TableName=get_settings().responses_table, Key={"pk": {"S": inv.code}})
    bucket = spread(inv.code, 32)
    assert out["Item"]["survey_key"]["S"] == f"{tenant['tenant_id']}#{survey}#{bucket}"
    assert responses.listing_keys(tenant["tenant_id"], survey)[1 + bucket] == out["Item"]["survey_key"]["S"]


def test_many_buckets_and_the_legacy_key_list_as_one_sorted_index(
    api: Api, emulator: Emulator, tenant: dict[str, str], reads: Reads
) -> None:
    # Given 100 answers over the 32 buckets and 24 under the legacy key, and another survey's
    rng = random.Random(22)
    _, template = template_invitation(api, tenant["api_key"])
    stored = put_answers(template, rng, 100, legacy=False) + put_answers(template, rng, 24, legacy=True)
    _, other = template_invitation(api, tenant["api_key"])
    put_answers(other, rng, 10, legacy=False)
    assert len({sk.rsplit("#", 1)[1] for sk in stored}) == 124
    assert len({spread(sk.rsplit("#", 1)[1], 32) for sk in stored}) >= 30
    assert len({sk.split("#")[0] for sk in stored}) < 124  # answers in the same millisecond
    emulator.drain()

    # Then every span, order and page size walks the one sorted list, page after page
    spans = {
        ("0", "~"): (31, 500),
        ("2026-11-05T00:00:00.000Z", "2026-11-20T12:01:00.000Z"): (11,),
        ("2026-11-10", "2026-11-11T00:00:00.000Z"): (1,),
    }
    for (lowest, highest), page_sizes in spans.items():
        inside = sorted(sk for sk in stored if lowest <= sk <= highest)
        assert inside
        for newest_first in (True, False):
            expected = inside[::-1] if newest_first else inside
            for page_size in page_sizes:
                got = walk_in_pages(template, page_size, newest_first, lowest, highest)
                assert got == expected, (lowest, newest_first, page_size)

    # A cursor inside the legacy key, and one inside a bucket, resume strictly after themselves
    legacy_sk, bucket_sk = stored[-1], stored[0]
    for position in (legacy_sk, bucket_sk):
        for newest_first in (True, False):
            walk = responses.answers_by_survey(
                template.tenant_id,
                template.survey_id,
                lowest="0",
                highest="~",
                after=(position, position.rsplit("#", 1)[1]),
                newest_first=newest_first,
            )
            rest = [item["answer_sk"] for item in walk]
            beyond = [sk for sk in sorted(stored, reverse=newest_first) if (sk < position) == newest_first]
            assert rest == [sk for sk in beyond if sk != position]


def test_a_page_costs_one_query_per_key_and_reads_a_bounded_share_of_each(
    api: Api, emulator: Emulator, tenant: dict[str, str], reads: Reads
) -> None:
    rng = random.Random(7)
    _, template = template_invitation(api, tenant["api_key"])
    put_answers(template, rng, 800, legacy=False)

    def take(count: int, page_size: int, **kwargs: Any) -> list[dict[str, Any]]:
        walk = responses.answers_by_survey(
            template.tenant_id, template.survey_id, lowest="0", highest="~", page_size=page_size, **kwargs
        )
        return [item for _, item in zip(range(count), walk, strict=False)]

    # A walk reads nothing until it is iterated
    reads.reset()
    responses.answers_by_survey(template.tenant_id, template.survey_id, lowest="0", highest="~")
    assert reads.queries == 0

    # A page of 101 over 800 evenly spread answers: 33 Queries of at most 9 items each
    reads.reset()
    page = take(101, 101)
    assert len(page) == 101
    assert responses.listing_page_limit(101) == 9
    assert reads.queries == KEYS
    assert reads.items <= 32 * 9

    # The first item of a walk costs the same 33 parallel Queries, and no more
    reads.reset()
    assert len(take(1, 101)) == 1 and reads.queries == KEYS

    # A resumed page too (the cursor's bounds, not a start key, on every key)
    reads.reset()
    last = page[-1]["answer_sk"]
    resumed = take(101, 101, after=(last, last.rsplit("#", 1)[1]))
    assert resumed[0]["answer_sk"] < last and reads.queries == KEYS

    # Bounds that cannot match ask nothing
    reads.reset()
    walk = responses.answers_by_survey(
        template.tenant_id, template.survey_id, lowest="2026-12", highest="2026-11"
    )
    assert list(walk) == [] and reads.queries == 0


def test_an_older_survey_whose_answers_all_sit_under_the_legacy_key_takes_two_queries_of_it(
    api: Api, emulator: Emulator, tenant: dict[str, str], reads: Reads
) -> None:
    rng = random.Random(5)
    _, template = template_invitation(api, tenant["api_key"])
    stored = put_answers(template, rng, 300, legacy=True)
    reads.reset()
    walk = responses.answers_by_survey(
        template.tenant_id, template.survey_id, lowest="0", highest="~", page_size=101
    )
    page = [item["answer_sk"] for _, item in zip(range(101), walk, strict=False)]
    assert page == sorted(stored, reverse=True)[:101]
    # 33 first Queries (Limit 9), then the legacy key once more for the 92 the page still needs
    assert reads.queries == KEYS + 1
    assert reads.items == 101
    # A long walk doubles the legacy key's Limit (capped at the page size) instead of 9 at a time
    reads.reset()
    everything = list(
        responses.answers_by_survey(
            template.tenant_id, template.survey_id, lowest="0", highest="~", page_size=101
        )
    )
    assert len(everything) == 300
    assert reads.queries <= KEYS + 4


def test_a_span_that_ends_before_it_starts_lists_nothing_and_reads_no_index(
    api: Api, emulator: Emulator, tenant: dict[str, str], reads: Reads
) -> None:
    from functions.logic.tenants import create_key

    survey, _ = template_invitation(api, tenant["api_key"])
    reader = create_key(tenant["tenant_id"], frozenset({"responses:read"}), survey)["api_key"]
    reads.reset()
    response = api.call("GET", "/v1/survey_responses?since=2000000000&until=1000000000", reader)
    assert response.status_code == 200, response.body
    assert json.loads(response.body) == [] and reads.queries == 0

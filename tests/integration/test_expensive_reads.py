"""One Delighted list request costs a bounded number of reads (docs/security.md, "Expensive
reads"): deep page numbers are a clear 422, the Link header resumes by a sealed page_info, and a
person filter reads that person's invitations, never the whole survey."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from functions.logic.tenants import create_key
from functions.store import responses
from functions.store.clients import client
from tests.conftest import BASE_URL, Api, Emulator, path_of

pytestmark = pytest.mark.integration

NPS = {"name": "Reads", "kind": "nps", "question": "Recommend us?"}
CROWD = 40


class ItemsRead:
    """Items DynamoDB returned to this process (Query, Scan, GetItem, BatchGetItem) while on,
    and its Queries (a listing sends its first Queries from several threads at once)."""

    def __init__(self) -> None:
        self.items = 0
        self.queries = 0
        self._lock = threading.Lock()

    def __call__(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        with self._lock:
            if "ScannedCount" in parsed:
                self.items += int(parsed["ScannedCount"])
                self.queries += 1
            elif "Item" in parsed:
                self.items += 1
            elif "Responses" in parsed:
                self.items += sum(len(v) for v in parsed["Responses"].values())


@pytest.fixture
def reads() -> Iterator[ItemsRead]:
    counter = ItemsRead()
    events = client("dynamodb").meta.events
    events.register("after-call.dynamodb", counter)
    yield counter
    events.unregister("after-call.dynamodb", counter)


@pytest.fixture
def crowd(api: Api, emulator: Emulator, tenant: dict[str, str]) -> dict[str, Any]:
    """A survey with CROWD answers from CROWD customers, and two more from one customer."""
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    rows = [{"customer_id": f"crowd-{i}"} for i in range(CROWD)] + [{"customer_id": "regular"}] * 2
    out = api.json("POST", f"/v1/surveys/{survey}/invitations", key, {"recipients": rows}, expect=201)
    for n, inv in enumerate(out["invitations"]):
        assert api.form(path_of(inv["url"]), {"score": str(n % 11)}).status_code == 303
    reader = create_key(tenant["tenant_id"], frozenset({"responses:read"}), survey)["api_key"]
    return {"survey_id": survey, "reader": reader, "key": key}


def link_next(response: Any) -> str | None:
    link = {k.lower(): v for k, v in response.headers.items()}.get("link")
    if not link:
        return None
    url = link.split(">", 1)[0].lstrip("<")
    assert url.startswith(BASE_URL)
    return url[len(BASE_URL) :]


def test_a_deep_page_number_is_a_clear_422_before_any_walk(
    api: Api, crowd: dict[str, Any], reads: ItemsRead
) -> None:
    reads.items = 0
    response = api.call("GET", "/v1/survey_responses?per_page=100&page=100000", crowd["reader"])
    assert response.status_code == 422
    error = json.loads(response.body)["error"]
    assert error["code"] == "page_too_deep" and error["field"] == "page" and "Link" in error["message"]
    assert reads.items <= 3  # the key and the survey; no response was read
    # the unsubscribe list is bounded the same way
    deep = api.call("GET", "/v1/unsubscribes?per_page=100&page=100000", crowd["reader"])
    assert deep.status_code == 422 and json.loads(deep.body)["error"]["code"] == "page_too_deep"


def test_following_link_next_reads_one_page_per_request(
    api: Api, crowd: dict[str, Any], reads: ItemsRead
) -> None:
    seen: list[str] = []
    path: str | None = "/v1/survey_responses?per_page=5"
    costs, queries = [], []
    while path:
        reads.items = reads.queries = 0
        response = api.call("GET", path, crowd["reader"])
        assert response.status_code == 200, response.body
        costs.append(reads.items)
        queries.append(reads.queries)
        seen += [r["id"] for r in json.loads(response.body)]
        path = link_next(response)
        assert path is None or "page=" not in path.replace("per_page=", "")
    assert len(seen) == len(set(seen)) == CROWD + 2
    # each request: the key (one Query), the survey, and one page of the index (plus the one row
    # that says more) from its 33 keys: a first Query of each, ⌈2 × 6 / 32⌉ + 2 = 3 rows at most,
    # and at most a few more of a key that ran dry (docs/api.md, Responses)
    limit = responses.listing_page_limit(5 + 1)
    assert limit == 3
    assert max(queries) <= 1 + 33 + 2
    assert max(costs) <= 3 + 33 * limit + 2 * (5 + 1)


def test_a_person_filter_reads_only_that_persons_invitations(
    api: Api, crowd: dict[str, Any], reads: ItemsRead
) -> None:
    reads.items = 0
    mine = api.json("GET", "/v1/survey_responses?person_id=regular", crowd["reader"])
    assert len(mine) == 2 and {r["person"] for r in mine} == {"regular"}
    assert reads.items <= 2 * 2 + 3  # index keys and items of the person's two invitations
    # paging a person's answers by Link works too
    first = api.call("GET", "/v1/survey_responses?person_id=regular&per_page=1", crowd["reader"])
    then = link_next(first)
    assert then is not None
    second = api.json("GET", then, crowd["reader"])
    assert [r["id"] for r in json.loads(first.body) + second] == [r["id"] for r in mine]


def test_a_page_info_does_not_open_for_another_filter_or_order(api: Api, crowd: dict[str, Any]) -> None:
    first = api.call("GET", "/v1/survey_responses?per_page=5", crowd["reader"])
    then = link_next(first)
    assert then is not None
    page_info = then.split("page_info=")[1].split("&")[0]
    for changed in ("order=desc", "person_id=regular"):
        response = api.call("GET", f"/v1/survey_responses?{changed}&page_info={page_info}", crowd["reader"])
        assert response.status_code in (400, 422)
        assert json.loads(response.body)["error"]["code"] == "invalid_cursor"


def test_a_person_with_too_many_invitations_is_a_clear_422(
    api: Api, emulator: Emulator, tenant: dict[str, str]
) -> None:
    from functions.logic import delighted

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)["id"]
    rows = [{"customer_id": "frequent", "channel": "link"}] * (delighted.MAX_PERSON_INVITATIONS + 1)
    out = api.json("POST", f"/v1/surveys/{survey}/invitations", key, {"recipients": rows}, expect=201)
    assert len(out["invitations"]) == delighted.MAX_PERSON_INVITATIONS + 1
    reader = create_key(tenant["tenant_id"], frozenset({"responses:read"}), survey)["api_key"]
    response = api.call("GET", "/v1/survey_responses?person_id=frequent", reader)
    assert response.status_code == 422
    assert json.loads(response.body)["error"]["code"] == "too_many_to_filter"

"""The responses table: one item per invitation, which becomes the response when answered.

The item's key is the invitation's random code, so a customer link leads straight to it:
recording an answer is one conditional UpdateItem, rendering a page one GetItem. Its stream
(NEW_AND_OLD_IMAGES) feeds the aggregator.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from functions.domain import follow_ups
from functions.domain.codes import spread
from functions.domain.errors import Gone, InvalidInput, NotFound, Throttled
from functions.domain.kinds import CSI_ATTRIBUTE_SCALE
from functions.domain.questions import (
    ANY_TEXT,
    SEVERAL,
    answer_problem,
    condition_tokens,
    picks,
    questions_from_plain,
)
from functions.domain.segments import segments_for
from functions.domain.sending import due_shard
from functions.lazy import lazy
from functions.settings import get_settings
from functions.store import dynamo
from functions.store.dynamo import get_many
from functions.store.items import from_item, to_item, to_value

WRITE_WORKERS = 16
BATCH_WRITE_LIMIT = 25
MAX_ATTEMPTS = 6
# A survey's answers sit under LISTING_KEYS partition keys of the `by_survey` index, so one hot
# survey's index writes spread (docs/api.md, Responses); a listing merges them.
LISTING_KEYS = 32
# The first page of every key is read in parallel: 33 Queries in three rounds.
LISTING_WORKERS = 11

if TYPE_CHECKING:
    from functions.domain import ledger, survey
    from functions.domain.ledger import ItemState, LoopMark
else:  # the aggregator's path only (a click's cold start skips the ledger)
    ledger = lazy("functions.domain.ledger")
    # invitations' shapes are the API's: the aggregator reads stream images only
    survey = lazy("functions.domain.survey")


def _table() -> str:
    return get_settings().responses_table


def invitation_to_item(inv: survey.Invitation, purge_at: int | None) -> dict[str, Any]:
    low, high = inv.scale
    attr_keys = [a["key"] for a in inv.page.get("attributes", [])]
    # What one conditional write checks an additional question's answer against.
    question_tokens = condition_tokens(questions_from_plain(inv.page.get("questions")))
    return to_item(
        {
            "pk": inv.code,
            "invitation_id": inv.invitation_id,
            "tenant_id": inv.tenant_id,
            "survey_id": inv.survey_id,
            "customer_id": inv.customer_id,
            "channel": inv.channel,
            "touchpoint": inv.touchpoint,
            "props": inv.properties or None,
            "created_at": inv.created_at,
            "expires_at": inv.expires_at,
            "rev": inv.rev,
            "page": inv.page,
            "smin": low,
            "smax": high,
            "attr_keys": set(attr_keys) if attr_keys else None,
            "q_ok": question_tokens or None,
            "survey_key": listing_key(inv.tenant_id, inv.survey_id, inv.code),
            "customer_key": f"{inv.tenant_id}#{inv.customer_id}",
            "customer_sk": f"{inv.survey_id}#{inv.created_at}#{inv.code}",
            "purge_at": purge_at,
            "phone_key": inv.phone_key,
            **_delivery_fields(inv),
        }
    )


def listing_key(tenant_id: str, survey_id: str, code: str) -> str:
    """The `by_survey` partition key of an invitation: ``<tenant>#<survey>#<bucket>``, the
    bucket one of LISTING_KEYS chosen by the code, so a hot survey's answers spread evenly."""
    return f"{tenant_id}#{survey_id}#{spread(code, LISTING_KEYS)}"


def listing_keys(tenant_id: str, survey_id: str) -> list[str]:
    """Every `by_survey` partition key a survey's answers may sit under: the unsuffixed
    ``<tenant>#<survey>`` of items stored before the index was spread (they keep it: no
    migration), then the LISTING_KEYS buckets."""
    legacy = f"{tenant_id}#{survey_id}"
    return [legacy, *(f"{legacy}#{bucket}" for bucket in range(LISTING_KEYS))]


def listing_page_limit(page_size: int) -> int:
    """The Limit of the first Query of each key when a walk wants about `page_size` items.

    Over 32 evenly filled buckets a page of `page_size` takes about page_size / 32 items from
    each; twice that plus two (⌈2·page_size/32⌉ + 2: 9 for a page of 101, 3 for a page of 6)
    covers a bucket's share of the page with room to spare, so a page costs the 33 first Queries
    (each ≤ 9 × 652 B, one or two read units) and rarely one more, where a Limit of `page_size`
    on every key would read (and bill) up to 33 × page_size items. A key that runs dry while
    the merge still needs it is read further (`_key_walk`).
    """
    return -(-2 * page_size // LISTING_KEYS) + 2


def _delivery_fields(inv: survey.Invitation) -> dict[str, Any]:
    """A scheduled send: its state, and its place in the sparse `by_send_due` index (which
    the scheduler reads; the fields leave the item once the send is done)."""
    delivery = inv.delivery
    if delivery.status == survey.LINKS_ONLY:
        return {}
    fields: dict[str, Any] = {
        "send_status": delivery.status,
        "send_at": delivery.send_at,
        "sent_at": delivery.sent_at,
        "send_provider_id": delivery.provider_message_id,
        "send_error": delivery.error,
        "send_to": inv.sealed_to,
    }
    if delivery.status == survey.SCHEDULED and delivery.send_at:
        fields["due_shard"] = due_shard(inv.code)
        # A later send is due from the whole second after its send_at, never the one before it
        # (the scheduler and the claim compare whole seconds); a send at once stays due at once.
        later = delivery.send_at > inv.created_at
        fields["due_at"] = epoch_of(delivery.send_at, not_before=later)
    return fields


def epoch_of(iso: str, *, not_before: bool = False) -> int:
    """Unix seconds of `iso`: rounded down, or up with `not_before` (due no earlier than it)."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    return math.ceil(moment) if not_before else int(moment)


def delivery_from_plain(item: Mapping[str, Any]) -> survey.Delivery:
    if "send_status" not in item:
        return survey.Delivery()
    status = item["send_status"]
    if status == survey.SCHEDULED and "send_claim" in item:
        status = survey.SENDING  # claimed by the sender (functions.store.sends)
    reminder = item.get("remind_status")
    if reminder == survey.SCHEDULED and "send_claim" in item:
        reminder = survey.SENDING
    return survey.Delivery(
        status=status,
        send_at=item.get("send_at"),
        sent_at=item.get("sent_at"),
        provider_message_id=item.get("send_provider_id"),
        error=item.get("send_error"),
        reminder_status=reminder,
        reminder_at=item.get("remind_at"),
        reminder_sent_at=item.get("remind_sent_at"),
        reminder_error=item.get("remind_error"),
    )


def invitation_from_plain(item: Mapping[str, Any]) -> survey.Invitation:
    return survey.Invitation(
        code=item["pk"],
        invitation_id=item["invitation_id"],
        tenant_id=item["tenant_id"],
        survey_id=item["survey_id"],
        customer_id=item["customer_id"],
        channel=item["channel"],
        touchpoint=item.get("touchpoint"),
        properties=dict(item.get("props") or {}),
        created_at=item["created_at"],
        expires_at=int(item["expires_at"]),
        rev=int(item.get("rev", 0)),
        page=dict(item["page"]),
        score=item.get("score"),
        comment=item.get("comment"),
        attrs={k: int(v) for k, v in (item.get("attrs") or {}).items()},
        answers={k: [str(v) for v in vs] for k, vs in (item.get("qa") or {}).items()},
        first_answered_at=item.get("first_answered_at"),
        answered_at=item.get("answered_at"),
        scored_at_ms=_int_or_none(item.get("scored_at")),
        previous_score=_int_or_none(item.get("prev_score")),
        previous_scored_at_ms=_int_or_none(item.get("prev_scored_at")),
        phone_key=item.get("phone_key"),
        delivery=delivery_from_plain(item),
        sealed_to=item.get("send_to"),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def state_from_image(image: Mapping[str, Any]) -> ItemState:
    """The score-relevant state of a stream image (DynamoDB attribute values)."""
    item = from_item(image)
    assert item is not None
    return state_from_plain(item)


def state_from_plain(item: Mapping[str, Any]) -> ItemState:
    """The score-relevant state of an item already converted to plain values.

    Raises ValueError (or KeyError) for an item the scores cannot count: missing fields, or a
    score or rating outside the scale stored on the item. The aggregator reports such a
    record as a failure instead of counting garbage.
    """
    first = item.get("first_answered_at")
    score = item.get("score")
    if score is not None:
        if not isinstance(score, int) or not int(item["smin"]) <= score <= int(item["smax"]):
            raise ValueError(f"invitation {item['pk']}: score {score!r} is outside its scale")
        if not first:
            raise ValueError(f"invitation {item['pk']}: answered without first_answered_at")
    for key, rating in (item.get("attrs") or {}).items():
        if not isinstance(rating, int) or not CSI_ATTRIBUTE_SCALE[0] <= rating <= CSI_ATTRIBUTE_SCALE[1]:
            raise ValueError(f"invitation {item['pk']}: rating {key}={rating!r} is outside 1..10")
    return ledger.ItemState(
        code=item["pk"],
        tenant_id=item["tenant_id"],
        survey_id=item["survey_id"],
        rev=int(item.get("rev", 0)),
        invited_day=str(item["created_at"])[:10],
        segments=tuple(
            segments_for(
                item["channel"],
                item.get("touchpoint"),
                item.get("props") or {},
                (item.get("page") or {}).get("locale"),
            )
        ),
        score=None if score is None else int(score),
        answered_day=None if first is None else str(first)[:10],
        attrs={k: int(v) for k, v in (item.get("attrs") or {}).items()},
        follow_up=loop_mark(item),
        picks=_picks(item),
    )


def loop_mark(item: Mapping[str, Any]) -> LoopMark | None:
    """What the item's follow-up counts in the figures (None: it has none)."""
    status = item.get("fu_status")
    if not status:
        return None
    closed_at = item.get("fu_closed")
    if status != follow_ups.CLOSED or not closed_at:
        return ledger.LoopMark(rev=int(item.get("fu_rev", 1)))
    hours = follow_ups.hours_between(str(item["fu_opened"]), str(closed_at))
    return ledger.LoopMark(
        rev=int(item.get("fu_rev", 2)),
        closed=True,
        within_sla=follow_ups.within_sla(str(closed_at), str(item["fu_due"])),
        bucket=follow_ups.bucket_of(hours),
    )


def _picks(item: Mapping[str, Any]) -> tuple[str, ...]:
    """The counted choices of an answered item's additional questions (domain.questions)."""
    answers = item.get("qa") or {}
    if not answers or item.get("score") is None:
        return ()
    questions = questions_from_plain((item.get("page") or {}).get("questions"))
    try:
        return picks(questions, {k: [str(v) for v in vs] for k, vs in answers.items()})
    except ValueError as exc:
        raise ValueError(f"invitation {item['pk']}: {exc}") from None


def _backoff(attempt: int) -> None:
    jitter = 0.5 + random.random()  # noqa: S311 (back-off jitter, not a secret)
    time.sleep(min(0.05 * 2**attempt, 1.0) * jitter)


def _put_invitation(
    inv: survey.Invitation,
    purge_at: Callable[[survey.Invitation], int | None],
    recode: Callable[[survey.Invitation], survey.Invitation],
) -> survey.Invitation | None:
    """One conditional PutItem (the code must be new); the invitation as written, or None
    when throttling outlasted the retries."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            dynamo.request(
                "put_item",
                TableName=_table(),
                Item=invitation_to_item(inv, purge_at(inv)),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return inv
        except dynamo.ConditionFailed:
            inv = recode(inv)  # a code collision: astronomically rare, never an overwrite
        except dynamo.Busy:
            _backoff(attempt)
    return None


def create_invitations(
    invitations: Sequence[survey.Invitation],
    purge_at: Callable[[survey.Invitation], int | None],
    recode: Callable[[survey.Invitation], survey.Invitation],
) -> tuple[list[survey.Invitation], list[survey.Invitation]]:
    """Write invitations as conditional PutItems, WRITE_WORKERS at a time.

    Each put is conditional on a fresh code, so an invitation can never overwrite another;
    a colliding code is replaced by `recode` and retried, a throttled put retried with
    back-off. Rows are independent, so each succeeds or fails alone: returns (written, not
    written), in input order. (BatchWriteItem cannot carry conditions; TransactWriteItems of
    100 would cost two write units per item and fail 100 rows together.)
    """
    with ThreadPoolExecutor(max_workers=WRITE_WORKERS) as pool:
        results = list(pool.map(lambda inv: _put_invitation(inv, purge_at, recode), invitations))
    written = [inv for inv in results if inv is not None]
    failed = [inv for inv, done in zip(invitations, results, strict=True) if done is None]
    return written, failed


def get_invitation(code: str) -> survey.Invitation | None:
    out = dynamo.request("get_item", TableName=_table(), Key={"pk": {"S": code}})
    item = from_item(out.get("Item"))
    return None if item is None else invitation_from_plain(item)


def record_answer(
    code: str,
    *,
    score: int | None,
    comment: str | None,
    attrs: Mapping[str, int],
    now_iso: str,
    now_epoch: int,
    now_ms: int | None = None,
    channel: str | None = None,
    answers: Mapping[str, list[str]] | None = None,
) -> None:
    """Record or replace the answer on invitation `code`: one conditional UpdateItem.

    `answers` (additional questions; None: keep the stored ones) replace the stored answers;
    each value is checked in the same condition against the item's ``q_ok`` tokens
    (domain.questions.condition_tokens), so a choice the survey does not offer is refused
    without a read.

    With `score` None only the comment (and attributes) change, on an answered invitation;
    an empty `comment` removes the stored one.
    The condition checks existence, expiry, the score's range and attribute keys; when it
    fails, the old item (returned by the same call) says which, so no second read is needed.
    A score also moves the replaced score and its time to ``prev_score`` / ``prev_scored_at``
    (right-hand sides read the item as it was before the update), so a burst of different
    scores is visible on the item without another request (domain.automation).
    """
    if now_ms is None:
        now_ms = now_epoch * 1000
    sets = ["answered_at = :now"]
    values: dict[str, Any] = {":now": to_value(now_iso), ":one": to_value(1), ":t": to_value(now_epoch)}
    conditions = ["attribute_exists(pk)", "expires_at > :t"]
    if channel is not None:
        conditions.append("channel = :ch")
        values[":ch"] = to_value(channel)
    if score is not None:
        sets += [
            "prev_score = if_not_exists(score, :s)",
            "prev_scored_at = if_not_exists(scored_at, :ms)",
            "score = :s",
            "scored_at = :ms",
            "first_answered_at = if_not_exists(first_answered_at, :now)",
            "answer_sk = if_not_exists(answer_sk, :ask)",
        ]
        values[":s"] = to_value(score)
        values[":ms"] = to_value(now_ms)
        values[":ask"] = to_value(f"{now_iso}#{code}")
        conditions.append(":s BETWEEN smin AND smax")
    else:
        conditions.append("attribute_exists(score)")
    removes = []
    if comment:
        sets.append("#comment = :c")
        values[":c"] = to_value(comment)
    elif comment is not None:
        removes.append("#comment")
    if attrs:
        sets.append("attrs = :a")
        values[":a"] = to_value(dict(attrs))
        for i, key in enumerate(sorted(attrs)):
            values[f":k{i}"] = to_value(key)
            conditions.append(f"contains(attr_keys, :k{i})")
    if answers:
        sets.append("qa = :qa")
        values[":qa"] = to_value({k: list(v) for k, v in answers.items()})
        conditions += _answer_conditions(answers, values)
    elif answers is not None:
        removes.append("qa")
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "Key": {"pk": {"S": code}},
        "UpdateExpression": "SET "
        + ", ".join(sets)
        + (" REMOVE " + ", ".join(removes) if removes else "")
        + " ADD rev :one",
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if comment is not None:
        kwargs["ExpressionAttributeNames"] = {"#comment": "comment"}
    try:
        dynamo.request("update_item", **kwargs)
    except dynamo.ConditionFailed as exc:
        _explain_refusal(from_item(exc.item), score, attrs, now_epoch, channel, answers)
        raise


def _answer_conditions(answers: Mapping[str, list[str]], values: dict[str, Any]) -> list[str]:
    """Conditions that admit exactly the answers the invitation's questions allow."""
    conditions = []
    for i, (key, given) in enumerate(sorted(answers.items())):
        values[f":qf{i}"] = to_value(f"{key}={ANY_TEXT}")
        if len(given) > 1:
            values[f":qm{i}"] = to_value(f"{key}={SEVERAL}")
            conditions.append(f"contains(q_ok, :qm{i})")
        for j, value in enumerate(given):
            values[f":qv{i}_{j}"] = to_value(f"{key}={value}")
            conditions.append(f"(contains(q_ok, :qf{i}) OR contains(q_ok, :qv{i}_{j}))")
    return conditions


def _explain_refusal(
    old: dict[str, Any] | None,
    score: int | None,
    attrs: Mapping[str, int],
    now_epoch: int,
    channel: str | None,
    answers: Mapping[str, list[str]] | None = None,
) -> None:
    if old is None or (channel is not None and old.get("channel") != channel):
        raise NotFound("this survey link is not valid")
    if int(old["expires_at"]) <= now_epoch:
        raise Gone("this survey has closed")
    if score is None and old.get("score") is None:
        raise InvalidInput("choose a score first", field="score", code="score_required")
    if score is not None and not int(old["smin"]) <= score <= int(old["smax"]):
        raise InvalidInput(
            f"score must be an integer from {old['smin']} to {old['smax']}",
            field="score",
            code="invalid_score",
            values={"low": int(old["smin"]), "high": int(old["smax"])},
        )
    allowed = set(old.get("attr_keys") or ())
    for key in attrs:
        if key not in allowed:
            raise InvalidInput(f"unknown attribute {key!r}", field=f"attr.{key}", code="invalid_attribute")
    if answers:
        problem = answer_problem(questions_from_plain((old.get("page") or {}).get("questions")), answers)
        if problem is not None:
            raise problem
    raise InvalidInput("the answer could not be recorded", code="invalid_answer")


def delete_invitation(code: str) -> bool:
    """Erase one invitation and its answer (one DeleteItem); False if it did not exist.

    The stream's REMOVE record (made by a user, not by TTL) takes the answer out of the scores.
    """
    out = dynamo.request("delete_item", TableName=_table(), Key={"pk": {"S": code}}, ReturnValues="ALL_OLD")
    return "Attributes" in out


def answers_by_survey(
    tenant_id: str,
    survey_id: str,
    *,
    lowest: str,
    highest: str,
    after: tuple[str, str] | None = None,
    page_size: int = 100,
    newest_first: bool = True,
) -> Iterator[dict[str, Any]]:
    """Answered items of a survey, newest first (or oldest first), with
    ``lowest <= answer_sk <= highest`` (the sparse `by_survey` index), fetched lazily.

    `after` is the (answer_sk, code) of the last item already seen: the walk resumes
    strictly after it. `page_size` is about how many items the caller will take.

    The survey's answers sit under 33 partition keys (`listing_keys`): each is one Query in
    answer_sk order, and the walk merges them. answer_sk (``<first answered at>#<code>``) is
    unique, so the merged order is the single index's order and a position (the cursor) means
    the same thing whichever key holds it. The first page of every key is read in parallel
    (Limit `listing_page_limit`); a later page of a key only when the merge needs its next
    item. A resumed walk narrows every key's condition to answer_sk between the position and
    the far bound and drops the item at the position (a key's ExclusiveStartKey must be an
    item of that key, and the position's item is in one of them only).
    """
    low, high = lowest, highest
    if after is not None:
        low, high = (low, min(high, after[0])) if newest_first else (max(low, after[0]), high)
    if low > high:
        return  # nothing can match (and DynamoDB refuses a BETWEEN whose bounds are reversed)
    drop = None if after is None else after[0]
    first_limit = listing_page_limit(page_size)
    calls = [
        {
            "TableName": _table(),
            "IndexName": "by_survey",
            "KeyConditionExpression": "survey_key = :k AND answer_sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":k": to_value(key),
                ":lo": to_value(low),
                ":hi": to_value(high),
            },
            "ScanIndexForward": not newest_first,
        }
        for key in listing_keys(tenant_id, survey_id)
    ]
    with ThreadPoolExecutor(max_workers=LISTING_WORKERS) as pool:
        firsts = list(pool.map(lambda call: dynamo.one_page(call, limit=first_limit), calls))
    yielded = 0

    def still_needed() -> int:
        return max(page_size - yielded, 0)

    walks = [
        _key_walk(call, first, first_limit, max(page_size, first_limit), still_needed, drop)
        for call, first in zip(calls, firsts, strict=True)
    ]
    for raw in heapq.merge(*walks, key=_answer_sk, reverse=newest_first):
        item = from_item(raw)
        if item is not None:
            yielded += 1
            yield item


def _answer_sk(raw: Mapping[str, Any]) -> str:
    return str(raw["answer_sk"]["S"])


def _key_walk(
    call: Mapping[str, Any],
    first: tuple[list[dynamo.Raw], dynamo.Raw | None],
    limit: int,
    most: int,
    still_needed: Callable[[], int],
    drop: str | None,
) -> Iterator[dynamo.Raw]:
    """One key's raw items in order, from its first page, reading the next page only when
    the merge asks for the item after the last one read.

    A key that runs dry early carries more than its share (the legacy key of an older survey,
    say): its next Query asks for what the first page still needs or twice its last Limit,
    whichever is more, capped at `most` (the walk's page size), so such a key takes a few
    Queries rather than one per `limit` items, and a long walk (an export) reads ahead at most
    about as much of a key as it has already taken from it.
    """
    items, start = first
    while True:
        for raw in items:
            if _answer_sk(raw) != drop:
                yield raw
        if start is None:
            return
        limit = min(most, max(2 * limit, still_needed()))
        items, start = dynamo.one_page(call, start=start, limit=limit)


def codes_of_customer(tenant_id: str, customer_id: str) -> list[str]:
    """Every item code of one customer across the tenant's surveys (the `by_customer` index)."""
    codes: list[str] = []
    for page in dynamo.pages(_customer_query(tenant_id, customer_id)):
        codes.extend(item["pk"]["S"] for item in page)
    return codes


def _customer_query(tenant_id: str, customer_id: str, sort_key: str = "", **values: str) -> dict[str, Any]:
    """A Query of one customer's invitations on the `by_customer` index (sort key
    ``<survey>#<created_at>#<code>``), narrowed by the `sort_key` condition on `values`."""
    return {
        "TableName": _table(),
        "IndexName": "by_customer",
        "KeyConditionExpression": "customer_key = :k" + (f" AND {sort_key}" if sort_key else ""),
        "ExpressionAttributeValues": {
            ":k": to_value(f"{tenant_id}#{customer_id}"),
            **{f":{name}": to_value(value) for name, value in values.items()},
        },
    }


def _in_survey(tenant_id: str, customer_id: str, survey_id: str) -> dict[str, Any]:
    """The Query of the customer's invitations to one survey."""
    return _customer_query(tenant_id, customer_id, "begins_with(customer_sk, :s)", s=f"{survey_id}#")


def latest_code_in_survey(tenant_id: str, customer_id: str, survey_id: str) -> str | None:
    """The code of the customer's newest invitation to the survey: one Query of at most one key."""
    out = dynamo.request(
        "query", **_in_survey(tenant_id, customer_id, survey_id), ScanIndexForward=False, Limit=1
    )
    items = out.get("Items", [])
    return str(items[0]["pk"]["S"]) if items else None


def customer_answers_in_survey(
    tenant_id: str, customer_id: str, survey_id: str, most: int
) -> list[dict[str, Any]] | None:
    """The answered items of one customer in one survey, or None when the customer has more
    than `most` invitations to it: at most ``most / 1000`` index pages (keys only) and
    ``most / 100`` BatchGetItems, so a person filter costs a bounded number of reads."""
    codes: list[str] = []
    for page in dynamo.pages({**_in_survey(tenant_id, customer_id, survey_id), "Limit": most + 1}):
        codes.extend(item["pk"]["S"] for item in page)
        if len(codes) > most:
            break
    if len(codes) > most:
        return None
    found: list[dict[str, Any]] = []
    for start in range(0, len(codes), 100):
        keys = [{"pk": {"S": code}} for code in codes[start : start + 100]]
        for raw in get_many({_table(): keys})[_table()]:
            item = from_item(raw)
            if item is not None and item.get("answer_sk") and item.get("tenant_id") == tenant_id:
                found.append(item)
    return found


def codes_in_survey(tenant_id: str, customer_id: str, survey_id: str) -> list[str]:
    """Every invitation code of one customer in one survey (the `by_customer` index)."""
    return [code for code, sk in _customer_keys(tenant_id, customer_id) if sk.startswith(f"{survey_id}#")]


def _customer_keys(tenant_id: str, customer_id: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for page in dynamo.pages(_customer_query(tenant_id, customer_id)):
        found.extend((item["pk"]["S"], item["customer_sk"]["S"]) for item in page)
    return found


def close_if_unanswered(code: str, now_epoch: int) -> bool:
    """Close an open, unanswered invitation now (its links stop working): one conditional
    UpdateItem. False when it was answered, already closed or gone. The revision stays: the
    scores do not change (an invitation still counts as invited)."""
    return dynamo.conditional(
        "update_item",
        TableName=_table(),
        Key={"pk": {"S": code}},
        UpdateExpression="SET expires_at = :t",
        ConditionExpression="attribute_exists(pk) AND attribute_not_exists(score) AND expires_at > :t",
        ExpressionAttributeValues={":t": to_value(now_epoch)},
    )


def last_invited_at(tenant_id: str, customer_id: str, survey_id: str, since_iso: str) -> str | None:
    """When the customer was last invited to the survey, if at or after `since_iso`: one
    Query of at most one key on the `by_customer` index (sort key ``<survey>#<created_at>#<code>``)."""
    out = dynamo.request(
        "query",
        **_customer_query(
            tenant_id,
            customer_id,
            "customer_sk BETWEEN :lo AND :hi",
            lo=f"{survey_id}#{since_iso}",
            hi=f"{survey_id}#~",
        ),
        ScanIndexForward=False,
        Limit=1,
    )
    items = out.get("Items", [])
    return items[0]["customer_sk"]["S"].split("#")[1] if items else None


def delete_items(codes: Sequence[str]) -> int:
    """Delete items by code in batches of 25, retrying unprocessed ones with back-off.

    Each delete reaches the stream as a REMOVE, which takes the item out of the scores.
    """
    deleted = 0
    for start in range(0, len(codes), BATCH_WRITE_LIMIT):
        pending: list[dict[str, Any]] = [
            {"DeleteRequest": {"Key": {"pk": {"S": code}}}}
            for code in codes[start : start + BATCH_WRITE_LIMIT]
        ]
        for attempt in range(MAX_ATTEMPTS + 4):
            try:
                out = dynamo.request("batch_write_item", RequestItems={_table(): pending})
                left = out.get("UnprocessedItems", {}).get(_table(), [])
            except dynamo.Busy:
                left = pending
            deleted += len(pending) - len(left)
            pending = left
            if not pending:
                break
            _backoff(attempt)
        if pending:
            raise Throttled("could not erase every item; try again (erasure is safe to repeat)")
    return deleted


def scan_all(survey_id: str | None = None) -> list[dict[str, Any]]:
    """Every item, consistently read (with `survey_id`, that survey's only, by a filter)."""
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        page, start = scan_page(0, 1, survey_id=survey_id, start=start)
        items.extend(page)
        if start is None:
            return items


def approximate_count() -> int:
    """The table's item count as DynamoDB last published it (about every six hours): a
    progress bar's total, never a figure to trust."""
    return int(dynamo.request("describe_table", TableName=_table())["Table"].get("ItemCount", 0))


Page = tuple[list[dict[str, Any]], dict[str, Any] | None]


def scan_page(
    segment: int,
    total_segments: int,
    *,
    tenant_id: str | None = None,
    survey_id: str | None = None,
    start: dict[str, Any] | None = None,
    limit: int | None = None,
) -> Page:
    """One page of one parallel scan segment (`hark rebuild` / `hark verify`), consistently
    read: the items (filtered to the tenant or survey given; the scan still reads, and bills,
    every item of the segment) and the key to continue from (None when the segment is done)."""
    filters, values = [], {}
    if tenant_id is not None:
        filters.append("tenant_id = :t")
        values[":t"] = to_value(tenant_id)
    if survey_id is not None:
        filters.append("survey_id = :s")
        values[":s"] = to_value(survey_id)
    return dynamo.scan_segment(
        _table(),
        segment,
        total_segments,
        filter_expression=" AND ".join(filters),
        values=values,
        start=start,
        limit=limit,
    )


def survey_page(
    survey_id: str,
    *,
    tenant_id: str | None = None,
    start: dict[str, Any] | None = None,
    limit: int | None = None,
) -> Page:
    """One page of one survey's items, read without touching any other survey's: a Query of
    the keys-only `by_survey_code` index (every invitation, answered or not), then the items
    themselves by consistent BatchGetItems of 100 (the index is eventually consistent; an item
    created since is the aggregator's to count, through the stream)."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "by_survey_code",
        "KeyConditionExpression": "survey_id = :s",
        "ExpressionAttributeValues": {":s": to_value(survey_id)},
    }
    found, last = dynamo.one_page(kwargs, start=start, limit=limit)
    codes = [raw["pk"]["S"] for raw in found]
    items: list[dict[str, Any]] = []
    for first in range(0, len(codes), 100):
        keys = [{"pk": {"S": code}} for code in codes[first : first + 100]]
        request: dict[str, Any] = {_table(): {"Keys": keys, "ConsistentRead": True}}
        while request:
            got = dynamo.request("batch_get_item", RequestItems=request)
            for raw in got.get("Responses", {}).get(_table(), []):
                item = from_item(raw)
                if item is not None and tenant_id in (None, item.get("tenant_id")):
                    items.append(item)
            request = got.get("UnprocessedKeys") or {}
    return items, last


def answered_items_of_customer(tenant_id: str, customer_id: str, most: int = 100) -> list[dict[str, Any]]:
    """Up to `most` answered items of one customer across the tenant's surveys: the keys from
    the `by_customer` index (keys only), then one BatchGetItem per 100 of the first `most`."""
    codes = codes_of_customer(tenant_id, customer_id)[:most]
    found: list[dict[str, Any]] = []
    for start in range(0, len(codes), 100):
        keys = [{"pk": {"S": code}} for code in codes[start : start + 100]]
        for raw in get_many({_table(): keys})[_table()]:
            item = from_item(raw)
            if item is not None and item.get("score") is not None and item.get("tenant_id") == tenant_id:
                found.append(item)
    return found

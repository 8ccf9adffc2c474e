"""Delighted's API answered by Hark (docs/delighted.md): people, survey responses and unsubscribes.

A Delighted person is a Hark customer: their id is the lower-cased email (else the phone
number), so a person created through this API and a customer invited through Hark's own API
with that id are the same person. A survey response is an answered invitation; its id is the
invitation's code sealed for the tenant (never the code: docs/security.md). Every call acts
on one survey: the one named with ``?survey_id=``, else the API key's default survey.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.domain import delighted_answers
from functions.domain.apikeys import ApiKey
from functions.domain.codes import CUSTOMER_ID_PATTERN
from functions.domain.commands import (
    AnswerChanges,
    DelightedPage,
    NewAnswer,
    NewPerson,
    NoteIn,
    PeoplePage,
    ResponsesPage,
)
from functions.domain.errors import Forbidden, InvalidInput, NotFound, Unprocessable
from functions.domain.kinds import Kind
from functions.domain.languages import is_tag
from functions.domain.questions import Question, questions_from_plain
from functions.domain.survey import Invitation, Survey
from functions.lazy import lazy
from functions.logic import clock, erasure, follow_ups, invitations
from functions.logic.answers import record_answer
from functions.logic.responses import HIGHEST, LOWEST
from functions.logic.surveys import survey_for_key
from functions.settings import get_settings
from functions.store import cursors
from functions.store import people as people_store
from functions.store import responses as response_store

if TYPE_CHECKING:
    from functions.logic import commands as recipients
    from functions.store import follow_ups as follow_up_store
else:  # the recipient row model loads pydantic: a new person's invitation only
    recipients = lazy("functions.logic.commands")
    follow_up_store = lazy("functions.store.follow_ups")

MAX_PROPERTIES = 10
MAX_PROPERTY_LENGTH = 100
WALK_PAGE = 100
# Bounds on what one Delighted list request reads (docs/security.md, "Expensive reads").
MAX_PAGE_DEPTH = 1_000
MAX_PERSON_INVITATIONS = 500
# Tags and notes are the follow-up's: writing them needs the follow-up scope (docs/follow-ups.md).
FOLLOW_UPS_WRITE = "follow_ups:write"
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")


def unix(iso: str | None) -> int | None:
    """Unix seconds of a stored UTC ISO time (Delighted's timestamps)."""
    if not iso:
        return None
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def iso_of(seconds: int) -> str:
    return clock.iso(datetime.fromtimestamp(seconds, UTC))


def customer_id_for(person: str) -> str:
    """The customer id of a person named as Delighted's clients name one: an id, an email,
    ``email:…`` or ``phone_number:…``."""
    text = person.strip()
    if text.startswith("email:"):
        return text[len("email:") :].strip().lower()
    if text.startswith("phone_number:"):
        return text[len("phone_number:") :].strip()
    return text.lower() if "@" in text else text


def _checked(customer_id: str, field: str) -> str:
    if not CUSTOMER_ID_PATTERN.match(customer_id):
        raise Unprocessable(
            f"{field} must be a person id, an email or a phone number "
            "(1 to 128 letters, digits or . @ + - : _)",
            field=field,
            code="invalid_person",
        )
    return customer_id


def invitation_properties(raw: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Delighted's person properties as Hark's invitation properties: keys lower-cased to
    ``[a-z0-9_]``, text values of at most 100 characters, at most 10 of them.
    Returns (kept, ignored: original key → why)."""
    kept: dict[str, str] = {}
    ignored: dict[str, str] = {}
    for key, value in raw.items():
        slug = _NOT_SLUG.sub("_", str(key).strip().lower()).strip("_")[:40]
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if value is None or isinstance(value, (dict, list)):
            ignored[key] = "not a text or number value"
        elif not slug:
            ignored[key] = "the name has no letters or digits"
        elif not text:
            ignored[key] = "empty value"
        elif len(text) > MAX_PROPERTY_LENGTH:
            ignored[key] = f"longer than {MAX_PROPERTY_LENGTH} characters"
        elif slug in kept:
            ignored[key] = f"same name as another property once lower-cased ({slug})"
        elif len(kept) >= MAX_PROPERTIES:
            ignored[key] = f"more than {MAX_PROPERTIES} properties (Hark keeps the first {MAX_PROPERTIES})"
        else:
            kept[slug] = text
    return kept, ignored


def person_locale(raw: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Delighted's special `locale` property (the language of the survey it sends) becomes the
    invitation's locale, not a property; one that is not a language tag stays a property."""
    rest = dict(raw)
    for key in [k for k in rest if str(k).strip().lower() == "locale"]:
        value = rest[key]
        if isinstance(value, str) and is_tag(value.strip()):
            del rest[key]
            return value.strip(), rest
    return None, rest


# ---- people ------------------------------------------------------------------------------------


def person_view(item: dict[str, Any] | None, customer_id: str) -> dict[str, Any]:
    """Delighted's person. A customer invited through Hark's own API has no person record: the
    id is all Hark knows (and the email, when the id is one)."""
    item = item or {}
    return {
        "id": customer_id,
        "email": item.get("email") or (customer_id if "@" in customer_id else None),
        "name": item.get("name"),
        "phone_number": item.get("phone_number"),
        "created_at": unix(item.get("created_at")),
        "last_sent_at": unix(item.get("last_sent_at")),
        "last_responded_at": None,
        "next_survey_scheduled_at": None,
    }


def create_person(key: ApiKey, survey_id: str | None, body: NewPerson) -> dict[str, Any]:
    """An invitation to the survey for the person, emailed after `delay` unless `send` is false
    (as Delighted did; docs/sending.md), and the person recorded. `email_update` and other
    Delighted fields Hark does not use are ignored. An unsubscribed email or a person inside the survey's
    cool-down gets no invitation: the answer says so (`survey_scheduled: false`, `skipped`)."""
    survey = survey_for_key(key, survey_id)
    email = body.email.lower() if body.email else None
    customer_id = _checked(email or str(body.phone_number), "email")
    channel = body.channel or ("email" if email else "sms")
    locale, raw_properties = person_locale(body.properties)
    properties, ignored = invitation_properties(raw_properties)
    invitation: dict[str, Any] | None = None
    skipped: dict[str, str] | None = None
    if email and people_store.is_unsubscribed(key.tenant_id, email):
        skipped = {"reason": "unsubscribed", "message": f"{email} unsubscribed; no invitation was made"}
    else:
        # Delighted sent the survey (email or text) unless send=false; Hark does too.
        send = body.send
        row = {
            "customer_id": customer_id,
            "channel": channel,
            "email": email,
            "phone": body.phone_number,
            "properties": properties,
            "locale": locale,
            "send": send,
            "delay": body.delay if send else None,
        }
        result = invitations.create_invitations(survey, [row])
        if result["errors"]:
            error = result["errors"][0]["error"]
            raise Unprocessable(error["message"], field=error.get("field"), code=error["code"])
        if result["skipped"]:
            skipped = {k: v for k, v in result["skipped"][0].items() if k in ("reason", "message")}
        else:
            invitation = result["invitations"][0]
    now = clock.iso(clock.now())
    person = people_store.save_person(
        key.tenant_id,
        customer_id,
        email=email,
        name=body.name or None,
        phone_number=body.phone_number,
        now_iso=now,
        sent_iso=now if invitation else None,
    )
    view = person_view(person, customer_id)
    view["survey_id"] = survey.id
    view["survey_scheduled"] = invitation is not None
    if invitation:
        view.update(
            invitation_id=invitation["invitation_id"],
            channel=invitation["channel"],
            url=invitation["url"],
            score_urls=invitation["score_urls"],
            short_url=invitation["short_url"],
            expires_at=unix(invitation["expires_at"]),
            delivery=invitation["delivery"],
            next_survey_scheduled_at=unix(invitation["delivery"]["send_at"]),
        )
    if skipped:
        view["skipped"] = skipped
    if ignored:
        view["ignored_properties"] = ignored
    return view


PEOPLE_ROUTE = "GET /v1/people"


def encode_position(tenant_id: str, item: dict[str, Any]) -> str:
    return people_store.seal_position(item, tenant_id=tenant_id, route=PEOPLE_ROUTE)


def decode_position(tenant_id: str, text: str | None, index: str) -> dict[str, Any] | None:
    return people_store.open_position(text, tenant_id=tenant_id, route=PEOPLE_ROUTE, index=index)


def response_id(inv: Invitation) -> str:
    """A Delighted response's public id: its code sealed for its tenant (docs/security.md).

    Never the code itself: a `responses:read` key must not learn what answers at /s/{code}.
    """
    return follow_ups.response_id(inv.tenant_id, inv.code)


def list_people(key: ApiKey, query: PeoplePage) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the tenant's people, oldest first, and the position of the next page."""
    if query.email:
        email = query.email.lower()
        found = people_store.get_people(key.tenant_id, {email})
        return ([person_view(found[email], email)] if email in found else []), None
    index = people_store.people_index(key.tenant_id)
    items, more = people_store.page(
        index, query.per_page, decode_position(key.tenant_id, query.page_info, index)
    )
    next_position = encode_position(key.tenant_id, items[-1]) if more and items else None
    return [person_view(i, i["customer_id"]) for i in items], next_position


def erase_person(key: ApiKey, person: str) -> int:
    """Hark's erasure of the person: invitations, responses, the person record, the address on
    the unsubscribe list (docs/security.md)."""
    return erasure.erase_customer(key.tenant_id, customer_id_for(person))


def close_pending(key: ApiKey, survey_id: str | None, person: str) -> int:
    """Close the person's unanswered invitations to the survey now; how many were closed."""
    survey = survey_for_key(key, survey_id)
    customer_id = customer_id_for(person)
    now = int(clock.now().timestamp())
    codes = response_store.codes_in_survey(key.tenant_id, customer_id, survey.id)
    return sum(response_store.close_if_unanswered(code, now) for code in codes)


# ---- unsubscribes ------------------------------------------------------------------------------


def unsubscribe(key: ApiKey, email: str) -> None:
    email = email.lower()
    people_store.add_unsubscribe(key.tenant_id, email, email, clock.iso(clock.now()))


UNSUBSCRIBES_ROUTE = "GET /v1/unsubscribes"


def list_unsubscribes(key: ApiKey, query: DelightedPage) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the tenant's unsubscribes, oldest first, and the sealed page_info of the next.

    `page` skips at most MAX_PAGE_DEPTH rows; `page_info` (the Link header's) resumes anywhere.
    """
    index = people_store.unsubscribes_index(key.tenant_id)
    start = people_store.open_position(
        query.page_info, tenant_id=key.tenant_id, route=UNSUBSCRIBES_ROUTE, index=index
    )
    skip = 0 if start else _check_depth(query.page, query.per_page)
    found: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    while True:
        items, more = people_store.page(index, WALK_PAGE, start)
        for item in items:
            if "email" not in item:  # the person was erased: only the keyed hash is left
                last = item
                continue
            if skip:
                skip -= 1
                last = item
                continue
            if len(found) == query.per_page:
                assert last is not None
                return found, _seal_unsubscribe(key.tenant_id, last)
            found.append(
                {
                    "person_id": item["person_id"],
                    "email": item["email"],
                    "name": None,
                    "unsubscribed_at": unix(item["unsubscribed_at"]),
                }
            )
            last = item
        if not more or not items:
            return found, None
        start = people_store.start_after(items[-1])


def _seal_unsubscribe(tenant_id: str, item: dict[str, Any]) -> str:
    return people_store.seal_position(item, tenant_id=tenant_id, route=UNSUBSCRIBES_ROUTE)


def list_bounces(key: ApiKey, per_page: int, page: int) -> tuple[list[dict[str, Any]], bool]:
    """Page `page` of the tenant's bounced addresses (SES's permanent bounces), oldest first,
    and whether more follow. A bounce whose customer was erased keeps only the keyed hash of
    the address (it still suppresses it) and is left out, as on the unsubscribe list."""
    index = people_store.bounces_index(key.tenant_id)
    skip = _check_depth(page, per_page)
    found: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while True:
        items, more = people_store.page(index, WALK_PAGE, start)
        for item in items:
            if "email" not in item:
                continue
            if skip:
                skip -= 1
                continue
            if len(found) == per_page:
                return found, True
            found.append(
                {
                    "person_id": item.get("person_id") or None,
                    "email": item["email"],
                    "name": None,
                    "bounced_at": unix(item["bounced_at"]),
                }
            )
        if not more or not items:
            return found, False
        start = people_store.start_after(items[-1])


# ---- survey responses --------------------------------------------------------------------------


def delighted_note(note: dict[str, Any]) -> dict[str, Any]:
    """A follow-up note (docs/follow-ups.md) as Delighted showed one: `user_email` is who wrote
    it when that is an email address; Hark adds `author` and `kind` (note or reply)."""
    author = note.get("author")
    return {
        "id": note["id"],
        "text": note["text"],
        "user_email": author if isinstance(author, str) and "@" in author else None,
        "created_at": unix(note.get("created_at")),
        "author": author,
        "kind": note.get("kind", "note"),
    }


def response_view(
    inv: Invitation, person: dict[str, Any] | None = None, item: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Delighted's survey response; `person` expanded when given, else the person's id. Its
    `notes` and `tags` are the follow-up's, read from the stored `item` when given."""
    base = get_settings().public_base_url
    public_id = response_id(inv)
    return {
        "id": public_id,
        "person": person if person is not None else inv.customer_id,
        "survey_type": inv.kind.value,
        "score": inv.score,
        "comment": inv.comment,
        "permalink": f"{base}/v1/survey_responses/{public_id}",
        "created_at": unix(inv.first_answered_at),
        "updated_at": unix(inv.answered_at),
        "person_properties": dict(inv.properties),
        "notes": [delighted_note(n) for n in (item or {}).get("fu_notes") or ()],
        "tags": list((item or {}).get("fu_tags") or ()),
        "additional_answers": [
            {"id": k, "value": {"scale": v}, "question": {"id": k, "type": "scale"}}
            for k, v in sorted(inv.attrs.items())
        ]
        + delighted_answers.answers_view(_questions_of(inv), inv.answers),
        "survey_id": inv.survey_id,
        "invitation_id": inv.invitation_id,
        "channel": inv.channel,
    }


def _views(
    tenant_id: str, found: list[Invitation], expand: bool, items: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    stored = items if items is not None else [None] * len(found)
    if not expand:
        return [response_view(inv, item=item) for inv, item in zip(found, stored, strict=True)]
    people = people_store.get_people(tenant_id, {inv.customer_id for inv in found})
    return [
        response_view(inv, person_view(people.get(inv.customer_id), inv.customer_id), item)
        for inv, item in zip(found, stored, strict=True)
    ]


def _page_route(survey: Survey, order: str, person: str | None) -> str:
    # A page_info opens only for the survey, order and person filter that made it.
    return f"GET /v1/survey_responses {survey.id} {order} {person or ''}"


def _check_depth(page: int, per_page: int) -> int:
    """Rows a page number skips; a clear 422 past MAX_PAGE_DEPTH (docs/security.md)."""
    skip = (page - 1) * per_page
    if skip > MAX_PAGE_DEPTH:
        raise Unprocessable(
            f"page {page} skips {skip:,} rows; page numbers reach the first {MAX_PAGE_DEPTH:,} "
            'rows only: follow the Link rel="next" header (page_info) to go further',
            field="page",
            code="page_too_deep",
        )
    return skip


def _after_position(
    survey: Survey, order: str, person: str | None, text: str | None, lowest: str, highest: str
) -> tuple[str, str] | None:
    value = cursors.open_cursor(
        text, tenant_id=survey.tenant_id, route=_page_route(survey, order, person), field="page_info"
    )
    if value is None:
        return None
    position = value.get("a") if isinstance(value, dict) else None
    if not isinstance(position, str) or "#" not in position or not lowest <= position <= highest:
        raise InvalidInput("page_info is not one this API returned", field="page_info", code="invalid_cursor")
    return position, position.rsplit("#", 1)[1]


def _person_answers(
    survey: Survey, person: str, lowest: str, highest: str, newest_first: bool
) -> list[dict[str, Any]]:
    items = response_store.customer_answers_in_survey(
        survey.tenant_id, person, survey.id, MAX_PERSON_INVITATIONS
    )
    if items is None:
        raise Unprocessable(
            f"this person has more than {MAX_PERSON_INVITATIONS:,} invitations to the survey; "
            "list the survey's responses without person_id (with since and until) instead",
            field="person_id",
            code="too_many_to_filter",
        )
    inside = [i for i in items if lowest <= str(i["answer_sk"]) <= highest]
    return sorted(inside, key=lambda i: str(i["answer_sk"]), reverse=newest_first)


def list_survey_responses(key: ApiKey, query: ResponsesPage) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the survey's responses by creation time (`order`), and the sealed page_info of
    the next page (None on the last).

    One request costs a bounded number of reads (docs/security.md): `page_info` resumes where
    the last page ended; a page number skips at most MAX_PAGE_DEPTH rows; a person filter reads
    that person's invitations through the `by_customer` index, never the whole survey.
    """
    survey = survey_for_key(key, query.survey_id)
    lowest = iso_of(query.since) if query.since is not None else LOWEST
    highest = iso_of(query.until + 1) if query.until is not None else HIGHEST
    person = None
    if query.person_id or query.person_email:
        person = customer_id_for(str(query.person_id or query.person_email))
    newest_first = query.order == "desc"
    after = _after_position(survey, query.order, person, query.page_info, lowest, highest)
    skip = 0 if after else _check_depth(query.page, query.per_page)
    walk: Iterator[dict[str, Any]]
    if person is not None:
        mine = _person_answers(survey, person, lowest, highest, newest_first)
        if after:
            mine = [
                i for i in mine if (i["answer_sk"] < after[0]) == newest_first and i["answer_sk"] != after[0]
            ]
        walk = iter(mine)
    else:
        walk = response_store.answers_by_survey(
            key.tenant_id,
            survey.id,
            lowest=lowest,
            highest=highest,
            after=after,
            # Only what this page needs: the rows skipped, the page, and one more (is there more?).
            page_size=min(WALK_PAGE, skip + query.per_page + 1),
            newest_first=newest_first,
        )
    found: list[dict[str, Any]] = []
    more = False
    for item in walk:
        if skip:
            skip -= 1
            continue
        if len(found) == query.per_page:
            more = True
            break
        found.append(item)
    invitations_found = [response_store.invitation_from_plain(item) for item in found]
    next_page = None
    if more and found:
        route = _page_route(survey, query.order, person)
        next_page = cursors.seal({"a": found[-1]["answer_sk"]}, tenant_id=survey.tenant_id, route=route)
    return _views(key.tenant_id, invitations_found, query.expand == "person", found), next_page


def _answered(key: ApiKey, response_id: str) -> Invitation:
    return _answered_item(key, response_id)[0]


def _answered_item(key: ApiKey, response_id: str) -> tuple[Invitation, dict[str, Any]]:
    """The answered invitation and its stored item (with its follow-up's notes and tags)."""
    code = follow_ups.response_code(key.tenant_id, response_id)
    item = follow_up_store.get_item(code) if code else None
    inv = response_store.invitation_from_plain(item) if item else None
    if item is None or inv is None or inv.tenant_id != key.tenant_id or inv.score is None:
        raise NotFound("no such survey response", field="id")
    return inv, item


def get_survey_response(key: ApiKey, response_id: str, expand: bool) -> dict[str, Any]:
    inv, item = _answered_item(key, response_id)
    return _views(key.tenant_id, [inv], expand, [item])[0]


def _check_score(kind: Kind, scale: tuple[int, int], score: int) -> None:
    low, high = scale
    if not low <= score <= high:
        raise Unprocessable(
            f"score must be an integer from {low} to {high} for a {kind.value} survey",
            field="score",
            code="invalid_score",
        )


def _questions_of(inv: Invitation) -> tuple[Question, ...]:
    return questions_from_plain(inv.page.get("questions"))


def _additional(inv: Invitation, raw: Any) -> dict[str, list[str]] | None:
    """The additional answers a request sends (None: it sends none), checked against the
    invitation's questions (422 otherwise)."""
    if raw is None:
        return None
    return delighted_answers.answers_from_request(_questions_of(inv), raw, ignored_ids=list(inv.attrs))


def _record(
    inv: Invitation, score: int | None, comment: str | None, answers: dict[str, list[str]] | None = None
) -> Invitation:
    """Record through the same one-request write as a customer's click (the stream keeps the
    scores right); the response as it now is, without reading it again."""
    now_iso = record_answer(inv.code, score=score, comment=comment, answers=answers)
    changes: dict[str, Any] = {"answered_at": now_iso}
    if answers is not None:
        changes["answers"] = answers
    if score is not None:
        changes.update(score=score, first_answered_at=inv.first_answered_at or now_iso)
    if comment is not None:
        changes["comment"] = comment or None
    return replace(inv, **changes)


def create_survey_response(key: ApiKey, survey_id: str | None, body: NewAnswer) -> dict[str, Any]:
    """Record the answer on the person's open, unanswered invitation to the survey, or on a new
    one (channel `link`): each call makes a new response, as in Delighted."""
    survey: Survey = survey_for_key(key, survey_id)
    _check_score(survey.kind, survey.scale, body.score)
    # Checked before an invitation may be made for it: a refused answer changes nothing.
    answers = None
    if body.additional_answers is not None:
        answers = delighted_answers.answers_from_request(survey.questions, body.additional_answers)
    customer_id = _checked(customer_id_for(body.person), "person")
    code = response_store.latest_code_in_survey(key.tenant_id, customer_id, survey.id)
    inv = response_store.get_invitation(code) if code else None
    ignored: dict[str, str] = {}
    if inv is None or inv.score is not None or inv.expires_at <= int(clock.now().timestamp()):
        properties, ignored = invitation_properties(body.person_properties)
        recipient = recipients.RecipientModel(customer_id=customer_id, channel="link", properties=properties)
        inv = invitations.create_invitation(survey, recipient)
    view = response_view(_record(inv, body.score, body.comment or None, answers))
    if ignored:
        view["ignored_properties"] = ignored
    return view


def update_survey_response(key: ApiKey, response_id: str, body: AnswerChanges) -> dict[str, Any]:
    """Change the score, the comment and/or the additional answers, replace the tags, add the
    notes that have no `id` (fields equal to the stored ones change nothing). Tags and notes
    are the follow-up's (docs/follow-ups.md#delighted): changing them needs `follow_ups:write`
    too, and goes through the same use cases as PATCH /v1/responses/{id} and POST …/notes.
    Everything is checked before anything is written."""
    inv, item = _answered_item(key, response_id)
    score = body.score if body.score is not None and body.score != inv.score else None
    comment = body.comment if body.comment is not None and body.comment != (inv.comment or "") else None
    if score is not None:
        _check_score(inv.kind, inv.scale, score)
    answers = _additional(inv, body.additional_answers)
    if answers == inv.answers:
        answers = None
    tags, notes = _loop_changes(key, item, body)
    answer_changed = score is not None or comment is not None or answers is not None
    if not answer_changed and tags is None and not notes:
        return response_view(inv, item=item)
    recorded = _record(inv, score, comment, answers) if answer_changed else inv
    if tags is None and not notes:
        return response_view(recorded, item=item)
    if tags is not None:
        change = follow_ups.FollowUpChange(fields=frozenset({"tags"}), tags=tags)
        follow_ups.update_follow_up(key.tenant_id, response_id, change)
    for note in notes:
        follow_ups.add_note(key.tenant_id, response_id, note.text, note.user_email or key.key_id)
    return response_view(recorded, item=follow_ups.answered_item(key.tenant_id, response_id))


def _loop_changes(
    key: ApiKey, item: dict[str, Any], body: AnswerChanges
) -> tuple[list[str] | None, list[NoteIn]]:
    """The tags to set (None: unchanged) and the new notes a save() carries, checked."""
    tags = list(dict.fromkeys(body.tags)) if body.tags is not None else None
    if tags == list(item.get("fu_tags") or ()):
        tags = None
    stored = {str(n["id"]) for n in item.get("fu_notes") or ()}
    notes = []
    for index, note in enumerate(body.notes or ()):
        if note.id is None:
            notes.append(note)
        elif note.id not in stored:
            raise Unprocessable(
                f"notes[{index}] has an id that is not one of this response's notes: "
                "a new note has no id, and notes are not edited or removed here",
                field="notes",
                code="unknown_note",
            )
    if (tags is not None or notes) and not key.allows(FOLLOW_UPS_WRITE):
        raise Forbidden(f"changing tags or notes needs the {FOLLOW_UPS_WRITE} scope")
    return tags, notes

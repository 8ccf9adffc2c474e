"""The dashboard's follow-up inbox and response page (docs/pages.md#follow-ups-inbox-and-response-page).

Reading needs the session key's `responses:read` scope, working a follow-up `follow_ups:write`,
exactly as in the Business API; every change goes through the use cases of
`functions/logic/follow_ups.py`, so the dashboard, the API and the CLI move one follow-up the
same way (the stream raises the same events and figures).

Reads: the inbox is the session's key (one Query), the tenant's surveys (one Query, for names and
the survey filter) and one to five Queries of the `follow_ups` index (owner and survey are filters
of that Query, so a page is filled from up to five of them). The response page is the key, the
response (one GetItem), the surveys (one Query) and the customer's other answers (the
`by_customer` index, keys only, then one BatchGetItem of at most 100).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.domain import follow_ups as rules
from functions.domain.apikeys import ApiKey
from functions.domain.errors import Forbidden, InvalidInput
from functions.domain.survey import Survey
from functions.logic import clock
from functions.logic import follow_ups as loop
from functions.logic.dashboard import tenant_surveys
from functions.store import responses as response_store

READ_SCOPE = "responses:read"
WRITE_SCOPE = "follow_ups:write"
INBOX_PAGE = 50
INBOX_QUERIES = 5
OTHER_ANSWERS = 20
STATUS_WORDS = {rules.OPEN: "Open", rules.IN_PROGRESS: "In progress", rules.CLOSED: "Closed"}
# The Business API's limits (functions/api/models.py), so a form can do what a PATCH can.
MOST_OWNER = 120
MOST_TAG = 50
MOST_NOTE = 2000
MOST_SUBJECT = 120
EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def require(key: ApiKey, scope: str) -> None:
    if not key.allows(scope):
        action = "read follow-ups" if scope == READ_SCOPE else "work follow-ups"
        raise Forbidden(f"this API key does not have the {scope} scope, which it needs to {action}")


def _one_line(value: str | None, field: str, most: int, what: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > most or CONTROL.search(text):
        raise InvalidInput(f"{what} must be one line of at most {most} characters", field=field)
    return text


# ---- the inbox --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inbox:
    rows: list[dict[str, Any]]
    surveys: list[Survey]
    owner: str | None
    survey_id: str | None
    next_cursor: str | None

    def survey_name(self, survey_id: str) -> str:
        return next((s.name for s in self.surveys if s.id == survey_id), survey_id)


def inbox(key: ApiKey, owner: str | None, survey_id: str | None, cursor: str | None) -> Inbox:
    """Open and in-progress follow-ups, oldest due first, optionally one owner's or one survey's."""
    require(key, READ_SCOPE)
    owner = _one_line(owner, "owner", MOST_OWNER, "an owner")
    survey_id = (survey_id or "").strip() or None
    flt = loop.QueueFilter(owner=owner, survey_id=survey_id)
    rows: list[dict[str, Any]] = []
    position = (cursor or "").strip() or None
    for _ in range(INBOX_QUERIES):
        page, position = loop.list_follow_ups(key.tenant_id, flt, position, INBOX_PAGE - len(rows))
        rows.extend(page)
        if position is None or len(rows) >= INBOX_PAGE:
            break
    return Inbox(rows, tenant_surveys(key), owner, survey_id, position)


# ---- one response -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OtherAnswer:
    response_id: str
    survey_name: str
    kind: str
    score: int
    comment: str | None
    answered_at: str
    follow_up_status: str | None


@dataclass(frozen=True)
class ResponsePage:
    view: dict[str, Any]
    survey: Survey | None
    answers: list[tuple[str, str]]  # additional answers and CSI ratings: (question, answer)
    others: list[OtherAnswer]
    can_write: bool


def _answers(item: Mapping[str, Any], survey: Survey | None) -> list[tuple[str, str]]:
    labels = {a.key: a.label for a in survey.attributes} if survey else {}
    out = [(labels.get(k, k), f"{int(v)} of 10") for k, v in sorted((item.get("attrs") or {}).items())]
    # Additional questions' answers (question key → its values), where the survey has them.
    texts = {q.key: q.text for q in getattr(survey, "questions", None) or ()}
    for k, values in sorted((item.get("qa") or {}).items()):
        shown = ", ".join(str(v) for v in values) if isinstance(values, list | tuple) else str(values)
        out.append((texts.get(k, k), shown))
    return out


def response_page(key: ApiKey, public_id: str) -> ResponsePage:
    require(key, READ_SCOPE)
    item = loop.answered_item(key.tenant_id, public_id)
    surveys = {s.id: s for s in tenant_surveys(key)}
    now_iso = clock.iso(clock.now())
    others = [
        OtherAnswer(
            response_id=loop.response_id(key.tenant_id, str(other["pk"])),
            survey_name=surveys[other["survey_id"]].name
            if other["survey_id"] in surveys
            else other["survey_id"],
            kind=str((other.get("page") or {}).get("kind", "")),
            score=int(other["score"]),
            comment=other.get("comment"),
            answered_at=str(other.get("first_answered_at") or ""),
            follow_up_status=other.get("fu_status"),
        )
        for other in response_store.answered_items_of_customer(key.tenant_id, str(item["customer_id"]))
        if other["pk"] != item["pk"]
    ]
    others.sort(key=lambda o: o.answered_at, reverse=True)
    survey = surveys.get(str(item["survey_id"]))
    return ResponsePage(
        view=loop.follow_up_view(item, now_iso),
        survey=survey,
        answers=_answers(item, survey),
        others=others[:OTHER_ANSWERS],
        can_write=key.allows(WRITE_SCOPE),
    )


# ---- working it (each one call of functions/logic/follow_ups.py) ------------------------------


def assign(key: ApiKey, public_id: str, owner: str | None) -> None:
    """Set the owner; an empty owner clears it."""
    require(key, WRITE_SCOPE)
    name = _one_line(owner, "owner", MOST_OWNER, "an owner")
    loop.update_follow_up(
        key.tenant_id, public_id, loop.FollowUpChange(fields=frozenset({"owner"}), owner=name)
    )


def set_status(key: ApiKey, public_id: str, status: str | None) -> None:
    require(key, WRITE_SCOPE)
    if status not in STATUS_WORDS:
        raise InvalidInput("status must be open, in_progress or closed", field="status")
    loop.update_follow_up(
        key.tenant_id, public_id, loop.FollowUpChange(fields=frozenset({"status"}), status=status)
    )


def set_tags(key: ApiKey, public_id: str, text: str | None) -> None:
    """Replace the tags with the comma-separated ones given (empty: none)."""
    require(key, WRITE_SCOPE)
    tags = [t.strip() for t in (text or "").split(",") if t.strip()]
    for tag in tags:
        _one_line(tag, "tags", MOST_TAG, "each tag")
    if len(dict.fromkeys(tags)) > loop.MAX_TAGS:
        raise InvalidInput(f"at most {loop.MAX_TAGS} tags", field="tags", code="too_many_tags")
    loop.update_follow_up(
        key.tenant_id, public_id, loop.FollowUpChange(fields=frozenset({"tags"}), tags=tags)
    )


def _text(value: str | None, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"write {what} first", field=field)
    if len(text) > MOST_NOTE or "\x00" in text:
        raise InvalidInput(f"{what} may be at most {MOST_NOTE:,} characters", field=field)
    return text


def add_note(key: ApiKey, public_id: str, text: str | None) -> None:
    require(key, WRITE_SCOPE)
    loop.add_note(key.tenant_id, public_id, _text(text, "text", "the note"), key.key_id)


def reply(key: ApiKey, public_id: str, text: str | None, email: str | None, subject: str | None) -> None:
    """Email the customer through the sending pipeline; the reply is kept as a note."""
    require(key, WRITE_SCOPE)
    body = _text(text, "text", "the reply")
    address = (email or "").strip() or None
    if address is not None and (len(address) > 254 or not EMAIL.match(address)):
        raise InvalidInput("that is not an email address", field="email")
    title = _one_line(subject, "subject", MOST_SUBJECT, "a subject")
    loop.reply(key.tenant_id, public_id, body, key.key_id, email=address, subject=title)

"""Customers answering: reading an invitation for its page, recording an answer (docs/pages.md).

A GET never records. Recording is one conditional write; the store checks existence, expiry,
the score range and the attribute keys in the same request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from functions import telemetry
from functions.domain import tokens
from functions.domain.answer_form import AnswerForm, parse_answer_form
from functions.domain.codes import CODE_PATTERN
from functions.domain.errors import Gone, InvalidInput, NotFound
from functions.domain.survey import Invitation
from functions.logic import clock
from functions.store import responses
from functions.store.parameters import signing_keys


def code_from_token(token: str) -> str:
    """The invitation code of an email-link token, checked without I/O."""
    try:
        return tokens.verify(token, signing_keys(), int(clock.now().timestamp()))
    except tokens.TokenExpired:
        raise Gone("this survey link has expired") from None
    except tokens.TokenInvalid:
        raise InvalidInput("this survey link is damaged", code="invalid_link") from None


def check_short_code(code: str) -> str:
    if not CODE_PATTERN.match(code):
        raise NotFound("this survey link is not valid")
    return code


def open_invitation(code: str, channel: str | None = None) -> Invitation:
    """The invitation behind a link, for its page (one read)."""
    inv = responses.get_invitation(code)
    if inv is None or (channel is not None and inv.channel != channel):
        raise NotFound("this survey link is not valid")
    if inv.expires_at <= int(clock.now().timestamp()):
        raise Gone("this survey has closed")
    return inv


def record(
    code: str,
    form: Mapping[str, str],
    channel: str | None = None,
    pairs: Iterable[tuple[str, str]] = (),
) -> AnswerForm:
    """Record (or replace) the answer in `form` on invitation `code` (`pairs`: the same form's
    fields in order, for the repeated `q.<key>` answers of additional questions)."""
    answer = parse_answer_form(form, pairs)
    record_answer(
        code,
        score=answer.score,
        comment=answer.comment,
        attrs=answer.attrs,
        answers=answer.answers,
        channel=channel,
    )
    return answer


def record_answer(
    code: str,
    *,
    score: int | None,
    comment: str | None,
    attrs: Mapping[str, int] | None = None,
    answers: Mapping[str, list[str]] | None = None,
    channel: str | None = None,
    moment: datetime | None = None,
) -> str:
    """Record (or replace) an answer on invitation `code`: the one way every channel records
    (a customer's page, an SMS reply, the Delighted-compatible calls). One conditional write
    (functions/store/responses.py) stamped with the clock at `moment` (default: now), counted
    in the `AnswersRecorded` metric (docs/operations.md). The stamp, as ISO text."""
    moment = moment or clock.now()
    now_iso = clock.iso(moment)
    responses.record_answer(
        code,
        score=score,
        comment=comment,
        attrs=attrs or {},
        answers=answers,
        now_iso=now_iso,
        now_epoch=int(moment.timestamp()),
        now_ms=int(moment.timestamp() * 1000),
        channel=channel,
    )
    telemetry.count(telemetry.ANSWERS_RECORDED)
    return now_iso

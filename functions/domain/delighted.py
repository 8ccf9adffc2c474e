"""Delighted survey-response CSV exports: which column means what, and one row as an answer.

Delighted named its export columns after its API's survey-response fields (``id``,
``person``, ``score``, ``comment``, ``created_at``, ``updated_at``, ``permalink``, ``notes``,
``tags``, ``survey_type``) in words ("Response ID", "Created At", …), followed by one
column per person property. Headers are matched by meaning, not by exact spelling: case,
spaces, underscores and a parenthesised suffix such as "(UTC)" do not matter. Every column
that is not one of those becomes an invitation property, up to the limit of 10 (docs/api.md).

Each row keeps its own time: the answer counts on the day it was given. Its invitation code
is derived from (survey, Delighted response id), so importing the same file again finds
the same items and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from functions.domain.codes import BASE62, CODE_LENGTH
from functions.domain.kinds import SCALES, Kind
from functions.domain.questions import FREE_RESPONSE, MAX_FREE_RESPONSE, SCALE, SELECT_MANY, Question

MAX_PROPERTIES = 10
MAX_PROPERTY_VALUE = 100
MAX_COMMENT = 2000
MAX_CUSTOMER_ID = 128

# Column meanings → the headers (normalised) that carry them, most specific first.
ALIASES: dict[str, tuple[str, ...]] = {
    "response_id": ("response id", "survey response id", "id"),
    "score": ("score", "rating"),
    "comment": ("comment", "comments"),
    "created_at": (
        "response timestamp",
        "created at",
        "responded at",
        "submitted at",
        "created",
        "timestamp",
        "date",
    ),
    "updated_at": ("updated at", "updated"),
    "customer_id": ("customer id",),
    "person_id": ("person id", "person"),
    "email": ("email", "person email", "email address"),
    "name": ("name", "person name"),
    "phone": ("phone number", "phone", "person phone number"),
    "tags": ("tags",),
    "notes": ("notes",),
    "permalink": ("permalink",),
    "survey_type": ("survey type",),
    "channel": ("channel", "distribution platform", "platform"),
    "touchpoint": ("touchpoint",),
}
REQUIRED = ("response_id", "score", "created_at")

# Skip reasons, as reported in the import summary.
MISSING_RESPONSE_ID = "missing_response_id"
DUPLICATE_RESPONSE_ID = "duplicate_response_id"
BAD_SCORE = "bad_score"
MISSING_TIMESTAMP = "missing_timestamp"
BAD_TIMESTAMP = "bad_timestamp"
FUTURE_TIMESTAMP = "future_timestamp"
OTHER_SURVEY_TYPE = "other_survey_type"

_CHANNELS = {"email": "email", "sms": "sms", "text": "sms"}
_PROPERTY_KEY = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")
_CUSTOMER_ID = re.compile(r"^[\w.@+\-:]+$")
_TOUCHPOINT = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,39}$")
_WRAPPED_PROPERTY = re.compile(
    r"^\s*(?:person[ _]?properties|properties|property)\s*[\[:.]\s*(.+?)\]?\s*$", re.I
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CODE_KEY = b"hark-import-delighted-v1"


class ColumnsProblem(ValueError):
    """The file's header cannot be read as a Delighted export."""


def normalise_header(header: str) -> str:
    """'Created At (UTC)' → 'created at'; 'person_email' → 'person email'."""
    text = re.sub(r"\([^)]*\)", " ", header.lstrip("\ufeff")).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def property_key(header: str) -> str | None:
    """An invitation property key for a column: 'Purchase Experience' → 'purchase_experience'."""
    wrapped = _WRAPPED_PROPERTY.match(header)
    text = wrapped.group(1) if wrapped else header
    key = "_".join(re.sub(r"[^a-z0-9]+", " ", text.lstrip("\ufeff").lower()).split())[:40].rstrip("_")
    return key if _PROPERTY_KEY.match(key) else None


@dataclass(frozen=True)
class Columns:
    """Where each meaning lives in a row, which columns become properties, which are left out."""

    fields: dict[str, int]
    properties: tuple[tuple[str, int], ...]
    dropped: tuple[str, ...]

    def describe(self, headers: Sequence[str]) -> dict[str, object]:
        return {
            "mapped": {name: headers[index] for name, index in sorted(self.fields.items())},
            "properties": {key: headers[index] for key, index in self.properties},
            "dropped": list(self.dropped),
        }


def map_columns(headers: Sequence[str], reserved: Collection[int] = ()) -> Columns:
    """Read a header row. Raises ColumnsProblem without a response id, score or timestamp.

    Columns at `reserved` positions (a survey's additional questions) are neither fields nor
    properties."""
    normalised = [normalise_header(h) for h in headers]
    fields: dict[str, int] = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if (
                alias in normalised
                and normalised.index(alias) not in fields.values()
                and normalised.index(alias) not in reserved
            ):
                fields[name] = normalised.index(alias)
                break
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        wanted = "; ".join(f"{name}: {' / '.join(repr(a) for a in ALIASES[name])}" for name in missing)
        raise ColumnsProblem(f"the file has no column for {', '.join(missing)} (looked for {wanted})")
    taken = set(fields.values()) | set(reserved)
    properties: list[tuple[str, int]] = []
    dropped: list[str] = []
    for index, header in enumerate(headers):
        if index in taken:
            continue
        key = property_key(header)
        if key is None or key in {k for k, _ in properties} or len(properties) >= MAX_PROPERTIES:
            dropped.append(header)
            continue
        properties.append((key, index))
    return Columns(fields, tuple(properties), tuple(dropped))


class RowSkipped(Exception):
    """A row that cannot be imported, with the reason reported in the summary."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ImportedAnswer:
    """One Delighted response as Hark will store it."""

    response_id: str
    score: int
    answered_at: datetime
    updated_at: datetime | None
    customer_id: str
    channel: str
    touchpoint: str | None = None
    comment: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)
    comment_truncated: bool = False
    values_truncated: int = 0


_RAILS = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*([+-]\d{2}:?\d{2}|UTC|GMT|Z)?$"
)


def parse_timestamp(text: str) -> datetime:
    """A UTC time from what Delighted and spreadsheets write.

    Unix seconds or milliseconds, ISO 8601 (``2024-04-18T05:34:20Z``, offsets, fractions),
    ``2024-04-18 05:34:20 UTC`` and ``2024-04-18 05:34:20 -0700`` (Ruby's format), or a bare
    date. A time without a zone is UTC. Raises ValueError for anything else (including
    ``04/18/2024``, whose day and month order cannot be known).
    """
    value = text.strip()
    if re.fullmatch(r"\d{9,13}", value):
        number = int(value)
        return datetime.fromtimestamp(number / 1000 if len(value) > 11 else number, UTC)
    match = _RAILS.match(value)
    if match:
        day, clock, zone = match.groups()
        zone = "+00:00" if zone in (None, "UTC", "GMT", "Z") else zone
        if len(zone) == 5:  # -0700 → -07:00
            zone = zone[:3] + ":" + zone[3:]
        value = f"{day}T{clock}{zone}"
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00+00:00"
    elif value.endswith("Z"):
        value = value[:-1] + "+00:00"
    if not re.match(r"^\d{4}-\d{2}-\d{2}T", value):
        raise ValueError(f"not a timestamp: {text!r}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _cell(row: Sequence[str], columns: Columns, name: str) -> str:
    index = columns.fields.get(name)
    if index is None or index >= len(row):
        return ""
    return row[index].strip()


def _score(text: str, kind: Kind) -> int:
    low, high = SCALES[kind]
    try:
        number = float(text)
    except ValueError:
        raise RowSkipped(BAD_SCORE, f"score {text!r} is not a number") from None
    if not number.is_integer() or not low <= number <= high:
        raise RowSkipped(BAD_SCORE, f"score {text!r} is not a whole number from {low} to {high}")
    return int(number)


def _time(text: str, name: str, now: datetime) -> datetime:
    if not text:
        raise RowSkipped(MISSING_TIMESTAMP, f"no {name}")
    try:
        moment = parse_timestamp(text)
    except (ValueError, OverflowError, OSError):
        raise RowSkipped(BAD_TIMESTAMP, f"{name} {text!r} is not a date and time") from None
    if (moment - now).total_seconds() > 86400:
        raise RowSkipped(FUTURE_TIMESTAMP, f"{name} {text!r} is in the future")
    return moment


def _customer_id(row: Sequence[str], columns: Columns, response_id: str) -> str:
    for name in ("customer_id", "person_id", "email", "phone"):
        value = _cell(row, columns, name)
        if value and len(value) <= MAX_CUSTOMER_ID and _CUSTOMER_ID.match(value):
            return value
    return f"delighted-{response_id}"[:MAX_CUSTOMER_ID]


def _channel(row: Sequence[str], columns: Columns) -> str:
    given = _cell(row, columns, "channel").lower()
    if given:
        return _CHANNELS.get(given, "link")  # web, link, kiosk, in-app: answered on a page
    if _cell(row, columns, "email"):
        return "email"
    if _cell(row, columns, "phone"):
        return "sms"
    return "link"


def _touchpoint(row: Sequence[str], columns: Columns) -> str | None:
    text = "-".join(re.sub(r"[^a-z0-9_\-]+", " ", _cell(row, columns, "touchpoint").lower()).split())[:40]
    return text if _TOUCHPOINT.match(text) else None


def _clean(value: str, most: int) -> tuple[str, bool]:
    """Control characters become spaces; over `most` characters is cut (True when cut)."""
    text = " ".join(_CONTROL.sub(" ", value).split())
    return text[:most], len(text) > most


def parse_row(row: Sequence[str], columns: Columns, kind: Kind, now: datetime) -> ImportedAnswer:
    """One data row as an answer, or RowSkipped saying why it cannot be one."""
    response_id = _cell(row, columns, "response_id")
    if not response_id:
        raise RowSkipped(MISSING_RESPONSE_ID, "no response id")
    survey_type = _cell(row, columns, "survey_type").lower()
    if survey_type and survey_type != kind.value:
        raise RowSkipped(OTHER_SURVEY_TYPE, f"a {survey_type} response in a {kind.value} survey")
    score = _score(_cell(row, columns, "score"), kind)
    answered_at = _time(_cell(row, columns, "created_at"), "timestamp", now)
    updated_text = _cell(row, columns, "updated_at")
    try:
        updated_at = parse_timestamp(updated_text) if updated_text else None
    except (ValueError, OverflowError, OSError):
        updated_at = None  # only informative: the answer's day comes from its creation
    if updated_at is not None and not answered_at <= updated_at <= now:
        updated_at = None
    comment_text = row[columns.fields["comment"]] if "comment" in columns.fields else ""
    comment = comment_text.replace("\x00", "").strip()[:MAX_COMMENT] or None
    properties: dict[str, str] = {}
    truncated = 0
    for key, index in columns.properties:
        if index < len(row) and row[index].strip():
            value, cut = _clean(row[index], MAX_PROPERTY_VALUE)
            if value:
                properties[key] = value
                truncated += cut
    extra = {
        name: _clean(_cell(row, columns, name), 1000)[0]
        for name in ("permalink", "tags", "notes", "name")
        if _cell(row, columns, name)
    }
    return ImportedAnswer(
        response_id=response_id,
        score=score,
        answered_at=answered_at,
        updated_at=updated_at,
        customer_id=_customer_id(row, columns, response_id),
        channel=_channel(row, columns),
        touchpoint=_touchpoint(row, columns),
        comment=comment,
        properties=properties,
        extra=extra,
        comment_truncated=len(comment_text.strip()) > MAX_COMMENT,
        values_truncated=truncated,
    )


def _base62(number: int, length: int) -> str:
    out = []
    for _ in range(length):
        number, rem = divmod(number, 62)
        out.append(BASE62[rem])
    return "".join(reversed(out))


def import_code(survey_id: str, response_id: str) -> str:
    """The invitation code of an imported response: the same for the same (survey, response).

    It is an HMAC under a fixed, public key rather than a secret: it must not change when
    link-signing keys rotate (or a re-import would duplicate every answer), and imported
    invitations are closed at their answer time, so knowing a code opens nothing.
    """
    digest = hmac.new(_CODE_KEY, f"{survey_id}\x1f{response_id}".encode(), hashlib.sha256).digest()
    return _base62(int.from_bytes(digest[:16], "big"), CODE_LENGTH)


def import_invitation_id(survey_id: str, response_id: str) -> str:
    digest = hmac.new(_CODE_KEY, f"inv\x1f{survey_id}\x1f{response_id}".encode(), hashlib.sha256).digest()
    return "inv_" + _base62(int.from_bytes(digest[:16], "big"), 16)


# ---- additional questions: a column per question, named by its text (or its key) ---------------

_CHOICE_SEPARATORS = re.compile(r"\s*[;\n]\s*")
_COMMA = re.compile(r"\s*,\s+")


def question_columns(headers: Sequence[str], questions: Sequence[Question]) -> dict[int, Question]:
    """The columns that hold a survey's additional questions: the header is the question's
    text (as Delighted exported it) or its key (``q.<key>`` too), compared as headers are."""
    wanted: dict[str, Question] = {}
    for question in questions:
        for name in (question.text, question.key, f"q.{question.key}"):
            wanted.setdefault(normalise_header(name), question)
    out: dict[int, Question] = {}
    for index, header in enumerate(headers):
        found = wanted.get(normalise_header(header))
        if found is not None and found not in out.values():
            out[index] = found
    return out


def question_answers(row: Sequence[str], columns: Mapping[int, Question]) -> tuple[dict[str, list[str]], int]:
    """A row's additional answers, and how many values were dropped (not one of the choices).

    A select_many cell lists its choices separated by ``;``, a new line or ``, `` (a cell that
    is exactly one option is that option, commas and all).
    """
    answers: dict[str, list[str]] = {}
    dropped = 0
    for index, question in columns.items():
        text = row[index].replace("\x00", "").strip() if index < len(row) else ""
        if not text:
            continue
        if question.type == FREE_RESPONSE:
            answers[question.key] = [text[:MAX_FREE_RESPONSE]]
            continue
        if question.type == SELECT_MANY:
            given = []
            for part in _CHOICE_SEPARATORS.split(text):
                given += [part] if part in question.options else [p for p in _COMMA.split(part) if p]
        else:
            given = [text]
        if question.type == SCALE and given[0].isdigit():
            given = [str(int(given[0]))]
        kept = [value for value in dict.fromkeys(given) if question.position(value) is not None]
        dropped += len(set(given)) - len(kept)
        if kept:
            answers[question.key] = kept[:1] if question.type != SELECT_MANY else kept
    return answers, dropped

"""Segments (docs/architecture.md, Scores engine): which score series a response or invitation counts in.

Touchpoints and properties are free text chosen by the business, so one of them could hold
thousands of values (an order id sent as a property). Each value is its own series, and a
series costs writes on every answer, so they are *guarded*: per survey and per dimension
(`touchpoint`, or `prop:<key>`) only the first `limit` values seen get a series of their own;
later values are folded into `touchpoint:__other__` or `prop:<key>=__other__`. Which values
got in is kept in a per-survey segment index that only grows (see logic/segment_guard.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from functions.domain.errors import InvalidInput
from functions.domain.languages import LANGUAGES, language_of

ALL = "all"
OTHER = "__other__"
TOUCHPOINT = "touchpoint"


def segments_for(
    channel: str, touchpoint: str | None, properties: Mapping[str, str] | None, locale: str | None = None
) -> list[str]:
    """Every segment an invitation (and its response) belongs to, `all` first.

    `locale:<language>` counts invitations whose recipient had a locale, by its catalog language
    (`fr-CA` → `locale:fr`): at most one series per language Hark speaks, so it needs no guard.
    A locale Hark has no catalog for counts under no locale segment.
    """
    out = [ALL, f"channel:{channel}"]
    language = language_of(locale)
    if language:
        out.append(f"locale:{language}")
    if touchpoint:
        out.append(f"touchpoint:{touchpoint}")
    for key, value in sorted((properties or {}).items()):
        out.append(f"prop:{key}={value}")
    return out


def guarded(segment: str) -> tuple[str, str] | None:
    """(dimension, value) of a segment under the cardinality guard; None for `all` and channels.

    `touchpoint:delivery` → ("touchpoint", "delivery"); `prop:plan=gold` → ("prop:plan", "gold").
    """
    if segment.startswith("touchpoint:"):
        return TOUCHPOINT, segment[len("touchpoint:") :]
    if segment.startswith("prop:") and "=" in segment:
        dimension, _, value = segment.partition("=")
        return dimension, value
    return None


def other_segment(dimension: str) -> str:
    """The segment that collects the values of `dimension` beyond the limit."""
    return f"touchpoint:{OTHER}" if dimension == TOUCHPOINT else f"{dimension}={OTHER}"


def is_other(segment: str) -> bool:
    found = guarded(segment)
    return found is not None and found[1] == OTHER


def fold(segment: str, admitted: frozenset[str] | set[str], full: bool) -> str:
    """`segment` itself, or its dimension's `__other__` segment when its value is left out.

    `admitted` are the values of the segment's dimension that have a series of their own;
    `full` says the dimension has reached its limit, so no other value can join.
    """
    found = guarded(segment)
    if found is None or found[1] in admitted or not full:
        return segment
    return other_segment(found[0])


_LOCALE = "|".join(re.escape(code) for code in LANGUAGES)
_SEGMENT = re.compile(
    r"^(all|channel:(email|sms|link)|locale:("
    + _LOCALE
    + r")|touchpoint:([a-z0-9][a-z0-9_\-]{0,39}|__other__)"
    r"|prop:[a-z0-9][a-z0-9_]{0,39}=[^\x00-\x1f]{1,100})$"
)


def parse_segment(text: str | None) -> str:
    """A segment from a query string (default `all`), or a clear error."""
    segment = text or ALL
    if not _SEGMENT.match(segment):
        raise InvalidInput(
            "segment must be all, channel:<email|sms|link>, locale:<language>, touchpoint:<name> "
            "or prop:<key>=<value>",
            field="segment",
            code="invalid_segment",
        )
    return segment


_BY = re.compile(r"^(channel|locale|touchpoint|prop:[a-z0-9][a-z0-9_]{0,39})$")


def parse_breakdown_by(text: str | None) -> str:
    """The dimension a breakdown splits by: `channel`, `locale`, `touchpoint` or `prop:<key>`."""
    by = text or ""
    if not _BY.match(by):
        raise InvalidInput(
            "by must be channel, locale, touchpoint or prop:<key>", field="by", code="invalid_breakdown"
        )
    return by


def breakdown_prefix(by: str) -> str:
    """The prefix every segment of a breakdown dimension starts with."""
    return f"{by}=" if by.startswith("prop:") else f"{by}:"

"""Segments (SPEC §2): which score series a response or invitation counts in."""

from __future__ import annotations

import re
from collections.abc import Mapping

from functions.domain.errors import InvalidInput

ALL = "all"


def segments_for(channel: str, touchpoint: str | None, properties: Mapping[str, str] | None) -> list[str]:
    """Every segment an invitation (and its response) belongs to, `all` first."""
    out = [ALL, f"channel:{channel}"]
    if touchpoint:
        out.append(f"touchpoint:{touchpoint}")
    for key, value in sorted((properties or {}).items()):
        out.append(f"prop:{key}={value}")
    return out


_SEGMENT = re.compile(
    r"^(all|channel:(email|sms|link)|touchpoint:[a-z0-9][a-z0-9_\-]{0,39}"
    r"|prop:[a-z0-9][a-z0-9_]{0,39}=[^\x00-\x1f]{1,100})$"
)


def parse_segment(text: str | None) -> str:
    """A segment from a query string (default `all`), or a clear error."""
    segment = text or ALL
    if not _SEGMENT.match(segment):
        raise InvalidInput(
            "segment must be all, channel:<email|sms|link>, touchpoint:<name> or prop:<key>=<value>",
            field="segment",
            code="invalid_segment",
        )
    return segment

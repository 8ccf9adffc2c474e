"""Customer links for an invitation: signed email URLs, SMS short URLs and the SMS text."""

from __future__ import annotations

import logging
from functools import lru_cache

from functions.domain import languages, tokens
from functions.domain.codes import CODE_LENGTH
from functions.domain.kinds import scale_points
from functions.domain.sms import short_url_problem, sms_body
from functions.domain.survey import Invitation
from functions.settings import get_settings
from functions.store.parameters import signing_keys

log = logging.getLogger("hark.links")


def token_for(inv: Invitation) -> str:
    return tokens.sign(inv.code, inv.expires_at, signing_keys())


@lru_cache(maxsize=4)
def warn_if_short_urls_too_long(base: str) -> str | None:
    """Log, once per base URL, that SMS links under `base` are too long for one segment."""
    problem = short_url_problem(f"{base}/s/{'x' * CODE_LENGTH}")
    if problem:
        log.warning(problem)
    return problem


def links_for(inv: Invitation) -> dict[str, object]:
    """``url``, ``score_urls`` (email), ``short_url`` and ``sms_body`` (sms) of an invitation."""
    base = get_settings().public_base_url
    url = f"{base}/r/{token_for(inv)}"
    score_urls = (
        {str(n): f"{url}?score={n}" for n in scale_points(inv.kind)} if inv.channel == "email" else {}
    )
    short_url = f"{base}/s/{inv.code}" if inv.channel == "sms" else None
    body = None
    if short_url is not None:
        warn_if_short_urls_too_long(base)
        page = languages.localized(inv.page, languages.invitation_language(inv.page))
        body = sms_body(str(page.get("brand_name") or ""), str(page["question"]), short_url)
    return {"url": url, "score_urls": score_urls, "short_url": short_url, "sms_body": body}

"""Customer links for an invitation: signed email URLs and SMS short URLs."""

from __future__ import annotations

from functools import lru_cache

from functions.domain import tokens
from functions.domain.kinds import scale_points
from functions.domain.survey import Invitation
from functions.settings import get_settings
from functions.store.parameters import secure_parameter


@lru_cache(maxsize=4)
def _keys(spec: str) -> tokens.SigningKeys:
    return tokens.SigningKeys.parse(spec)


def signing_keys() -> tokens.SigningKeys:
    """The link-signing keys: from the environment (local stacks) or SSM (deployed stages)."""
    settings = get_settings()
    spec = settings.signing_keys or secure_parameter(str(settings.signing_keys_parameter))
    return _keys(spec)


def token_for(inv: Invitation) -> str:
    return tokens.sign(inv.code, inv.expires_at, signing_keys())


def links_for(inv: Invitation) -> dict[str, object]:
    """``url``, ``score_urls`` (email) and ``short_url`` (sms) of an invitation."""
    base = get_settings().public_base_url
    url = f"{base}/r/{token_for(inv)}"
    score_urls = (
        {str(n): f"{url}?score={n}" for n in scale_points(inv.kind)} if inv.channel == "email" else {}
    )
    short_url = f"{base}/s/{inv.code}" if inv.channel == "sms" else None
    return {"url": url, "score_urls": score_urls, "short_url": short_url}

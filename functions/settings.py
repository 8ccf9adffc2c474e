"""Runtime settings: one pydantic model, read once per process from the environment.

A missing required setting fails on first use with its name; there are no silent defaults
for anything that differs between stages (table names, keys, public URL).
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class SettingsError(RuntimeError):
    """The environment lacks a required setting or holds an invalid one."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    stage: str = Field(alias="HARK_STAGE")
    core_table: str = Field(alias="HARK_CORE_TABLE")
    responses_table: str = Field(alias="HARK_RESPONSES_TABLE")
    scores_table: str = Field(alias="HARK_SCORES_TABLE")
    public_base_url: str = Field(alias="HARK_PUBLIC_BASE_URL")
    # "kid:secret,kid:secret"; the first key signs, every listed key verifies.
    signing_keys: str = Field(alias="HARK_SIGNING_KEYS")
    invitation_ttl_days: int = Field(default=30, alias="HARK_INVITATION_TTL_DAYS", ge=1, le=365)
    # Raw answers (comments, properties) are purged this many days after the invitation
    # expires; scores are kept (SPEC §6). 0 keeps raw answers forever.
    raw_retention_days: int = Field(default=0, alias="HARK_RAW_RETENTION_DAYS", ge=0)
    # Two-way SMS (optional; the SMS webhooks answer 503 while their setting is absent).
    # Twilio's auth token verifies X-Twilio-Signature on /webhooks/sms/twilio.
    twilio_auth_token: str | None = Field(default=None, alias="HARK_TWILIO_AUTH_TOKEN")
    # Secret (32+ characters) keying the hash that stands in for phone numbers; SMS
    # invitations need it. Changing it orphans existing invitations and opt-outs.
    phone_hash_key: str | None = Field(default=None, alias="HARK_PHONE_HASH_KEY", min_length=32)
    # Comma-separated SNS topic ARNs whose messages /webhooks/sms/sns accepts.
    sns_topic_arns: str = Field(default="", alias="HARK_SNS_TOPIC_ARNS")
    # "+15550001111=ten_abc,…": which tenant's customers text each of your numbers. A reply
    # to a listed number answers that tenant's invitations only; otherwise the latest open
    # invitation across tenants.
    sms_numbers: str = Field(default="", alias="HARK_SMS_NUMBERS")
    # Answer STOP/START/HELP ourselves (true) or leave it to the provider, which already
    # does for Twilio long codes and toll-free numbers and AWS End User Messaging (false).
    sms_keyword_replies: bool = Field(default=False, alias="HARK_SMS_KEYWORD_REPLIES")
    # Send replies to SNS (End User Messaging) texts with SendTextMessage; off by default
    # because Hark otherwise sends no SMS itself.
    sns_send_replies: bool = Field(default=False, alias="HARK_SNS_SEND_REPLIES")

    @field_validator("twilio_auth_token", "phone_hash_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


def _load(environ: dict[str, str]) -> Settings:
    try:
        return Settings.model_validate(environ)
    except ValidationError as exc:
        names = ", ".join(str(err["loc"][0]) for err in exc.errors() if err.get("loc"))
        raise SettingsError(f"missing or invalid settings: {names}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, validated on first use."""
    return _load(dict(os.environ))


def reset_settings() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()

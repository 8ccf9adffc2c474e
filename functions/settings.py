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
    # Webhooks: the delivery queue (the stream's webhook consumer writes it, the delivery
    # function reads it) and where deliveries go when their retry budget is spent. Only the
    # functions that use them need them; they fail with the setting's name if it is missing.
    webhook_queue_url: str | None = Field(default=None, alias="HARK_WEBHOOK_QUEUE_URL")
    webhook_dead_letter_queue_url: str | None = Field(
        default=None, alias="HARK_WEBHOOK_DEAD_LETTER_QUEUE_URL"
    )
    # Seconds before each retry of a failed delivery ("5,30,120,…"); one more attempt than listed.
    webhook_retry_delays: str = Field(default="5,30,120,600,1800,3600", alias="HARK_WEBHOOK_RETRY_DELAYS")
    webhook_timeout_seconds: float = Field(default=10.0, alias="HARK_WEBHOOK_TIMEOUT_SECONDS", gt=0, le=30)

    @property
    def allows_loopback_webhooks(self) -> bool:
        """Only the dev stage may send webhooks to http://127.0.0.1 (SPEC §4)."""
        return self.stage == "dev"

    def required(self, name: str) -> str:
        """A setting that this function needs, or SettingsError naming it."""
        value = getattr(self, name)
        if not value:
            alias = type(self).model_fields[name].alias
            raise SettingsError(f"missing setting {alias}")
        return str(value)

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

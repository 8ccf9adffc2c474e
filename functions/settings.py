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
    # Cardinality guard: per survey, a touchpoint or a property key gets a score series for
    # each of its first this-many values; later values share `…=__other__` (README).
    segment_value_limit: int = Field(default=50, alias="HARK_SEGMENT_VALUE_LIMIT", ge=1, le=1000)

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

"""Runtime settings: one typed, frozen model, read once per process from the environment.

A missing required setting fails on first use with its name; there are no silent defaults
for anything that differs between stages (table names, keys, public URL).

Why not a pydantic model: importing pydantic costs ~130 ms, which would put the cold start
of every customer click 40% above a bare Chalice app (docs/benchmarks.md allows 30%). The customer path
needs only these few typed values, so the model is a dataclass with the checks it needs;
pydantic still validates the business API's request bodies, imported when one arrives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from typing import Any


class SettingsError(RuntimeError):
    """The environment lacks a required setting or holds an invalid one."""


def _env(name: str, default: Any = MISSING, **checks: Any) -> Any:
    """A field read from environment variable `name`, with optional ge / le / min_length checks."""
    return field(default=default, metadata={"env": name, **checks})


@dataclass(frozen=True)
class Settings:
    stage: str = _env("HARK_STAGE")
    core_table: str = _env("HARK_CORE_TABLE")
    responses_table: str = _env("HARK_RESPONSES_TABLE")
    scores_table: str = _env("HARK_SCORES_TABLE")
    public_base_url: str = _env("HARK_PUBLIC_BASE_URL")
    # "kid:secret,kid:secret"; the first key signs, every listed key verifies. Deployed stages
    # name an SSM SecureString holding that value instead (read once per process, by the
    # store); the keys themselves are then never in the environment. Local stacks set the value.
    signing_keys: str | None = _env("HARK_SIGNING_KEYS", None)
    signing_keys_parameter: str | None = _env("HARK_SIGNING_KEYS_PARAMETER", None)
    invitation_ttl_days: int = _env("HARK_INVITATION_TTL_DAYS", 30, ge=1, le=365)
    # Raw answers (comments, properties) are purged this many days after the invitation
    # expires; scores are kept (docs/architecture.md, Pipeline). 0 keeps raw answers forever.
    raw_retention_days: int = _env("HARK_RAW_RETENTION_DAYS", 0, ge=0)
    # Two-way SMS (optional; the SMS webhooks answer 503 while their setting is absent).
    # Twilio's auth token verifies X-Twilio-Signature on /webhooks/sms/twilio.
    twilio_auth_token: str | None = _env("HARK_TWILIO_AUTH_TOKEN", None)
    # Deployed stages name SSM SecureStrings instead of the two secrets above and below, as for
    # the signing keys (functions/logic/secrets.py reads them; docs/security.md).
    twilio_auth_token_parameter: str | None = _env("HARK_TWILIO_AUTH_TOKEN_PARAMETER", None)
    # Survey texts through Twilio's Messages API, for tenants whose sms.provider is "twilio"
    # (docs/sending.md): the account the auth token above belongs to, and the API's base URL
    # (a test or a proxy may point it elsewhere).
    twilio_account_sid: str | None = _env("HARK_TWILIO_ACCOUNT_SID", None)
    twilio_api_base: str = _env("HARK_TWILIO_API_BASE", "https://api.twilio.com")
    phone_hash_key_parameter: str | None = _env("HARK_PHONE_HASH_KEY_PARAMETER", None)
    # Secret (32+ characters) keying the hash that stands in for phone numbers; SMS
    # invitations need it. Changing it orphans existing invitations and opt-outs.
    phone_hash_key: str | None = _env("HARK_PHONE_HASH_KEY", None, min_length=32)
    # Comma-separated SNS topic ARNs whose messages /webhooks/sms/sns accepts.
    sns_topic_arns: str = _env("HARK_SNS_TOPIC_ARNS", "")
    # "+15550001111=ten_abc,…": a deploy-time seed of which tenant owns each of your numbers,
    # next to what tenants register with PATCH /v1/settings. A reply answers only the owning
    # tenant's invitations; with several tenants, a reply to a number nobody owns records
    # nothing (docs/security.md).
    sms_numbers: str = _env("HARK_SMS_NUMBERS", "")
    # Answer STOP/START/HELP ourselves (true) or leave it to the provider, which already
    # does for Twilio long codes and toll-free numbers and AWS End User Messaging (false).
    sms_keyword_replies: bool = _env("HARK_SMS_KEYWORD_REPLIES", False)
    # Send replies to SNS (End User Messaging) texts with SendTextMessage; off by default
    # because Hark otherwise sends no SMS itself.
    sns_send_replies: bool = _env("HARK_SNS_SEND_REPLIES", False)
    # Webhooks: the delivery queue (the stream's webhook consumer writes it, the delivery
    # function reads it) and where deliveries go when their retry budget is spent. Only the
    # functions that use them need them; they fail with the setting's name if it is missing.
    webhook_queue_url: str | None = _env("HARK_WEBHOOK_QUEUE_URL", None)
    # The tally writer's FIFO queue (message group: the survey): the aggregators name each
    # batch's pending score deltas on it, and one writer per survey applies them (docs/scale.md).
    scores_queue_url: str | None = _env("HARK_SCORES_QUEUE_URL", None)
    # A survey with at least this many changes in one stream batch (a hot survey) goes through
    # the tally writer; a quieter one's tallies move in the batch's own transaction, which
    # writes less (docs/scale.md, "Two paths"). 1: always through the tally writer.
    tally_writer_from: int = _env("HARK_TALLY_WRITER_FROM", 10, ge=1, le=1000)
    webhook_dead_letter_queue_url: str | None = _env("HARK_WEBHOOK_DEAD_LETTER_QUEUE_URL", None)
    # Seconds before each retry of a failed delivery ("5,30,120,…"); one more attempt than listed.
    webhook_retry_delays: str = _env("HARK_WEBHOOK_RETRY_DELAYS", "5,30,120,600,1800,3600")
    webhook_timeout_seconds: float = _env("HARK_WEBHOOK_TIMEOUT_SECONDS", 10.0, gt=0, le=30)
    # Cardinality guard: per survey, a touchpoint or a property key gets a score series for
    # each of its first this-many values; later values share `…=__other__` (docs/architecture.md).
    segment_value_limit: int = _env("HARK_SEGMENT_VALUE_LIMIT", 50, ge=1, le=1000)
    # Customer links (/r, /s), per minute and per function instance: answers to one link, and
    # requests from one client address. 0 turns a limit off. AWS WAF's rate-based rule is the
    # cross-instance limit in front of these (docs/security.md, Abuse).
    rate_per_link: int = _env("HARK_RATE_PER_LINK", 20, ge=0)
    rate_per_address: int = _env("HARK_RATE_PER_ADDRESS", 300, ge=0)
    # Set by the Lambda runtime itself: its API listens on 127.0.0.1:9001 inside the function.
    lambda_runtime_api: str | None = _env("AWS_LAMBDA_RUNTIME_API", None)

    # Sending (docs/sending.md): the default sender of survey emails (an SES-verified address
    # or an address on a verified domain; a tenant's settings and a survey's own `email_from`
    # win), the SES identity the deployment may send from (a domain or an address: when set,
    # every `email_from` must be on it; deployed stacks set it from SenderIdentity), the send
    # queue the scheduler fills and the sender reads, and the SES configuration set whose event
    # destination reports bounces and complaints (optional).
    email_from: str | None = _env("HARK_EMAIL_FROM", None)
    ses_identity: str | None = _env("HARK_SES_IDENTITY", None)
    send_queue_url: str | None = _env("HARK_SEND_QUEUE_URL", None)
    ses_configuration_set: str | None = _env("HARK_SES_CONFIGURATION_SET", None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))

    @property
    def allows_loopback_webhooks(self) -> bool:
        """Only the dev stage, off Lambda, may send webhooks to http://127.0.0.1.

        Inside Lambda, loopback is the runtime API (127.0.0.1:9001), so even a dev stage that
        was deployed keeps the production rule (docs/security.md).
        """
        return self.stage == "dev" and not self.lambda_runtime_api

    def required(self, name: str) -> str:
        """A setting that this function needs, or SettingsError naming it."""
        value = getattr(self, name)
        if not value:
            spec = next(f for f in fields(self) if f.name == name)
            raise SettingsError(f"missing setting {spec.metadata['env']}")
        return str(value)


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(kind: str, raw: str) -> Any:
    if kind == "int":
        return int(raw.strip())
    if kind == "float":
        return float(raw.strip())
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ValueError("expected true or false")
        return lowered in _TRUE
    return raw


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Settings from `environ`, with every problem named at once."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in fields(Settings):
        name = spec.metadata["env"]
        kind = str(spec.type).split(" ")[0]
        raw = environ.get(name)
        if raw is None or (spec.default is None and not raw.strip()):
            if spec.default is MISSING:
                problems.append(f"{name} (missing)")
            continue
        try:
            value = _convert(kind, raw)
        except ValueError as exc:
            problems.append(f"{name} ({exc})")
            continue
        if "gt" in spec.metadata and value <= spec.metadata["gt"]:
            problems.append(f"{name} (must be more than {spec.metadata['gt']})")
        elif "ge" in spec.metadata and value < spec.metadata["ge"]:
            problems.append(f"{name} (must be at least {spec.metadata['ge']})")
        elif "le" in spec.metadata and value > spec.metadata["le"]:
            problems.append(f"{name} (must be at most {spec.metadata['le']})")
        elif "min_length" in spec.metadata and len(value) < spec.metadata["min_length"]:
            problems.append(f"{name} (must be at least {spec.metadata['min_length']} characters)")
        values[spec.name] = value
    if not (values.get("signing_keys") or values.get("signing_keys_parameter")):
        problems.append("HARK_SIGNING_KEYS or HARK_SIGNING_KEYS_PARAMETER (set one)")
    url = values.get("public_base_url")
    if url is not None and not url.startswith(("https://", "http://")):
        problems.append("HARK_PUBLIC_BASE_URL (must be an http(s) URL: customer links are built on it)")
    if problems:
        raise SettingsError("missing or invalid settings: " + ", ".join(problems))
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, validated on first use."""
    return load_settings(os.environ)


def reset_settings() -> None:
    """Forget cached settings (tests and the local stack change the environment)."""
    get_settings.cache_clear()

"""The local Twilio stand-in `make dev` runs (infra/local/twilio_standin.py) answers Hark's two
Twilio calls as Twilio does, so a Twilio tenant texts locally and the outbox lists its texts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.store import twilio_messages
from functions.store.mail import SendRefused
from infra.local.twilio_standin import LOCAL_ACCOUNT_SID, TwilioStandIn

pytestmark = pytest.mark.integration

TOKEN = "t" * 32


@pytest.fixture
def standin() -> Iterator[TwilioStandIn]:
    running = TwilioStandIn(LOCAL_ACCOUNT_SID, TOKEN).start()
    try:
        yield running
    finally:
        running.stop()


def test_it_takes_the_senders_request_and_lists_it_back_newest_first(standin: TwilioStandIn) -> None:
    first = twilio_messages.send_text(
        standin.base, LOCAL_ACCOUNT_SID, TOKEN, "+15005550001", "one", from_number="+15005550006"
    )
    second = twilio_messages.send_text(
        standin.base, LOCAL_ACCOUNT_SID, TOKEN, "+15005550002", "two", messaging_service_sid="MG" + "a" * 32
    )
    assert first.startswith("SM") and second.startswith("SM") and first != second
    listed = twilio_messages.recent_texts(standin.base, LOCAL_ACCOUNT_SID, TOKEN)
    assert [(m["sid"], m["to"], m["body"]) for m in listed] == [
        (second, "+15005550002", "two"),
        (first, "+15005550001", "one"),
    ]
    assert listed[1]["from"] == "+15005550006" and listed[0]["messaging_service_sid"] == "MG" + "a" * 32


def test_it_refuses_what_twilio_refuses(standin: TwilioStandIn) -> None:
    with pytest.raises(SendRefused, match="Twilio 20003"):
        twilio_messages.send_text(
            standin.base, LOCAL_ACCOUNT_SID, "wrong", "+15005550001", "x", from_number="+1"
        )
    with pytest.raises(SendRefused, match="Twilio 21211"):
        twilio_messages.send_text(
            standin.base, LOCAL_ACCOUNT_SID, TOKEN, "5550001", "x", from_number="+15005550006"
        )
    with pytest.raises(OSError):
        twilio_messages.recent_texts(standin.base, LOCAL_ACCOUNT_SID, "wrong")
    assert standin.messages == []

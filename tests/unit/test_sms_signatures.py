"""Provider signatures: ours against Twilio's reference validator and the published SNS format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.domain import phones, sns_message, twilio_signature
from tests.sns_signing import CERT_URL, make_signer, published_string_to_sign

pytestmark = pytest.mark.unit


# ---- Twilio -----------------------------------------------------------------------------------

TOKEN = st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)
URL = st.builds(
    lambda scheme, host, stage, path, query: f"{scheme}://{host}{stage}{path}{query}",
    st.sampled_from(["https", "http"]),
    st.sampled_from(["abc123.execute-api.eu-west-1.amazonaws.com", "hark.example.com", "localhost:8000"]),
    st.sampled_from(["", "/api", "/prod"]),
    st.just("/webhooks/sms/twilio"),
    st.sampled_from(["", "?tenant=acme", "?a=1&b=2"]),
)
NAME = st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=12)
VALUE = st.text(max_size=40).filter(lambda v: "\x00" not in v)
PARAMS = st.dictionaries(NAME, VALUE, max_size=12)


@given(TOKEN, URL, PARAMS)
@settings(max_examples=300)
def test_our_twilio_signature_matches_twilios_reference_implementation(
    token: str, url: str, params: dict[str, str]
) -> None:
    from twilio.request_validator import RequestValidator

    reference = RequestValidator(token)
    ours = twilio_signature.compute_signature(token, url, params.items())
    assert ours == reference.compute_signature(url, params)
    assert twilio_signature.is_valid(token, url, params.items(), reference.compute_signature(url, params))
    sha256 = twilio_signature.compute_signature(token, url, params.items(), twilio_signature.HMAC_SHA256)
    assert sha256 == reference.compute_signature(url, params, "HMAC_SHA256")


def test_a_twilio_webhook_form_verifies_and_any_change_breaks_it() -> None:
    from twilio.request_validator import RequestValidator

    token, url = "f" * 32, "https://abc.execute-api.us-east-1.amazonaws.com/api/webhooks/sms/twilio"
    form = {"AccountSid": "AC" + "1" * 32, "From": "+15555550100", "To": "+15005550006", "Body": "9 great"}
    signature = RequestValidator(token).compute_signature(url, form)
    pairs = list(form.items())
    assert twilio_signature.is_valid(token, url, pairs, signature)
    assert not twilio_signature.is_valid(token, url, pairs, None)
    assert not twilio_signature.is_valid(token, url, pairs, "")
    assert not twilio_signature.is_valid("e" * 32, url, pairs, signature)
    assert not twilio_signature.is_valid(token, url.replace("/api", ""), pairs, signature)  # stage prefix
    assert not twilio_signature.is_valid(token, url, [*pairs[:3], ("Body", "10 great")], signature)
    assert not twilio_signature.is_valid(token, url, [*pairs, ("Extra", "")], signature)
    assert not twilio_signature.is_valid(token, url, pairs, signature, "HMAC_MD5")


def test_the_signature_settings_header_names_the_algorithm() -> None:
    assert twilio_signature.algorithm_from_settings(None) == "HMAC_SHA1"
    assert (
        twilio_signature.algorithm_from_settings("key=webhooks_sharedkey_1,algorithm=HMAC_SHA256")
        == "HMAC_SHA256"
    )
    assert twilio_signature.algorithm_from_settings("key=x") == "HMAC_SHA1"


# ---- SNS --------------------------------------------------------------------------------------


def test_the_string_to_sign_is_the_published_example_byte_for_byte() -> None:
    # The example in "Verifying the signatures of Amazon SNS messages" (Notification).
    message = sns_message.SnsMessage(
        {
            "Type": "Notification",
            "MessageId": "4d4dc071-ddbf-465d-bba8-08f81c89da64",
            "TopicArn": "arn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P",
            "Subject": "My subject",
            "Message": "My Test Message",
            "Timestamp": "2019-01-31T04:37:04.321Z",
            "SignatureVersion": "2",
            "Signature": "x",
            "SigningCertURL": CERT_URL,
            "UnsubscribeURL": "https://sns.us-east-2.amazonaws.com/?Action=Unsubscribe",
        }
    )
    assert sns_message.signing_string(message) == (
        b"Message\nMy Test Message\n"
        b"MessageId\n4d4dc071-ddbf-465d-bba8-08f81c89da64\n"
        b"Subject\nMy subject\n"
        b"Timestamp\n2019-01-31T04:37:04.321Z\n"
        b"TopicArn\narn:aws:sns:us-east-2:123456789012:s4-MySNSTopic-1G1WEFCOXTC0P\n"
        b"Type\nNotification\n"
    )


def test_a_confirmation_signs_subscribe_url_and_token_and_no_subject() -> None:
    signer = make_signer()
    raw = signer.subscription_confirmation()
    message = sns_message.parse_message(json.dumps(raw).encode())
    assert sns_message.signing_string(message) == published_string_to_sign(raw).encode()
    assert b"SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/" in sns_message.signing_string(message)


def _parsed(raw: dict[str, str]) -> sns_message.SnsMessage:
    return sns_message.parse_message(json.dumps(raw).encode())


SMS = {"originationNumber": "+14255550182", "destinationNumber": "+12125550101", "messageBody": "9 great"}


def test_a_signed_notification_verifies_and_any_change_breaks_it() -> None:
    signer = make_signer()
    raw = signer.notification(SMS)
    assert sns_message.verify_signature(_parsed(raw), signer.cert_pem)
    assert not sns_message.verify_signature(
        _parsed({**raw, "Message": raw["Message"] + " "}), signer.cert_pem
    )
    assert not sns_message.verify_signature(
        _parsed({**raw, "TopicArn": raw["TopicArn"] + "x"}), signer.cert_pem
    )
    assert not sns_message.verify_signature(_parsed({**raw, "Subject": "added"}), signer.cert_pem)
    assert not sns_message.verify_signature(_parsed({**raw, "Signature": "not base64!"}), signer.cert_pem)
    assert not sns_message.verify_signature(_parsed(raw), b"not a certificate")


@given(st.text(max_size=200), st.text(max_size=50))
@settings(max_examples=25, deadline=None)
def test_any_message_text_and_subject_sign_and_verify(text: str, subject: str) -> None:
    signer = make_signer()
    raw = {
        "Type": "Notification",
        "MessageId": "m",
        "TopicArn": signer.topic_arn,
        "Message": text,
        "Timestamp": "2026-01-01T00:00:00.000Z",
    }
    if subject:
        raw["Subject"] = subject
    assert sns_message.verify_signature(_parsed(signer.sign(raw)), signer.cert_pem)


def test_signature_version_1_is_refused() -> None:
    signer = make_signer()
    raw = signer.notification(SMS)
    v1 = signer.sign(
        {k: v for k, v in raw.items() if k not in {"Signature", "SignatureVersion"}}, version="1"
    )
    assert not sns_message.verify_signature(_parsed(v1), signer.cert_pem)


def test_a_certificate_not_naming_sns_or_out_of_date_is_refused() -> None:
    for signer in (make_signer("evil.example.com"), make_signer(expired=True)):
        assert not sns_message.verify_signature(_parsed(signer.notification(SMS)), signer.cert_pem)
    later = datetime.now(UTC) + timedelta(days=400)
    fresh = make_signer()
    assert not sns_message.verify_signature(_parsed(fresh.notification(SMS)), fresh.cert_pem, now=later)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        (CERT_URL, True),
        ("https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", True),
        ("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", False),
        ("https://sns.us-east-1.amazonaws.com.evil.com/x.pem", False),
        ("https://evil.com/sns.us-east-1.amazonaws.com/x.pem", False),
        ("https://sns.s3.amazonaws.com/x.pem", False),
        ("https://my-bucket.s3.amazonaws.com/x.pem", False),
        ("https://sns.us-east-1.amazonaws.com:8443/x.pem", False),
        ("https://user@sns.us-east-1.amazonaws.com/x.pem", False),
        ("https://sns.us-east-1.amazonaws.com/x.txt", False),
        ("https://sns.us-east-1.amazonaws.com/x.pem?redirect=https://evil.com", False),
        ("https://sns.us-east-1.amazonaws.com\n/x.pem", False),
        ("not a url", False),
    ],
)
def test_only_sns_hosts_serve_certificates(url: str, ok: bool) -> None:
    assert sns_message.is_sns_url(url, pem=True) is ok


def test_parse_refuses_what_sns_would_never_send() -> None:
    for body in [b"", b"[]", b"\xff", b'{"Type": "Other"}', b'{"Type": "Notification", "Message": "x"}']:
        with pytest.raises(sns_message.SnsMessageInvalid):
            sns_message.parse_message(body)


def test_the_end_user_messaging_payload() -> None:
    text = sns_message.parse_inbound_text(
        json.dumps({**SMS, "inboundMessageId": "id-1", "messageKeyword": "KEYWORD_1"})
    )
    assert (text.origination_number, text.destination_number, text.body) == (
        "+14255550182",
        "+12125550101",
        "9 great",
    )
    with pytest.raises(sns_message.SnsMessageInvalid):
        sns_message.parse_inbound_text("hello")


# ---- phone keys -------------------------------------------------------------------------------

SECRET = "s" * 40


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("+15555550100", "+15555550100"),
        ("+1 (555) 555-0100", "+15555550100"),
        ("0015555550100", "+15555550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("5555550100", None),
        ("+0123456789", None),
        ("+1555", None),
        ("", None),
        ("+15555550100\n", "+15555550100"),
    ],
)
def test_normalise_phone(text: str, e164: str | None) -> None:
    assert phones.normalise_phone(text) == e164


def test_phone_keys_are_keyed_stable_and_reveal_nothing() -> None:
    key = phones.phone_key(SECRET, "+15555550100")
    assert key == phones.phone_key(SECRET, "+1 555 555 0100")
    assert key != phones.phone_key("t" * 40, "+15555550100")
    assert "5555550100" not in key and len(key) == 64
    with pytest.raises(ValueError, match="at least 32"):
        phones.phone_key("short", "+15555550100")

"""The dashboard over the real tables: sign in with a key, see a survey, and nothing else.

Requests go through the Chalice app in-process; the browser-level story (phone viewport,
axe-core) is in tests/browser/test_dashboard_browser.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import BASE_URL, Api, Emulator
from tests.delighted_csv import delighted_nps, write_export
from tests.integration.test_import_delighted import make_survey

pytestmark = pytest.mark.integration

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": BASE_URL}


def sign_in(api: Api, key: str, headers: dict[str, str] | None = None) -> Any:
    return api.call("POST", "/dashboard/session", body=urlencode({"api_key": key}), headers=headers or FORM)


def headers(response: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


def session_cookie(response: Any) -> str:
    """The `name=value` part of the session cookie the response sets."""
    return headers(response)["set-cookie"].split(";", 1)[0]


def page(api: Api, path: str, cookie: str | None) -> Any:
    return api.call("GET", path, headers={"Cookie": cookie} if cookie else {})


@pytest.fixture(scope="module")
def imported(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A tenant whose NPS survey holds 80 imported answers over 80 days, through the aggregator."""
    from functions.logic.importer import import_delighted
    from functions.logic.tenants import create_tenant

    tenant = create_tenant("Dashboard tenant")
    survey_id = make_survey(tenant["tenant_id"], name="Checkout <script>alert(1)</script>")
    export = write_export(tmp_path_factory.mktemp("dash") / "export.csv", 80, days=80, seed=3)
    assert import_delighted(export.path, survey_id)["imported"] == 80
    emulator.drain()
    yield {**tenant, "survey_id": survey_id, "export": export}


def test_the_sign_in_page_asks_for_a_key_with_strict_headers(api: Api) -> None:
    response = page(api, "/dashboard", None)
    assert response.status_code == 200
    body = response.body.decode()
    assert '<input id="api_key" name="api_key" type="password" autocomplete="off"' in body
    assert 'action="dashboard/session"' in body
    sent = headers(response)
    nonce = re.search(r"'nonce-([^']+)'", sent["content-security-policy"]).group(1)
    assert f'<style nonce="{nonce}">' in body and "<script" not in body
    assert "default-src 'none'" in sent["content-security-policy"]
    assert "frame-ancestors 'none'" in sent["content-security-policy"]
    assert (sent["referrer-policy"], sent["cache-control"], sent["x-frame-options"]) == (
        "no-referrer",
        "no-store",
        "DENY",
    )


def test_a_key_becomes_a_short_lived_http_only_strict_cookie(api: Api, imported: dict[str, Any]) -> None:
    # When a key with scores:read is posted from the sign-in form
    response = sign_in(api, imported["api_key"])

    # Then it becomes a session cookie, and the key is nowhere in what comes back
    assert response.status_code == 303 and headers(response)["location"] == "../dashboard"
    cookie = headers(response)["set-cookie"]
    assert cookie.startswith("hark_session=")
    assert "; Max-Age=3600; Path=/; HttpOnly; SameSite=Strict" in cookie
    assert "Secure" not in cookie  # http://localhost development only; see the https test
    assert imported["api_key"] not in cookie and imported["api_key"] not in response.body.decode()

    # And the cookie opens the tenant's survey list, names escaped, key absent
    listing = page(api, "/dashboard", session_cookie(response))
    body = listing.body.decode()
    assert listing.status_code == 200
    assert f'href="dashboard/surveys/{imported["survey_id"]}"' in body
    assert "Checkout &lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>" not in body
    assert imported["api_key"] not in body


def test_the_survey_page_shows_score_trend_answers_segments_and_comments(
    api: Api, imported: dict[str, Any]
) -> None:
    cookie = session_cookie(sign_in(api, imported["api_key"]))
    path = f"/dashboard/surveys/{imported['survey_id']}"

    response = page(api, path, cookie)
    assert response.status_code == 200
    body = response.body.decode()
    summary = api.json("GET", f"/v1/surveys/{imported['survey_id']}/scores?window=90d", imported["api_key"])

    # The score now, with its margin of error, as the API computes it (and as Delighted would)
    assert summary["nps"] == delighted_nps(imported["export"].counts())
    assert f'<span class="score" id="score">NPS {summary["nps"]:.1f}</span>' in body
    assert f"± {summary['margin_of_error']:.1f}" in body
    assert '<span id="responses">80</span> responses' in body
    # A trend chart drawn on the server, one point per week with answers
    trend = re.search(r'<svg id="trend".*?</svg>', body, re.S).group(0)
    assert 'role="img"' in trend and len(re.findall(r'<circle class="point"', trend)) >= 11
    # The answers by score, one bar per scale point
    assert len(re.findall(r'<rect class="bar"', body)) == 11
    # Segments: channel and the imported properties
    assert '<td>Channel: email</td><td class="n">80</td>' in body
    assert re.search(r"<td>plan: (free|pro|enterprise)</td>", body)
    # Latest comments, escaped, with detractors marked in words
    assert "<b>really</b>" not in body
    comments = re.search(r'<ol class="comments" id="comments">(.*?)</ol>', body, re.S).group(1)
    assert comments.count("<li") == 10
    for level, word, score in re.findall(r'<span class="badge (\w+)">(\w+) · (\d+)</span>', comments):
        assert (level == "low") == (word == "Detractor") == (int(score) <= 6)

    # Other windows, and a window that does not exist
    week = page(api, path + "?window=7d", cookie).body.decode()
    assert 'href="?window=7d" aria-current="page"' in week and "NPS by day, last 7 days" in week
    bad = page(api, path + "?window=2y", cookie)
    assert bad.status_code == 400 and "Window must be one of" in bad.body.decode()


def test_a_scores_only_key_sees_what_the_api_shows_it_no_comments_or_customers(
    api: Api, imported: dict[str, Any]
) -> None:
    from html import escape

    from functions.logic.tenants import create_key

    # Given the survey's answers, as a key with responses:read reads them
    survey_id = imported["survey_id"]
    answers = api.json("GET", f"/v1/surveys/{survey_id}/responses?limit=100", imported["api_key"])["data"]
    comments = [a["comment"] for a in answers if a["comment"]]
    customers = {a["customer_id"] for a in answers}
    assert comments and customers
    scores_only = create_key(imported["tenant_id"], frozenset({"scores:read"}))["api_key"]
    both = create_key(imported["tenant_id"], frozenset({"scores:read", "responses:read"}))["api_key"]
    # the API keeps them from the scores-only key
    assert api.call("GET", f"/v1/surveys/{survey_id}/responses", scores_only).status_code == 403

    # When the scores-only key signs in to the dashboard
    body = page(
        api, f"/dashboard/surveys/{survey_id}", session_cookie(sign_in(api, scores_only))
    ).body.decode()

    # Then it sees the score, and no comment, customer id or answer list
    assert '<span id="responses">80</span> responses' in body
    assert 'id="comments"' not in body and "responses:read" in body
    for text in [*comments, *customers]:
        assert escape(text) not in body and text not in body
    # and a key that may read responses still sees them
    full = page(api, f"/dashboard/surveys/{survey_id}", session_cookie(sign_in(api, both))).body.decode()
    assert 'id="comments"' in full and any(escape(c) in full for c in customers)


def test_another_tenants_survey_is_not_found(
    api: Api, imported: dict[str, Any], tenant: dict[str, str]
) -> None:
    # Given someone else's session
    cookie = session_cookie(sign_in(api, tenant["api_key"]))
    for survey_id in (imported["survey_id"], "srv_doesnotexist00", "not-an-id"):
        response = page(api, f"/dashboard/surveys/{survey_id}", cookie)
        assert response.status_code == 404
        body = response.body.decode()
        assert "Survey not found" in body and "Checkout" not in body
        assert headers(response)["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("key", "status", "text"),
    [
        ("hk_live_" + "x" * 32, 401, "That API key is not valid"),
        ("", 401, "That API key is not valid"),
        ("not a key", 401, "That API key is not valid"),
    ],
)
def test_a_bad_key_gets_the_form_again_and_no_cookie(api: Api, key: str, status: int, text: str) -> None:
    response = sign_in(api, key)
    assert response.status_code == status
    body = response.body.decode()
    assert text in body and 'value="' not in body and "set-cookie" not in headers(response)
    assert 'action="session"' in body


def test_a_key_without_scores_read_is_refused(api: Api, tenant: dict[str, str]) -> None:
    from functions.logic.tenants import create_key

    writer = create_key(tenant["tenant_id"], frozenset({"surveys:write"}))
    response = sign_in(api, writer["api_key"])
    assert response.status_code == 403 and "scores:read" in response.body.decode()
    assert "set-cookie" not in headers(response)


@pytest.mark.parametrize(
    "extra",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": BASE_URL, "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "same-origin"},
    ],
)
def test_forms_from_another_site_are_refused(api: Api, tenant: dict[str, str], extra: dict[str, str]) -> None:
    sent = {"Content-Type": "application/x-www-form-urlencoded", **extra}
    response = sign_in(api, tenant["api_key"], sent)
    assert response.status_code == 403 and "set-cookie" not in headers(response)
    assert "another site" in response.body.decode()
    out = api.call("POST", "/dashboard/signout", body="", headers=sent)
    assert out.status_code == 403


def test_our_own_pages_post_with_a_null_origin_and_are_let_in(api: Api, tenant: dict[str, str]) -> None:
    # Under Referrer-Policy: no-referrer a browser sends "Origin: null" even to its own site,
    # and says "Sec-Fetch-Site: same-origin"
    sent = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": "null",
        "Sec-Fetch-Site": "same-origin",
    }
    assert sign_in(api, tenant["api_key"], sent).status_code == 303
    # a client that is not a browser sends neither
    assert (
        sign_in(api, tenant["api_key"], {"Content-Type": "application/x-www-form-urlencoded"}).status_code
        == 303
    )


def test_a_post_that_is_not_the_form_gets_a_page_not_json(api: Api, tenant: dict[str, str]) -> None:
    response = api.call(
        "POST", "/dashboard/session", body='{"api_key": "x"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and headers(response)["content-type"].startswith("text/html")


def test_sessions_end_when_the_key_is_revoked_tampered_or_old(
    api: Api, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.logic import clock
    from functions.logic.tenants import create_key, revoke_key

    survey_id = make_survey(tenant["tenant_id"])
    reader = create_key(tenant["tenant_id"], frozenset({"scores:read"}))
    cookie = session_cookie(sign_in(api, reader["api_key"]))
    path = f"/dashboard/surveys/{survey_id}"
    assert page(api, path, cookie).status_code == 200

    # A changed cookie is a signed-out visitor
    name, value = cookie.split("=", 1)
    tampered = f"{name}={value.replace(tenant['tenant_id'], 'ten_ZZZZZZZZZZZZZZZZ')}"
    assert page(api, path, tampered).status_code == 303
    assert "Sign in" in page(api, "/dashboard", tampered).body.decode()

    # An hour later the session is over
    later = clock.now() + timedelta(hours=1, seconds=1)
    with monkeypatch.context() as m:
        m.setattr(clock, "now", lambda: later)
        response = page(api, path, cookie)
        assert response.status_code == 303 and headers(response)["location"] == "../../dashboard"

    # Revoking the key ends its sessions at once
    revoke_key(reader["key_id"])
    assert page(api, path, cookie).status_code == 303
    assert "Sign in" in page(api, "/dashboard", cookie).body.decode()


def test_signing_out_clears_the_cookie(api: Api, tenant: dict[str, str]) -> None:
    response = api.call("POST", "/dashboard/signout", body="", headers=FORM)
    assert response.status_code == 303 and headers(response)["location"] == "../dashboard"
    assert headers(response)["set-cookie"].startswith("hark_session=; Max-Age=0;")


def test_behind_https_the_cookie_is_secure_and_host_only(
    api: Api, tenant: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from functions.api import dashboard
    from functions.settings import get_settings

    # Given a deployment whose public base URL is https (the test client resets the
    # environment to chalice.json's stage on every request, so the setting is replaced here)
    https = replace(get_settings(), public_base_url="https://nps.example.com")
    monkeypatch.setattr(dashboard, "get_settings", lambda: https)

    response = sign_in(
        api,
        tenant["api_key"],
        {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://nps.example.com"},
    )
    assert response.status_code == 303, response.body
    cookie = headers(response)["set-cookie"]
    assert cookie.startswith("__Host-hark_session=") and cookie.endswith("; Secure")
    listing = page(api, "/dashboard", session_cookie(response))
    assert "<h1>Surveys</h1>" in listing.body.decode()
    # the development cookie name is not read when the base is https
    plain = "hark_session=" + session_cookie(response).split("=", 1)[1]
    assert "Sign in" in page(api, "/dashboard", plain).body.decode()


def test_the_survey_page_shows_each_questions_option_counts(
    api: Api, emulator: Emulator, tenant: dict[str, str]
) -> None:
    from tests.conftest import path_of

    # Given a survey with a select_many, a scale and a free-response question, and two answers
    key = tenant["api_key"]
    questions = [
        {
            "key": "liked",
            "type": "select_many",
            "text": "What did you <like>?",
            "options": ["Speed", "Price"],
        },
        {"key": "ease", "type": "scale", "text": "How easy?", "scale": "1-5"},
        {"key": "why", "type": "free_response", "text": "Why?"},
    ]
    survey = api.json(
        "POST",
        "/v1/surveys",
        key,
        {"name": "Q", "kind": "nps", "question": "Recommend?", "questions": questions},
        expect=201,
    )
    recipients = {"recipients": [{"customer_id": "a"}, {"customer_id": "b"}]}
    links = api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, recipients, expect=201)[
        "invitations"
    ]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for link, body in zip(
        links, ["q=1&q.liked=Speed&q.liked=Price&q.ease=5&q.why=secret", "q=1&q.liked=Price"]
    ):
        api.form(path_of(link["url"]), {"score": "9"})
        api.call("POST", path_of(link["url"]), body=body, headers=form)
    emulator.drain()

    # When the survey's page is shown to a key that reads scores only
    from functions.logic.tenants import create_key

    scores_only = create_key(tenant["tenant_id"], frozenset({"scores:read"}))["api_key"]
    html = page(
        api, f"/dashboard/surveys/{survey['id']}?window=30d", session_cookie(sign_in(api, scores_only))
    )
    body = html.body.decode()

    # Then each counted question has its table of options, and no free text is shown
    assert '<h2 id="questions-h">Additional questions</h2>' in body
    liked = re.search(r'<table class="question" id="q-liked">.*?</table>', body)
    assert liked is not None and "What did you &lt;like&gt;?" in liked.group(0)
    cells = re.findall(r"<td>([^<]+)</td><td class=\"n\">(\d+)</td>", liked.group(0))
    assert cells == [("Speed", "1"), ("Price", "2")]
    ease = re.search(r'<table class="question" id="q-ease">.*?</table>', body)
    assert ease is not None and re.findall(r"<td>5</td><td class=\"n\">(\d+)</td>", ease.group(0)) == ["1"]
    assert 'id="q-why"' not in body and "secret" not in body

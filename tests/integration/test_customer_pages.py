"""Customer pages of every survey kind, end to end through the API on moto (docs/pages.md).

Each test reads as a customer's story: the links a business app receives, what the customer
sees, what gets recorded (the stored item) and what the score API then shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api, Emulator, path_of
from tests.helpers import STORE_CSI

pytestmark = pytest.mark.integration

SURVEYS: dict[str, dict[str, Any]] = {
    "nps": {"name": "Delivery NPS", "kind": "nps", "question": "How likely are you to recommend us?"},
    "csat": {"name": "Support CSAT", "kind": "csat", "question": "How satisfied were you with support?"},
    "ces": {"name": "Returns CES", "kind": "ces", "question": "How easy was it to return your order?"},
    "csi": STORE_CSI,
}
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "csi": (1, 10)}


def create_survey(api: Api, key: str, kind: str, **extra: Any) -> dict[str, Any]:
    body = {
        **SURVEYS[kind],
        "follow_up_question": "What is the main reason for your score?",
        "brand": {"name": "Acme Parcels", "color": "#0a7d3b"},
        **extra,
    }
    return api.json("POST", "/v1/surveys", key, body, expect=201)


def invite(api: Api, key: str, survey_id: str, *recipients: dict[str, Any]) -> list[dict[str, Any]]:
    body = {"recipients": list(recipients)}
    out = api.json("POST", f"/v1/surveys/{survey_id}/invitations", key, body, expect=201)
    assert out["errors"] == []
    return list(out["invitations"])


EMAIL = {"customer_id": "cust-email", "email": "ada@example.com"}
SMS = {"customer_id": "cust-sms", "channel": "sms", "phone": "+15555550100"}


def stored(link: dict[str, Any]) -> Any:
    """The invitation item behind a link, as the store holds it."""
    from functions.store import responses

    return responses.get_invitation(code_of(link))


def code_of(link: dict[str, Any]) -> str:
    if link.get("short_url"):
        return str(link["short_url"]).rsplit("/", 1)[1]
    return str(link["url"]).split("/r/", 1)[1].split(".")[1]


def summary(api: Api, key: str, survey_id: str, segment: str = "all") -> dict[str, Any]:
    return api.json("GET", f"/v1/surveys/{survey_id}/scores?window=all&segment={segment}", key)


def html(response: Any) -> str:
    assert response.headers["Content-Type"].startswith("text/html"), response.body
    return str(response.body.decode())


def checked(page: str, name: str = "score") -> list[str]:
    return re.findall(rf'name="{re.escape(name)}" value="(\d+)" checked', page)


def radios(page: str, name: str = "score") -> list[int]:
    return [int(v) for v in re.findall(rf'type="radio" name="{re.escape(name)}" value="(\d+)"', page)]


def form_action(page: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)"', page)
    assert match
    return match.group(1)


@pytest.fixture
def dynamodb_requests(emulator: Emulator) -> Iterator[list[str]]:
    """The DynamoDB requests (operation names) sent by this process while the test runs."""
    from functions.store.clients import client

    sent: list[str] = []

    def count(**kwargs: Any) -> None:
        sent.append(str(kwargs["event_name"]).rsplit(".", 1)[-1])

    events = client("dynamodb").meta.events
    events.register("before-send.dynamodb", count)
    yield sent
    events.unregister("before-send.dynamodb", count)


@pytest.mark.parametrize("kind", list(SURVEYS))
def test_every_kind_answer_comment_change_and_comment_later(
    api: Api, emulator: Emulator, tenant: dict, kind: str
) -> None:
    key = tenant["api_key"]
    low, high = SCALES[kind]
    survey = create_survey(api, key, kind)
    email, sms = invite(api, key, survey["id"], EMAIL, SMS)
    url = path_of(email["url"])

    # Given the email's links: one per point of the survey's scale
    assert list(email["score_urls"]) == [str(n) for n in range(low, high + 1)]

    # The landing page asks the question on the kind's scale, nothing chosen
    landing = html(api.call("GET", url))
    assert radios(landing) == list(range(low, high + 1)) and checked(landing) == []
    assert SURVEYS[kind]["question"] in landing and "<header>Acme Parcels</header>" in landing
    if kind == "csi":
        assert radios(landing, "attr.speed") == list(range(1, 11))
        assert "Speed of service" in landing and "Friendliness of staff" in landing

    # When the customer clicks the highest score in the email, the page shows it chosen
    chosen = html(api.call("GET", path_of(email["score_urls"][str(high)])))
    assert checked(chosen) == [str(high)] and f"You chose {high}" in chosen
    assert stored(email).score is None, "a GET must never record"

    # and its POST records it, then shows the thank-you page with the follow-up question
    posted = api.form(url, {"score": str(high)})
    assert posted.status_code == 303
    assert posted.headers["Location"] == email["url"] + "/thanks"
    thanks = html(api.call("GET", path_of(posted.headers["Location"])))
    assert "Thank you!" in thanks and f"You answered <strong>{high}</strong>" in thanks
    assert "What is the main reason for your score?" in thanks
    assert form_action(thanks) == "../" + email["url"].rsplit("/", 1)[1]

    # When they add a comment (and, for csi, rate the attributes) on the thank-you page
    extra = {"attr.speed": "8", "attr.staff": "6"} if kind == "csi" else {}
    assert api.form(url, {"comment": "Fast & friendly", **extra}).status_code == 303
    thanks = html(api.call("GET", path_of(email["url"] + "/thanks")))
    assert "Fast &amp; friendly</textarea>" in thanks and "We have your comment" in thanks
    if kind == "csi":
        assert checked(thanks, "attr.speed") == ["8"] and checked(thanks, "attr.staff") == ["6"]

    # When they change their answer later, the landing page shows the current one
    again = html(api.call("GET", url))
    assert checked(again) == [str(high)]
    assert api.form(url, {"score": str(low)}).status_code == 303
    # and add a comment later still
    assert api.form(url, {"comment": "Changed my mind"}).status_code == 303

    item = stored(email)
    assert (item.score, item.comment) == (low, "Changed my mind")
    if kind == "csi":
        assert item.attrs == {"speed": 8, "staff": 6}

    # The SMS customer answers through the short link
    assert len(sms["short_url"]) <= 40 and sms["score_urls"] == {}
    short = path_of(sms["short_url"])
    sms_landing = html(api.call("GET", short))
    assert radios(sms_landing) == list(range(low, high + 1))
    sms_post = api.form(short, {"score": str(high)})
    assert sms_post.status_code == 303 and sms_post.headers["Location"] == sms["short_url"] + "/thanks"
    assert "Thank you!" in html(api.call("GET", short + "/thanks"))

    # Then the scores: one response per invitation, the last answer of each
    emulator.drain()
    everything = summary(api, key, survey["id"])
    assert (everything["responses"], everything["invited"]) == (2, 2)
    assert everything["counts"][str(low)] == 1 and everything["counts"][str(high)] == 1
    assert summary(api, key, survey["id"], "channel:sms")["responses"] == 1
    if kind == "csi":
        means = {a["key"]: a["mean"] for a in everything["attributes"]}
        assert means["speed"] == 8.0 and means["staff"] == 6.0


def test_a_customer_can_take_their_comment_back(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key, "nps")
    (email,) = invite(api, key, survey["id"], EMAIL)
    url = path_of(email["url"])
    api.form(url, {"score": "9"})
    api.form(url, {"comment": "typo"})
    assert stored(email).comment == "typo"

    # When they empty the comment box and send it
    assert api.form(url, {"comment": "  "}).status_code == 303

    # Then the comment is gone and the score stays
    item = stored(email)
    assert (item.score, item.comment) == (9, None)


def test_a_thank_you_url_before_any_answer_asks_the_question(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key, "csat")
    (email,) = invite(api, key, survey["id"], EMAIL)
    page = html(api.call("GET", path_of(email["url"] + "/thanks")))
    assert radios(page) == [1, 2, 3, 4, 5] and "Thank you" not in page
    assert form_action(page) == "../" + email["url"].rsplit("/", 1)[1]
    # A comment without a score is refused kindly, with a way back
    refused = api.form(path_of(email["url"]), {"comment": "hello"})
    assert refused.status_code == 400 and "Choose a score first" in html(refused)
    assert "Back to the question" in html(refused)


def test_posts_that_are_not_the_pages_form_get_a_page_and_record_nothing(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key, "nps")
    email, sms = invite(api, key, survey["id"], EMAIL, SMS)
    for link in (email["url"], sms["short_url"]):
        for headers, body in [
            ({"Content-Type": "application/json"}, b'{"score": 9}'),
            ({"Content-Type": "text/plain"}, b"score=9"),
            ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x--"),
            ({}, b""),
        ]:
            sent = api.call("POST", path_of(link), body=body, headers=headers)
            assert sent.status_code == 400, (link, headers)
            assert "answer with the buttons on the survey page" in html(sent)
        # while the browser's own encoding, with a charset, is accepted
        ok = api.call(
            "POST",
            path_of(link),
            body=b"score=9",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
        )
        assert ok.status_code == 303
    assert stored(email).score == 9 and stored(sms).score == 9


def test_scanners_fetching_every_link_with_head_and_get_record_nothing(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key, "nps")
    email, sms = invite(api, key, survey["id"], EMAIL, SMS)
    links = [email["url"], *email["score_urls"].values(), email["url"] + "/thanks"]
    links += [sms["short_url"], sms["short_url"] + "?score=10", sms["short_url"] + "/thanks"]
    assert len(email["score_urls"]) == 11

    # When a security scanner (Safe Links, Mimecast) probes each link with HEAD, then GET
    for link in links:
        head = api.call("HEAD", path_of(link))
        assert head.status_code == 200, link
        assert head.body == b"" and head.headers["Cache-Control"] == "no-store"
        assert api.call("GET", path_of(link)).status_code == 200, link

    # Then nothing is recorded: no answer on either invitation, no response in the scores
    for link in (email, sms):
        item = stored(link)
        assert (item.score, item.rev, item.answered_at) == (None, 0, None)
    emulator.drain()
    scores = summary(api, key, survey["id"])
    assert (scores["responses"], scores["invited"]) == (0, 2)


def test_a_burst_of_different_scores_is_flagged_and_a_later_answer_clears_it(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from functions.domain.automation import BURST_SECONDS
    from functions.logic import clock

    key = tenant["api_key"]
    survey = create_survey(api, key, "nps")
    (email,) = invite(api, key, survey["id"], EMAIL)
    url = path_of(email["url"])
    start = clock.now()

    # A person answers, and a few minutes later sends the same score again (a double click)
    monkeypatch.setattr(clock, "now", lambda: start)
    api.form(url, {"score": "9"})
    assert stored(email).suspect_automation is False
    api.form(url, {"score": "9"})
    assert stored(email).suspect_automation is False

    # When a script-running scanner posts every score within a second
    for n, score in enumerate(range(11)):
        moment = start + timedelta(minutes=5, milliseconds=90 * n)
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        assert api.form(url, {"score": str(score)}).status_code == 303

    # Then the answer is still recorded (last one wins) but flagged as automated
    item = stored(email)
    assert (item.score, item.suspect_automation) == (10, True)
    emulator.drain()
    assert summary(api, key, survey["id"])["responses"] == 1

    # When the customer answers themselves a while later, the flag clears
    later = start + timedelta(minutes=5, seconds=BURST_SECONDS + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    api.form(url, {"score": "7"})
    item = stored(email)
    assert (item.score, item.previous_score, item.suspect_automation) == (7, 10, False)
    # A comment alone changes nothing about it
    api.form(url, {"comment": "ok"})
    assert stored(email).suspect_automation is False


def test_recording_costs_one_request_and_a_page_at_most_one(
    api: Api, emulator: Emulator, tenant: dict, dynamodb_requests: list[str]
) -> None:
    key = tenant["api_key"]
    survey = create_survey(api, key, "csi")
    email, sms = invite(api, key, survey["id"], EMAIL, SMS)
    url = path_of(email["url"])
    cases: list[tuple[str, str, dict[str, str] | None, list[str]]] = [
        ("GET", url, None, ["GetItem"]),
        ("HEAD", url + "?score=3", None, ["GetItem"]),
        ("POST", url, {"score": "3"}, ["UpdateItem"]),
        ("POST", url, {"score": "4", "attr.speed": "9", "comment": "hi"}, ["UpdateItem"]),
        ("GET", url + "/thanks", None, ["GetItem"]),
        ("POST", path_of(sms["short_url"]), {"score": "5"}, ["UpdateItem"]),
        ("GET", path_of(sms["short_url"]), None, ["GetItem"]),
        # Refused answers and broken links: still at most one request, often none
        ("POST", url, {"score": "99"}, ["UpdateItem"]),
        ("GET", url[:-2] + "xx", None, []),
        ("GET", url + "?score=12", None, ["GetItem"]),
    ]
    for method, path, form, expected in cases:
        dynamodb_requests.clear()
        if form is None:
            api.call(method, path)
        else:
            api.form(path, form)
        assert dynamodb_requests == expected, (method, path, form)


def test_broken_links_get_friendly_pages_never_json(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from functions.domain import tokens
    from functions.domain.codes import new_code
    from functions.logic import clock
    from functions.logic.links import signing_keys

    key = tenant["api_key"]
    survey = create_survey(api, key, "nps")
    email, sms = invite(api, key, survey["id"], EMAIL, SMS)
    token = email["url"].rsplit("/", 1)[1]
    kid, code, expiry, signature = token.split(".")
    future = int((clock.now() + timedelta(days=3)).timestamp())
    retired = tokens.SigningKeys.parse("k0:" + "c" * 40)
    cases = {
        # tampered: any part changed, or signed by a key that is not (or no longer) listed
        "/r/" + ".".join([kid, code, expiry, ("A" if signature[0] != "A" else "B") + signature[1:]]): 400,
        "/r/" + ".".join([kid, code[::-1], expiry, signature]): 400,
        "/r/" + ".".join([kid, code, tokens.b36(future), signature]): 400,
        "/r/" + tokens.sign(code, future, retired): 400,
        "/r/not-a-token": 400,
        "/r/%3Cscript%3E": 400,
        # authentic but unknown: a validly signed link to an invitation that does not exist
        "/r/" + tokens.sign(new_code(), future, signing_keys()): 404,
        "/s/" + new_code(): 404,
        "/s/abc": 404,
        "/s/" + code: 404,  # an email invitation is not reachable by a short link
    }
    for path, status in cases.items():
        for method in ("GET", "HEAD", "POST"):
            sent = api.form(path, {"score": "9"}) if method == "POST" else api.call(method, path + "?score=9")
            assert sent.status_code == status, (method, path)
            assert sent.headers["Content-Type"].startswith("text/html"), (method, path)
            if method != "HEAD":
                body = html(sent)
                assert "Traceback" not in body and '{"' not in body and "<h1>" in body
        thanks = api.call("GET", path + "/thanks")
        assert thanks.status_code == status and "<h1>" in html(thanks)
    assert "This link is damaged" in html(api.call("GET", next(iter(cases))))
    assert "Survey not found" in html(api.call("GET", "/s/" + new_code()))

    # Expired: the token's own expiry, and the stored one, both give 410
    later = clock.now() + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    for path in (path_of(email["url"]), path_of(email["score_urls"]["9"]), path_of(sms["short_url"])):
        gone = api.call("GET", path)
        assert gone.status_code == 410 and "This survey has closed" in html(gone)
        assert api.call("HEAD", path).status_code == 410
    assert api.form(path_of(email["url"]), {"score": "9"}).status_code == 410
    assert api.form(path_of(sms["short_url"]), {"score": "9"}).status_code == 410

    # and nothing was recorded by any of it
    for link in (email, sms):
        assert stored(link).score is None


def test_pages_are_small_private_and_escape_everything(api: Api, emulator: Emulator, tenant: dict) -> None:
    key = tenant["api_key"]
    evil = "<script>alert(1)</script>"
    survey = create_survey(
        api,
        key,
        "csi",
        question=f"Rate us {evil}",
        follow_up_question=f"Why? {evil}",
        brand={"name": f"Evil {evil} Co", "color": "#ffeb3b"},
        attributes=[
            {"key": f"attr{i}", "label": f"Detail {i} {evil} " + "x" * 300, "weight": 1} for i in range(12)
        ],
    )
    (email,) = invite(api, key, survey["id"], EMAIL)
    url = path_of(email["url"])
    api.form(url, {"score": "7", "comment": f"Nice {evil} </textarea><b>bold</b>"})
    pages = {
        "landing": api.call("GET", url),
        "chosen": api.call("GET", url + "?score=7"),
        "thanks": api.call("GET", url + "/thanks"),
        "error": api.call("GET", url + "?score=0"),
        "missing": api.call("GET", "/s/AAAAAAAAAA"),
    }
    for name, page in pages.items():
        body = html(page)
        # small, even with twelve long attribute labels
        assert len(page.body) < 30_000, (name, len(page.body))
        # escaped: the only scripts are our own nonce'd one
        assert "<script>alert" not in body and "<b>bold" not in body, name
        assert body.count("<script") == body.count('<script nonce="'), name
        # headers: strict CSP, no referrer, no caching, no framing
        headers = page.headers
        csp = headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert nonce and f'nonce="{nonce.group(1)}"' in body, name
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, name
        assert "unsafe-inline" not in csp and "http" not in csp, name
        assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store", name
        assert headers["X-Frame-Options"] == "DENY", name
        # nothing from another host: no absolute URL in any src/href/action
        assert not re.search(r'(src|href|action)="(https?:)?//', body), name
    assert "Nice &lt;script&gt;alert(1)&lt;/script&gt; &lt;/textarea&gt;" in html(pages["thanks"])
    assert "Evil &lt;script&gt;" in html(pages["landing"])
    # A yellow brand gets black text on it, for contrast
    assert "--brand:#ffeb3b;--on-brand:#000000" in html(pages["landing"])
    # Two nonces never repeat
    assert (
        pages["landing"].headers["Content-Security-Policy"]
        != pages["chosen"].headers["Content-Security-Policy"]
    )


def test_sms_invitations_carry_a_one_segment_text(api: Api, emulator: Emulator, tenant: dict) -> None:
    from functions.domain.sms import fits_one_segment

    key = tenant["api_key"]
    survey = create_survey(
        api,
        key,
        "nps",
        question="On a scale from 0 to 10, how likely is it that you would recommend “Acme’s” "
        "next-day delivery service to a friend or a colleague who ships parcels?",
        brand={"name": "Acme Parcels — Europe", "color": "#0a7d3b"},
    )
    email, sms = invite(api, key, survey["id"], EMAIL, SMS)
    assert email["sms_body"] is None
    body = sms["sms_body"]
    assert fits_one_segment(body) and body.endswith(" " + sms["short_url"])
    assert body.startswith("Acme Parcels - Europe: On a scale from 0 to 10")
    assert len(body) <= 160 and "..." in body


def test_a_colliding_short_code_is_replaced_not_overwritten(
    api: Api, emulator: Emulator, tenant: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.domain import codes
    from functions.logic import invitations

    key = tenant["api_key"]
    survey = create_survey(api, key, "nps")
    (first,) = invite(api, key, survey["id"], SMS)
    taken = code_of(first)

    # Given the random generator produces an existing code first
    produced: list[str] = []

    def colliding(length: int = codes.CODE_LENGTH) -> str:
        code = taken if not produced else codes.new_code(length)
        produced.append(code)
        return code

    monkeypatch.setattr(invitations, "new_code", colliding)

    # When a second customer is invited
    (second,) = invite(api, key, survey["id"], {**SMS, "customer_id": "cust-other"})

    # Then the collision was retried with a fresh code, and the first invitation is untouched
    assert produced[0] == taken and code_of(second) not in (taken, produced[0])
    assert code_of(second) == produced[-1]
    assert stored(first).customer_id == "cust-sms" and stored(second).customer_id == "cust-other"
    assert second["short_url"] != first["short_url"]

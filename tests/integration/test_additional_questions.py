"""Additional questions (docs/questions.md) end to end on the moto stack: a survey with a
select_many and a scale question, answered in one POST of the thank-you page's plain form,
stored, exported and counted per option in the summary, exactly once."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import Api, Emulator, path_of
from tests.helpers import app_on_loopback, invited

pytestmark = pytest.mark.integration

QUESTIONS = [
    {
        "key": "liked",
        "type": "select_many",
        "text": "What did you like?",
        "options": ["Speed", "Price", "Staff"],
    },
    {"key": "ease", "type": "scale", "text": "How easy was ordering?", "scale": "1-5"},
    {"key": "visit", "type": "select_one", "text": "How did you visit?", "options": ["Online", "In store"]},
    {"key": "why", "type": "free_response", "text": "Anything else?"},
]
NPS = {"name": "Coffee", "kind": "nps", "question": "Recommend us?", "questions": QUESTIONS}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture
def http(emulator: Emulator) -> Iterator[str]:
    """The app over real HTTP on loopback (the server `make dev` uses), links pointing at it."""
    with app_on_loopback() as base:
        yield base


def send(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        response = opener.open(request, timeout=10)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()
    return response.status, dict(response.headers), response.read()


def api_call(base: str, key: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    status, _, raw = send(
        method, base + path, data, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    )
    return status, json.loads(raw)


def thanks_form(html: str) -> tuple[str, list[tuple[str, str]]]:
    """The thank-you form's action and its fields as a browser without script would find them."""
    action = re.search(r'<form method="post" action="([^"]+)">', html)
    assert action is not None
    fields = re.findall(r'<input type="(?:radio|checkbox|hidden)" name="([^"]+)" value="([^"]*)"', html)
    return unescape(action.group(1)), [(unescape(n), unescape(v)) for n, v in fields]


def test_a_thank_you_page_records_select_many_and_scale_in_one_post(
    http: str, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    status, survey = api_call(http, key, "POST", "/v1/surveys", NPS)
    assert status == 201, survey
    assert [q["key"] for q in survey["questions"]] == ["liked", "ease", "visit", "why"]
    status, made = api_call(
        http, key, "POST", f"/v1/surveys/{survey['id']}/invitations", {"recipients": [{"customer_id": "ada"}]}
    )
    url = made["invitations"][0]["url"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    # Given a customer who scored 9 and was sent to the thank-you page
    status, headers, _ = send("POST", url, b"score=9", form)
    assert status == 303
    thanks = headers["Location"]
    status, _, page = send("GET", thanks)
    html = page.decode()
    assert status == 200 and "What did you like?" in html and "How easy was ordering?" in html
    assert "<script" not in html.split("</head>")[1]  # the form needs no script
    action, fields = thanks_form(html)
    assert ("q.liked", "Speed") in fields and ("q.ease", "5") in fields and ("q", "1") in fields

    # When they tick two options, choose 4 on the scale and send the form once
    target = urlsplit(thanks)._replace(
        path=urlsplit(thanks).path.rsplit("/", 1)[0] + "/" + action.lstrip("./")
    )
    body = urlencode(
        [
            ("q", "1"),
            ("q.liked", "Speed"),
            ("q.liked", "Staff"),
            ("q.ease", "4"),
            ("q.why", "Great coffee"),
            ("comment", ""),
        ]
    ).encode()
    posts = send("POST", url, body, form)
    assert posts[0] == 303
    emulator.drain()

    # Then both answers are stored with the response, in one POST
    status, listed = api_call(http, key, "GET", f"/v1/surveys/{survey['id']}/responses")
    assert status == 200
    (response,) = listed["data"]
    assert response["answers"] == {"liked": ["Speed", "Staff"], "ease": ["4"], "why": ["Great coffee"]}
    assert response["score"] == 9
    assert target.path.endswith(urlsplit(url).path.rsplit("/", 1)[1])

    # And the option counts appear in the summary (free responses are stored, not counted)
    status, summary = api_call(http, key, "GET", f"/v1/surveys/{survey['id']}/scores?window=all")
    assert summary["additional"] == {
        "liked": {"Speed": 1, "Price": 0, "Staff": 1},
        "ease": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0},
        "visit": {"Online": 0, "In store": 0},
    }
    status, summary = api_call(http, key, "GET", f"/v1/surveys/{survey['id']}/scores?window=30d")
    assert summary["additional"]["liked"]["Staff"] == 1

    # And the thank-you page shows the answers chosen, to change them
    html = send("GET", thanks)[2].decode()
    assert re.search(r'value="Staff" checked', html) and re.search(r'name="q.ease" value="4" checked', html)


def test_changing_and_taking_back_answers_moves_the_counts_exactly_once(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    invitations = invited(api, key, survey["id"], [{"customer_id": "a"}, {"customer_id": "b"}])["invitations"]
    first, second = (path_of(i["url"]) for i in invitations)
    api.form(first, {"score": "10"})
    api.form(second, {"score": "3"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    api.call("POST", first, body="q=1&q.liked=Price&q.visit=Online", headers=form)
    api.call("POST", second, body="q=1&q.liked=Price&q.liked=Speed&q.ease=2", headers=form)
    emulator.drain()
    summary = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)
    assert summary["additional"]["liked"] == {"Speed": 1, "Price": 2, "Staff": 0}
    assert summary["additional"]["visit"] == {"Online": 1, "In store": 0}
    assert summary["responses"] == 2

    # When the first customer changes their mind: Staff instead of Price, and no visit answer
    api.call("POST", first, body="q=1&q.liked=Staff&q.visit=", headers=form)
    # and a comment alone (no questions on that form) keeps the answers
    api.form(second, {"comment": "ok"})
    emulator.drain()
    emulator.drain()  # a replay changes nothing
    summary = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)
    assert summary["additional"]["liked"] == {"Speed": 1, "Price": 1, "Staff": 1}
    assert summary["additional"]["visit"] == {"Online": 0, "In store": 0}
    assert summary["additional"]["ease"]["2"] == 1
    by_channel = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all&segment=channel:email", key)
    assert by_channel["additional"]["liked"]["Staff"] == 1

    # And hark verify finds no drift; a rebuild leaves the counts as they are
    from functions.logic import clock, rebuild
    from functions.settings import get_settings
    from functions.store.clients import client

    assert rebuild.verify(survey_id=survey["id"])["drift"] == []
    rebuild.rebuild(survey_id=survey["id"])
    again = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)
    assert again["additional"] == summary["additional"]

    # And a choice count that drifted (one more "Speed" today) is reported, then rebuilt
    today = clock.now().date().isoformat()
    client("dynamodb").update_item(
        TableName=get_settings().scores_table,
        Key={"pk": {"S": f"D#{tenant['tenant_id']}#{survey['id']}#all"}, "sk": {"S": today}},
        UpdateExpression="ADD #q :one",
        ExpressionAttributeNames={"#q": "q#0#0"},
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    drift = rebuild.verify(survey_id=survey["id"])["drift"]
    assert any(
        d.get("day") == today and d["stored"]["q"]["0#0"] == d["expected"]["q"]["0#0"] + 1 for d in drift
    )
    rebuild.rebuild(survey_id=survey["id"])
    assert rebuild.verify(survey_id=survey["id"])["drift"] == []

    # And the exports carry the answers
    csv = api.call("GET", f"/v1/surveys/{survey['id']}/responses", key, headers={"Accept": "text/csv"})
    text = csv.body.decode()
    header = text.splitlines()[0]
    assert "q.liked" in header and "q.ease" in header
    assert "Staff" in text and "Price;Speed" in text
    ndjson = api.call(
        "GET", f"/v1/surveys/{survey['id']}/responses", key, headers={"Accept": "application/x-ndjson"}
    )
    rows = [json.loads(line) for line in ndjson.body.decode().splitlines() if line]
    assert sorted(r["answers"].get("liked", [""])[0] for r in rows) == ["Price", "Staff"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("q=1&q.liked=Coffee", "not one of the choices"),
        ("q=1&q.visit=Online&q.visit=In+store", "takes one answer"),
        ("q=1&q.ease=9", "not one of the choices"),
        ("q=1&q.nope=1", "unknown question"),
        ("q=1&q.Bad%20Key=1", "unknown question"),
    ],
)
def test_an_answer_the_survey_does_not_offer_is_refused_and_changes_nothing(
    api: Api, emulator: Emulator, tenant: dict, body: str, problem: str
) -> None:
    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    url = path_of(invited(api, key, survey["id"], [{"customer_id": "a"}])["invitations"][0]["url"])
    api.form(url, {"score": "8"})
    api.call(
        "POST", url, body="q=1&q.liked=Speed", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    refused = api.call("POST", url, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 400 and b"<h1>" in refused.body
    emulator.drain()
    listed = api.json("GET", f"/v1/surveys/{survey['id']}/responses", key)
    assert listed["data"][0]["answers"] == {"liked": ["Speed"]}
    from functions.logic import answers
    from functions.store import responses

    code = url.rsplit("/", 1)[1]
    inv = responses.get_invitation(answers.code_from_token(code))
    assert inv is not None and inv.answers == {"liked": ["Speed"]}
    assert problem  # the message is for people; the status and the unchanged answer are the contract


def test_questions_are_validated_and_keep_their_place(api: Api, tenant: dict) -> None:
    key = tenant["api_key"]
    bad = [
        [{"key": "a", "type": "select_one", "text": "Pick", "options": ["Only"]}],
        [{"key": "a", "type": "scale", "text": "Rate"}],
        [{"key": "a", "type": "free_response", "text": "Say", "options": ["x", "y"]}],
        [{"key": "a", "type": "free_response", "text": "Say"}] * 2,
        [{"key": f"k{n}", "type": "free_response", "text": "Say"} for n in range(6)],
    ]
    for questions in bad:
        refused = api.call("POST", "/v1/surveys", key, {**NPS, "questions": questions})
        assert refused.status_code == 422, questions
        assert json.loads(refused.body)["error"]["code"] == "validation_error"
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    path = f"/v1/surveys/{survey['id']}"
    # Texts may change and questions may be added after the others
    changed = [{**QUESTIONS[0], "text": "What did you enjoy?"}, *QUESTIONS[1:]]
    added = [*changed, {"key": "again", "type": "select_one", "text": "Again?", "options": ["Yes", "No"]}]
    assert api.json("PATCH", path, key, {"questions": added})["questions"][0]["text"] == "What did you enjoy?"
    # but an option, a type or an order cannot change
    for questions in (
        [{**QUESTIONS[0], "options": ["Price", "Speed", "Staff"]}, *QUESTIONS[1:]],
        QUESTIONS[1:],
        [QUESTIONS[1], QUESTIONS[0], *QUESTIONS[2:]],
    ):
        refused = api.call("PATCH", path, key, {"questions": questions})
        assert refused.status_code == 422
        assert json.loads(refused.body)["error"]["code"] == "questions_fixed"
    assert len(api.json("GET", path, key)["questions"]) == 5


def test_translations_carry_every_question_or_the_survey_is_refused(api: Api, tenant: dict) -> None:
    key = tenant["api_key"]
    french = {
        "question": "Nous recommanderiez-vous ?",
        "questions": {
            "liked": {"text": "Qu’avez-vous aimé ?", "options": ["Rapidité", "Prix", "Personnel"]},
            "ease": {"text": "Facile ?"},
            "visit": {"text": "Comment ?", "options": ["En ligne", "En magasin"]},
            "why": {"text": "Autre chose ?"},
        },
    }
    made = api.json("POST", "/v1/surveys", key, {**NPS, "translations": {"fr": french}}, expect=201)
    assert made["translations"]["fr"]["questions"]["ease"] == {"text": "Facile ?"}
    # A missing question, a missing option label, or an unknown question: 422 naming it
    lacking = {k: v for k, v in french["questions"].items() if k != "why"}
    short = {**french["questions"], "visit": {"text": "Comment ?", "options": ["En ligne"]}}
    unknown = {**french["questions"], "nope": {"text": "?"}}
    for texts, where in ((lacking, "why"), (short, "visit.options"), (unknown, "nope")):
        refused = api.call(
            "POST", "/v1/surveys", key, {**NPS, "translations": {"fr": {**french, "questions": texts}}}
        )
        assert refused.status_code == 422
        error = json.loads(refused.body)["error"]
        assert (error["code"], error["field"]) == (
            "invalid_translation",
            f"translations.fr.questions.{where}",
        )
    # Adding a question to a translated survey needs its translation too
    extra = {"key": "again", "type": "free_response", "text": "Again?"}
    refused = api.call("PATCH", f"/v1/surveys/{made['id']}", key, {"questions": [*QUESTIONS, extra]})
    assert refused.status_code == 422
    both = {
        "questions": [*QUESTIONS, extra],
        "translations": {
            "fr": {**french, "questions": {**french["questions"], "again": {"text": "Encore ?"}}}
        },
    }
    assert len(api.json("PATCH", f"/v1/surveys/{made['id']}", key, both)["questions"]) == 5


def test_the_largest_forms_get_an_answer_page_never_a_server_error(
    api: Api, emulator: Emulator, tenant: dict
) -> None:
    key = tenant["api_key"]
    # Given a CSI survey with 12 attributes and five select_many questions of 10 options
    many = [
        {
            "key": f"q{n}",
            "type": "select_many",
            "text": f"Q{n}",
            "options": [f"option {m}" for m in range(10)],
        }
        for n in range(5)
    ]
    attributes = [{"key": f"attribute_{n:02d}_long_key_name", "label": f"A{n}"} for n in range(12)]
    survey = api.json(
        "POST",
        "/v1/surveys",
        key,
        {"name": "Big", "kind": "csi", "question": "Overall?", "attributes": attributes, "questions": many},
        expect=201,
    )
    url = path_of(invited(api, key, survey["id"], [{"customer_id": "a"}])["invitations"][0]["url"])
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    ratings = [(f"attr.{a['key']}", "7") for a in attributes]
    everything = [(f"q.q{n}", f"option {m}") for n in range(5) for m in range(10)]
    # When every rating and every option is sent with the score, in one POST
    body = urlencode([("score", "8"), *ratings, ("q", "1"), *everything])
    assert api.call("POST", url, body=body, headers=form).status_code == 303
    # And the same shape with questions the survey does not have is refused with a page
    hostile = urlencode(
        [("score", "8"), *ratings, *((f"q.x{n}", f"v{m}") for n in range(5) for m in range(10))]
    )
    refused = api.call("POST", url, body=hostile, headers=form)
    assert refused.status_code == 400 and b"<h1>" in refused.body
    too_many = urlencode([(f"q.x{n}", "v") for n in range(6)])
    assert api.call("POST", url, body=too_many, headers=form).status_code == 400
    emulator.drain()
    summary = api.json("GET", f"/v1/surveys/{survey['id']}/scores?window=all", key)
    assert all(all(n == 1 for n in options.values()) for options in summary["additional"].values())
    assert len(summary["additional"]) == 5

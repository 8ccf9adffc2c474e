"""The official Delighted Python client (PyPI 4.2.0), pointed at Hark, works (docs/delighted.md).

Hark is served over real HTTP on 127.0.0.1 (the same `serve_api` as `make dev`), on the
session's emulator, with HARK_PUBLIC_BASE_URL pointing at it so `Link` headers lead back to it.
Everything Delighted-shaped goes through the client; Hark's own numbers come from /v1.
"""

from __future__ import annotations

import base64
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from infra.local import stack
from tests.conftest import Emulator
from tests.helpers import app_on_loopback

with warnings.catch_warnings():
    # Delighted's sunset notice, printed on import.
    warnings.simplefilter("ignore", FutureWarning)
    import delighted
    from delighted.errors import AuthenticationError, ResourceValidationError

pytestmark = pytest.mark.integration

NPS = {"name": "Moving from Delighted", "kind": "nps", "question": "How likely are you to recommend us?"}
SCOPES = frozenset({"scores:read", "surveys:write", "responses:read", "responses:erase"})


@dataclass
class Hark:
    base: str
    tenant_id: str
    admin_key: str
    survey_id: str
    key: str  # a key whose default survey is survey_id

    def v1(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        r = requests.request(
            method,
            f"{self.base}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.admin_key}"},
            timeout=10,
        )
        assert r.status_code == expect, r.text
        return r.json()

    def scores(self) -> dict[str, Any]:
        return dict(self.v1("GET", f"/v1/surveys/{self.survey_id}/scores?window=all"))


def use_key(base: str, key: str) -> None:
    """The one-line move: point the client at Hark (and drop its cached client)."""
    delighted.api_key = key
    delighted.api_base_url = f"{base}/v1/"
    delighted.shared_client = None


@pytest.fixture
def hark(emulator: Emulator) -> Iterator[Hark]:
    from functions.logic.tenants import create_key, create_tenant

    with app_on_loopback() as base:
        try:
            tenant = create_tenant("Delighted refugee")
            survey = requests.post(
                f"{base}/v1/surveys",
                json=NPS,
                headers={"Authorization": f"Bearer {tenant['api_key']}"},
                timeout=10,
            ).json()
            key = create_key(tenant["tenant_id"], SCOPES, survey["id"])["api_key"]
            use_key(base, key)
            yield Hark(base, tenant["tenant_id"], tenant["api_key"], survey["id"], key)
        finally:
            delighted.shared_client = None


def expected_metrics(scores: dict[str, Any]) -> dict[str, int]:
    """Hark's summary, rounded to whole numbers as Delighted reported them."""

    def whole(x: float) -> int:
        return int(x + 0.5) if x >= 0 else -int(-x + 0.5)

    return {
        "nps": whole(scores["nps"] or 0),
        "promoter_count": scores["promoter_count"],
        "promoter_percent": whole(scores["promoter_percent"] or 0),
        "passive_count": scores["passive_count"],
        "passive_percent": whole(scores["passive_percent"] or 0),
        "detractor_count": scores["detractor_count"],
        "detractor_percent": whole(scores["detractor_percent"] or 0),
        "response_count": scores["responses"],
    }


def test_a_delighted_script_runs_unchanged_against_hark(hark: Hark, emulator: Emulator) -> None:
    """Done when: people created, answers recorded, every response paged, metrics = /v1 scores."""
    # Given a Delighted script whose only change is api_base_url (set by the fixture)
    scores_given = [10, 9, 9, 8, 7, 6, 3, 10, 0, 9, 10, 5]
    # When it creates people and records their answers
    for n, score in enumerate(scores_given):
        person = delighted.Person.create(
            email=f"Customer{n}@Example.com", name=f"Customer {n}", properties={"Plan": "pro", "Seats": n}
        )
        assert person["id"] == f"customer{n}@example.com" and person["name"] == f"Customer {n}"
        assert person["url"].startswith(hark.base) and person["score_urls"]["10"].endswith("score=10")
        assert isinstance(person["created_at"], int) and person["survey_scheduled"] is True
        response = delighted.SurveyResponse.create(person=person["id"], score=score, comment=f"c{n}")
        assert response["score"] == score and response["person"] == person["id"]
        assert response["person_properties"] == {"plan": "pro", "seats": str(n)}
    emulator.drain()
    # Then it pages through every response, 5 at a time
    seen: list[Any] = []
    page = 1
    while True:
        batch = delighted.SurveyResponse.all(per_page=5, page=page)
        if not batch:
            break
        seen += batch
        page += 1
    assert page == 4  # 5 + 5 + 2, then an empty page
    assert sorted(r.score for r in seen) == sorted(scores_given)
    assert len({r.id for r in seen}) == len(scores_given)
    # And its metrics equal Hark's own scores for the survey
    scores = hark.scores()
    metrics = delighted.Metrics.retrieve()
    assert dict(metrics) == expected_metrics(scores)
    assert metrics["response_count"] == 12 and metrics["nps"] == round(100 * (6 - 4) / 12)


def test_metrics_with_since_and_until(hark: Hark, emulator: Emulator) -> None:
    # Given answers recorded today
    for n, score in enumerate([10, 2, 9]):
        delighted.SurveyResponse.create(person=f"m{n}@example.com", score=score)
    emulator.drain()
    today = datetime.now(UTC)
    # When metrics are read for a window around today, and for one that ended yesterday
    around = delighted.Metrics.retrieve(since=today - timedelta(days=1), until=today + timedelta(days=1))
    before = delighted.Metrics.retrieve(until=today - timedelta(days=2))
    # Then the first counts today's answers like Hark's scores do, the second none
    assert dict(around) == expected_metrics(hark.scores()) == dict(delighted.Metrics.retrieve())
    assert around["response_count"] == 3 and around["nps"] == 33
    assert before["response_count"] == 0 and before["nps"] == 0


def test_people_list_auto_paging_follows_link_next(hark: Hark) -> None:
    # Given 7 people
    for n in range(7):
        delighted.Person.create(email=f"p{n}@example.com", send=False)
    # When the client lists them 3 per page, following Link rel="next"
    people = list(delighted.Person.list(per_page=3).auto_paging_iter())
    # Then it sees each of them once, oldest first, over three pages
    assert [p.email for p in people] == [f"p{n}@example.com" for n in range(7)]
    first = requests.get(
        f"{hark.base}/v1/people.json?per_page=3", auth=(hark.key, ""), timeout=10
    )  # requests sends "key:" — accepted too
    assert first.status_code == 200 and 'rel="next"' in first.headers["Link"]


def test_retrieve_update_and_the_stream_keeps_scores_right(hark: Hark, emulator: Emulator) -> None:
    # Given a recorded detractor
    created = delighted.SurveyResponse.create(person="dana@example.com", score=3, comment="slow")
    emulator.drain()
    assert hark.scores()["detractor_count"] == 1
    # When the script retrieves it (person expanded) and saves a new score and comment
    found = delighted.SurveyResponse.retrieve(created.id, expand=["person"])
    assert found.person.email == "dana@example.com" and found.comment == "slow"
    assert isinstance(found.created_at, int) and found.permalink.endswith(created.id)
    found.score = 9
    found.comment = "fixed now"
    saved = found.save()
    emulator.drain()
    # Then the response and Hark's scores both show the change
    assert (saved.score, saved.comment) == (9, "fixed now")
    again = delighted.SurveyResponse.retrieve(created.id)
    assert (again.score, again.comment, again.person) == (9, "fixed now", "dana@example.com")
    scores = hark.scores()
    assert (scores["promoter_count"], scores["detractor_count"], scores["responses"]) == (1, 0, 1)
    listed = hark.v1("GET", f"/v1/surveys/{hark.survey_id}/responses")["data"]
    assert [(r["score"], r["comment"]) for r in listed] == [(9, "fixed now")]


def test_additional_answers_are_read_and_written_as_delighted_had_them(
    hark: Hark, emulator: Emulator
) -> None:
    # Given the survey asks two additional questions
    questions = [
        {"key": "liked", "type": "select_many", "text": "What did you like?", "options": ["Speed", "Price"]},
        {"key": "ease", "type": "scale", "text": "How easy?", "scale": "0-10"},
    ]
    hark.v1("PATCH", f"/v1/surveys/{hark.survey_id}", {"questions": questions})

    # When a script records a response with additional answers
    created = delighted.SurveyResponse.create(
        person="gil@example.com",
        score=8,
        additional_answers=[
            {"question_id": "liked", "value": ["Price"]},
            {"question_id": "ease", "value": 7},
        ],
    )
    emulator.drain()

    # Then they come back in Delighted's shape, and count in Hark's summary
    found = delighted.SurveyResponse.retrieve(created.id)
    liked, ease = found.additional_answers
    assert liked["question"] == {"id": "liked", "type": "select_many", "text": "What did you like?"}
    assert liked["value"]["select_many"] == [{"id": "1", "text": "Price"}] and liked["value"]["scale"] is None
    assert (ease["question"]["type"], ease["value"]["scale"]) == ("scale", 7)
    assert hark.scores()["additional"]["liked"] == {"Speed": 0, "Price": 1}

    # When the script changes them and saves the whole response (Delighted's save())
    liked["value"]["select_many"] = [{"id": "0", "text": "Speed"}, {"id": "1", "text": "Price"}]
    found.additional_answers = [liked]
    found.save()
    emulator.drain()
    again = delighted.SurveyResponse.retrieve(created.id)
    assert [a["question"]["id"] for a in again.additional_answers] == ["liked"]
    summary = hark.scores()
    assert summary["additional"]["liked"] == {"Speed": 1, "Price": 1}
    assert summary["additional"]["ease"]["7"] == 0

    # And an answer the survey does not offer is Delighted's 422, changing nothing
    with pytest.raises(ResourceValidationError):
        delighted.SurveyResponse.create(
            person="hal@example.com",
            score=5,
            additional_answers=[{"question_id": "liked", "value": "Coffee"}],
        )
    listed = hark.v1("GET", f"/v1/surveys/{hark.survey_id}/responses")["data"]
    assert [r["customer_id"] for r in listed] == ["gil@example.com"]


def test_an_additional_answer_typed_for_another_question_type_is_a_422_not_dropped(
    hark: Hark, emulator: Emulator
) -> None:
    """Delighted's typed value names the question's type; a value under another type (or under
    no type) was silently stored as no answer, with a 201."""
    questions = [
        {"key": "liked", "type": "select_many", "text": "What did you like?", "options": ["Speed", "Price"]},
        {"key": "ease", "type": "scale", "text": "How easy?", "scale": "1-5"},
    ]
    hark.v1("PATCH", f"/v1/surveys/{hark.survey_id}", {"questions": questions})
    for wrong in (
        {"question_id": "liked", "value": {"scale": 3}},
        {"question_id": "liked", "value": {"a": 1}},
        {"question_id": "ease", "value": {"select_one": {"id": "0", "text": "Speed"}}},
    ):
        with pytest.raises(ResourceValidationError):
            delighted.SurveyResponse.create(person="ivy@example.com", score=5, additional_answers=[wrong])
    # Nothing was recorded; the shape read back (other types null) still works
    assert hark.v1("GET", f"/v1/surveys/{hark.survey_id}/responses")["data"] == []
    value = {
        "select_one": None,
        "select_many": [{"id": "1", "text": "Price"}],
        "free_response": None,
        "scale": None,
    }
    created = delighted.SurveyResponse.create(
        person="ivy@example.com", score=5, additional_answers=[{"id": "liked", "value": value}]
    )
    emulator.drain()
    [liked] = delighted.SurveyResponse.retrieve(created.id).additional_answers
    assert liked["value"]["select_many"] == [{"id": "1", "text": "Price"}]


def test_unsubscribe_then_people_create_makes_no_invitation(hark: Hark) -> None:
    # Given an unsubscribed email
    assert delighted.Unsubscribe.create(person_email="Gone@Example.com") == {"ok": True}
    assert [u["email"] for u in delighted.Unsubscribe.all()] == ["gone@example.com"]
    # When the script creates that person
    person = delighted.Person.create(email="gone@example.com")
    # Then no invitation is made, and the answer says why
    assert person["survey_scheduled"] is False and person["skipped"]["reason"] == "unsubscribed"
    assert "url" not in person
    assert delighted.Bounce.all() == []


def test_person_delete_by_email_erases_their_answers(hark: Hark, emulator: Emulator) -> None:
    # Given two people who answered
    delighted.SurveyResponse.create(person="erin@example.com", score=0)
    delighted.SurveyResponse.create(person="finn@example.com", score=10)
    emulator.drain()
    assert hark.scores()["responses"] == 2
    # When one is deleted by email
    assert delighted.Person.delete(email="erin@example.com")["ok"] is True
    emulator.drain()
    # Then their answer leaves the responses and the scores
    assert [r.person for r in delighted.SurveyResponse.all()] == ["finn@example.com"]
    scores = hark.scores()
    assert (scores["responses"], scores["detractor_count"]) == (1, 0)
    assert dict(delighted.Metrics.retrieve()) == expected_metrics(scores)


def test_pending_survey_requests_close(hark: Hark) -> None:
    # Given a person with an open invitation
    person = delighted.Person.create(email="gail@example.com")
    assert requests.get(person["url"], timeout=10).status_code == 200
    # When their pending survey requests are deleted
    assert delighted.SurveyRequest.delete_pending(person_email="gail@example.com")["ok"] is True
    # Then the link no longer takes an answer
    assert requests.get(person["url"], timeout=10).status_code == 410


def test_errors_are_delighteds_statuses(hark: Hark) -> None:
    from functions.logic.tenants import create_key

    # A bad score and a person with neither email nor phone are 422 (ResourceValidationError)
    with pytest.raises(ResourceValidationError):
        delighted.SurveyResponse.create(person="h@example.com", score=11)
    with pytest.raises(ResourceValidationError):
        delighted.Person.create(name="Nobody")
    # A key without a default survey is told how to set one
    plain = create_key(hark.tenant_id, SCOPES)["api_key"]
    use_key(hark.base, plain)
    with pytest.raises(ResourceValidationError) as missing:
        delighted.Metrics.retrieve()
    assert "--default-survey SURVEY_ID" in missing.value.response.body
    # A wrong key is 401 (AuthenticationError)
    use_key(hark.base, "hk_live_not_a_real_key_at_all_00000")
    with pytest.raises(AuthenticationError):
        delighted.Person.list().auto_paging_iter().__next__()
    # Bearer still works on these routes
    r = requests.get(
        f"{hark.base}/v1/metrics.json", headers={"Authorization": f"Bearer {hark.key}"}, timeout=10
    )
    assert r.status_code == 200 and r.json()["response_count"] == 0
    basic = base64.b64encode(hark.key.encode()).decode()
    r = requests.get(f"{hark.base}/v1/bounces", headers={"Authorization": f"Basic {basic}"}, timeout=10)
    assert r.status_code == 200 and r.json() == []


def test_person_create_emails_the_survey_after_its_delay_unless_send_is_false(
    hark: Hark, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delighted's people call sent the survey: Hark does, once, after `delay`, from the outbox."""
    from tests.integration.test_sending import Clock, code_of, receive_all, run_sender, sent_to

    now = Clock(monkeypatch)
    receive_all()  # other tests' leftovers
    # Given a person created as Delighted's scripts do, with a delay, and one with send=false
    person = delighted.Person.create(email="Delayed@Example.com", delay=2, email_update=True)
    quiet = delighted.Person.create(email="quiet@example.com", send=False)
    assert person["survey_scheduled"] is True and person["delivery"]["status"] == "scheduled"
    assert person["next_survey_scheduled_at"] == int(now.moment.timestamp()) + 2
    assert quiet["delivery"]["status"] == "links_only" and quiet["next_survey_scheduled_at"] is None
    # When the scheduler ticks after the delay and the sender runs
    from functions.logic.sending import enqueue_due

    code = code_of(person)

    def mine() -> list[dict[str, Any]]:
        return [m for m in receive_all() if code in m["Body"]]

    enqueue_due()
    assert mine() == []
    now.advance(2)
    enqueue_due()
    assert run_sender(mine()) == {"batchItemFailures": []}
    # Then exactly one email reached the person, none the quiet one, and its unsubscribe link
    # puts the address on the list Delighted's Unsubscribe.all() reads
    [message] = sent_to(emulator, "delayed@example.com")
    assert sent_to(emulator, "quiet@example.com") == []
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert requests.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}, timeout=10).status_code == 200
    assert "delayed@example.com" in [u["email"] for u in delighted.Unsubscribe.all()]


def test_a_person_whose_email_bounces_is_listed_by_bounce_all_and_not_mailed_again(
    hark: Hark, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delighted's Bounce.all() lists real bounces: SES's mailbox simulator bounces the send."""
    from functions.logic.sending import enqueue_due
    from tests.integration.test_sending import Clock, code_of, receive_all, run_sender, sent_to

    now = Clock(monkeypatch)
    simulator = stack.make_mailbox_simulator()
    receive_all()  # other tests' leftovers
    address = "bounce@simulator.amazonses.com"
    # Given a person created as Delighted's scripts do, whose email bounces for good
    person = delighted.Person.create(email=address, delay=2)
    code = code_of(person)
    now.advance(2)
    enqueue_due()
    assert run_sender([m for m in receive_all() if code in m["Body"]]) == {"batchItemFailures": []}
    assert len(sent_to(emulator, address)) == 1
    assert simulator.poll_once() == 1
    # Then Bounce.all() lists the person, as Delighted's did
    [bounce] = delighted.Bounce.all()
    assert (bounce["email"], bounce["person_id"]) == (address, address)
    assert abs(bounce["bounced_at"] - int(now.moment.timestamp())) <= 1
    # And a later Person.create for the address is scheduled but never mailed: suppressed
    again = delighted.Person.create(email=address)
    assert run_sender([{"MessageId": "m-bounced-again", "Body": f'{{"code": "{code_of(again)}"}}'}]) == {
        "batchItemFailures": []
    }
    listed = hark.v1("GET", f"/v1/surveys/{hark.survey_id}/responses")  # nothing answered either
    assert listed["data"] == [] and len(sent_to(emulator, address)) == 1

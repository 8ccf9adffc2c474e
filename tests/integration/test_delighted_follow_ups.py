"""Delighted's `notes` and `tags` on survey responses are the follow-up's (docs/follow-ups.md#delighted),
read and written through the official `delighted` Python client (PyPI 4.2.0) pointed at Hark."""

from __future__ import annotations

import warnings

import pytest
import requests

from tests.conftest import Emulator
from tests.integration.test_delighted_client import SCOPES, Hark, hark, use_key

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import delighted
    from delighted.errors import DelightedError, ResourceValidationError

pytestmark = pytest.mark.integration
__all__ = ["hark"]  # the fixture


def test_notes_and_tags_read_and_write_the_follow_up(hark: Hark, emulator: Emulator) -> None:
    from functions.logic.tenants import create_key

    # Given a detractor recorded by a Delighted script, which opened a follow-up
    created = delighted.SurveyResponse.create(person="dana@example.com", score=2, comment="late again")
    emulator.drain()
    rid = created.id
    assert created.notes == [] and created.tags == []
    loop = hark.v1("GET", f"/v1/responses/{rid}")
    assert loop["follow_up"]["status"] == "open"

    # When the team works it through Hark's API (tag, note by an email address)
    hark.v1("PATCH", f"/v1/responses/{rid}", {"tags": ["billing"], "owner": "ana"})
    note = hark.v1(
        "POST", f"/v1/responses/{rid}/notes", {"text": "Called her", "author": "ana@example.com"}, 201
    )

    # Then Delighted's client reads the same tags and notes, in Delighted's shape
    found = delighted.SurveyResponse.retrieve(rid)
    assert found.tags == ["billing"]
    (shown,) = found.notes
    assert (shown["id"], shown["text"], shown["user_email"]) == (note["id"], "Called her", "ana@example.com")
    assert isinstance(shown["created_at"], int)
    assert [r.tags for r in delighted.SurveyResponse.all() if r.id == rid] == [["billing"]]

    # A key with follow_ups:write saves a new tag and a new note (one without an id) with save()
    writer = create_key(hark.tenant_id, SCOPES | {"follow_ups:write"}, hark.survey_id)["api_key"]
    use_key(hark.base, writer)
    found = delighted.SurveyResponse.retrieve(rid, expand=["person"])
    found.tags = [*found.tags, "refund"]
    found.notes = [*found.notes, {"text": "Refunded the order", "user_email": "bo@example.com"}]
    saved = found.save()
    assert saved.tags == ["billing", "refund"]
    assert [(n["text"], n["user_email"]) for n in saved.notes] == [
        ("Called her", "ana@example.com"),
        ("Refunded the order", "bo@example.com"),
    ]
    loop = hark.v1("GET", f"/v1/responses/{rid}")
    assert loop["tags"] == ["billing", "refund"] and [n["author"] for n in loop["notes"]] == [
        "ana@example.com",
        "bo@example.com",
    ]
    assert loop["follow_up"]["owner"] == "ana"  # save() touches tags and notes, nothing else of the loop

    # Saving it again unchanged adds nothing (its notes carry their ids)
    again = delighted.SurveyResponse.retrieve(rid).save()
    assert len(again.notes) == 2 and again.tags == ["billing", "refund"]

    # A note id that is not the response's, or a tag too long, is 422 and changes nothing
    stale = delighted.SurveyResponse.retrieve(rid)
    stale.notes = [{"id": "note_notmine", "text": "x"}]
    with pytest.raises(ResourceValidationError):
        stale.save()
    stale = delighted.SurveyResponse.retrieve(rid)
    stale.tags = ["x" * 51]
    with pytest.raises(ResourceValidationError):
        stale.save()
    assert hark.v1("GET", f"/v1/responses/{rid}")["tags"] == ["billing", "refund"]

    # The migration's key (no follow_ups:write) still saves scores, but cannot change tags or notes
    use_key(hark.base, hark.key)
    plain = delighted.SurveyResponse.retrieve(rid)
    plain.comment = "late again, sorted now"
    assert plain.save().comment == "late again, sorted now"
    plain = delighted.SurveyResponse.retrieve(rid)
    plain.tags = []
    with pytest.raises(DelightedError):
        plain.save()
    refused = requests.put(
        f"{hark.base}/v1/survey_responses/{rid}.json", json={"tags": []}, auth=(hark.key, ""), timeout=10
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert hark.v1("GET", f"/v1/responses/{rid}")["tags"] == ["billing", "refund"]

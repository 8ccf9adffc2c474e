"""The error table (functions/api/errors.py): every domain error has a status in every profile,
the JSON and Delighted answers carry the headers their clients expect, and the OpenAPI
document lists every status the table can answer."""

from __future__ import annotations

import inspect
import json

import pytest

from functions.api import errors as table
from functions.api.http import error_response
from functions.api.openapi import build_document
from functions.domain import errors as domain


def domain_error_classes() -> list[type[domain.HarkError]]:
    return [
        cls
        for _, cls in inspect.getmembers(domain, inspect.isclass)
        if issubclass(cls, domain.HarkError) and cls is not domain.HarkError
    ]


def make(cls: type[domain.HarkError]) -> domain.HarkError:
    return cls("nope", retry_after=3) if cls is domain.RateLimited else cls("nope")  # type: ignore[call-arg]


def test_every_domain_error_has_a_row_with_a_status_for_every_profile() -> None:
    classes = domain_error_classes()
    assert classes, "no domain errors found"
    for cls in classes:
        assert cls in table.TABLE, f"{cls.__name__} has no row in the error table"
        row = table.TABLE[cls]
        assert row.about, cls.__name__
        for profile in table.PROFILES:
            status = row.status(profile)
            assert 400 <= status < 600, (cls.__name__, profile, status)


def test_the_openapi_document_lists_every_status_of_the_json_profiles() -> None:
    documented = build_document()["components"]["responses"]
    for cls in domain_error_classes():
        for profile in ("json", "delighted"):
            status = table.TABLE[cls].status(profile)  # type: ignore[arg-type]
            assert f"E{status}" in documented, (cls.__name__, profile, status)
            assert table.TABLE[cls].about in documented[f"E{status}"]["description"]


@pytest.mark.parametrize(
    ("error", "profile", "status", "headers"),
    [
        (domain.InvalidInput("bad"), "json", 400, {}),
        (domain.InvalidInput("bad"), "delighted", 422, {}),
        (domain.Unprocessable("bad"), "json", 422, {}),
        (domain.Unauthenticated("who"), "json", 401, {"WWW-Authenticate": 'Bearer realm="hark"'}),
        (domain.Unauthenticated("who"), "delighted", 401, {"WWW-Authenticate": 'Basic realm="hark"'}),
        (domain.Throttled("busy"), "json", 503, {"Retry-After": "2"}),
        (domain.Throttled("busy"), "delighted", 429, {"Retry-After": "2"}),
        (domain.NotConfigured("unset"), "delighted", 503, {"Retry-After": "2"}),
        (domain.Gone("closed"), "delighted", 410, {}),
    ],
)
def test_a_json_error_answer_has_the_tables_status_and_headers(
    error: domain.HarkError, profile: table.Profile, status: int, headers: dict[str, str]
) -> None:
    response = error_response(error, profile)
    assert response.status_code == status
    for name, value in headers.items():
        assert response.headers[name] == value
    assert json.loads(response.body) == {"error": {"code": error.code, "message": error.message}}


def test_a_subclass_or_a_bare_error_falls_back_to_its_nearest_row() -> None:
    class Special(domain.NotFound):
        pass

    assert table.status_for(Special("x"), "page") == 404
    assert table.status_for(domain.HarkError("x"), "json") == 400
    # A code of its own does not change the status: the class does.
    assert table.status_for(domain.Unprocessable("x", code="invalid_question"), "json") == 422
    assert table.status_for(domain.InvalidInput("x", code="invalid_form"), "delighted") == 422
    for cls in domain_error_classes():
        assert table.status_for(make(cls), "sms") == table.TABLE[cls].sms

"""The OpenAPI document: generated from the models, committed in schemas/, served, rendered."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from functions.api import openapi
from functions.api.app import app
from functions.api.operations import OPERATIONS

pytestmark = pytest.mark.unit

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_the_committed_schemas_are_current() -> None:
    expected = openapi.generated_files()
    committed = {path.name: path.read_text() for path in SCHEMAS.glob("*.json")}
    stale = sorted(
        name for name in expected.keys() | committed.keys() if expected.get(name) != committed.get(name)
    )
    assert not stale, f"schemas/ is stale ({', '.join(stale)}): run `make schemas` and commit the result"


def test_the_document_is_valid_openapi_3_1() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    document = openapi.build_document()
    assert document["openapi"] == "3.1.0"
    validator.validate(document)


def test_every_route_is_documented_and_every_operation_is_a_route() -> None:
    document = openapi.build_document()
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    routes = {
        (method, path)
        for path, methods in app.routes.items()
        for method in methods
        if path.startswith(("/v1/", "/openapi.json", "/docs"))
    }
    assert routes == documented
    for op in OPERATIONS:
        doc = document["paths"][op.path][op.method.lower()]
        assert f"Scope: `{op.scope}`" in doc["description"]


def test_openapi_json_and_docs_are_served_without_other_hosts() -> None:
    from chalice.test import Client

    with Client(app, stage_name="dev") as client:
        served = client.http.get("/openapi.json")
        assert served.status_code == 200
        assert served.body.decode() == openapi.document_text()
        page = client.http.get("/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode()
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src" not in csp
    # Nothing on the page loads from anywhere: no src/href to a host, no CSS url() or @import
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "url(" not in html and "@import" not in html
    # The only executable script is the one the CSP allows by hash
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    from functions.api.docs import _sha256

    assert _sha256(scripts[0]) in csp
    # The embedded document cannot close its own script element
    data = re.search(r'<script type="application/json" id="spec">(.*?)</script>', html, re.S)
    assert data and json.loads(data.group(1).replace("<\\/", "</")) == openapi.build_document()

"""The documentation: the generated API reference covers the whole OpenAPI document, the README stays
short, and the site's build tools stay out of what the Lambda functions install."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def reference_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "openapi_reference", ROOT / "docs/hooks/openapi_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections(page: str) -> dict[str, str]:
    """Each operation's section of the rendered page, by "METHOD path"."""
    parts = re.split(r"^### (\w+) `([^`]+)`$", page, flags=re.M)
    return {f"{parts[i]} {parts[i + 1]}": parts[i + 2] for i in range(1, len(parts), 3)}


def test_the_reference_renders_every_operation_with_its_scope_schemas_and_error_statuses() -> None:
    document = json.loads((ROOT / "schemas/openapi.json").read_text())
    rendered = sections(reference_hook().render(document))
    operations = {
        f"{method.upper()} {path}": op
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert rendered.keys() == operations.keys()
    for name, op in operations.items():
        text = rendered[name]
        assert op["summary"] in text, name
        scopes = re.findall(r"Scope: `([^`]+)`", op.get("description", ""))
        if op.get("security") == []:
            assert "Scope: none (public)" in text, name
        else:
            assert scopes and all(f"`{scope}`" in text.split("Operation id")[0] for scope in scopes), name
        for param in op.get("parameters", []):
            assert f"| `{param['name']}` | {param['in']} |" in text, (name, param["name"])
        refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', json.dumps(op))
        for schema in refs:
            assert f"`{schema}`" in text, (name, schema)
        for status in op["responses"]:
            if not status.startswith("2"):
                assert f"| {status} |" in text, (name, status)


def test_the_reference_resolves_shared_error_responses_to_their_descriptions() -> None:
    document = {
        "info": {"title": "T", "version": "1"},
        "paths": {
            "/v1/x": {
                "get": {
                    "summary": "Read x",
                    "description": "Scope: `scores:read`. Reads x.",
                    "responses": {
                        "200": {
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/X"}}}
                        },
                        "404": {"$ref": "#/components/responses/E404"},
                    },
                }
            }
        },
        "components": {"responses": {"E404": {"description": "no such x | here"}}},
    }
    text = sections(reference_hook().render(document))["GET /v1/x"]
    assert "Scope: `scores:read`." in text and "Reads x." in text
    assert "Response 200: `X` (`application/json`)." in text
    assert "| 404 | no such x \\| here |" in text


def test_the_readme_is_a_five_minute_page() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) < 200


def test_the_site_builder_is_a_dev_dependency_only() -> None:
    lambda_requirements = (ROOT / "requirements.txt").read_text().lower()
    assert "mkdocs" not in lambda_requirements
    pyproject = (ROOT / "pyproject.toml").read_text()
    dev = pyproject.split("[project.optional-dependencies]", 1)[1]
    runtime = pyproject.split("[project.optional-dependencies]", 1)[0]
    assert '"mkdocs==1.6.1"' in dev and '"mkdocs-material==9.8.1"' in dev
    assert "mkdocs" not in runtime

"""The OpenAPI 3.1 document, generated from the declared operations and the pydantic models.

`python -m functions.api.openapi` (`make schemas`) writes it to schemas/openapi.json together
with one JSON Schema per public model; a test fails when the committed copies are stale.
`GET /openapi.json` serves the same document, generated once per process.
"""

from __future__ import annotations

import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

# Importing the routes registers every operation the document describes.
from functions.api import app as _app  # noqa: F401
from functions.api import models as m
from functions.api.errors import TABLE, Profile
from functions.api.operations import OPERATIONS, Operation, model
from functions.domain.errors import (
    Conflict,
    Forbidden,
    Gone,
    HarkError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    Throttled,
    Unauthenticated,
    Unprocessable,
)

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
# The profiles whose answers are the JSON error shape this document describes.
DOCUMENTED_PROFILES: tuple[Profile, ...] = ("json", "delighted")
_PATH_PARAM = re.compile(r"{([a-z_]+)}")

DESCRIPTION = """Hark's Business API (docs/api.md): surveys, invitations, scores, responses, follow-ups,
erasure, webhooks and a Delighted-compatible metrics call.

Authenticate with `Authorization: Bearer hk_live_…`. Each operation names the scope its key needs
(`scores:read`, `surveys:write`, `responses:read`, `responses:erase`, `follow_ups:write`, `admin`;
`admin` implies all).
Another tenant's ids are always 404. Errors share one shape: `{"error": {"code", "message", "field"}}`."""


def _error_classes(op: Operation) -> set[type[HarkError]]:
    """The domain errors an operation can answer (its statuses come from the error table)."""
    if op.scope is None:
        return set()
    found: set[type[HarkError]] = {InvalidInput, Unauthenticated, Forbidden, Throttled}
    if _PATH_PARAM.search(op.path) or op.path == "/v1/metrics":
        found.add(NotFound)
    if op.body is not None:
        found |= {PayloadTooLarge, Unprocessable}
    if op.method == "POST" and op.body is not None and op.path != "/v1/surveys":
        found.add(Conflict)
    if op.path == "/v1/settings" and op.body is not None:
        found.add(Conflict)  # the SMS number is another tenant's
    if op.delighted:
        found |= {NotFound, Conflict, Gone, Unprocessable}
    return found


def _profile(op: Operation) -> Profile:
    return "delighted" if op.delighted else "json"


def _error_statuses(op: Operation) -> list[int]:
    profile = _profile(op)
    statuses = {TABLE[cls].status(profile) for cls in _error_classes(op)} | set(op.errors)
    return sorted(statuses)


def error_descriptions() -> dict[int, str]:
    """One description per error status of the JSON profiles, from the error table's rows."""
    about: dict[int, list[str]] = {}
    for profile in DOCUMENTED_PROFILES:
        for row in TABLE.values():
            text = row.about if profile == "json" else f"Delighted-compatible calls: {row.about}"
            if profile == "json" or row.delighted != row.json:
                about.setdefault(row.status(profile), []).append(text)
    return {status: "; ".join(texts) for status, texts in sorted(about.items())}


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent, never null: drop the null branch and the null default."""
    options = prop.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        outer = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
        return {**(rest[0] if len(rest) == 1 else {"anyOf": rest}), **outer}
    return prop


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    out = []
    for field_name, field in model.model_fields.items():
        name = field.alias or field_name
        prop = _without_null(dict(schema["properties"][name]))
        description = prop.pop("description", None) or field.description
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": field.is_required(), "schema": prop}
        if description:
            param["description"] = description
        out.append(param)
    return out


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {"operationId": op.name, "summary": op.summary, "tags": [op.tag]}
    description = op.description
    if op.scope is not None:
        description = f"Scope: `{op.scope}`." + (f" {description}" if description else "")
        doc["security"] = [{"apiKey": []}]
    else:
        doc["security"] = []
    if description:
        doc["description"] = description
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in _PATH_PARAM.findall(op.path)
    ]
    if op.query is not None:
        query_class = model(op.query)
        assert query_class is not None
        parameters += _query_parameters(query_class)
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model=op.body)}}},
        }
    success: dict[str, Any] = {"description": op.summary}
    content: dict[str, Any] = {}
    if op.response is not None:
        content["application/json"] = {"schema": {"$ref": REF.format(model=op.response)}}
    for media, about in op.media.items():
        content[media] = {"schema": {"type": "string", "description": about}}
    if content:
        success["content"] = content
    responses: dict[str, Any] = {str(op.status): success}
    for status in _error_statuses(op):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    doc["responses"] = responses
    return doc


def _meta_operations() -> dict[str, Any]:
    return {
        "/openapi.json": {
            "get": {
                "operationId": "openapi_document",
                "summary": "This document",
                "tags": ["Documentation"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "the OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/docs": {
            "get": {
                "operationId": "api_docs",
                "summary": "This document, rendered (no request to any other host)",
                "tags": ["Documentation"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "an HTML page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def component_schemas() -> dict[str, Any]:
    _, top = models_json_schema([(model, "validation") for model in m.PUBLIC_MODELS], ref_template=REF)
    return dict(sorted(top.get("$defs", {}).items()))


def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (deterministic: same code, same bytes)."""
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS, key=lambda o: (o.path, o.method)):
        if op.path.startswith("/v1/"):
            paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    paths.update(_meta_operations())
    error_responses = {
        f"E{status}": {
            "description": about,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorBody")}}},
        }
        for status, about in error_descriptions().items()
    }
    tags = sorted({op.tag for op in OPERATIONS} | {"Documentation"})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hark Business API", "version": VERSION, "description": DESCRIPTION},
        "tags": [{"name": tag} for tag in tags],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API key, hk_live_…, from `hark tenant create` or `hark key create`",
                }
            },
            "schemas": component_schemas(),
            "responses": error_responses,
        },
    }


@cache
def document_text() -> str:
    """The document as served and committed (sorted keys, two-space indent, final newline)."""
    return json.dumps(build_document(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def model_schema_files() -> dict[str, str]:
    """One standalone JSON Schema (2020-12) per public model: file name → text."""
    out = {}
    for public_model in m.PUBLIC_MODELS:
        schema = public_model.model_json_schema()
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        out[f"{public_model.__name__}.json"] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return out


def generated_files() -> dict[str, str]:
    """Every file `make schemas` writes under schemas/: relative name → text."""
    return {"openapi.json": document_text(), **model_schema_files()}


def write(folder: Path = SCHEMAS_DIR) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated_files().items():
        path = folder / name
        path.write_text(text)
        written.append(path)
    for stale in folder.glob("*.json"):
        if stale.name not in generated_files():
            stale.unlink()
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMAS_DIR):
        print(path)

"""mkdocs hook: the API reference page (reference.md), rendered from schemas/openapi.json at build time.

The page is generated, never committed, so it cannot drift from the document `make schemas` writes
(and tests/unit/test_openapi.py keeps current). Each operation gets its method and path, summary,
scope, parameters, request and response schema names and error statuses. Offline: it reads one
local file and renders Markdown; nothing is fetched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

PAGE = "reference.md"
SOURCE = Path("schemas") / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")
SCOPE = re.compile(r"Scope: `([^`]+)`\.?\s*")


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _schema_name(schema: dict[str, Any]) -> str:
    """A schema's component name, or a short description of an inline one."""
    if "$ref" in schema:
        return f"`{_ref_name(schema['$ref'])}`"
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return f"array of {_schema_name(schema['items'])}"
    for combiner in ("anyOf", "oneOf", "allOf"):
        if combiner in schema:
            return " or ".join(_schema_name(part) for part in schema[combiner])
    kind = schema.get("type", "object")
    return str(kind) if isinstance(kind, str) else " or ".join(kind)


def _content(body: dict[str, Any]) -> str:
    """Schema names per media type of a request or response body."""
    parts = [
        f"{_schema_name(media.get('schema', {}))} (`{media_type}`)"
        for media_type, media in body.get("content", {}).items()
    ]
    return "; ".join(parts) if parts else "no body"


def _operation(method: str, path: str, op: dict[str, Any], document: dict[str, Any]) -> list[str]:
    description = op.get("description", "")
    scopes = SCOPE.findall(description)
    scope = ", ".join(f"`{s}`" for s in scopes) if scopes else "none (public)"
    if op.get("security") == []:
        scope = "none (public)"
    lines = [f"### {method.upper()} `{path}`", "", f"**{op.get('summary', '')}**", ""]
    rest = SCOPE.sub("", description).strip()
    if rest:
        lines += [rest, ""]
    lines += [f"Scope: {scope}. Operation id: `{op.get('operationId', '')}`.", ""]
    parameters = op.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required | schema | description |", "| --- | --- | --- | --- | --- |"]
        for p in parameters:
            lines.append(
                f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} "
                f"| {_cell(_schema_name(p.get('schema', {})))} | {_cell(p.get('description', ''))} |"
            )
        lines.append("")
    if "requestBody" in op:
        lines += [f"Request body: {_content(op['requestBody'])}.", ""]
    shared = document.get("components", {}).get("responses", {})
    success, errors = [], []
    for status, response in op.get("responses", {}).items():
        if "$ref" in response:
            response = shared.get(_ref_name(response["$ref"]), {})
        entry = (status, response)
        (success if status.startswith(("1", "2", "3")) else errors).append(entry)
    for status, response in success:
        lines.append(f"Response {status}: {_content(response)}.")
    if errors:
        lines += ["", "| error status | when |", "| --- | --- |"]
        lines += [f"| {status} | {_cell(response.get('description', ''))} |" for status, response in errors]
    return [*lines, ""]


def render(document: dict[str, Any]) -> str:
    """The whole reference page as Markdown, operations grouped by their first tag."""
    info = document.get("info", {})
    out = [
        "# API reference",
        "",
        f"{info.get('title', 'API')} {info.get('version', '')}, generated from `schemas/openapi.json` "
        "when this site is built (`make schemas` regenerates the document from the code). The "
        "choices behind these operations are in [The Business API](api.md).",
        "",
        info.get("description", ""),
        "",
    ]
    groups: dict[str, list[str]] = {tag["name"]: [] for tag in document.get("tags", [])}
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                op = item[method]
                tag = (op.get("tags") or ["Other"])[0]
                groups.setdefault(tag, []).extend(_operation(method, path, op, document))
    for tag, lines in groups.items():
        if lines:
            out += [f"## {tag}", "", *lines]
    return "\n".join(out).rstrip("\n") + "\n"


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated reference page to the site's files (mkdocs calls this before the nav)."""
    root = Path(config.config_file_path).parent
    document = json.loads((root / SOURCE).read_text(encoding="utf-8"))
    files.append(File.generated(config, PAGE, content=render(document)))
    return files

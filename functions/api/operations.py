"""Declaring a Business API operation once: its route, scope, models and documentation.

`operation(...)` registers a Chalice route whose wrapper authenticates the caller and checks the
operation's scope *before* the view runs, parses the declared query and body models, and maps
domain errors to the one error shape. The same declaration feeds the OpenAPI document, so a
route cannot exist without a scope, and the document cannot miss a route.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Response

from functions.api.http import api_key, bearer, error_response, json_body, query
from functions.domain.apikeys import ApiKey
from functions.domain.errors import HarkError, InvalidInput, UnsupportedMediaType
from functions.lazy import lazy

if TYPE_CHECKING:
    import pydantic
    from pydantic import BaseModel

    from functions.api import models
    from functions.logic import tenants
else:  # the first business API call loads them; a customer's click never does (docs/architecture.md)
    models, pydantic, tenants = (
        lazy("functions.api.models"),
        lazy("pydantic"),
        lazy("functions.logic.tenants"),
    )

# Bodies of these types reach the wrapper (instead of Chalice's own `{"Code", "Message"}` 415),
# which refuses anything but JSON in the one error shape (docs/api.md, Errors).
BODY_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "text/plain",
    "application/octet-stream",
]


def _require_json(request: Any) -> None:
    content_type = (request.headers or {}).get("content-type", "application/json")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(
            f"send the body as JSON with Content-Type: application/json (not {media[:60] or 'none'})",
            field="Content-Type",
        )


# A view names its models in its own signature: `body: m.SurveyCreate`, `query: m.PageQuery` and
# `-> Annotated[Response, m.SurveyOut]` (the response's model). With `from __future__ import
# annotations` these are text, read here by name and resolved against functions.api.models only
# when first needed, so pydantic (~130 ms) loads on the first business API call and a customer's
# click never pays for it (docs/architecture.md, Deferred imports).
ModelName = str

_MODEL = re.compile(r"(?:\w+\.)?(\w+)")
_RESPONSE = re.compile(rf"Annotated\[Response, {_MODEL.pattern}\]")


def model(name: ModelName | None) -> type[BaseModel] | None:
    """The pydantic model class `name` in functions.api.models (imported on first use)."""
    if name is None:
        return None
    found: type[BaseModel] = getattr(models, name)
    return found


def signature_models(view: Callable[..., Any]) -> tuple[ModelName | None, ModelName | None, ModelName | None]:
    """The (body, query, response) model names of `view`, read from its annotations."""
    annotations: dict[str, Any] = view.__annotations__

    def named(parameter: str, pattern: re.Pattern[str]) -> ModelName | None:
        text = annotations.get(parameter)
        if text is None or (parameter == "return" and text == "Response"):
            return None  # no such parameter, or a response the document describes without a model
        found = pattern.fullmatch(text) if isinstance(text, str) else None
        if found is None:
            raise TypeError(f"{view.__name__}: annotate {parameter!r} as m.<Model> (found {text!r})")
        return found.group(1)

    return named("body", _MODEL), named("query", _MODEL), named("return", _RESPONSE)


JSON = "application/json"


@dataclass(frozen=True)
class Operation:
    """One documented operation (method + path)."""

    method: str
    path: str
    name: str
    summary: str
    tag: str
    scope: str | None  # None: public (no API key)
    status: int = 200
    response: ModelName | None = None
    body: ModelName | None = None
    query: ModelName | None = None
    description: str = ""
    # Extra media types of the success response, e.g. {"text/csv": "description"}.
    media: dict[str, str] = field(default_factory=dict)
    # Set when the view reads the key in the same request as its data (docs/benchmarks.md: the fast path).
    deferred_auth: bool = False
    # Delighted's API (docs/delighted.md): HTTP Basic accepted, its statuses, also served with `.json`.
    delighted: bool = False
    # The `.json` twin of a Delighted path: served, but documented once (on the plain path).
    alias: bool = False
    # Error statuses the operation answers beyond those its shape implies (for the document).
    errors: tuple[int, ...] = ()


OPERATIONS: list[Operation] = []


@dataclass
class Caller:
    """Who is calling: the bearer secret and, once checked, the API key."""

    secret: str | None
    scope: str
    _key: ApiKey | None = None

    @property
    def key(self) -> ApiKey:
        """The caller's key, authenticated and checked for the operation's scope (one read)."""
        if self._key is None:
            self._key = tenants.authenticate(self.secret, self.scope)
        return self._key

    @property
    def tenant_id(self) -> str:
        return self.key.tenant_id


def operation(
    bp: Blueprint,
    method: str,
    path: str,
    *,
    scope: str | None,
    summary: str,
    tag: str,
    status: int = 200,
    description: str = "",
    media: dict[str, str] | None = None,
    deferred_auth: bool = False,
    delighted: bool = False,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Register a route on `bp` and document it.

    The view is called as ``view(caller, **path_params, [query=...], [body=...])``; for a
    public operation (scope None) without a caller. Its signature names the models: a `body` or
    `query` parameter annotated with a model of functions.api.models is parsed into it, and a
    return annotated ``Annotated[Response, m.<Model>]`` documents the success response. A
    `delighted` operation is Delighted's call (docs/delighted.md): it takes HTTP Basic as well as
    Bearer, answers invalid input with 422 and a busy database with 429 (both as Delighted did),
    and is also routed at `<path>.json`.
    """

    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        body, query_model, response = signature_models(view)

        @functools.wraps(view)
        def wrapped(**params: Any) -> Response:
            request = bp.current_request
            try:
                args: list[Any] = []
                if scope is not None:
                    caller = Caller(api_key(request) if delighted else bearer(request), scope)
                    if not deferred_auth:
                        _ = caller.key  # authenticate and check the scope first
                    args.append(caller)
                if query_model is not None:
                    params["query"] = parse_query(query_model, _query_values(request))
                if body is not None:
                    body_class = model(body)
                    assert body_class is not None
                    _require_json(request)
                    params["body"] = models.parse(body_class, json_body(request))
                return view(*args, **params)
            except HarkError as exc:
                return error_response(exc, "delighted" if delighted else "json")

        paths = [path, path + ".json"] if delighted and not path.endswith("}") else [path]
        for served in paths:
            types = {"content_types": BODY_TYPES} if body else {}
            bp.route(served, methods=[method], **types)(wrapped)
            OPERATIONS.append(
                Operation(
                    method=method,
                    path=served,
                    name=view.__name__ + ("_json" if served != path else ""),
                    summary=summary,
                    tag=tag,
                    scope=scope,
                    status=status,
                    response=response,
                    body=body,
                    query=query_model,
                    description=description,
                    media=dict(media or {}),
                    deferred_auth=deferred_auth,
                    delighted=delighted,
                    alias=served != path,
                    errors=errors,
                )
            )
        return wrapped

    return decorate


def parse_query(name: ModelName, values: dict[str, str]) -> Any:
    """Query parameters as model `name`; a bad one is a 400 naming the parameter."""
    query_class = model(name)
    assert query_class is not None
    try:
        return query_class.model_validate(values)
    except pydantic.ValidationError as exc:
        problem = models.validation_error(exc)
        raise InvalidInput(problem.message, field=problem.field, code="invalid_parameter") from None


def _query_values(request: Any) -> dict[str, str]:
    """Query parameters; an empty value counts as absent (``?since=&limit=10``)."""
    return {k: v for k, v in query(request).items() if v != ""}

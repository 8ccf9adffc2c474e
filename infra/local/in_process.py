"""The Chalice app in-process (chalice's test client), as a business app or a customer's
browser calls it: the test suite's `api` fixture and the benchmarks use this one client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


@dataclass
class InProcessApi:
    client: Any  # chalice.test.Client, entered

    @classmethod
    def open(cls) -> InProcessApi:
        """A client of the app for the life of the process (the benchmarks)."""
        from chalice.test import Client

        from functions.api.app import app

        client = Client(app, stage_name="dev")
        client.__enter__()
        return cls(client)

    def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        """One request: `body` as JSON (or as given, when bytes or text), `form` URL-encoded."""
        sent = dict(headers or {})
        if key:
            sent["Authorization"] = f"Bearer {key}"
        data: str | bytes = b""
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if form is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            data = urlencode(form)
        return getattr(self.client.http, method.lower())(path, headers=sent, body=data)

    def json(
        self, method: str, path: str, key: str | None = None, body: Any = None, expect: int = 200
    ) -> Any:
        response = self.call(method, path, key, body)
        assert response.status_code == expect, response.body
        return json.loads(response.body)

    def form(self, path: str, fields: dict[str, str]) -> Any:
        return self.call("POST", path, form=fields)

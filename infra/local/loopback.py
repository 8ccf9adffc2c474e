"""One HTTP call to a running Hark stack, as a client sees it (no redirect is followed, so a
page's 303 is the answer). The walkthrough, the bench's end-to-end run and the tests of a live
stack all call through it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


def call(
    method: str,
    url: str,
    key: str | None = None,
    body: Any = None,
    form: str | None = None,
    *,
    accept: str | None = None,
    timeout: float = 60,
) -> tuple[int, dict[str, str], bytes]:
    """`method url` with a Bearer `key`, a JSON `body` or an urlencoded `form`: the status, the
    headers and the body, whatever the status."""
    headers = {"Accept": accept} if accept else {}
    data = None
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    if form is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = form.encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()

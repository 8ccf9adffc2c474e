"""Real-browser fixtures: Debian's Chromium driven by Playwright, the app over real HTTP.

The app is served on 127.0.0.1 (a free port) by the same `serve_api` that `make dev` uses,
on the session's moto emulator, with HARK_PUBLIC_BASE_URL pointing at it. Every page runs
at a 375×667 phone viewport, and any request to another host is blocked and reported.
Without /usr/bin/chromium (or Playwright) the tests skip and say how to install it.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from infra.local import stack
from tests.conftest import Emulator
from tests.helpers import app_on_loopback

CHROMIUM = Path(os.environ.get("HARK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
PHONE = {"width": 375, "height": 667}
SCREENSHOTS = stack.ROOT / "test-output" / "browser"


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the session."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install Debian's package with "
            "`sudo apt-get update && sudo apt-get install -y chromium` (bash .ci/run does this as root), "
            "or point HARK_CHROMIUM at a Chromium binary"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: run `make test` or `pip install -e '.[dev]'`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class LiveApp:
    """The app over HTTP on loopback, and a tenant to call it with."""

    base: str
    key: str
    emulator: Emulator

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def create_survey(self, **survey: Any) -> dict[str, Any]:
        status, body = self.call("POST", "/v1/surveys", survey)
        assert status == 201, body
        return dict(body)

    def invite(self, survey_id: str, *recipients: dict[str, Any]) -> list[dict[str, Any]]:
        status, body = self.call("POST", f"/v1/surveys/{survey_id}/invitations", {"recipients": recipients})
        assert status == 201 and not body["errors"], body
        return list(body["invitations"])

    def scores(self, survey_id: str, segment: str = "all") -> dict[str, Any]:
        """The score summary, once every pending answer has reached the aggregator."""
        self.emulator.drain()
        status, body = self.call("GET", f"/v1/surveys/{survey_id}/scores?window=all&segment={segment}")
        assert status == 200, body
        return dict(body)


@pytest.fixture(scope="module")
def live(emulator: Emulator) -> Iterator[LiveApp]:
    from functions.logic.tenants import create_tenant

    with app_on_loopback() as base:
        yield LiveApp(base, create_tenant("Browser tests")["api_key"], emulator)


@dataclass
class Phone:
    """A phone-sized browser tab that records what it sends and refuses other hosts."""

    page: Any
    name: str
    posts: list[Any] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def screenshot(self, step: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{self.name}-{step}.png"), full_page=True)

    def assert_private_and_clean(self) -> None:
        """No request left 127.0.0.1, no console error (CSP violations included), no Referer sent."""
        assert self.outside == [], f"requests to other hosts: {self.outside}"
        assert self.problems == [], f"console errors: {self.problems}"
        assert all("referer" not in post.headers for post in self.posts)


@pytest.fixture
def phone_factory(chromium: Any, live: LiveApp, request: pytest.FixtureRequest) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_phone(suffix: str = "") -> Phone:
        context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        contexts.append(context)
        phone = Phone(context.new_page(), request.node.name + suffix)

        def only_loopback(route: Any) -> None:
            if urlsplit(route.request.url).hostname == "127.0.0.1":
                route.continue_()
            else:
                phone.outside.append(route.request.url)
                route.abort()

        context.route("**/*", only_loopback)
        phone.page.on("request", lambda r: phone.posts.append(r) if r.method == "POST" else None)

        def on_console(message: Any) -> None:
            # The browser reports a document's own 4xx status as an error; that is the page
            # we asked for (a friendly error page), not a problem with it.
            own_status = message.text.startswith("Failed to load resource") and (
                message.location.get("url") == phone.page.url
            )
            if message.type == "error" and not own_status:
                phone.problems.append(message.text)

        phone.page.on("console", on_console)
        phone.page.on("pageerror", lambda exc: phone.problems.append(str(exc)))
        return phone

    yield open_phone
    for context in contexts:
        context.close()


@pytest.fixture
def phone(phone_factory: Any) -> Phone:
    return phone_factory()  # type: ignore[no-any-return]

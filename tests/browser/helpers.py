"""Steps the browser tests share."""

from __future__ import annotations

import re
from typing import Any


def sign_in(page: Any, base: str, key: str) -> None:
    """Sign in to the dashboard at `base` with `key`, as an operator does; the survey list follows."""
    page.goto(base + "/dashboard")
    page.get_by_label("API key").fill(key)
    with page.expect_navigation(url=re.compile(r"/dashboard$")):
        page.get_by_role("button", name="Sign in").tap()

"""axe-core on the page a phone shows: the fixture with its source and the check the browser
tests share (WCAG 2.1 A/AA and best practice; serious and critical violations fail)."""

from __future__ import annotations

from importlib import resources

import pytest

from tests.browser.conftest import Phone


@pytest.fixture(scope="module")
def axe_source() -> str:
    # axe-core as shipped inside the axe-playwright-python package (never fetched at test time)
    return (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def serious_violations(phone: Phone, axe_source: str) -> list[str]:
    phone.page.evaluate(axe_source)
    results = phone.page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    assert results["testEngine"]["name"] == "axe-core" and len(results["passes"]) > 10
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]

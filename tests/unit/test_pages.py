"""Customer pages rendered on their own: structure, labels, contrast, size, headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.api import pages
from functions.domain import colours
from functions.domain.kinds import SCALES, Kind

pytestmark = pytest.mark.unit


def page_for(kind: Kind, attributes: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "question": "How was it?",
        "follow_up_question": None,
        "brand_name": "Acme",
        "brand_color": "#0a7d3b",
        "attributes": [{"key": f"a{i}", "label": f"Detail {i}"} for i in range(attributes)],
        **extra,
    }


class Outline(HTMLParser):
    """The focusable controls in document (= tab) order, and which sit inside a label."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[tuple[str, dict[str, str | None]]] = []
        self.labels: set[str] = set()
        self._in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label":
            self._in_label += 1
            if found.get("for"):
                self.labels.add(str(found["for"]))
        if tag in ("input", "textarea", "button", "a"):
            found["_labelled"] = "yes" if self._in_label or found.get("id") in self.labels else None
            self.controls.append((tag, found))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._in_label -= 1


def outline(body: str) -> Outline:
    parsed = Outline()
    parsed.feed(body)
    return parsed


@pytest.mark.parametrize("kind", list(Kind))
def test_the_landing_page_is_the_scale_then_send_every_point_labelled(kind: Kind) -> None:
    attributes = 2 if kind is Kind.CSI else 0
    response = pages.survey_page(page_for(kind, attributes), "TOKEN", None, None)
    body = response.body
    controls = outline(body).controls
    low, high = SCALES[kind]
    scores = [c for t, c in controls if t == "input" and c["name"] == "score"]
    assert [int(str(c["value"])) for c in scores] == list(range(low, high + 1))
    assert all(c["_labelled"] and "required" in c for c in scores)
    # attributes (csi) follow the headline score; the Send button comes last
    attrs = [c for t, c in controls if t == "input" and str(c["name"]).startswith("attr.")]
    assert len(attrs) == attributes * 10 and all(c["_labelled"] and "required" not in c for c in attrs)
    assert controls[-1][0] == "button"
    # the question is the page's heading and the scale's name; the ends are spoken
    assert re.search(r"<legend><h1>How was it\?</h1></legend>", body)
    assert '<span class="vh"> (' in body
    assert 'action="TOKEN"' in body and "<script" not in body


@pytest.mark.parametrize("kind", list(Kind))
def test_a_score_from_the_email_is_chosen_and_posted_after_a_visible_delay(kind: Kind) -> None:
    low, _ = SCALES[kind]
    body = pages.survey_page(page_for(kind, 2 if kind is Kind.CSI else 0), "T", low, None).body
    assert f'value="{low}" checked' in body and f"You chose {low}" in body
    assert f"setTimeout(go,{pages.AUTO_SUBMIT_DELAY_MS})" in body and "visibilityState" in body
    assert 'name="attr.' not in body  # csi details are asked on the thank-you page


def test_the_thank_you_page_offers_comment_details_and_change() -> None:
    page = page_for(Kind.CSI, 2, follow_up_question="Why?")
    body = pages.thanks_page(page, "../T", 8, "Good", {"a1": 4}).body
    controls = outline(body).controls
    # the details, the comment, Send, then the way back to change the score
    assert [t for t, _ in controls] == ["input"] * 20 + ["textarea", "button", "a"]
    assert controls[-1][1]["href"] == "../T"
    assert all(c["_labelled"] for t, c in controls if t in ("input", "textarea"))
    assert 'name="attr.a1" value="4" checked' in body and ">Good</textarea>" in body


@pytest.mark.parametrize("status", [400, 404, 410, 413, 503])
def test_error_pages_are_html_with_a_heading(status: int) -> None:
    response = pages.error_page(status)
    assert response.status_code == status and "<h1>" in response.body
    assert response.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("kind", list(Kind))
def test_the_largest_pages_stay_under_30_kb(kind: Kind) -> None:
    attributes = 12 if kind is Kind.CSI else 0
    long = "x" * 500
    page = page_for(kind, attributes, question=long, follow_up_question=long, brand_name="B" * 120)
    page["attributes"] = [{"key": f"a{i}", "label": long} for i in range(attributes)]
    bodies = [
        pages.survey_page(page, "T" * 80, None, 3).body,
        pages.thanks_page(page, "T" * 80, 3, "c" * 2000, {f"a{i}": 5 for i in range(12)}).body,
    ]
    assert all(len(body.encode()) < 30_000 for body in bodies)


@given(st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True))
def test_text_on_any_brand_colour_meets_aa(color: str) -> None:
    brand, on_brand = colours.brand_colours(color)
    assert brand == color.lower()
    assert colours.contrast_ratio(brand, on_brand) >= 4.5


@pytest.mark.parametrize("color", ["", "red", "#12345", "#1234567", '#"></st', None])
def test_a_malformed_brand_colour_falls_back_to_the_default(color: str | None) -> None:
    assert colours.brand_colours(str(color or ""))[0] == colours.DEFAULT_BRAND


def test_the_fixed_colours_meet_aa_on_the_page_background() -> None:
    background, white = "#f6f7f9", "#ffffff"
    for text in ("#1b1f24", "#454c54", "#0b57d0"):  # body text, notes and hints, links
        assert colours.contrast_ratio(text, background) >= 4.5
        assert colours.contrast_ratio(text, white) >= 4.5
    # borders of the scale buttons and the text box against white (non-text: 3:1)
    assert colours.contrast_ratio("#59636e", white) >= 3

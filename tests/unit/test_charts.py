"""Sparklines, the progress bar and the server-rendered SVG charts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from functions.domain.charts import (
    BarRow,
    TrendPoint,
    distribution_svg,
    is_detractor,
    progress_bar,
    sparkline,
    tone,
    trend_svg,
)
from functions.domain.kinds import Kind

pytestmark = pytest.mark.unit
SVG = "{http://www.w3.org/2000/svg}"


def test_sparkline_spans_the_lowest_to_the_highest_value() -> None:
    assert sparkline([-20, 0, 20, 40, 60, 80, 100]) == "▁▂▃▅▆▇█"
    assert sparkline([10.0, None, 30.0]) == "▁·█"
    assert sparkline([50, 50, 50]) == "▄▄▄"
    assert sparkline([None, None]) == "··"
    assert sparkline([]) == ""


def test_progress_bar_is_plain_ascii() -> None:
    assert progress_bar(5_000, 10_000, width=10) == "[#####.....] 5,000/10,000"
    assert progress_bar(10_000, 10_000, width=10) == "[##########] 10,000/10,000"
    assert progress_bar(0, 0, width=4) == "[####] 0/0"


@pytest.mark.parametrize(
    ("kind", "low", "mid", "high"), [(Kind.NPS, 6, 8, 9), (Kind.CSAT, 2, 3, 4), (Kind.CES, 3, 4, 5)]
)
def test_tones_mark_detractors(kind: Kind, low: int, mid: int, high: int) -> None:
    assert (tone(kind, low), tone(kind, mid), tone(kind, high)) == ("low", "mid", "high")
    assert is_detractor(kind, low) and not is_detractor(kind, mid)


def points(*values: float | None) -> list[TrendPoint]:
    return [TrendPoint(f"W{i}", f"week {i}", v, 0 if v is None else 10) for i, v in enumerate(values)]


def test_trend_chart_is_well_formed_svg_with_a_point_per_value() -> None:
    svg = trend_svg(points(-100, 0, None, 100), -100, 100, "NPS by week", "four weeks")
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "trend-title trend-desc"
    assert root.find(f"{SVG}title").text == "NPS by week"
    circles = root.findall(f"{SVG}circle")
    assert [c.get("data-value") for c in circles] == ["-100", "0", "100"]
    # the top of the scale is drawn above the bottom (SVG y grows downwards)
    ys = [float(c.get("cy")) for c in circles]
    assert ys[0] > ys[1] > ys[2]
    # the line breaks at the week without answers: two pen-downs
    path = root.find(f"{SVG}path").get("d")
    assert path.count("M") == 2 and path.count("L") == 1
    assert circles[0].find(f"{SVG}title").text == "week 0: -100 (10 responses)"


def test_trend_chart_escapes_labels_and_says_when_empty() -> None:
    svg = trend_svg(
        [TrendPoint("<b>", "</title><script>", None, 0)], 0, 100, "A & B <i>", 'x"y', element_id="t"
    )
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "A & B <i>"
    assert "No answers in this period" in svg


def test_distribution_bars_are_proportional_and_labelled() -> None:
    rows = [BarRow("0", 1, "low"), BarRow("9", 3, "high"), BarRow("10", 0, "high")]
    root = ET.fromstring(distribution_svg(rows, "Answers by score"))
    bars = root.findall(f"{SVG}rect")
    widths = [float(b.get("width")) for b in bars]
    assert widths[1] == pytest.approx(3 * widths[0], abs=0.2) and widths[2] == 0
    assert [b.get("fill") for b in bars] == ["#cf222e", "#1a7f37", "#1a7f37"]
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert "3 (75%)" in texts and "0 (0%)" in texts
    assert root.find(f"{SVG}desc").text == "0: 1, 9: 3, 10: 0"


def test_trend_chart_draws_the_margin_band_and_marks_significant_changes() -> None:
    # Given three weeks with margins, the third a significant change, then a gap and a lone week
    marked = [
        TrendPoint("W0", "week 0", -20.0, 30, margin=10.0),
        TrendPoint("W1", "week 1", -10.0, 30, margin=120.0, significant=False),
        TrendPoint("W2", "week 2", 60.0, 30, margin=10.0, significant=True),
        TrendPoint("W3", "week 3", None, 0),
        TrendPoint("W4", "week 4", 50.0, 5, margin=40.0, significant=None),
    ]
    root = ET.fromstring(trend_svg(marked, -100, 100, "NPS by week", "five weeks"))
    # Then a band per run of points with a margin, clipped to the scale
    bands = root.findall(f"{SVG}polygon")
    assert [b.get("class") for b in bands] == ["band", "band"]
    first_band = [tuple(map(float, xy.split(","))) for xy in bands[0].get("points").split()]
    assert len(first_band) == 6
    top_of_scale = 10.0  # y of +100 (the margin of week 1 reaches past it)
    assert min(y for _, y in first_band) == top_of_scale
    # And one triangle, on the third week, that says why
    changes = [p for p in root.findall(f"{SVG}path") if p.get("class") == "change"]
    assert len(changes) == 1
    assert changes[0].find(f"{SVG}title").text == "week 2: a significant change from the one before (95%)"
    circles = root.findall(f"{SVG}circle")
    assert circles[2].find(f"{SVG}title").text == "week 2: 60 ± 10 (30 responses)"

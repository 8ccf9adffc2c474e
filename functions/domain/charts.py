"""Charts without a library: terminal sparklines and server-rendered inline SVG.

The SVG is plain markup (no script, no style attribute, nothing fetched), so it passes the
pages' strict Content-Security-Policy; every text that reaches it is escaped here.
Colours are named by tone: `low` (detractors, unsatisfied), `mid`, `high` (promoters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from functions.domain.kinds import MID_MAX, Kind, is_low

SPARKS = "▁▂▃▄▅▆▇█"
GAP = "·"

# Which answers count as low / mid / high, by kind (low = the detractors of NPS).


def tone(kind: Kind, score: int) -> str:
    """`low`, `mid` or `high`: NPS detractors / passives / promoters and the like for other kinds."""
    if is_low(kind, score):
        return "low"
    if score <= MID_MAX[kind]:
        return "mid"
    return "high"


def is_detractor(kind: Kind, score: int) -> bool:
    """NPS 0-6, CSAT 1-2, CES 1-3, CSI 1-4: the answers a dashboard marks for follow-up."""
    return tone(kind, score) == "low"


def sparkline(values: Sequence[float | None]) -> str:
    """One character per value, scaled between the smallest and largest; `·` where None.

    All-equal values sit in the middle, so a flat trend reads as flat, not as a floor.
    """
    present = [v for v in values if v is not None]
    if not present:
        return GAP * len(values)
    low, high = min(present), max(present)
    top = len(SPARKS) - 1
    out = []
    for value in values:
        if value is None:
            out.append(GAP)
        elif high == low:
            out.append(SPARKS[top // 2])
        else:
            out.append(SPARKS[round((value - low) / (high - low) * top)])
    return "".join(out)


@dataclass(frozen=True)
class TrendPoint:
    label: str  # the bucket, as shown on the axis (e.g. "Mar 4")
    long_label: str  # the bucket in words (e.g. "week of 2024-03-04")
    value: float | None
    responses: int
    # The 95% margin of error of `value`, drawn as a band (docs/insight.md).
    margin: float | None = None
    # Whether the value differs significantly from the point before (marked on the chart).
    significant: bool | None = None


# The chart is drawn in a 360 × 200 box (phone first) and scales to its container.
_W, _H = 360.0, 200.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 38.0, 10.0, 10.0, 28.0


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _x_positions(count: int) -> list[float]:
    inner = _W - _LEFT - _RIGHT
    if count == 1:
        return [_LEFT + inner / 2]
    return [_LEFT + inner * i / (count - 1) for i in range(count)]


def _label_indexes(count: int, most: int = 5) -> list[int]:
    """Which points get an axis label: the first, the last and evenly spaced ones between."""
    if count <= most:
        return list(range(count))
    step = (count - 1) / (most - 1)
    return sorted({round(i * step) for i in range(most)})


def trend_svg(
    points: Sequence[TrendPoint],
    low: float,
    high: float,
    title: str,
    description: str,
    element_id: str = "trend",
) -> str:
    """A line chart of `points` between `low` and `high`, broken where a value is None.

    Each point has a tooltip (SVG <title>) with its bucket, value and responses; the chart is
    an image with an accessible name (`title`) and description for screen readers.
    """
    inner_h = _H - _TOP - _BOTTOM

    def y_of(value: float) -> float:
        return _TOP + inner_h * (high - value) / (high - low)

    parts = [
        f'<svg id="{escape(element_id)}" class="chart" viewBox="0 0 {_W:g} {_H:g}" role="img" '
        f'aria-labelledby="{escape(element_id)}-title {escape(element_id)}-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(element_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(element_id)}-desc">{escape(description)}</desc>',
    ]
    for step in range(5):
        value = low + (high - low) * step / 4
        y = y_of(value)
        parts.append(
            f'<line x1="{_LEFT:g}" x2="{_W - _RIGHT:g}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{"#8c959f" if value == 0 else "#d8dee4"}" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6:g}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#454c54">{_num(value)}</text>'
        )
    xs = _x_positions(len(points)) if points else []
    parts += _bands(xs, points, low, high, y_of)
    path: list[str] = []
    pen_down = False
    for x, point in zip(xs, points, strict=True):
        if point.value is None:
            pen_down = False
            continue
        path.append(f"{'L' if pen_down else 'M'}{x:.1f} {y_of(point.value):.1f}")
        pen_down = True
    if path:
        parts.append(
            f'<path d="{" ".join(path)}" fill="none" stroke="#0b57d0" stroke-width="2.5" '
            'stroke-linejoin="round" stroke-linecap="round"/>'
        )
    for x, point in zip(xs, points, strict=True):
        if point.value is None:
            continue
        margin = "" if point.margin is None else f" ± {_num(point.margin)}"
        tip = f"{point.long_label}: {_num(point.value)}{margin} ({point.responses} responses)"
        parts.append(
            f'<circle class="point" cx="{x:.1f}" cy="{y_of(point.value):.1f}" r="3.5" fill="#0b57d0" '
            f'data-value="{_num(point.value)}"><title>{escape(tip)}</title></circle>'
        )
    for x, point in zip(xs, points, strict=True):
        if point.value is None or not point.significant:
            continue
        # A triangle above the point: a change from the point before that is significant at 95%.
        y = y_of(point.value) - 9
        parts.append(
            f'<path class="change" d="M{x - 5:.1f} {y - 7:.1f} L{x + 5:.1f} {y - 7:.1f} L{x:.1f} {y:.1f} Z" '
            f'fill="#bf8700"><title>{escape(point.long_label)}: a significant change from the one '
            "before (95%)</title></path>"
        )
    for index in _label_indexes(len(points)):
        anchor = "start" if index == 0 and len(points) > 1 else "middle"
        if index == len(points) - 1 and len(points) > 1:
            anchor = "end"
        parts.append(
            f'<text x="{xs[index]:.1f}" y="{_H - 8:g}" text-anchor="{anchor}" font-size="11" '
            f'fill="#454c54">{escape(points[index].label)}</text>'
        )
    if not any(p.value is not None for p in points):
        parts.append(
            f'<text x="{_W / 2:g}" y="{_TOP + inner_h / 2:.1f}" text-anchor="middle" font-size="13" '
            'fill="#454c54">No answers in this period</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bands(
    xs: Sequence[float], points: Sequence[TrendPoint], low: float, high: float, y_of: Callable[[float], float]
) -> list[str]:
    """A shaded polygon of value ± margin over each run of points that have both."""
    runs: list[list[tuple[float, float, float]]] = [[]]
    for x, point in zip(xs, points, strict=True):
        if point.value is None or point.margin is None:
            runs.append([])
            continue
        top, bottom = min(high, point.value + point.margin), max(low, point.value - point.margin)
        runs[-1].append((x, y_of(top), y_of(bottom)))
    out = []
    for run in runs:
        if not run:
            continue
        if len(run) == 1:  # a lone point: a short bar rather than an invisible polygon
            x, top, bottom = run[0]
            run = [(x - 3, top, bottom), (x + 3, top, bottom)]
        upper = [f"{x:.1f},{top:.1f}" for x, top, _ in run]
        lower = [f"{x:.1f},{bottom:.1f}" for x, _, bottom in reversed(run)]
        out.append(
            f'<polygon class="band" points="{" ".join(upper + lower)}" fill="#0b57d0" fill-opacity="0.15"/>'
        )
    return out


@dataclass(frozen=True)
class BarRow:
    label: str
    count: int
    tone: str  # low, mid or high


TONE_COLOURS = {"low": "#cf222e", "mid": "#6e7781", "high": "#1a7f37"}


def distribution_svg(rows: Sequence[BarRow], title: str, element_id: str = "distribution") -> str:
    """Horizontal bars, one per scale point, each labelled with its count and share."""
    total = sum(r.count for r in rows)
    row_h, label_w, value_w = 22.0, 30.0, 100.0
    height = row_h * len(rows) + 4
    bar_w = _W - label_w - value_w
    most = max((r.count for r in rows), default=0)
    spoken = ", ".join(f"{r.label}: {r.count}" for r in rows)
    parts = [
        f'<svg id="{escape(element_id)}" class="chart" viewBox="0 0 {_W:g} {height:g}" role="img" '
        f'aria-labelledby="{escape(element_id)}-title {escape(element_id)}-desc" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(element_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(element_id)}-desc">{escape(spoken)}</desc>',
    ]
    for i, row in enumerate(rows):
        y = 2 + i * row_h
        width = 0.0 if most == 0 else bar_w * row.count / most
        share = "" if total == 0 else f" ({100 * row.count / total:.0f}%)"
        parts.append(
            f'<text x="{label_w - 6:g}" y="{y + 15:.1f}" text-anchor="end" font-size="12" '
            f'fill="#1b1f24">{escape(row.label)}</text>'
        )
        parts.append(
            f'<rect class="bar" x="{label_w:g}" y="{y + 3:.1f}" width="{max(width, 0.0):.1f}" height="16" '
            f'rx="2" fill="{TONE_COLOURS.get(row.tone, TONE_COLOURS["mid"])}" data-count="{row.count}"/>'
        )
        parts.append(
            f'<text x="{label_w + width + 5:.1f}" y="{y + 15:.1f}" font-size="12" '
            f'fill="#454c54">{row.count:,}{share}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def progress_bar(done: int, total: int, width: int = 30) -> str:
    """``[#########.....................] 3,000/10,000`` (plain ASCII, for any terminal or log)."""
    filled = width if total <= 0 else min(width, done * width // total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}"

"""The brand colour rule shared by the customer pages and the survey email: a survey's colour, or
the default, with the text colour (white or black) that reads best on it (docs/pages.md)."""

from __future__ import annotations

import re

DEFAULT_BRAND = "#1f6feb"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _luminance(hex_color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def brand_colours(color: str) -> tuple[str, str]:
    """(brand, text on brand): white or black, whichever reads better (always >= 4.5:1)."""
    brand = color.lower() if _HEX.match(color) else DEFAULT_BRAND
    white, black = contrast_ratio(brand, "#ffffff"), contrast_ratio(brand, "#000000")
    return brand, "#ffffff" if white >= black else "#000000"

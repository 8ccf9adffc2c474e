"""Survey kinds and their answer scales (docs/architecture.md, Scores engine)."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    NPS = "nps"
    CSAT = "csat"
    CES = "ces"
    CSI = "csi"


# Inclusive (low, high) of the headline score, per kind. CSI attributes use 1..10 as well.
SCALES: dict[Kind, tuple[int, int]] = {
    Kind.NPS: (0, 10),
    Kind.CSAT: (1, 5),
    Kind.CES: (1, 7),
    Kind.CSI: (1, 10),
}
CSI_ATTRIBUTE_SCALE = (1, 10)


def scale_points(kind: Kind) -> range:
    low, high = SCALES[kind]
    return range(low, high + 1)

"""Survey kinds and their answer scales (docs/architecture.md, Scores engine)."""

from __future__ import annotations

from collections.abc import Mapping
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


# ---- score bands: the one home of every threshold on a kind's headline score ------------------

# NPS: 0–6 detractors, 7–8 passives, 9–10 promoters.
DETRACTOR_MAX = 6
PROMOTER_MIN = 9
# The low band of each kind (NPS detractors, CSAT 1–2, CES 1–3, CSI 1–4): the answers a dashboard
# marks and the webhook `response.detractor` event names; the middle band ends at MID_MAX.
LOW_MAX: dict[Kind, int] = {Kind.NPS: DETRACTOR_MAX, Kind.CSAT: 2, Kind.CES: 3, Kind.CSI: 4}
MID_MAX: dict[Kind, int] = {Kind.NPS: PROMOTER_MIN - 1, Kind.CSAT: 3, Kind.CES: 4, Kind.CSI: 7}
# The headline share of CSAT (satisfied: answers 4–5) and CES (easy: answers 5–7).
SHARE_FROM: dict[Kind, int] = {Kind.CSAT: 4, Kind.CES: 5}


def is_low(kind: Kind, score: int) -> bool:
    """The answer is in its kind's low band (an NPS detractor and the like)."""
    return score <= LOW_MAX[kind]


def nps_groups(counts: Mapping[int, int]) -> tuple[int, int, int]:
    """(promoters, detractors, answers) of an NPS score histogram."""
    promoters = sum(c for s, c in counts.items() if s >= PROMOTER_MIN)
    detractors = sum(c for s, c in counts.items() if s <= DETRACTOR_MAX)
    return promoters, detractors, sum(counts.values())

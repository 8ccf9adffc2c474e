"""Delighted-style survey-response CSV exports for tests, generated (never committed).

The header follows Delighted's export: its survey-response fields in words, then one column
per person property. Times use the formats such exports carry (ISO 8601 with Z, Ruby's
``2024-04-18 05:34:20 -0700`` and unix seconds), spread over `days` days ending yesterday.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

HEADER = [
    "Response ID",
    "Person ID",
    "Email",
    "Name",
    "Score",
    "Comment",
    "Created At",
    "Updated At",
    "Survey Type",
    "Tags",
    "Notes",
    "Permalink",
    "Plan",
    "Country",
]
PLANS = ["free", "pro", "enterprise"]
COUNTRIES = ["US", "DE", "FR", "BR"]
COMMENTS = ["Great service", "Too slow <b>really</b>", "Support was lovely", "Price is too high", ""]
# A score distribution with more promoters than detractors, like most real surveys.
WEIGHTS = [3, 1, 1, 2, 2, 4, 5, 9, 14, 22, 37]


@dataclass(frozen=True)
class Export:
    path: Path
    rows: int
    # day (ISO, UTC) → score → count, computed from the rows as written
    days: dict[str, Counter[int]]

    def counts(self, first: str = "", last: str = "9999") -> Counter[int]:
        total: Counter[int] = Counter()
        for day, counts in self.days.items():
            if first <= day <= last:
                total.update(counts)
        return total


def delighted_nps(counts: Counter[int]) -> float:
    """Delighted's formula: % promoters (9-10) minus % detractors (0-6), on the same rows."""
    n = sum(counts.values())
    promoters = sum(c for s, c in counts.items() if s >= 9)
    detractors = sum(c for s, c in counts.items() if s <= 6)
    return round(100.0 * (promoters - detractors) / n, 1)


def _stamp(moment: datetime, style: int) -> str:
    if style == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        local = moment.astimezone(timezone(timedelta(hours=-7)))
        return local.strftime("%Y-%m-%d %H:%M:%S -0700")
    return str(int(moment.timestamp()))


def write_export(
    path: Path, rows: int, days: int, seed: int = 7, first_id: int = 1, today: date | None = None
) -> Export:
    """`rows` responses over the `days` days before `today` (UTC), oldest first, as Delighted sorts."""
    rng = random.Random(seed)
    end = datetime.combine(today or datetime.now(UTC).date(), datetime.min.time(), UTC)
    start = end - timedelta(days=days)
    span = int((end - start).total_seconds()) - 1
    moments = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(rows))
    by_day: dict[str, Counter[int]] = {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i, moment in enumerate(moments):
            response_id = str(first_id + i)
            score = rng.choices(range(11), WEIGHTS)[0]
            by_day.setdefault(moment.date().isoformat(), Counter())[score] += 1
            updated = moment + timedelta(minutes=rng.randrange(0, 90))
            out.writerow(
                [
                    response_id,
                    str(1000 + i),
                    f"person{i}@example.com",
                    f"Person {i}",
                    str(score),
                    rng.choice(COMMENTS),
                    _stamp(moment, i % 3),
                    _stamp(updated, 0),
                    "nps",
                    "vip,follow-up" if i % 7 == 0 else "",
                    "",
                    f"https://app.delighted.com/r/{response_id}abc",
                    rng.choice(PLANS),
                    rng.choice(COUNTRIES),
                ]
            )
    return Export(path, rows, by_day)

"""`make reliability` prints the figures its docs quote, one row per backend, after pytest's own.

The load test writes them to test-output/reliability-<backend>.json, and the many-shards
scenario to test-output/contention-<backend>.json; this reads back those written during this run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    _contention_summary(terminalreporter)
    rows = [
        json.loads(path.read_text())
        for path in sorted(OUTPUT.glob("reliability-*.json"))
        if path.stat().st_mtime >= _STARTED
    ]
    if not rows:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability figures (also in test-output/reliability-<backend>.json)")
    write(
        f"{'backend':<16}{'sent':>7}{'accepted':>10}{'stored':>8}{'counted':>9}{'lost':>6}{'drift':>7}"
        f"{'answers/s':>11}{'caught up (s)':>15}"
    )
    for row in rows:
        write(
            f"{row['backend']:<16}{row['answers_sent']:>7}{row['accepted']:>10}{row['responses_stored']:>8}"
            f"{row['responses_in_scores']:>9}{row['lost']:>6}{row['drift']:>7}"
            f"{row['answers_per_second']:>11}{row['seconds_until_scores_caught_up']:>15}"
        )


def _contention_summary(terminalreporter: Any) -> None:
    """The many-shards scenario's figures (tests/load/test_contention_load.py), one line each."""
    from bench.contention import report_lines

    for path in sorted(OUTPUT.glob("contention-*.json")):
        if path.stat().st_mtime >= _STARTED:
            terminalreporter.section(f"many shards, one hot survey ({path.relative_to(OUTPUT.parent)})")
            for line in report_lines(json.loads(path.read_text())):
                terminalreporter.write_line(line)

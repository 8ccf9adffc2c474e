"""`make reliability`: 16 aggregator processes on one hot survey, DynamoDB's conflict rule
emulated (bench/contention.py; docs/benchmarks.md, "Many shards, one hot survey").

Scores exact, no batch lost, and at most 1.2 transaction attempts per commit (issue 22's bar).
The figures go to test-output/contention-<backend>.json and are printed after pytest's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Emulator

pytestmark = pytest.mark.load

ANSWERS = 4000
SHARDS = 16
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def test_sixteen_aggregators_on_one_hot_survey_commit_at_most_1_2_attempts_each(emulator: Emulator) -> None:
    if emulator.backend != "dynamodb-local":
        pytest.skip("the scenario runs on DynamoDB Local behind the conflict proxy")
    from bench import contention

    figures = contention.run(emulator.stream_arn, emulator.queue_url, ANSWERS, shards=SHARDS)
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / f"contention-{emulator.backend}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print("\n".join(contention.report_lines(figures)))

    assert figures["exact"], figures["score_problems"]
    assert figures["batches_lost"] == 0
    assert figures["attempts_per_commit"] is not None
    assert figures["attempts_per_commit"] <= 1.2, contention.report_lines(figures)

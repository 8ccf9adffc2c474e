"""`make bench --quick` runs in CI as a smoke test: every scenario runs and reports, with progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]


def test_the_quick_bench_runs_every_scenario_and_shows_its_progress() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HARK_"))}
    out = subprocess.run(
        [sys.executable, "bench/run.py", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    steps = [line for line in out.stdout.splitlines() if line.startswith("[")]
    assert len(steps) == 10 and steps[-1].startswith("[10/10]"), out.stdout
    for figure in (
        "record an answer",
        "Aggregator items written",
        "Cold import",
        "End to end",
        "make dev: idle",
    ):
        assert figure in out.stdout, figure
    from infra.local import dynamodb_local

    if dynamodb_local.unavailable() is None:  # the many-shards scenario needs DynamoDB Local
        assert "Many shards, one hot survey" in out.stdout
        assert "  attempts per commit " in out.stdout
    # the figures the targets are about, as the bench reads them
    assert "record an answer                        1 " in out.stdout

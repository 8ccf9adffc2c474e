"""`make deploy` with no STAGE deploys the production rules, never the dev stage's loopback
allowance (docs/security.md, "Deploy defaults")."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from infra import deploy

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]


def dry_run(*args: str) -> str:
    """The commands `make -n …` would run (nothing is built or deployed)."""
    env = {k: v for k, v in os.environ.items() if k not in ("STAGE", "MAKEFLAGS", "MAKELEVEL")}
    out = subprocess.run(
        ["make", "-n", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout


def test_make_deploy_without_a_stage_deploys_prod() -> None:
    commands = dry_run("deploy", "BUCKET=my-artifacts")
    assert "-m infra.package --stage prod" in commands
    assert "-m infra.deploy --stage prod --bucket my-artifacts" in commands
    assert "--stage dev" not in commands


def test_make_package_without_a_stage_builds_prod() -> None:
    assert "-m infra.package --stage prod" in dry_run("package")
    assert "-m infra.package --stage localstack" in dry_run("package", "STAGE=localstack")


def test_the_dev_stage_is_refused_before_anything_is_touched(capsys: pytest.CaptureFixture[str]) -> None:
    # No session, region or build folder is needed: the refusal comes first.
    assert deploy.main(["--stage", "dev", "--bucket", "b", "--build-dir", "/nonexistent"]) == 1
    assert "the dev stage is for `make dev` only" in capsys.readouterr().err
    with pytest.raises(deploy.DeployError, match="loopback"):
        deploy.deploy(stage="dev", bucket="b", stack="hark-dev", build_dir=Path("/nonexistent"))

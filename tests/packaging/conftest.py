"""Packages built once per session with the same code `make package` runs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.package import build, packaging_python

ROOT = Path(__file__).resolve().parents[2]
CFN_PYTHON = ROOT / ".venv-cfn" / "bin" / "python"


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`package(stage)`: the folder holding that stage's sam.json and deployment.zip."""
    built: dict[str, Path] = {}

    def get(stage: str) -> Path:
        if stage not in built:
            built[stage] = build(stage, tmp_path_factory.mktemp(f"package-{stage}"))
        return built[stage]

    return get


@pytest.fixture(scope="session")
def prod(package: Callable[[str], Path]) -> Path:
    return package("prod")


@pytest.fixture(scope="session")
def sam(prod: Path) -> dict[str, Any]:
    return dict(json.loads((prod / "sam.json").read_text()))


def packaging_python_version() -> tuple[int, int]:
    out = subprocess.run(
        [str(packaging_python()), "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def cfn_check(build_dir: Path) -> subprocess.CompletedProcess[str]:
    if not CFN_PYTHON.exists():
        pytest.skip(
            "template checks need .venv-cfn (cfn-lint, aws-sam-translator): run `make test` or `make package`"
        )
    return subprocess.run(
        [str(CFN_PYTHON), "-m", "infra.cfn_check", str(build_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

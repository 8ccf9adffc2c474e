"""The customer's click path stays light at cold start: `import app` (what every API Lambda
loads first) imports no pydantic and no business logic beyond recording an answer
(docs/architecture.md, "Deferred imports"; the time itself is held by docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import run_python

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# What a click needs of functions.logic: recording the answer, and the clock it stamps it with.
CLICK_PATH_LOGIC = {"functions.logic", "functions.logic.answers", "functions.logic.clock"}


def _loaded_after_import_app() -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARK_", "AWS_"))}
    env["PYTHONPATH"] = str(ROOT)
    probe = "import json, sys\nimport app\nprint(json.dumps(sorted(sys.modules)))"
    out = run_python("-c", probe, env=env, timeout=60, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_app_loads_no_pydantic_and_only_the_click_paths_logic() -> None:
    loaded = _loaded_after_import_app()
    assert "functions.api.app" in loaded  # the probe really imported the app
    assert not {m for m in loaded if m.split(".")[0] in {"pydantic", "pydantic_core"}}
    assert {m for m in loaded if m.startswith("functions.logic")} == CLICK_PATH_LOGIC
    # The request models (and the row model the invitation logic validates with) wait for the
    # first business API call.
    assert not {"functions.api.models", "functions.logic.commands", "functions.api.openapi"} & loaded

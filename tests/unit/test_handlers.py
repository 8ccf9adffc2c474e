"""A handler module per Lambda (infra/template.py, HANDLERS): each resolves to a callable, and
the local stack drives exactly those handlers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from functions.aggregator import handler as aggregator
from functions.webhooks import delivery, events
from infra.local import stack
from infra.template import HANDLERS

ROOT = Path(__file__).resolve().parents[2]


def test_every_declared_handler_resolves_to_a_callable_of_its_module() -> None:
    for function in HANDLERS:
        assert callable(stack.deployed_handler(function)), function


def test_the_local_stack_drives_the_handlers_the_template_names() -> None:
    assert stack.deployed_handler("Aggregator") is aggregator.handle_stream_event
    assert stack.deployed_handler("WebhookEvents") is events.handle_stream_event
    assert stack.deployed_handler("WebhookDelivery") is delivery.handle_delivery_event


def test_a_scheduled_functions_tick_counts_what_its_handler_did(monkeypatch: Any) -> None:
    import functions.sending.scheduler as scheduler

    monkeypatch.setattr(scheduler, "enqueue_due", lambda: 3)
    assert stack.deployed_tick("SendScheduler")() == 3


def _loaded_by(module: str) -> set[str]:
    """The modules a cold `import module` loads, in a fresh interpreter (what a cold start pays)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARK_", "AWS_"))}
    env["PYTHONPATH"] = str(ROOT)
    probe = f"import json, sys\nimport {module}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("module", "own", "other"),
    [
        ("functions.webhooks.events", "functions.logic.webhook_events", "functions.logic.webhook_delivery"),
        ("functions.webhooks.delivery", "functions.logic.webhook_delivery", "functions.logic.webhook_events"),
    ],
)
def test_each_webhook_lambda_cold_starts_without_the_others_code(module: str, own: str, other: str) -> None:
    loaded = _loaded_by(module)
    assert own in loaded  # the probe really imported the handler
    # Not the other webhook function's code, nor the API: no Chalice app, routes or pydantic
    assert other not in loaded
    assert not {m for m in loaded if m.startswith(("functions.api", "chalice", "pydantic"))}
    assert not {m for m in loaded if m.startswith("functions.webhooks.") and m != module}
    if module.endswith("events"):  # the stream consumer posts nothing itself
        assert "functions.logic.outbound" not in loaded


@pytest.mark.parametrize("module", ["functions.aggregator.handler", "functions.aggregator.writer"])
def test_the_scores_lambdas_cold_start_without_the_apis_shapes(module: str) -> None:
    # The aggregator reads stream images and writes the scores table; the tally writer only the
    # scores table. Neither loads Powertools' batch utility, the invitation and survey shapes,
    # the sealed cursors, the core table's store or the API (docs/scale.md, cold import).
    loaded = _loaded_by(module)
    assert module in loaded and "functions.store.scores" in loaded
    assert not {m for m in loaded if m.startswith(("functions.api", "chalice", "pydantic"))}
    heavy = {
        "aws_lambda_powertools.utilities.batch",
        "functions.domain.survey",
        "functions.store.cursors",
        "functions.store.core",
        "functions.logic.rebuild",
    }
    assert not heavy & loaded, heavy & loaded
    if module.endswith("writer"):  # stage 2 reads no stream and no response
        assert not {"functions.store.responses", "functions.logic.aggregation"} & loaded

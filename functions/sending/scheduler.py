"""The scheduler function (every minute): queue the sends that are due (docs/sending.md)."""

from __future__ import annotations

from typing import Any

from functions.logic.sending import enqueue_due


def handle_tick(event: Any = None, context: Any = None) -> dict[str, int]:
    return {"queued": enqueue_due()}

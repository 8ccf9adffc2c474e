"""Chalice entry point: everything lives in the `functions` package (vendored for Lambda).

Lambda finds each function's handler here by name ("app.<name>", from the packaged
template), so every event handler the app declares is re-exported, not only the app.
"""

from functions.api.app import (
    aggregator,
    app,
    follow_up_sweep,
    send_scheduler,
    sender,
    ses_events,
    tally_writer,
    webhook_delivery,
    webhook_events,
)

__all__ = [
    "aggregator",
    "app",
    "follow_up_sweep",
    "send_scheduler",
    "sender",
    "ses_events",
    "tally_writer",
    "webhook_delivery",
    "webhook_events",
]

"""The Chalice application: routes from blueprints, and the responses-stream aggregator."""

from __future__ import annotations

import os
from typing import Any

from chalice.app import Chalice

from functions.api import dashboard, public, sms_webhooks, v1

app = Chalice(app_name="hark")
app.register_blueprint(v1.bp)
app.register_blueprint(public.bp)
app.register_blueprint(sms_webhooks.bp)
app.register_blueprint(dashboard.bp)

# `chalice package` needs an ARN here; the packaged template replaces it with the table's
# StreamArn (infra/), and the local stack calls the handler directly. Nothing at run time
# reads this value.
STREAM_ARN = os.environ.get(
    "HARK_RESPONSES_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:000000000000:table/replaced-by-template/stream/0",
)


@app.on_dynamodb_record(
    stream_arn=STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON", name="aggregator"
)
def aggregator(event: Any) -> dict[str, Any]:
    # Imported here so the API function's cold start does not load the batch utility.
    from functions.aggregator.handler import handle_stream_event

    return handle_stream_event(event.to_dict())

"""The Chalice application: routes from blueprints, and the responses-stream aggregator."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from chalice.app import Chalice, Rate

from functions import telemetry
from functions.api import dashboard, delighted, docs, outbox, public, sms_webhooks, tenant_settings, v1
from functions.lazy import lazy

if TYPE_CHECKING:
    from functions.aggregator import handler as aggregator_handler
    from functions.aggregator import writer as tally_writer_handler
    from functions.follow_ups import sweep
    from functions.sending import scheduler
    from functions.sending import sender as sender_handler
    from functions.sending import ses_events as ses_events_handler
    from functions.webhooks import delivery as webhook_delivery_handler
    from functions.webhooks import events as webhook_events_handler
else:  # the API function's cold start loads none of the other Lambdas' handlers
    aggregator_handler = lazy("functions.aggregator.handler")
    tally_writer_handler = lazy("functions.aggregator.writer")
    sweep = lazy("functions.follow_ups.sweep")
    scheduler = lazy("functions.sending.scheduler")
    sender_handler = lazy("functions.sending.sender")
    ses_events_handler = lazy("functions.sending.ses_events")
    webhook_events_handler = lazy("functions.webhooks.events")
    webhook_delivery_handler = lazy("functions.webhooks.delivery")

# Powertools' Logger owns the "hark" logger (JSON lines); Chalice's own handler would repeat them.
app = Chalice(app_name="hark", configure_logs=False)
app.register_blueprint(v1.bp)
app.register_blueprint(tenant_settings.bp)
app.register_blueprint(delighted.bp)
app.register_blueprint(public.bp)
app.register_blueprint(sms_webhooks.bp)
app.register_blueprint(docs.bp)
app.register_blueprint(dashboard.bp)
app.register_blueprint(outbox.bp)


@app.middleware("http")
def observe(request: Any, get_response: Any) -> Any:
    """Correlation id, one structured log line and the metrics flush for every request."""
    return telemetry.observe_request(request, get_response)


# `chalice package` needs an ARN here; the packaged template replaces it with the table's
# StreamArn (infra/), and the local stack calls the handler directly. Nothing at run time
# reads this value.
STREAM_ARN = os.environ.get(
    "HARK_RESPONSES_STREAM_ARN",
    "arn:aws:dynamodb:us-east-1:000000000000:table/replaced-by-template/stream/0",
)


# Every event function below is a thin delegate: the packaged template runs each Lambda from its
# own handler module directly (infra/template.py, HANDLERS), so a cold start skips this module;
# these declarations give `chalice package` the functions and their event sources.
@app.on_dynamodb_record(
    stream_arn=STREAM_ARN, batch_size=90, starting_position="TRIM_HORIZON", name="aggregator"
)
def aggregator(event: Any) -> dict[str, Any]:
    return aggregator_handler.handle_stream_event(event.to_dict(), getattr(event, "context", None))


# Stage 2 of the scores pipeline (docs/scale.md): one tally writer per survey, fed by a FIFO
# queue (the packaged template points the mapping at its own ScoresQueue).
SCORES_QUEUE_ARN = os.environ.get(
    "HARK_SCORES_QUEUE_ARN", "arn:aws:sqs:us-east-1:000000000000:replaced-by-template.fifo"
)


@app.on_sqs_message(queue_arn=SCORES_QUEUE_ARN, batch_size=10, name="tally_writer")
def tally_writer(event: Any) -> dict[str, Any]:
    return tally_writer_handler.handle_queue_event(event.to_dict(), getattr(event, "context", None))


# The responses stream's second consumer: webhook events. Separate from the aggregator so a
# slow or failing webhook fan-out never delays scores (a DynamoDB stream allows two readers).
@app.on_dynamodb_record(
    stream_arn=STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON", name="webhook_events"
)
def webhook_events(event: Any) -> dict[str, Any]:
    return webhook_events_handler.handle_stream_event(event.to_dict(), getattr(event, "context", None))


# Like STREAM_ARN: the packaged template points the mapping at its own WebhookQueue, and the
# functions read the queue's URL from HARK_WEBHOOK_QUEUE_URL.
WEBHOOK_QUEUE_ARN = os.environ.get(
    "HARK_WEBHOOK_QUEUE_ARN", "arn:aws:sqs:us-east-1:000000000000:replaced-by-template"
)


@app.on_sqs_message(queue_arn=WEBHOOK_QUEUE_ARN, batch_size=10, name="webhook_delivery")
def webhook_delivery(event: Any) -> dict[str, Any]:
    return webhook_delivery_handler.handle_delivery_event(event.to_dict(), getattr(event, "context", None))


# Sending (docs/sending.md). The scheduler runs every minute and queues the sends that are due.
@app.schedule(Rate(1, unit=Rate.MINUTES), name="send_scheduler")
def send_scheduler(event: Any) -> dict[str, int]:
    return scheduler.handle_tick(event.to_dict(), getattr(event, "context", None))


# Closing the loop (docs/follow-ups.md): every minute, follow-ups past their deadline are marked
# overdue once each (the mark raises follow_up.overdue through the stream).
@app.schedule(Rate(1, unit=Rate.MINUTES), name="follow_up_sweep")
def follow_up_sweep(event: Any) -> dict[str, int]:
    return sweep.handle_tick(event.to_dict(), getattr(event, "context", None))


# Like WEBHOOK_QUEUE_ARN: the packaged template points the mapping at its own SendQueue.
SEND_QUEUE_ARN = os.environ.get(
    "HARK_SEND_QUEUE_ARN", "arn:aws:sqs:us-east-1:000000000000:replaced-by-template"
)


@app.on_sqs_message(queue_arn=SEND_QUEUE_ARN, batch_size=10, name="sender")
def sender(event: Any) -> dict[str, Any]:
    return sender_handler.handle_send_event(event.to_dict(), getattr(event, "context", None))


# Bounces and complaints: the SES configuration set's event destination publishes to this topic
# (the packaged template names its own; the local stack calls the handler directly).
SES_EVENTS_TOPIC_ARN = os.environ.get(
    "HARK_SES_EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:000000000000:replaced-by-template"
)


@app.on_sns_message(topic=SES_EVENTS_TOPIC_ARN, name="ses_events")
def ses_events(event: Any) -> dict[str, int]:
    return ses_events_handler.handle_sns_event(event.to_dict(), getattr(event, "context", None))

"""The CloudFormation resources Chalice does not write, as a `chalice package --merge-template` file.

`make package STAGE=…` runs `python -m infra.template STAGE OUT.json`, then
`chalice package --pkg-format cloudformation --stage STAGE --merge-template OUT.json build/STAGE`.
Chalice deep-merges this file into its SAM template: dictionaries merge key by key, anything
else here replaces Chalice's value. So this file both adds resources (tables, failure queue,
roles, alarms) and overrides parts of Chalice's functions (role, environment, the stream
mapping's ARN and retry settings).

The tables come from infra/tables.json (the one definition `make dev` and the tests use too);
their names and the per-stage switches come from the stage in chalice.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from infra.tables import TABLE_SETTINGS, resources

ROOT = Path(__file__).resolve().parents[1]
CHALICE_JSON = ROOT / "chalice.json"

# Chalice's logical ids for the two functions and the aggregator's stream event.
API_FUNCTION = "APIHandler"
AGGREGATOR_FUNCTION = "Aggregator"
STREAM_EVENT = "AggregatorDynamodbEventSource"
# The stream's second reader (webhook events) and the webhook delivery worker (SQS).
WEBHOOK_EVENTS_FUNCTION = "WebhookEvents"
WEBHOOK_EVENTS_STREAM_EVENT = "WebhookEventsDynamodbEventSource"
WEBHOOK_DELIVERY_FUNCTION = "WebhookDelivery"
WEBHOOK_DELIVERY_SQS_EVENT = "WebhookDeliverySqsEventSource"
# Deliveries wait in the queue between retries (SendMessage with a delay), so the message
# must outlive the whole retry budget (HARK_WEBHOOK_RETRY_DELAYS sums to under two hours).
WEBHOOK_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
WEBHOOK_DELIVERY_TIMEOUT_SECONDS = 60
# Sending (docs/sending.md): the scheduler (an EventBridge rule, every minute) fills the send
# queue; the sender drains it at a bounded concurrency, so a large batch goes out at a pace SES
# accepts (throttled sends return to the queue; after SEND_MAX_RECEIVES tries a message moves to
# the dead-letter queue, and the invitation's lapsed claim brings it back at the next tick).
SEND_SCHEDULER_FUNCTION = "SendScheduler"
SENDER_FUNCTION = "Sender"
SENDER_SQS_EVENT = "SenderSqsEventSource"
SENDER_TIMEOUT_SECONDS = 30
SENDER_MAX_CONCURRENCY = 5
SEND_MAX_RECEIVES = 10
SES_EVENTS_FUNCTION = "SesEvents"
# Closing the loop (docs/follow-ups.md): every minute the sweep marks follow-ups past their
# deadline overdue, once each (the mark's stream record raises follow_up.overdue).
FOLLOW_UP_SWEEP_FUNCTION = "FollowUpSweep"
SES_EVENTS_SNS_EVENT = "SesEventsSnsSubscription"
# Scores at scale (docs/scale.md): each stream shard's aggregator writes a batch's ledger entries
# with pending deltas and names them on this FIFO queue, grouped by survey; the tally writer, one
# at a time per survey, applies them to the tallies. After SCORES_MAX_RECEIVES failed tries a
# message moves to a dead-letter queue; its deltas stay pending, and `hark rebuild` applies them.
TALLY_WRITER_FUNCTION = "TallyWriter"
TALLY_WRITER_SQS_EVENT = "TallyWriterSqsEventSource"
TALLY_WRITER_TIMEOUT_SECONDS = 60
SCORES_MAX_RECEIVES = 10
# Each Lambda's own entry point in the zip (chalice packages functions/ at its root): a module
# per function, so a cold start loads only what that function runs (no routes, no Chalice). The
# API alone starts from app.py. The local stack (infra/local/stack.py) drives these same
# handlers; app.py's Chalice declarations delegate to them for `chalice package`/local runs.
API_HANDLER = "app.app"
HANDLERS = {
    API_FUNCTION: API_HANDLER,
    AGGREGATOR_FUNCTION: "functions.aggregator.handler.handle_stream_event",
    WEBHOOK_EVENTS_FUNCTION: "functions.webhooks.events.handle_stream_event",
    WEBHOOK_DELIVERY_FUNCTION: "functions.webhooks.delivery.handle_delivery_event",
    SEND_SCHEDULER_FUNCTION: "functions.sending.scheduler.handle_tick",
    SENDER_FUNCTION: "functions.sending.sender.handle_send_event",
    SES_EVENTS_FUNCTION: "functions.sending.ses_events.handle_sns_event",
    FOLLOW_UP_SWEEP_FUNCTION: "functions.follow_ups.sweep.handle_tick",
    TALLY_WRITER_FUNCTION: "functions.aggregator.writer.handle_queue_event",
}
AGGREGATOR_HANDLER = HANDLERS[AGGREGATOR_FUNCTION]

# The stream mapping (docs/deploy.md). Retries are bounded and a failing record is bisected down to
# itself; after the last attempt (or once a record is older than the age limit) Lambda sends
# the record's position to the failure queue, where `hark rebuild` or a replay picks it up.
# 80 records: the aggregator writes a batch's ledger entries with their tally changes in
# transactions of at most 100 items, each touched (segment, day) adding its day tally, month
# tally and total, so 80 answers to one survey in 6 segments (80 + 18 items) fit in one and
# each tally is written once per batch (docs/scale.md, `make bench`).
STREAM_MAPPING = {
    "BatchSize": 80,
    "MaximumBatchingWindowInSeconds": 1,
    "StartingPosition": "TRIM_HORIZON",
    "ParallelizationFactor": 1,
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 10,
    "MaximumRecordAgeInSeconds": 6 * 3600,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
}
FAILURE_QUEUE_RETENTION_SECONDS = 14 * 24 * 3600  # SQS's maximum

# What each function may do to the data, table by table (least privilege: no "*").
TABLE_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"]
TABLE_WRITE = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]
API_TABLE_ACCESS = {
    "CoreTable": TABLE_READ + TABLE_WRITE,
    "ResponsesTable": TABLE_READ + TABLE_WRITE,
    "ScoresTable": TABLE_READ,
}
# It puts ledger entries and pending deltas and ADDs to tallies (in transactions) and to the
# segment index; it deletes nothing (rebuild, which moves entries, runs as the operator).
AGGREGATOR_TABLE_ACCESS = {
    "ScoresTable": [*TABLE_READ, "dynamodb:PutItem", "dynamodb:UpdateItem"],
}
# SecureStrings the API reads (stack parameter -> the setting that names it). `make deploy`
# creates the signing keys and the phone hash key when missing; the Twilio token is yours to put.
SECRET_PARAMETERS = {
    "SigningKeysParameter": "HARK_SIGNING_KEYS_PARAMETER",
    "TwilioAuthTokenParameter": "HARK_TWILIO_AUTH_TOKEN_PARAMETER",
    "PhoneHashKeyParameter": "HARK_PHONE_HASH_KEY_PARAMETER",
}
SECRET_PARAMETER_DEFAULTS = {
    "SigningKeysParameter": ("signing-keys", "the link-signing keys, 'kid:secret,kid:secret'"),
    "TwilioAuthTokenParameter": ("twilio-auth-token", "the Twilio auth token (optional: Twilio replies)"),
    "PhoneHashKeyParameter": (
        "phone-hash-key",
        "the key (32+ characters) of the hash that stands in for phones",
    ),
}
# The webhook functions read only subscriptions, ``TENANT#<tenant>`` / ``WEBHOOK#<id>``, with
# GetItem and Query on the table itself. dynamodb:LeadingKeys confines them to partition keys
# of that shape, so API key hashes (``KEY#``), people (``TENANT#<t>#PEOPLE``), opt-outs and
# every other record in the core table stay out of their reach.
WEBHOOK_LEADING_KEYS = {
    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TENANT#*"]},
    "ForAllValues:StringNotLike": {"dynamodb:LeadingKeys": ["TENANT#*#*"]},
}
WEBHOOK_READ = ["dynamodb:GetItem", "dynamodb:Query"]
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
# What a function fed by an SQS event source mapping needs on its queue.
SQS_CONSUME = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]

ITERATOR_AGE_LIMIT_MS = 60_000


def stage_config(stage: str) -> dict[str, Any]:
    """The stage's settings from chalice.json (global values, then the stage's own)."""
    config = json.loads(CHALICE_JSON.read_text())
    if stage not in config.get("stages", {}):
        raise SystemExit(f"chalice.json has no stage {stage!r} (stages: {', '.join(config['stages'])})")
    stage_cfg = config["stages"][stage]
    env = {**config.get("environment_variables", {}), **stage_cfg.get("environment_variables", {})}
    return {
        "env": env,
        "xray": bool(stage_cfg.get("xray", config.get("xray", False))),
    }


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def _stream_consumer(event: str) -> dict[str, Any]:
    """A function's mapping from the responses stream, bounded, failures to the failure queue."""
    return {
        event: {
            "Properties": {
                "Stream": {"Fn::GetAtt": ["ResponsesTable", "StreamArn"]},
                **STREAM_MAPPING,
                "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": _arn("FailureQueue")}},
            }
        }
    }


def _arn(logical: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, "Arn"]}


def _table_statement(sid: str, logical: str, actions: list[str]) -> dict[str, Any]:
    """Actions on a table and its indexes (queries on a GSI need the index ARN)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": [_arn(logical), _sub(f"${{{logical}.Arn}}/index/*")],
    }


def _logs_statement(function_suffix: str) -> dict[str, Any]:
    return {
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": _sub(
            "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
            f"/aws/lambda/${{AWS::StackName}}-{function_suffix}:*"
        ),
    }


# X-Ray accepts no resource-level permissions; this is the only "*" and it grants no data access.
XRAY_STATEMENT = {
    "Sid": "SendTraces",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}


def _parameter_arn(logical: str) -> Any:
    return _sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{logical}}}")


def _role(statements: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": name,
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


# What a reader of the responses stream needs (the aggregator and the webhook events function).
STREAM_READER = [
    {
        "Sid": "ReadResponsesStream",
        "Effect": "Allow",
        "Action": STREAM_READ,
        "Resource": {"Fn::GetAtt": ["ResponsesTable", "StreamArn"]},
    },
    {
        "Sid": "ListResponsesStreams",
        "Effect": "Allow",
        "Action": ["dynamodb:ListStreams"],
        "Resource": _sub("${ResponsesTable.Arn}/stream/*"),
    },
]


def roles(xray: bool) -> dict[str, Any]:
    api = [_logs_statement("api")]
    for logical, actions in API_TABLE_ACCESS.items():
        api.append(_table_statement(f"{logical}Access", logical, actions))
    api.append(
        {
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [
                _sub(
                    f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{logical}}}"
                )
                for logical in SECRET_PARAMETERS
            ],
        }
    )
    aggregator = [_logs_statement("aggregator")]
    for logical, actions in AGGREGATOR_TABLE_ACCESS.items():
        aggregator.append(_table_statement(f"{logical}Access", logical, actions))
    aggregator += [
        *STREAM_READER,
        {
            "Sid": "SendFailedRecordsAndPendingDeltas",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [_arn("FailureQueue"), _arn("ScoresQueue")],
        },
        {
            # Opening a follow-up (docs/follow-ups.md): one conditional UpdateItem on the response;
            # never a put or a delete of a response.
            "Sid": "OpenFollowUps",
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem"],
            "Resource": _arn("ResponsesTable"),
        },
    ]
    tally_writer = [
        _logs_statement("tally-writer"),
        # It reads pending deltas (a Query, for a replayed message) and commits transactions of
        # tally ADDs and pending-delta deletes: nothing else.
        _table_statement(
            "ScoresTableAccess",
            "ScoresTable",
            ["dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"],
        ),
        {
            "Sid": "ConsumePendingDeltas",
            "Effect": "Allow",
            "Action": SQS_CONSUME,
            "Resource": _arn("ScoresQueue"),
        },
    ]
    events = [_logs_statement("webhook-events")]
    delivery = [_logs_statement("webhook-delivery")]
    for statements in (events, delivery):
        statements.append(
            {
                "Sid": "ReadWebhookSubscriptions",
                "Effect": "Allow",
                "Action": WEBHOOK_READ,
                "Resource": _arn("CoreTable"),  # no index: subscriptions are read by key
                "Condition": WEBHOOK_LEADING_KEYS,
            }
        )
    events += [
        *STREAM_READER,
        {
            "Sid": "QueueDeliveriesAndFailedRecords",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [_arn("WebhookQueue"), _arn("FailureQueue")],
        },
        {
            # A follow-up event carries the response's public id, sealed with the signing key.
            "Sid": "ReadSigningKeys",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": _sub(
                "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${SigningKeysParameter}"
            ),
        },
    ]
    delivery += [
        {
            "Sid": "ConsumeDeliveries",
            "Effect": "Allow",
            "Action": SQS_CONSUME,
            "Resource": _arn("WebhookQueue"),
        },
        {
            "Sid": "RetryLaterOrGiveUp",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": [_arn("WebhookQueue"), _arn("WebhookDeadLetterQueue")],
        },
    ]
    scheduler = [
        _logs_statement("send-scheduler"),
        {
            "Sid": "ReadDueSends",
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": _sub("${ResponsesTable.Arn}/index/by_send_due"),
        },
        {
            "Sid": "QueueSends",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": _arn("SendQueue"),
        },
    ]
    sender = [
        _logs_statement("sender"),
        {
            "Sid": "ClaimAndRecordSends",
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem"],
            "Resource": _arn("ResponsesTable"),
        },
        {
            "Sid": "ReadSurveyAndUnsubscribes",
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:GetItem"],
            "Resource": _arn("CoreTable"),
        },
        {"Sid": "ConsumeSends", "Effect": "Allow", "Action": SQS_CONSUME, "Resource": _arn("SendQueue")},
        {
            # The signing keys sign the email's links and open the sealed address; the Twilio
            # auth token sends the texts of tenants whose sms.provider is twilio; the phone hash
            # key keys the hashed unsubscribe and bounce lists checked before each send.
            "Sid": "ReadSigningKeys",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [
                _parameter_arn(logical)
                for logical in ("SigningKeysParameter", "TwilioAuthTokenParameter", "PhoneHashKeyParameter")
            ],
        },
        {
            # Only from the configured identity (a domain or an address verified in SES).
            "Sid": "SendEmail",
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": [
                _sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderIdentity}"),
                _sub(
                    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                    "configuration-set/${SesConfigurationSet}"
                ),
            ],
        },
    ]
    sender.append(
        {
            # SNS's publish-to-a-phone call has no resource to name (it is not a topic); this
            # grants texting and nothing else.
            "Sid": "SendTexts",
            "Effect": "Allow",
            "Action": ["sns:Publish"],
            "Resource": "*",
        }
    )
    sweep = [
        _logs_statement("follow-up-sweep"),
        {
            "Sid": "ReadDueFollowUps",
            "Effect": "Allow",
            "Action": ["dynamodb:Query"],
            "Resource": _sub("${ResponsesTable.Arn}/index/follow_ups_due"),
        },
        {
            "Sid": "MarkOverdue",
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem"],
            "Resource": _arn("ResponsesTable"),
        },
    ]
    ses_events = [
        _logs_statement("ses-events"),
        {
            "Sid": "MarkInvitations",
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem"],
            "Resource": _arn("ResponsesTable"),
        },
        {
            "Sid": "SuppressAddresses",
            "Effect": "Allow",
            "Action": ["dynamodb:UpdateItem"],
            "Resource": _arn("CoreTable"),
        },
        {
            # The suppression lists are keyed by a keyed hash of the address (docs/security.md).
            "Sid": "ReadAddressHashKeys",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [
                _parameter_arn(logical) for logical in ("SigningKeysParameter", "PhoneHashKeyParameter")
            ],
        },
    ]
    if xray:
        for statements in (
            api,
            aggregator,
            tally_writer,
            events,
            delivery,
            scheduler,
            sender,
            ses_events,
            sweep,
        ):
            statements.append(XRAY_STATEMENT)
    return {
        "ApiRole": _role(api, "hark-api"),
        "AggregatorRole": _role(aggregator, "hark-aggregator"),
        "TallyWriterRole": _role(tally_writer, "hark-tally-writer"),
        "WebhookEventsRole": _role(events, "hark-webhook-events"),
        "WebhookDeliveryRole": _role(delivery, "hark-webhook-delivery"),
        "SendSchedulerRole": _role(scheduler, "hark-send-scheduler"),
        "SenderRole": _role(sender, "hark-sender"),
        "SesEventsRole": _role(ses_events, "hark-ses-events"),
        "FollowUpSweepRole": _role(sweep, "hark-follow-up-sweep"),
    }


def tables(env: dict[str, str]) -> dict[str, Any]:
    """The tables of infra/tables.json, named as the stage names them in chalice.json."""
    out = {}
    for logical, resource in resources().items():
        resource = json.loads(json.dumps(resource))
        resource["Properties"]["TableName"] = env[TABLE_SETTINGS[logical]]
        out[logical] = resource
    return out


def _alarm(
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    *,
    threshold: float,
    statistic: str = "Sum",
    periods: int = 1,
    period: int = 300,
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": statistic,
            "Period": period,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": "AlarmTopic"}],
            "OKActions": [{"Ref": "AlarmTopic"}],
        },
    }


def _messages_waiting_alarm(description: str, queue: str) -> dict[str, Any]:
    """Any message waiting in `queue` (a failure or dead-letter queue: work that gave up)."""
    return _alarm(
        description,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}},
        threshold=1,
        statistic="Maximum",
    )


def _batch_errors_alarm(description: str, function: str) -> dict[str, Any]:
    """`function` failing whole batches in two periods running."""
    return _alarm(
        description, "AWS/Lambda", "Errors", {"FunctionName": {"Ref": function}}, threshold=1, periods=2
    )


def alarms(env: dict[str, str]) -> dict[str, Any]:
    out = {
        "FailureQueueDepthAlarm": _messages_waiting_alarm(
            "Stream records the aggregator gave up on are waiting in the failure queue: "
            "scores may be stale. Fix the cause, then run `hark rebuild`.",
            "FailureQueue",
        ),
        "IteratorAgeAlarm": _alarm(
            "The aggregator is more than a minute behind the responses stream.",
            "AWS/Lambda",
            "IteratorAge",
            {"FunctionName": {"Ref": AGGREGATOR_FUNCTION}},
            threshold=ITERATOR_AGE_LIMIT_MS,
            statistic="Maximum",
            periods=3,
            period=60,
        ),
        "AggregatorErrorsAlarm": _batch_errors_alarm(
            "The aggregator failed whole batches (they are retried, then sent to the failure queue).",
            AGGREGATOR_FUNCTION,
        ),
        "ScoresDeadLetterAlarm": _messages_waiting_alarm(
            "Pending score deltas the tally writer gave up on wait in the scores dead-letter queue: "
            "scores lag. Fix the cause, then run `hark rebuild` (it applies what is pending).",
            "ScoresDeadLetterQueue",
        ),
        "ScoresQueueAgeAlarm": _alarm(
            "The tally writer is more than a minute behind: scores lag the answers.",
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": {"Fn::GetAtt": ["ScoresQueue", "QueueName"]}},
            threshold=60,
            statistic="Maximum",
            periods=3,
            period=60,
        ),
        "TallyWriterErrorsAlarm": _batch_errors_alarm(
            "The tally writer failed batches (their messages come back; after 10 tries they move "
            "to the scores dead-letter queue).",
            TALLY_WRITER_FUNCTION,
        ),
        "SendDeadLetterAlarm": _messages_waiting_alarm(
            "Sends gave up after their retries and wait in the send dead-letter queue (the "
            "scheduler queues their invitations again once their claim lapses): check SES.",
            "SendDeadLetterQueue",
        ),
        "SenderErrorsAlarm": _batch_errors_alarm(
            "The sender failed whole batches (their sends are retried).", SENDER_FUNCTION
        ),
        "Api5xxAlarm": _alarm(
            "The API answered with 5xx errors (a 500 is a bug; 503s mean DynamoDB throttled).",
            "AWS/ApiGateway",
            "5XXError",
            {"ApiName": {"Ref": "AWS::StackName"}, "Stage": "api"},
            threshold=5,
        ),
    }
    for logical in (API_FUNCTION, AGGREGATOR_FUNCTION, TALLY_WRITER_FUNCTION):
        out[f"{logical}ThrottlesAlarm"] = _alarm(
            f"Lambda throttled {logical}: raise its concurrency limit or the account's.",
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": {"Ref": logical}},
            threshold=1,
        )
    for logical in TABLE_SETTINGS:
        for kind in ("Read", "Write"):
            out[f"{logical}{kind}ThrottlesAlarm"] = _alarm(
                f"DynamoDB throttled {kind.lower()}s on {env[TABLE_SETTINGS[logical]]}.",
                "AWS/DynamoDB",
                f"{kind}ThrottleEvents",
                {"TableName": {"Ref": logical}},
                threshold=1,
            )
    return out


# ---- rate limits per API key (AWS WAF; docs/security.md, "Expensive reads") ----------------------

RATE_LIMIT_PARAMETER = "ApiRequestsPerKeyPer5Minutes"
RATE_LIMIT_CONDITION = "HasApiRateLimit"
DEFAULT_REQUESTS_PER_KEY = 3000  # per 5 minutes: 10 a second, sustained
RATE_LIMITED_BODY = json.dumps(
    {
        "error": {
            "code": "rate_limited",
            "message": "too many requests with this API key; try again in a minute",
            "field": None,
        }
    },
    separators=(",", ":"),
)


def rate_limit_parameters() -> dict[str, Any]:
    return {
        RATE_LIMIT_PARAMETER: {
            "Type": "Number",
            "Default": DEFAULT_REQUESTS_PER_KEY,
            "MinValue": 0,
            "MaxValue": 2_000_000_000,
            "Description": "Requests one Authorization header (one API key) may make in any 5 minutes, "
            "across every Lambda instance (AWS WAF rate-based rule; over it: 429). 0: no web ACL.",
        }
    }


def rate_limit_conditions() -> dict[str, Any]:
    return {RATE_LIMIT_CONDITION: {"Fn::Not": [{"Fn::Equals": [{"Ref": RATE_LIMIT_PARAMETER}, 0]}]}}


def rate_limits(stage: str) -> dict[str, Any]:
    """A regional web ACL on the API's stage with one rate-based rule keyed by the Authorization
    header: one API key (Bearer or Delighted's Basic) gets at most the parameter's requests per
    5 minutes in total, however many Lambda instances serve it. Requests without the header
    (customer pages) are not counted here; they have per-address and per-link limits in the app.
    """
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True}
    return {
        "ApiWebAcl": {
            "Type": "AWS::WAFv2::WebACL",
            "Condition": RATE_LIMIT_CONDITION,
            "Properties": {
                "Name": _sub("${AWS::StackName}-api"),
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "CustomResponseBodies": {
                    "rate-limited": {"ContentType": "APPLICATION_JSON", "Content": RATE_LIMITED_BODY}
                },
                "Rules": [
                    {
                        "Name": "requests-per-api-key",
                        "Priority": 0,
                        "Action": {
                            "Block": {
                                "CustomResponse": {
                                    "ResponseCode": 429,
                                    "CustomResponseBodyKey": "rate-limited",
                                    "ResponseHeaders": [{"Name": "Retry-After", "Value": "60"}],
                                }
                            }
                        },
                        "Statement": {
                            "RateBasedStatement": {
                                "Limit": {"Ref": RATE_LIMIT_PARAMETER},
                                "EvaluationWindowSec": 300,
                                "AggregateKeyType": "CUSTOM_KEYS",
                                "CustomKeys": [
                                    {
                                        "Header": {
                                            "Name": "authorization",
                                            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                                        }
                                    }
                                ],
                            }
                        },
                        "VisibilityConfig": {**visibility, "MetricName": f"hark-{stage}-per-api-key"},
                    }
                ],
                "VisibilityConfig": {**visibility, "MetricName": f"hark-{stage}-api"},
            },
        },
        "ApiWebAclAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Condition": RATE_LIMIT_CONDITION,
            # SAM names the API's stage resource; the association must wait for it.
            "DependsOn": ["RestAPIapiStage"],
            "Properties": {
                "ResourceArn": _sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/api"
                ),
                "WebACLArn": {"Fn::GetAtt": ["ApiWebAcl", "Arn"]},
            },
        },
    }


def function_environment() -> dict[str, Any]:
    """Environment overrides: table names and secrets come from the stack, not from chalice.json."""
    variables: dict[str, Any] = {setting: {"Ref": logical} for logical, setting in TABLE_SETTINGS.items()}
    variables["HARK_PUBLIC_BASE_URL"] = {"Ref": "PublicBaseUrl"}
    variables["HARK_SIGNING_KEYS_PARAMETER"] = {"Ref": "SigningKeysParameter"}
    # The SMS secrets likewise: the functions read them from SSM, never from their environment.
    for logical, setting in SECRET_PARAMETERS.items():
        variables[setting] = {"Ref": logical}
    variables["HARK_WEBHOOK_QUEUE_URL"] = {"Ref": "WebhookQueue"}
    variables["HARK_WEBHOOK_DEAD_LETTER_QUEUE_URL"] = {"Ref": "WebhookDeadLetterQueue"}
    variables["HARK_SEND_QUEUE_URL"] = {"Ref": "SendQueue"}
    variables["HARK_SCORES_QUEUE_URL"] = {"Ref": "ScoresQueue"}
    variables["HARK_EMAIL_FROM"] = {"Ref": "EmailFrom"}
    # Every email_from (tenant settings, surveys) must be on the identity the sender may use.
    variables["HARK_SES_IDENTITY"] = {"Ref": "SenderIdentity"}
    variables["HARK_SES_CONFIGURATION_SET"] = {"Ref": "SesConfigurationSet"}
    variables["HARK_TWILIO_ACCOUNT_SID"] = {"Ref": "TwilioAccountSid"}
    return {"Variables": variables}


def merge_template(stage: str) -> dict[str, Any]:
    """The `--merge-template` document for `stage`."""
    config = stage_config(stage)
    env: dict[str, str] = config["env"]
    xray: bool = config["xray"]
    environment = function_environment()
    return {
        "Description": f"Hark ({stage}): survey API, responses stream aggregator, tables and alarms",
        "Parameters": {
            **{
                logical: {
                    "Type": "String",
                    "Default": f"/hark/{stage}/{leaf}",
                    "AllowedPattern": "^/[A-Za-z0-9_.\\-/]+$",
                    "Description": f"SSM SecureString holding {what}",
                }
                for logical, (leaf, what) in SECRET_PARAMETER_DEFAULTS.items()
            },
            "PublicBaseUrl": {
                "Type": "String",
                "Default": env.get("HARK_PUBLIC_BASE_URL", ""),
                "Description": "Base of customer links (your domain, or the API's EndpointURL); "
                "`make deploy` fills it with EndpointURL when empty",
            },
            "AlarmEmail": {
                "Type": "String",
                "Default": "",
                "Description": "Optional e-mail address subscribed to the alarm topic",
            },
            "EmailFrom": {
                "Type": "String",
                "Default": env.get("HARK_EMAIL_FROM", ""),
                "Description": "Default sender of survey emails (a tenant's or a survey's email_from "
                "wins); an address of SenderIdentity (docs/sending.md)",
            },
            "SenderIdentity": {
                "Type": "String",
                "Default": (env.get("HARK_EMAIL_FROM") or "example.com").rpartition("@")[2],
                "AllowedPattern": "^[A-Za-z0-9@._+\\-]+$",
                "Description": "The SES identity (verified domain or address) the sender may send from; "
                "every email_from must be on it",
            },
            "TwilioAccountSid": {
                "Type": "String",
                "Default": env.get("HARK_TWILIO_ACCOUNT_SID", ""),
                "AllowedPattern": "^(AC[0-9a-fA-F]{32})?$",
                "Description": "Twilio account SID for survey texts of tenants whose sms.provider is "
                "twilio (its auth token is TwilioAuthTokenParameter; docs/sending.md)",
            },
            **rate_limit_parameters(),
        },
        "Conditions": {
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
            **rate_limit_conditions(),
        },
        "Resources": {
            **tables(env),
            "FailureQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "MessageRetentionPeriod": FAILURE_QUEUE_RETENTION_SECONDS,
                    "SqsManagedSseEnabled": True,
                },
            },
            "ScoresQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": _sub("${AWS::StackName}-scores.fifo"),
                    "FifoQueue": True,
                    # High-throughput FIFO: the limits apply per message group (survey).
                    "DeduplicationScope": "messageGroup",
                    "FifoThroughputLimit": "perMessageGroupId",
                    "VisibilityTimeout": TALLY_WRITER_TIMEOUT_SECONDS * 6,
                    "SqsManagedSseEnabled": True,
                    "RedrivePolicy": {
                        "deadLetterTargetArn": _arn("ScoresDeadLetterQueue"),
                        "maxReceiveCount": SCORES_MAX_RECEIVES,
                    },
                },
            },
            "ScoresDeadLetterQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": _sub("${AWS::StackName}-scores-dead-letters.fifo"),
                    "FifoQueue": True,
                    "MessageRetentionPeriod": FAILURE_QUEUE_RETENTION_SECONDS,
                    "SqsManagedSseEnabled": True,
                },
            },
            "WebhookQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": _sub("${AWS::StackName}-webhook-deliveries"),
                    "MessageRetentionPeriod": WEBHOOK_QUEUE_RETENTION_SECONDS,
                    # Longer than the delivery function's timeout, as Lambda requires.
                    "VisibilityTimeout": WEBHOOK_DELIVERY_TIMEOUT_SECONDS * 6,
                    "SqsManagedSseEnabled": True,
                },
            },
            "WebhookDeadLetterQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "MessageRetentionPeriod": FAILURE_QUEUE_RETENTION_SECONDS,
                    "SqsManagedSseEnabled": True,
                },
            },
            "SendQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "QueueName": _sub("${AWS::StackName}-sends"),
                    # Longer than the sender's timeout, as Lambda requires; also the pause
                    # before a throttled send is tried again.
                    "VisibilityTimeout": SENDER_TIMEOUT_SECONDS * 6,
                    "SqsManagedSseEnabled": True,
                    "RedrivePolicy": {
                        "deadLetterTargetArn": _arn("SendDeadLetterQueue"),
                        "maxReceiveCount": SEND_MAX_RECEIVES,
                    },
                },
            },
            "SendDeadLetterQueue": {
                "Type": "AWS::SQS::Queue",
                "Properties": {
                    "MessageRetentionPeriod": FAILURE_QUEUE_RETENTION_SECONDS,
                    "SqsManagedSseEnabled": True,
                },
            },
            # Bounces and complaints: SES publishes the configuration set's events to this topic,
            # which triggers the SES-events function (docs/sending.md).
            "SesConfigurationSet": {
                "Type": "AWS::SES::ConfigurationSet",
                "Properties": {"Name": _sub("${AWS::StackName}-sends")},
            },
            "SesEventsTopic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": _sub("${AWS::StackName}-ses-events")},
            },
            "SesEventsTopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [{"Ref": "SesEventsTopic"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "SesPublishes",
                                "Effect": "Allow",
                                "Principal": {"Service": "ses.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": {"Ref": "SesEventsTopic"},
                                "Condition": {
                                    "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}
                                },
                            }
                        ],
                    },
                },
            },
            "SesEventDestination": {
                "Type": "AWS::SES::ConfigurationSetEventDestination",
                "Properties": {
                    "ConfigurationSetName": {"Ref": "SesConfigurationSet"},
                    "EventDestination": {
                        "Name": "bounces-and-complaints",
                        "Enabled": True,
                        "MatchingEventTypes": ["bounce", "complaint"],
                        "SnsDestination": {"TopicARN": {"Ref": "SesEventsTopic"}},
                    },
                },
            },
            # Not encrypted with the AWS-managed SNS key: CloudWatch alarms cannot publish to such
            # a topic (its key policy does not let CloudWatch use it). Alarm messages hold no data.
            "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": f"Hark {stage} alarms"}},
            "AlarmEmailSubscription": {
                "Type": "AWS::SNS::Subscription",
                "Condition": "HasAlarmEmail",
                "Properties": {
                    "TopicArn": {"Ref": "AlarmTopic"},
                    "Protocol": "email",
                    "Endpoint": {"Ref": "AlarmEmail"},
                },
            },
            **roles(xray),
            **alarms(env),
            **rate_limits(stage),
            API_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-api"),
                    "Role": _arn("ApiRole"),
                    "Environment": environment,
                }
            },
            AGGREGATOR_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-aggregator"),
                    # Its own entry, not app.py's: a cold start loads no routes, no Chalice.
                    "Handler": HANDLERS[AGGREGATOR_FUNCTION],
                    "Role": _arn("AggregatorRole"),
                    "Environment": environment,
                    "Events": _stream_consumer(STREAM_EVENT),
                }
            },
            TALLY_WRITER_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-tally-writer"),
                    "Handler": HANDLERS[TALLY_WRITER_FUNCTION],
                    "Role": _arn("TallyWriterRole"),
                    "Environment": environment,
                    "Timeout": TALLY_WRITER_TIMEOUT_SECONDS,
                    "Events": {
                        TALLY_WRITER_SQS_EVENT: {
                            "Properties": {
                                "Queue": _arn("ScoresQueue"),
                                "BatchSize": 10,
                                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            }
                        }
                    },
                }
            },
            "TallyWriterLogGroup": {
                "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{TALLY_WRITER_FUNCTION}}}")}
            },
            WEBHOOK_EVENTS_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-webhook-events"),
                    "Handler": HANDLERS[WEBHOOK_EVENTS_FUNCTION],
                    "Role": _arn("WebhookEventsRole"),
                    "Environment": environment,
                    "Events": _stream_consumer(WEBHOOK_EVENTS_STREAM_EVENT),
                }
            },
            WEBHOOK_DELIVERY_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-webhook-delivery"),
                    "Handler": HANDLERS[WEBHOOK_DELIVERY_FUNCTION],
                    "Role": _arn("WebhookDeliveryRole"),
                    "Environment": environment,
                    "Timeout": WEBHOOK_DELIVERY_TIMEOUT_SECONDS,
                    "Events": {
                        WEBHOOK_DELIVERY_SQS_EVENT: {
                            "Properties": {
                                "Queue": _arn("WebhookQueue"),
                                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            }
                        }
                    },
                }
            },
            SEND_SCHEDULER_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-send-scheduler"),
                    "Handler": HANDLERS[SEND_SCHEDULER_FUNCTION],
                    "Role": _arn("SendSchedulerRole"),
                    "Environment": environment,
                }
            },
            FOLLOW_UP_SWEEP_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-follow-up-sweep"),
                    "Handler": HANDLERS[FOLLOW_UP_SWEEP_FUNCTION],
                    "Role": _arn("FollowUpSweepRole"),
                    "Environment": environment,
                }
            },
            "FollowUpSweepLogGroup": {
                "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{FOLLOW_UP_SWEEP_FUNCTION}}}")}
            },
            SENDER_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-sender"),
                    "Handler": HANDLERS[SENDER_FUNCTION],
                    "Role": _arn("SenderRole"),
                    "Environment": environment,
                    "Timeout": SENDER_TIMEOUT_SECONDS,
                    "Events": {
                        SENDER_SQS_EVENT: {
                            "Properties": {
                                "Queue": _arn("SendQueue"),
                                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                                "ScalingConfig": {"MaximumConcurrency": SENDER_MAX_CONCURRENCY},
                            }
                        }
                    },
                }
            },
            SES_EVENTS_FUNCTION: {
                "Properties": {
                    "FunctionName": _sub("${AWS::StackName}-ses-events"),
                    "Handler": HANDLERS[SES_EVENTS_FUNCTION],
                    "Role": _arn("SesEventsRole"),
                    "Environment": environment,
                    "Events": {SES_EVENTS_SNS_EVENT: {"Properties": {"Topic": {"Ref": "SesEventsTopic"}}}},
                }
            },
            "SesEventsLogGroup": {
                "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{SES_EVENTS_FUNCTION}}}")}
            },
            "SendSchedulerLogGroup": {
                "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{SEND_SCHEDULER_FUNCTION}}}")}
            },
            "SenderLogGroup": {"Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{SENDER_FUNCTION}}}")}},
            "WebhookEventsLogGroup": {
                "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{WEBHOOK_EVENTS_FUNCTION}}}")}
            },
            "WebhookDeliveryLogGroup": {
                "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{WEBHOOK_DELIVERY_FUNCTION}}}")}
            },
            # Chalice names the log groups after "ApiHandler", which is not a resource here.
            "ApiHandlerLogGroup": {"Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{API_FUNCTION}}}")}},
            "AggregatorLogGroup": {
                "Properties": {"LogGroupName": _sub(f"/aws/lambda/${{{AGGREGATOR_FUNCTION}}}")}
            },
            "RestAPI": {"Properties": {"Name": {"Ref": "AWS::StackName"}, "TracingEnabled": xray}},
        },
        "Outputs": {
            "CoreTableName": {"Value": {"Ref": "CoreTable"}},
            "ResponsesTableName": {"Value": {"Ref": "ResponsesTable"}},
            "ScoresTableName": {"Value": {"Ref": "ScoresTable"}},
            "FailureQueueUrl": {"Value": {"Ref": "FailureQueue"}},
            "ScoresDeadLetterQueueUrl": {"Value": {"Ref": "ScoresDeadLetterQueue"}},
            "WebhookDeadLetterQueueUrl": {"Value": {"Ref": "WebhookDeadLetterQueue"}},
            "SendDeadLetterQueueUrl": {"Value": {"Ref": "SendDeadLetterQueue"}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.template", description=__doc__)
    parser.add_argument("stage")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(merge_template(args.stage), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

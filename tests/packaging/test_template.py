"""The packaged CloudFormation template holds what a production stack needs (docs/deploy.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.tables import resources as table_definitions
from infra.template import stage_config
from tests.packaging.conftest import cfn_check, packaging_python_version

pytestmark = pytest.mark.packaging

STREAM_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}


XRAY = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
DATA_ACTION_PREFIXES = ("dynamodb:", "sqs:", "ssm:", "kms:", "secretsmanager:", "s3:")


def of_type(sam: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in sam["Resources"].items() if r["Type"] == kind}


def statements(sam: dict[str, Any], role: str) -> list[dict[str, Any]]:
    policies = sam["Resources"][role]["Properties"]["Policies"]
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stage", ["dev", "localstack", "prod"])
def test_cfn_lint_accepts_the_translated_template(package: Callable[[str], Path], stage: str) -> None:
    result = cfn_check(package(stage))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 finding(s)" in result.stdout


def test_the_tables_are_the_ones_in_tables_json_with_production_settings(sam: dict[str, Any]) -> None:
    tables = of_type(sam, "AWS::DynamoDB::Table")
    assert set(tables) == set(table_definitions())
    env = stage_config("prod")["env"]
    for name, table in tables.items():
        props = table["Properties"]
        wanted = table_definitions()[name]["Properties"]
        assert props["KeySchema"] == wanted["KeySchema"]
        assert props.get("GlobalSecondaryIndexes") == wanted.get("GlobalSecondaryIndexes")
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["SSESpecification"]["SSEEnabled"] is True
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert table["DeletionPolicy"] in ("Retain", "RetainExceptOnCreate")
        assert table["UpdateReplacePolicy"] == "Retain"
        assert props["TableName"] in env.values()
    responses = tables["ResponsesTable"]["Properties"]
    assert responses["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert responses["TimeToLiveSpecification"] == {"AttributeName": "purge_at", "Enabled": True}


def test_the_stream_mapping_is_bounded_and_reports_partial_failures(sam: dict[str, Any]) -> None:
    events = sam["Resources"]["Aggregator"]["Properties"]["Events"]
    (mapping,) = [e["Properties"] for e in events.values() if e["Type"] == "DynamoDB"]
    assert mapping["Stream"] == {"Fn::GetAtt": ["ResponsesTable", "StreamArn"]}
    assert 1 <= mapping["BatchSize"] <= 1000
    assert 0 < mapping["MaximumBatchingWindowInSeconds"] <= 300
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 <= mapping["MaximumRetryAttempts"] <= 100
    assert 60 <= mapping["MaximumRecordAgeInSeconds"] <= 7 * 24 * 3600
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    failure = mapping["DestinationConfig"]["OnFailure"]
    assert failure["Type"] == "SQS"
    assert failure["Destination"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert sam["Resources"]["FailureQueue"]["Type"] == "AWS::SQS::Queue"


def test_nothing_is_hard_coded_or_left_as_a_placeholder(sam: dict[str, Any]) -> None:
    text = json.dumps(sam)
    assert "000000000000" not in text  # the placeholder account in app.py and chalice.json
    assert "replaced-by" not in text
    assert "arn:aws:dynamodb:" not in text  # table and stream ARNs come from the template


def test_alarms_watch_failures_lag_errors_and_throttles(sam: dict[str, Any]) -> None:
    alarms = of_type(sam, "AWS::CloudWatch::Alarm").values()
    watched = {(a["Properties"]["Namespace"], a["Properties"]["MetricName"]) for a in alarms}
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in watched
    assert ("AWS/Lambda", "IteratorAge") in watched
    assert ("AWS/ApiGateway", "5XXError") in watched
    assert ("AWS/Lambda", "Throttles") in watched
    assert {("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents")} <= watched
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_each_function_has_its_own_least_privilege_role(sam: dict[str, Any]) -> None:
    functions = of_type(sam, "AWS::Serverless::Function")
    roles = {name: f["Properties"]["Role"] for name, f in functions.items()}
    assert roles == {
        "APIHandler": {"Fn::GetAtt": ["ApiRole", "Arn"]},
        "Aggregator": {"Fn::GetAtt": ["AggregatorRole", "Arn"]},
        "WebhookEvents": {"Fn::GetAtt": ["WebhookEventsRole", "Arn"]},
        "WebhookDelivery": {"Fn::GetAtt": ["WebhookDeliveryRole", "Arn"]},
        "SendScheduler": {"Fn::GetAtt": ["SendSchedulerRole", "Arn"]},
        "Sender": {"Fn::GetAtt": ["SenderRole", "Arn"]},
        "SesEvents": {"Fn::GetAtt": ["SesEventsRole", "Arn"]},
        "FollowUpSweep": {"Fn::GetAtt": ["FollowUpSweepRole", "Arn"]},
        "TallyWriter": {"Fn::GetAtt": ["TallyWriterRole", "Arn"]},
    }
    for role in (
        "ApiRole",
        "AggregatorRole",
        "WebhookEventsRole",
        "WebhookDeliveryRole",
        "SendSchedulerRole",
        "SenderRole",
        "SesEventsRole",
        "FollowUpSweepRole",
        "TallyWriterRole",
    ):
        for statement in statements(sam, role):
            actions = as_list(statement["Action"])
            assert all(not a.endswith(":*") and a != "*" for a in actions), statement
            if any(a.startswith(DATA_ACTION_PREFIXES) for a in actions):
                assert "*" not in as_list(statement["Resource"]), statement


def test_only_the_aggregator_and_tally_writer_write_scores_and_only_the_api_reads_the_signing_keys(
    sam: dict[str, Any],
) -> None:
    def grants(role: str, action: str, table: str) -> bool:
        return any(
            action in as_list(s["Action"]) and {"Fn::GetAtt": [table, "Arn"]} in as_list(s["Resource"])
            for s in statements(sam, role)
        )

    assert grants("AggregatorRole", "dynamodb:PutItem", "ScoresTable")
    for action in ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
        assert not grants("AggregatorRole", action, "ScoresTable")
    assert not grants("ApiRole", "dynamodb:PutItem", "ScoresTable")
    assert grants("ApiRole", "dynamodb:UpdateItem", "ResponsesTable")
    # The aggregator opens follow-ups (one UpdateItem on the response), and writes nothing else there.
    assert grants("AggregatorRole", "dynamodb:UpdateItem", "ResponsesTable")
    for action in ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"):
        assert not grants("AggregatorRole", action, "ResponsesTable")
    ssm = [s for s in statements(sam, "ApiRole") if "ssm:GetParameter" in as_list(s["Action"])]
    assert ssm and "${SigningKeysParameter}" in json.dumps(ssm[0]["Resource"])
    assert not any("ssm:GetParameter" in as_list(s["Action"]) for s in statements(sam, "AggregatorRole"))
    stream = [s for s in statements(sam, "AggregatorRole") if "dynamodb:GetRecords" in as_list(s["Action"])]
    assert stream[0]["Resource"] == {"Fn::GetAtt": ["ResponsesTable", "StreamArn"]}
    assert any("sqs:SendMessage" in as_list(s["Action"]) for s in statements(sam, "AggregatorRole"))
    # The tally writer (docs/scale.md) moves tallies and deletes pending deltas, in the scores
    # table only, fed by its FIFO queue grouped by survey.
    assert grants("TallyWriterRole", "dynamodb:UpdateItem", "ScoresTable")
    assert grants("TallyWriterRole", "dynamodb:DeleteItem", "ScoresTable")
    for action in ("dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:Scan"):
        assert not grants("TallyWriterRole", action, "ScoresTable")
    writer_resources = [as_list(s["Resource"]) for s in statements(sam, "TallyWriterRole")]
    for table in ("ResponsesTable", "CoreTable"):
        assert not any({"Fn::GetAtt": [table, "Arn"]} in resources for resources in writer_resources)
    queue = sam["Resources"]["ScoresQueue"]["Properties"]
    assert queue["FifoQueue"] is True and queue["FifoThroughputLimit"] == "perMessageGroupId"
    writer = sam["Resources"]["TallyWriter"]["Properties"]
    assert writer["Handler"] == "functions.aggregator.writer.handle_queue_event"
    (event,) = writer["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["Queue"] == {"Fn::GetAtt": ["ScoresQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    for alarm in ("ScoresDeadLetterAlarm", "ScoresQueueAgeAlarm", "TallyWriterErrorsAlarm"):
        assert sam["Resources"][alarm]["Type"] == "AWS::CloudWatch::Alarm"


def test_functions_take_table_names_and_secrets_from_the_stack(sam: dict[str, Any]) -> None:
    for function in of_type(sam, "AWS::Serverless::Function").values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["HARK_CORE_TABLE"] == {"Ref": "CoreTable"}
        assert env["HARK_RESPONSES_TABLE"] == {"Ref": "ResponsesTable"}
        assert env["HARK_SCORES_TABLE"] == {"Ref": "ScoresTable"}
        assert env["HARK_SIGNING_KEYS_PARAMETER"] == {"Ref": "SigningKeysParameter"}
        assert env["HARK_PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}
        assert "HARK_SIGNING_KEYS" not in env
        assert env["HARK_STAGE"] == "prod"
    assert sam["Parameters"]["SigningKeysParameter"]["Default"] == "/hark/prod/signing-keys"


def test_functions_run_on_a_current_runtime_on_arm64_with_tracing(sam: dict[str, Any]) -> None:
    for function in of_type(sam, "AWS::Serverless::Function").values():
        props = function["Properties"]
        assert props["Architectures"] == ["arm64"]
        assert props["Tracing"] == "Active"  # prod has "xray": true in chalice.json
    if packaging_python_version() < (3, 12):
        pytest.skip(
            "packaged with Python < 3.12 (no python3.12 found): install Python 3.12, rerun `make test`"
        )
    runtimes = {f["Properties"]["Runtime"] for f in of_type(sam, "AWS::Serverless::Function").values()}
    (runtime,) = runtimes
    assert tuple(int(n) for n in runtime.removeprefix("python").split(".")) >= (3, 12)


def test_the_documented_deployer_policy_covers_every_service_the_stack_uses(prod: Path) -> None:
    # Given the template as CloudFormation will create it (SAM resources translated)
    result = cfn_check(prod)
    assert result.returncode == 0, result.stdout
    template = json.loads((prod / "template.json").read_text())
    policy = json.loads((Path(__file__).resolve().parents[2] / "infra" / "deployer-policy.json").read_text())
    granted = {a.split(":")[0] for s in policy["Statement"] for a in as_list(s["Action"])}
    service_of = {
        "DynamoDB": "dynamodb",
        "Lambda": "lambda",
        "IAM": "iam",
        "ApiGateway": "apigateway",
        "Logs": "logs",
        "SQS": "sqs",
        "SNS": "sns",
        "CloudWatch": "cloudwatch",
        "WAFv2": "wafv2",
        "Events": "events",
        "SES": "ses",
    }
    used = {r["Type"].split("::")[1] for r in template["Resources"].values()}
    assert used <= set(service_of), (
        f"a resource type the deployer policy does not know: {used - set(service_of)}"
    )
    assert {service_of[u] for u in used} | {"s3", "ssm", "cloudformation"} <= granted


def iam_like(value: str, pattern: str) -> bool:
    """IAM's StringLike: `*` any run of characters, `?` one character, nothing else special."""
    return (
        re.fullmatch(".*".join(".".join(map(re.escape, p.split("?"))) for p in pattern.split("*")), value)
        is not None
    )


def leading_keys_allow(condition: dict[str, Any], partition_key: str) -> bool:
    like = condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    not_like = condition.get("ForAllValues:StringNotLike", {}).get("dynamodb:LeadingKeys", [])
    return any(iam_like(partition_key, p) for p in like) and not any(
        iam_like(partition_key, p) for p in not_like
    )


@pytest.mark.parametrize("role", ["WebhookEventsRole", "WebhookDeliveryRole"])
def test_the_webhook_roles_reach_only_webhook_subscription_keys(sam: dict[str, Any], role: str) -> None:
    data = [s for s in statements(sam, role) if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
    table_access = [s for s in data if not any(a in STREAM_ACTIONS for a in as_list(s["Action"]))]
    assert table_access, "the webhook functions read their subscriptions"
    for statement in table_access:
        assert set(as_list(statement["Action"])) <= {"dynamodb:GetItem", "dynamodb:Query"}, statement
        assert as_list(statement["Resource"]) == [{"Fn::GetAtt": ["CoreTable", "Arn"]}], statement
        condition = statement["Condition"]
        # Subscriptions live at TENANT#<tenant> / WEBHOOK#<id> (functions/store/webhooks.py).
        assert leading_keys_allow(condition, "TENANT#ten_abc123")
        for other in (
            "KEY#3f9a…",  # API key hashes
            "KEYID#key_1",
            "TENANT#ten_abc123#PEOPLE",  # names, emails, phones
            "TENANT#ten_abc123#UNSUBSCRIBES",
            "TENANT#ten_abc123#SURVEYS",
            "PERSON#ten_abc123#cust-1",
            "OPTOUT#abcd",
            "SURVEY#srv_1",
            "",
        ):
            assert not leading_keys_allow(condition, other), other


def test_sms_secrets_and_signing_keys_come_from_ssm_never_from_the_environment(sam: dict[str, Any]) -> None:
    plain = {"HARK_TWILIO_AUTH_TOKEN", "HARK_PHONE_HASH_KEY", "HARK_SIGNING_KEYS"}
    names = {
        "HARK_SIGNING_KEYS_PARAMETER": "SigningKeysParameter",
        "HARK_TWILIO_AUTH_TOKEN_PARAMETER": "TwilioAuthTokenParameter",
        "HARK_PHONE_HASH_KEY_PARAMETER": "PhoneHashKeyParameter",
    }
    for function in of_type(sam, "AWS::Serverless::Function").values():
        env = function["Properties"]["Environment"]["Variables"]
        assert not plain & set(env), sorted(plain & set(env))
        for setting, parameter in names.items():
            assert env[setting] == {"Ref": parameter}
    for stage in ("prod", "localstack", "dev"):
        assert not plain & set(stage_config(stage)["env"]), stage
    assert sam["Parameters"]["TwilioAuthTokenParameter"]["Default"] == "/hark/prod/twilio-auth-token"
    assert sam["Parameters"]["PhoneHashKeyParameter"]["Default"] == "/hark/prod/phone-hash-key"
    ssm = [s for s in statements(sam, "ApiRole") if "ssm:GetParameter" in as_list(s["Action"])]
    granted = json.dumps([s["Resource"] for s in ssm])
    for parameter in names.values():
        assert "${" + parameter + "}" in granted
    for role in ("AggregatorRole", "WebhookDeliveryRole"):
        assert not any(a.startswith("ssm:") for s in statements(sam, role) for a in as_list(s["Action"]))
    # The webhook consumer seals the response id a follow-up event carries (docs/follow-ups.md):
    # it reads the signing keys and no other secret.
    events = [
        s
        for s in statements(sam, "WebhookEventsRole")
        if any(a.startswith("ssm:") for a in as_list(s["Action"]))
    ]
    assert [as_list(s["Action"]) for s in events] == [["ssm:GetParameter"]]
    assert "${SigningKeysParameter}" in json.dumps(events[0]["Resource"])
    assert "Twilio" not in json.dumps(events[0]["Resource"]) and "PhoneHash" not in json.dumps(
        events[0]["Resource"]
    )


def test_the_sender_can_text_through_twilio_with_the_account_sid_and_the_token_from_ssm(
    sam: dict[str, Any],
) -> None:
    """Twilio's texts (docs/sending.md): the account SID is a stack parameter in the sender's
    environment, and the sender may read the auth token's SecureString, no other secret."""
    parameter = sam["Parameters"]["TwilioAccountSid"]
    assert re.fullmatch(parameter["AllowedPattern"], "AC" + "0" * 32)
    assert re.fullmatch(parameter["AllowedPattern"], "")
    assert not re.fullmatch(parameter["AllowedPattern"], "MG" + "0" * 32)
    env = sam["Resources"]["Sender"]["Properties"]["Environment"]["Variables"]
    assert env["HARK_TWILIO_ACCOUNT_SID"] == {"Ref": "TwilioAccountSid"}
    assert env["HARK_TWILIO_AUTH_TOKEN_PARAMETER"] == {"Ref": "TwilioAuthTokenParameter"}
    reads = [s for s in statements(sam, "SenderRole") if "ssm:GetParameter" in as_list(s["Action"])]
    resources = json.dumps([s["Resource"] for s in reads])
    assert "${TwilioAuthTokenParameter}" in resources and "${SigningKeysParameter}" in resources
    # The unsubscribe and bounce lists it checks before each send are keyed by the phone hash
    # key (functions/store/parameters.py address_hash_secrets): without it every send fails.
    assert "${PhoneHashKeyParameter}" in resources
    assert env["HARK_PHONE_HASH_KEY_PARAMETER"] == {"Ref": "PhoneHashKeyParameter"}


def test_sending_runs_every_minute_from_a_queue_with_a_dead_letter_queue_and_least_privilege(
    sam: dict[str, Any],
) -> None:
    resources = sam["Resources"]
    schedule = resources["SendScheduler"]["Properties"]["Events"]
    assert [e["Properties"]["Schedule"] for e in schedule.values()] == ["rate(1 minute)"]
    [event] = resources["Sender"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["Queue"] == {"Fn::GetAtt": ["SendQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] <= 10
    queue = resources["SendQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["SendDeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= resources["Sender"]["Properties"]["Timeout"]
    ses = [s for s in statements(sam, "SenderRole") if "ses:SendEmail" in as_list(s["Action"])]
    assert ses and "identity/${SenderIdentity}" in json.dumps(ses[0]["Resource"])
    assert not any(
        a.startswith("ses:")
        for role in ("ApiRole", "SendSchedulerRole")
        for s in statements(sam, role)
        for a in as_list(s["Action"])
    )
    texts = [s for s in statements(sam, "SenderRole") if "sns:Publish" in as_list(s["Action"])]
    assert [as_list(s["Action"]) for s in texts] == [["sns:Publish"]]
    assert not any(
        "sns:Publish" in as_list(s["Action"])
        for role in ("ApiRole", "SendSchedulerRole", "SesEventsRole")
        for s in statements(sam, role)
    )
    scheduler = [a for s in statements(sam, "SendSchedulerRole") for a in as_list(s["Action"])]
    assert "dynamodb:UpdateItem" not in scheduler and "dynamodb:Query" in scheduler
    for function in ("Sender", "SendScheduler"):
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert env["HARK_SEND_QUEUE_URL"] == {"Ref": "SendQueue"}
    alarmed = {
        a["Properties"]["Dimensions"][0]["Value"].get("Fn::GetAtt", [None])[0]
        for a in of_type(sam, "AWS::CloudWatch::Alarm").values()
        if isinstance(a["Properties"]["Dimensions"][0]["Value"], dict)
    }
    assert "SendDeadLetterQueue" in alarmed


def test_the_follow_up_sweep_runs_every_minute_and_only_marks_responses(sam: dict[str, Any]) -> None:
    resources = sam["Resources"]
    schedule = resources["FollowUpSweep"]["Properties"]["Events"]
    assert [e["Properties"]["Schedule"] for e in schedule.values()] == ["rate(1 minute)"]
    actions = {a for s in statements(sam, "FollowUpSweepRole") for a in as_list(s["Action"])}
    assert {"dynamodb:Query", "dynamodb:UpdateItem"} <= actions
    assert not actions & {"dynamodb:Scan", "dynamodb:PutItem", "dynamodb:DeleteItem", "ssm:GetParameter"}
    query = [s for s in statements(sam, "FollowUpSweepRole") if "dynamodb:Query" in as_list(s["Action"])]
    assert "/index/follow_ups_due" in json.dumps(query[0]["Resource"])
    assert resources["FollowUpSweepLogGroup"]["Properties"]["LogGroupName"]


def test_ses_publishes_bounces_and_complaints_to_the_function_that_suppresses_addresses(
    sam: dict[str, Any],
) -> None:
    resources = sam["Resources"]
    destination = resources["SesEventDestination"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "SesConfigurationSet"}
    assert set(destination["EventDestination"]["MatchingEventTypes"]) == {"bounce", "complaint"}
    assert destination["EventDestination"]["SnsDestination"]["TopicARN"] == {"Ref": "SesEventsTopic"}
    [event] = resources["SesEvents"]["Properties"]["Events"].values()
    assert event["Type"] == "SNS" and event["Properties"]["Topic"] == {"Ref": "SesEventsTopic"}
    policy = resources["SesEventsTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert policy["Principal"] == {"Service": "ses.amazonaws.com"} and policy["Action"] == "sns:Publish"
    env = resources["Sender"]["Properties"]["Environment"]["Variables"]
    assert env["HARK_SES_CONFIGURATION_SET"] == {"Ref": "SesConfigurationSet"}
    # PATCH /v1/settings and the surveys refuse an email_from the sender's IAM could not send from
    assert env["HARK_SES_IDENTITY"] == {"Ref": "SenderIdentity"}
    actions = {a for s in statements(sam, "SesEventsRole") for a in as_list(s["Action"])}
    assert actions <= {
        "dynamodb:UpdateItem",
        "ssm:GetParameter",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *XRAY,
    }
    # It suppresses addresses under their keyed hash, so it reads the keys that hash them
    reads = [s for s in statements(sam, "SesEventsRole") if "ssm:GetParameter" in as_list(s["Action"])]
    resources = json.dumps([s["Resource"] for s in reads])
    assert "${PhoneHashKeyParameter}" in resources and "${SigningKeysParameter}" in resources
    assert "Twilio" not in resources

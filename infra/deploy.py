"""`make deploy STAGE=… BUCKET=…`: deploy build/STAGE/ (from `make package`) with CloudFormation.

One path, boto3 (the same .venv `make` builds, so there is no other tool to install):
1. make sure the signing-keys parameter exists in SSM (a fresh random key is stored as a
   SecureString the first time; its value is never printed);
2. upload deployment.zip to the bucket under a content hash (an unchanged zip is not
   uploaded again, and old zips stay there for rollbacks);
3. point each function's CodeUri at it and upload the template next to it;
4. create or update the stack from it (CloudFormation runs the SAM transform: hence
   CAPABILITY_AUTO_EXPAND) and wait; an update without changes is reported as "unchanged";
5. print the stack's outputs. On the first deploy, when no public base URL is known yet, the
   stack is updated once more with its own EndpointURL so customer links work.

CloudFormation rolls a failed deploy back by itself; see docs/deploy.md, "Rolling back".
Everything honours AWS_ENDPOINT_URL, which is how `make localstack-deploy` uses this too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import secrets
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
NO_CHANGES = ("No updates are to be performed",)
WAIT = {"Delay": 5, "MaxAttempts": 720}  # up to an hour: the first API Gateway edge deploy is slow


class DeployError(RuntimeError):
    """The deploy cannot go on; the message says what to do."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ensure_secret(ssm: Any, name: str, value: str, description: str) -> bool:
    """Create the SecureString `name` holding `value` if it is missing; True if created.
    An existing parameter is never overwritten (rotating is the operator's call)."""
    try:
        ssm.get_parameter(Name=name)
        return False
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ParameterNotFound":
            raise
    ssm.put_parameter(Name=name, Type="SecureString", Value=value, Description=description, Overwrite=False)
    return True


def ensure_signing_keys(ssm: Any, name: str) -> bool:
    """Create the signing-keys SecureString `name` with one random key if it is missing."""
    return ensure_secret(
        ssm,
        name,
        f"k1:{secrets.token_urlsafe(32)}",
        "Hark link-signing keys: 'kid:secret,kid:secret', the first signs",
    )


def ensure_phone_hash_key(ssm: Any, name: str) -> bool:
    """Create the phone-hash-key SecureString `name` (43 random characters) if it is missing.
    Changing it later orphans SMS invitations and opt-outs, so it is made once and kept."""
    return ensure_secret(
        ssm,
        name,
        secrets.token_urlsafe(32),
        "Hark phone hash key: keys the hash that stands in for phone numbers",
    )


def upload(s3: Any, bucket: str, key: str, body: bytes) -> str:
    """Put `body` at s3://bucket/key unless an object is already there (keys are content hashes)."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def with_code_location(template: dict[str, Any], bucket: str, key: str) -> dict[str, Any]:
    """The SAM template with every function's code at s3://bucket/key."""
    out: dict[str, Any] = json.loads(json.dumps(template))
    for resource in out.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": key}
    return out


def template_url(s3: Any, bucket: str, key: str) -> str:
    # Path-style from the client's own endpoint: right for AWS and for an emulator alike.
    return f"{s3.meta.endpoint_url.rstrip('/')}/{bucket}/{key}"


def stack_status(cfn: Any, stack: str) -> str | None:
    try:
        return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def stack_parameters(cfn: Any, stack: str) -> dict[str, str]:
    """The stack's current parameter values ({} when there is no stack)."""
    if stack_status(cfn, stack) is None:
        return {}
    found = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in found.get("Parameters", [])}


def parameters_for(values: dict[str, str | None], previous: dict[str, str]) -> list[dict[str, Any]]:
    """Values given win; unset ones keep the stack's previous value, else the template default.

    Previous values are passed back explicitly rather than as UsePreviousValue, which fails
    for a parameter the stack took from its default.
    """
    out: list[dict[str, Any]] = []
    for name, value in values.items():
        if value is None:
            value = previous.get(name)
        if value is not None:
            out.append({"ParameterKey": name, "ParameterValue": value})
    return out


def apply_stack(
    cfn: Any, stack: str, url: str, parameters: list[dict[str, Any]], tags: dict[str, str]
) -> str:
    """Create or update `stack` from the template at `url` and wait; "created", "updated" or "unchanged"."""
    status = stack_status(cfn, stack)
    if status == "ROLLBACK_COMPLETE":
        raise DeployError(
            f"stack {stack} failed its first creation (ROLLBACK_COMPLETE); read its events, fix the "
            f"cause, delete it (aws cloudformation delete-stack --stack-name {stack}) and deploy again"
        )
    kwargs: dict[str, Any] = {
        "StackName": stack,
        "TemplateURL": url,
        "Parameters": parameters,
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
    }
    if status is None:
        cfn.create_stack(OnFailure="ROLLBACK", **kwargs)
        waiter, result = "stack_create_complete", "created"
    else:
        try:
            cfn.update_stack(**kwargs)
        except ClientError as exc:
            if any(text in str(exc) for text in NO_CHANGES):
                return "unchanged"
            raise
        waiter, result = "stack_update_complete", "updated"
    try:
        cfn.get_waiter(waiter).wait(StackName=stack, WaiterConfig=WAIT)
    except Exception:
        raise DeployError(
            f"stack {stack} ended in {stack_status(cfn, stack)}; CloudFormation rolled the change back. "
            f"Its events say why: aws cloudformation describe-stack-events --stack-name {stack}"
        ) from None
    return result


# Stages whose rules are only safe on a developer's machine (docs/security.md).
LOCAL_ONLY_STAGES = frozenset({"dev"})


def deploy(
    *,
    stage: str,
    bucket: str,
    stack: str,
    build_dir: Path,
    public_base_url: str | None = None,
    alarm_email: str | None = None,
    signing_keys_parameter: str | None = None,
    create_bucket: bool = False,
    session: Any = None,
) -> dict[str, str]:
    """Deploy build_dir's template and zip as `stack`; the stack's outputs."""
    if stage in LOCAL_ONLY_STAGES:
        raise DeployError(
            f"the {stage} stage is for `make dev` only (it lets webhooks reach loopback, which in "
            "Lambda is the runtime API): deploy STAGE=prod or a stage of your own in chalice.json"
        )
    session = session or boto3.session.Session()
    if not session.region_name:
        raise DeployError("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region)")
    sam_path, zip_path = build_dir / "sam.json", build_dir / "deployment.zip"
    if not sam_path.exists() or not zip_path.exists():
        raise DeployError(f"{build_dir} holds no package: run `make package STAGE={stage}` first")
    s3, cfn, ssm = session.client("s3"), session.client("cloudformation"), session.client("ssm")
    if create_bucket:
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError:
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if session.region_name != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": session.region_name}
            s3.create_bucket(**kwargs)

    sam = json.loads(sam_path.read_text())
    parameter_name = signing_keys_parameter or sam["Parameters"]["SigningKeysParameter"]["Default"]
    if ensure_signing_keys(ssm, parameter_name):
        print(f"deploy: created SecureString {parameter_name} with a new random signing key")
    phone_key_parameter = sam["Parameters"].get("PhoneHashKeyParameter", {}).get("Default")
    if phone_key_parameter and ensure_phone_hash_key(ssm, phone_key_parameter):
        print(f"deploy: created SecureString {phone_key_parameter} with a new random phone hash key")

    code = zip_path.read_bytes()
    code_key = upload(s3, bucket, f"{stack}/code-{_sha256(code)[:20]}.zip", code)
    body = json.dumps(with_code_location(sam, bucket, code_key), indent=1).encode()
    template_key = upload(s3, bucket, f"{stack}/template-{_sha256(body)[:20]}.json", body)
    url = template_url(s3, bucket, template_key)

    values: dict[str, str | None] = {
        "SigningKeysParameter": signing_keys_parameter,
        "PublicBaseUrl": public_base_url,
        "AlarmEmail": alarm_email,
    }
    tags = {"hark:stage": stage}
    result = apply_stack(cfn, stack, url, parameters_for(values, stack_parameters(cfn, stack)), tags)
    print(f"deploy: stack {stack} {result}")
    outputs = stack_outputs(cfn, stack)

    # The API's URL exists only once the stack does; links need it (unless a domain was given).
    previous = stack_parameters(cfn, stack)
    if not previous.get("PublicBaseUrl") and outputs.get("EndpointURL"):
        values = {k: None for k in values} | {"PublicBaseUrl": outputs["EndpointURL"].rstrip("/")}
        result = apply_stack(cfn, stack, url, parameters_for(values, previous), tags)
        print(f"deploy: customer links now use {outputs['EndpointURL'].rstrip('/')} ({result})")
        outputs = stack_outputs(cfn, stack)
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make deploy", description=__doc__)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--bucket", required=True, help="S3 bucket for the zip and the template")
    parser.add_argument("--stack-name", default=None, help="default: hark-STAGE")
    parser.add_argument("--build-dir", type=Path, default=None, help="default: build/STAGE")
    parser.add_argument("--public-base-url", default=None, help="base of customer links (your domain)")
    parser.add_argument("--alarm-email", default=None, help="subscribe this address to the alarms")
    parser.add_argument("--signing-keys-parameter", default=None, help="default: /hark/STAGE/signing-keys")
    parser.add_argument("--create-bucket", action="store_true", help="create the bucket if missing")
    args = parser.parse_args(argv)
    stack = args.stack_name or f"hark-{args.stage}"
    try:
        outputs = deploy(
            stage=args.stage,
            bucket=args.bucket,
            stack=stack,
            build_dir=args.build_dir or ROOT / "build" / args.stage,
            public_base_url=args.public_base_url or None,
            alarm_email=args.alarm_email,
            signing_keys_parameter=args.signing_keys_parameter,
            create_bucket=args.create_bucket,
        )
    except DeployError as exc:
        print(f"make deploy: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(outputs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

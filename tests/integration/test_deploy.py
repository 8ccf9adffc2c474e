"""`make deploy`'s CloudFormation path (infra/deploy.py) against moto's S3, SSM and CloudFormation.

moto cannot run the SAM transform or API Gateway, so this deploys a small plain template with
the same parameters and outputs as the real one: what is checked is our side of the protocol
(upload, change sets, parameters, the first-deploy URL fix-up, no-op redeploys).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.deploy import DeployError, deploy

pytestmark = pytest.mark.integration

TEMPLATE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {
        "SigningKeysParameter": {"Type": "String", "Default": "/hark/deploytest/signing-keys"},
        "PublicBaseUrl": {"Type": "String", "Default": ""},
        "AlarmEmail": {"Type": "String", "Default": ""},
    },
    "Resources": {"FailureQueue": {"Type": "AWS::SQS::Queue", "Properties": {}}},
    "Outputs": {
        "EndpointURL": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/api/"},
        "PublicBaseUrl": {"Value": {"Ref": "PublicBaseUrl"}},
    },
}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server of its own (the in-process mock would reset the session emulator's data)."""
    from infra.local.stack import start_moto

    server, endpoint = start_moto()
    yield endpoint.replace("127.0.0.1", "localhost")  # moto finds TemplateURL objects on localhost
    server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    bucket = f"deploys-{uuid.uuid4().hex[:8]}"
    session.client("s3").create_bucket(Bucket=bucket)
    session.bucket = bucket  # type: ignore[attr-defined]
    yield session


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    (tmp_path / "sam.json").write_text(json.dumps(TEMPLATE))
    (tmp_path / "deployment.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    return tmp_path


def run(session: Any, build_dir: Path, **kwargs: Any) -> dict[str, str]:
    return deploy(
        stage="test",
        bucket=session.bucket,
        stack=f"hark-test-{session.bucket}",
        build_dir=build_dir,
        session=session,
        signing_keys_parameter=keys_parameter(session),
        **kwargs,
    )


def keys_parameter(session: Any) -> str:
    return f"/hark/{session.bucket}/signing-keys"


def signing_keys(session: Any) -> dict[str, Any]:
    ssm = session.client("ssm")
    return dict(ssm.get_parameter(Name=keys_parameter(session), WithDecryption=True)["Parameter"])


def test_first_deploy_creates_stack_keys_and_links_base(aws: Any, build_dir: Path) -> None:
    outputs = run(aws, build_dir)

    # The links base is the stack's own API URL, filled in by a second update
    assert outputs["PublicBaseUrl"] == "https://abc123.execute-api.us-east-1.amazonaws.com/api"
    # A signing key was created as a SecureString; nothing about it is in the outputs
    param = signing_keys(aws)
    assert param["Type"] == "SecureString" and param["Value"].startswith("k1:")
    assert param["Value"] not in json.dumps(outputs)
    # The zip and the template are in the bucket under content hashes
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=aws.bucket)["Contents"]]
    assert any("/code-" in k and k.endswith(".zip") for k in keys)
    assert any("/template-" in k and k.endswith(".json") for k in keys)


def test_redeploy_keeps_keys_and_base_url(aws: Any, build_dir: Path) -> None:
    run(aws, build_dir, public_base_url="https://surveys.example.com")
    first = signing_keys(aws)["Value"]

    outputs = run(aws, build_dir)

    assert outputs["PublicBaseUrl"] == "https://surveys.example.com"
    assert signing_keys(aws)["Value"] == first


def test_missing_package_says_what_to_run(aws: Any, tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="make package STAGE=test"):
        run(aws, tmp_path)

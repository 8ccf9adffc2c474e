"""The template limits requests per API key across every Lambda instance (docs/security.md,
"Expensive reads"): an AWS WAF rate-based rule keyed by the Authorization header, on the API's
stage, answering 429 in the one error shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.template import DEFAULT_REQUESTS_PER_KEY, RATE_LIMIT_PARAMETER
from tests.packaging.conftest import cfn_check

pytestmark = pytest.mark.packaging


def test_one_api_key_is_rate_limited_across_instances_by_waf(sam: dict[str, Any]) -> None:
    resources = sam["Resources"]
    acl = resources["ApiWebAcl"]
    assert acl["Type"] == "AWS::WAFv2::WebACL" and acl["Properties"]["Scope"] == "REGIONAL"
    (rule,) = acl["Properties"]["Rules"]
    statement = rule["Statement"]["RateBasedStatement"]
    # keyed by the API key as sent (Bearer or Delighted's Basic), not by the caller's address
    assert statement["AggregateKeyType"] == "CUSTOM_KEYS"
    assert statement["CustomKeys"] == [
        {"Header": {"Name": "authorization", "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}
    ]
    assert statement["Limit"] == {"Ref": RATE_LIMIT_PARAMETER}
    assert sam["Parameters"][RATE_LIMIT_PARAMETER]["Default"] == DEFAULT_REQUESTS_PER_KEY
    # over the limit: 429, Retry-After, and the one error shape
    block = rule["Action"]["Block"]["CustomResponse"]
    assert block["ResponseCode"] == 429
    assert {"Name": "Retry-After", "Value": "60"} in block["ResponseHeaders"]
    body = json.loads(acl["Properties"]["CustomResponseBodies"][block["CustomResponseBodyKey"]]["Content"])
    assert set(body["error"]) == {"code", "message", "field"} and body["error"]["code"] == "rate_limited"
    # and it guards the API's stage
    association = resources["ApiWebAclAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    assert "${RestAPI}/stages/api" in association["ResourceArn"]["Fn::Sub"]


def test_the_translated_template_with_the_web_acl_passes_cfn_lint(prod: Path) -> None:
    result = cfn_check(prod)
    assert result.returncode == 0, result.stdout
    template = json.loads((prod / "template.json").read_text())
    stage = template["Resources"]["ApiWebAclAssociation"]
    # the stage SAM generates exists, so the association can wait for it
    assert all(name in template["Resources"] for name in stage["DependsOn"])

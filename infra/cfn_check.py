"""Check a packaged template: translate SAM to plain CloudFormation offline, then cfn-lint it.

cfn-lint does not look inside `AWS::Serverless::*` resources, so the SAM template Chalice
writes is first translated with aws-sam-translator (no AWS call: the functions name their
roles, so no managed-policy lookup is needed) and the result is linted.

Runs in .venv-cfn (see infra/cfn-requirements.txt: the translator pins a pydantic Hark does
not run on): `.venv-cfn/bin/python -m infra.cfn_check build/STAGE`. Writes
build/STAGE/template.json (the translated template) and exits non-zero on any finding.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# Where the zip would be; the translation only copies it into each function's Code.
PLACEHOLDER_CODE_URI = "s3://hark-deployment-bucket/deployment.zip"


def translate(
    sam: dict[str, Any], code_uri: str = PLACEHOLDER_CODE_URI, region: str = "us-east-1"
) -> dict[str, Any]:
    """The plain CloudFormation template CloudFormation's SAM transform would produce."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = json.loads(json.dumps(sam))
    for resource in sam.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = code_uri
    # The session only supplies the region (for ARNs SAM writes); nothing is called.
    session = boto3.session.Session(region_name=region)
    translator = Translator(managed_policy_map={}, sam_parser=Parser(), boto_session=session)
    translated: dict[str, Any] = translator.translate(sam_template=sam, parameter_values={})
    return translated


def lint(template_path: Path) -> list[str]:
    """cfn-lint's findings on a plain template (all rules, all severities)."""
    from cfnlint.api import lint_file

    return [str(match) for match in lint_file(template_path)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.cfn_check", description=__doc__)
    parser.add_argument("build_dir", type=Path, help="the folder `make package` wrote")
    args = parser.parse_args(argv)
    sam = json.loads((args.build_dir / "sam.json").read_text())
    out = args.build_dir / "template.json"
    out.write_text(json.dumps(translate(sam), indent=2) + "\n")
    findings = lint(out)
    for finding in findings:
        print(finding)
    print(f"cfn-lint: {len(findings)} finding(s) in {out}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

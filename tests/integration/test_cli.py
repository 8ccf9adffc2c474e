"""The operator's command line against the emulator."""

from __future__ import annotations

import json

import pytest

from functions.cli import main
from tests.conftest import Api, Emulator

pytestmark = pytest.mark.integration


def test_tenant_create_prints_a_working_key_once(
    api: Api, emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "create", "Acme"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"tenant_id", "api_key"} and out["api_key"].startswith("hk_live_")
    assert api.json("GET", "/v1/surveys", out["api_key"])["data"] == []


def test_revoked_keys_stop_working(api: Api, emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    main(["tenant", "create", "Acme"])
    tenant = json.loads(capsys.readouterr().out)
    assert main(["key", "create", tenant["tenant_id"], "--scopes", "scores:read"]) == 0
    key = json.loads(capsys.readouterr().out)
    assert api.call("GET", "/v1/surveys", key["api_key"]).status_code == 200
    assert main(["key", "revoke", key["key_id"]]) == 0
    assert api.call("GET", "/v1/surveys", key["api_key"]).status_code == 401


def test_unknown_scope_is_refused(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["key", "create", "ten_x", "--scopes", "everything"]) == 2
    assert "unknown scopes" in capsys.readouterr().err

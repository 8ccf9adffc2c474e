"""A deployed stage reads its link-signing keys from an SSM SecureString, once per process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from tests.conftest import Api, Emulator, path_of

pytestmark = pytest.mark.integration

PARAMETER = "/hark/test/signing-keys"
NPS = {"name": "SSM", "kind": "nps", "question": "Recommend us?"}


@pytest.fixture
def keys_in_ssm(emulator: Emulator) -> Iterator[str]:
    from functions.store.clients import client
    from infra.local import stack

    ssm = client("ssm")
    ssm.put_parameter(Name=PARAMETER, Type="SecureString", Value="k9:" + "z" * 40, Overwrite=True)
    saved = os.environ.pop("HARK_SIGNING_KEYS")
    stack.apply_settings({"HARK_SIGNING_KEYS_PARAMETER": PARAMETER})
    try:
        yield PARAMETER
    finally:
        os.environ.pop("HARK_SIGNING_KEYS_PARAMETER", None)
        stack.apply_settings({"HARK_SIGNING_KEYS": saved})
        with contextlib.suppress(ssm.exceptions.ParameterNotFound):  # the test deleted it
            ssm.delete_parameter(Name=PARAMETER)


def test_links_are_signed_with_the_key_in_ssm_and_it_is_read_once(
    api: Api, emulator: Emulator, tenant: dict, keys_in_ssm: str
) -> None:
    from functions.store.clients import client

    key = tenant["api_key"]
    survey = api.json("POST", "/v1/surveys", key, NPS, expect=201)
    body = {"recipients": [{"customer_id": "c1"}]}
    invitation = api.json("POST", f"/v1/surveys/{survey['id']}/invitations", key, body, expect=201)
    url = path_of(invitation["invitations"][0]["url"])
    assert url.startswith("/r/k9.")  # signed by the key in SSM, not the environment's

    # Once read, the key is not fetched again: the link still works with the parameter gone
    client("ssm").delete_parameter(Name=keys_in_ssm)
    assert api.form(url, {"score": "10"}).status_code == 303

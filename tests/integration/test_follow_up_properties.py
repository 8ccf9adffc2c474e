"""Exactly-once follow-ups, by property (docs/follow-ups.md): any survey life, its stream delivered
in random batches with duplicates, replays and reordering (the generators of
tests/integration/test_scores_properties.py), with follow-ups on. Then every live answer whose
current score matches the rule has exactly one follow-up, none other has one, and the figures
equal a recomputation from the responses table (`hark verify`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from functions.domain import follow_ups
from functions.logic.rebuild import verify
from functions.store import responses as response_store
from functions.store import scores as score_store
from tests.integration.aws_in_process import in_process_aws
from tests.integration.scores_model import SurveyWorld
from tests.integration.test_scores_properties import LIMIT, invitation_rows, live_and_deliver

pytestmark = pytest.mark.integration


@dataclass
class LoopWorld(SurveyWorld):
    @property
    def page(self) -> dict[str, Any]:
        page = dict(super().page)
        page.pop("fu")  # the kind's default rule: NPS 0–6, CSI index below 50
        return page


@settings(
    max_examples=int(os.environ.get("HARK_PROPERTY_EXAMPLES", "15")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(kind=st.sampled_from(["nps", "nps", "csi"]), rows=invitation_rows, data=st.data())
def test_any_delivery_opens_each_matching_answer_once_and_counts_it_once(
    kind: str, rows: list[Any], data: st.DataObject
) -> None:
    with in_process_aws({"HARK_SEGMENT_VALUE_LIMIT": str(LIMIT)}) as stack:
        world = LoopWorld(kind=kind)
        live_and_deliver(stack, world, rows, data)

        live = [response_store.get_invitation(c.code) for c in world.customers if c.status == "live"]
        opened = 0
        for inv in live:
            assert inv is not None
            raw = stack_item(inv.code)
            should = follow_ups.matches(inv.page, inv.score, inv.attrs)
            has = bool(raw.get("fu_status"))
            # an answer that matched once keeps its follow-up; one that matches now has one
            assert has or not should, (inv.code, inv.score)
            opened += has
        total = score_store.get_summary(world.survey_id, "all")
        expired_opened = sum(
            1 for c in world.customers if c.status == "expired" and c.code in stack_ledger_follow_ups(world)
        )
        assert (total.total.fu_opened if total else 0) == opened + expired_opened
        report = verify(world.survey_id)
        assert report["drift"] == [] and report["unreadable"] == []


def stack_item(code: str) -> dict[str, Any]:
    from functions.settings import get_settings
    from functions.store.clients import client
    from functions.store.items import from_item

    out = client("dynamodb").get_item(TableName=get_settings().responses_table, Key={"pk": {"S": code}})
    return from_item(out.get("Item")) or {}


def stack_ledger_follow_ups(world: SurveyWorld) -> set[str]:
    """Codes whose follow-up entry the ledger still counts (an expired answer's stays)."""
    snapshot = score_store.scan_scores(world.survey_id)
    return {
        entry.key.split("#", 1)[1] for _, entry in snapshot.ledger if entry.part == "F" and not entry.erased
    }

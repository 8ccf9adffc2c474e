"""A survey's life driven through the real store, next to a plain model of what it should score.

`SurveyWorld` writes invitations, answers, segment changes, erasures and expiries with the
store's own functions (so the stream carries real images), and keeps, in plain Python, the
final state of every invitation. `expected_tallies` recomputes the scores from that model from
scratch, independently of the ledger code under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.domain.codes import new_code, new_id
from functions.domain.errors import HarkError
from functions.domain.scoring import Tally
from functions.domain.segments import guarded, other_segment, segments_for
from functions.domain.survey import Invitation
from functions.domain.windows import WINDOWS
from functions.logic import clock
from functions.settings import get_settings
from functions.store import responses
from functions.store.clients import client


def iso(moment: datetime) -> str:
    return clock.iso(moment)


@dataclass
class Customer:
    code: str
    channel: str
    touchpoint: str | None
    props: dict[str, str]
    invited: datetime
    score: int | None = None
    attrs: dict[str, int] = field(default_factory=dict)
    answered: datetime | None = None
    status: str = "live"  # live | erased | expired

    @property
    def segments(self) -> list[str]:
        return segments_for(self.channel, self.touchpoint, self.props)


@dataclass
class SurveyWorld:
    kind: str = "nps"
    tenant_id: str = field(default_factory=lambda: new_id("ten"))
    survey_id: str = field(default_factory=lambda: new_id("srv"))
    now: datetime = field(default_factory=lambda: clock.now())
    customers: list[Customer] = field(default_factory=list)
    ttl_codes: set[str] = field(default_factory=set)
    # Every value each guarded dimension ever had (a moved touchpoint keeps its index slot).
    seen: dict[str, set[str]] = field(default_factory=dict)

    def _saw(self, segments: list[str]) -> None:
        for raw in segments:
            found = guarded(raw)
            if found:
                self.seen.setdefault(found[0], set()).add(found[1])

    @property
    def page(self) -> dict[str, Any]:
        attributes = [{"key": "speed", "label": "Speed"}, {"key": "price", "label": "Price"}]
        return {
            "kind": self.kind,
            "question": "How likely?",
            "follow_up_question": None,
            "brand_name": "Test",
            "brand_color": "#000000",
            "attributes": attributes if self.kind == "csi" else [],
            # No follow-ups: this model counts scores. The loop's figures under replays are
            # tested in tests/integration/test_follow_ups.py and tests/unit/test_follow_up_rules.py.
            "fu": {"on": False, "sla": 24, "max": 0},
        }

    def invite(self, rows: list[tuple[str, str | None, dict[str, str], int]]) -> None:
        """One invitation per (channel, touchpoint, properties, days ago)."""
        pending = []
        for channel, touchpoint, props, days_ago in rows:
            moment = self.now - timedelta(days=days_ago, minutes=1)
            customer = Customer(new_code(), channel, touchpoint, dict(props), moment)
            self.customers.append(customer)
            self._saw(customer.segments)
            pending.append(
                Invitation(
                    code=customer.code,
                    invitation_id=new_id("inv"),
                    tenant_id=self.tenant_id,
                    survey_id=self.survey_id,
                    customer_id=f"cust-{len(self.customers)}",
                    channel=channel,
                    touchpoint=touchpoint,
                    properties=dict(props),
                    created_at=iso(moment),
                    expires_at=int((self.now + timedelta(days=30)).timestamp()),
                    rev=0,
                    page=self.page,
                )
            )
        responses.create_invitations(pending, lambda inv: None, lambda inv: replace(inv, code=new_code()))

    def answer(self, index: int, score: int, days_after_invite: int, attrs: dict[str, int]) -> None:
        customer = self.customers[index]
        moment = min(customer.invited + timedelta(days=days_after_invite), self.now)
        try:
            responses.record_answer(
                customer.code,
                score=score,
                comment=None,
                attrs=attrs,
                now_iso=iso(moment),
                now_epoch=int(moment.timestamp()),
            )
        except HarkError:
            assert customer.status != "live"
            return
        customer.score = score
        if attrs:  # an answer without ratings keeps the earlier ones (record_answer's contract)
            customer.attrs = dict(attrs)
        customer.answered = customer.answered or moment

    def comment(self, index: int) -> None:
        customer = self.customers[index]
        try:
            responses.record_answer(
                customer.code,
                score=None,
                comment="fast delivery",
                attrs={},
                now_iso=iso(self.now),
                now_epoch=int(self.now.timestamp()),
            )
        except HarkError:
            assert customer.status != "live" or customer.score is None

    def move(self, index: int, touchpoint: str) -> None:
        """A change of segment (no product path yet; an operator's data fix, say)."""
        customer = self.customers[index]
        if customer.status != "live":
            return
        client("dynamodb").update_item(
            TableName=get_settings().responses_table,
            Key={"pk": {"S": customer.code}},
            UpdateExpression="SET touchpoint = :t ADD rev :one",
            ExpressionAttributeValues={":t": {"S": touchpoint}, ":one": {"N": "1"}},
        )
        customer.touchpoint = touchpoint
        self._saw(customer.segments)

    def erase(self, index: int) -> None:
        customer = self.customers[index]
        if customer.status == "live":
            assert responses.delete_invitation(customer.code)
            customer.status = "erased"

    def expire(self, index: int) -> None:
        customer = self.customers[index]
        if customer.status == "live":
            assert responses.delete_invitation(customer.code)
            self.ttl_codes.add(customer.code)
            customer.status = "expired"


def fold(segment: str, index: dict[str, set[str]]) -> str:
    found = guarded(segment)
    if found is None or found[1] in index.get(found[0], set()):
        return segment
    return other_segment(found[0])


def expected_tallies(world: SurveyWorld, index: dict[str, set[str]]) -> dict[str, dict[str, Tally]]:
    """segment → day → tally, from the model alone (erased answers gone, expired ones kept)."""
    out: dict[str, dict[str, Tally]] = {}
    for customer in world.customers:
        if customer.status == "erased":
            continue
        for raw in customer.segments:
            days = out.setdefault(fold(raw, index), {})
            invited = days.setdefault(customer.invited.date().isoformat(), Tally())
            invited.invited += 1
            if customer.score is not None and customer.answered is not None:
                answered = days.setdefault(customer.answered.date().isoformat(), Tally())
                answered.add_answer(customer.score, customer.attrs)
    return out


def window_of(days: dict[str, Tally], window: str, today: datetime) -> dict[str, Any]:
    length = WINDOWS[window]
    first = None if length is None else (today.date() - timedelta(days=length - 1)).isoformat()
    total = Tally()
    for day, tally in days.items():
        if first is None or day >= first:
            total.merge(tally)
    return total.to_compact()


def no_fold_needed(world: SurveyWorld, limit: int) -> set[str]:
    """The `__other__` segments that must stay empty: dimensions that never exceeded the limit."""
    return {other_segment(d) for d, values in world.seen.items() if len(values) <= limit}


def utc_now() -> datetime:
    return datetime.now(UTC)

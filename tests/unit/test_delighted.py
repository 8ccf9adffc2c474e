"""Reading Delighted exports: columns by meaning, one row as an answer, stable codes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain import delighted as d
from functions.domain.codes import CODE_PATTERN
from functions.domain.kinds import Kind

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)
HEADER = [
    "Response ID",
    "Person ID",
    "Email",
    "Name",
    "Score",
    "Comment",
    "Created At (UTC)",
    "Updated At",
    "Survey Type",
    "Tags",
    "Notes",
    "Permalink",
    "Plan",
    "Purchase Experience",
]


def row(**cells: str) -> list[str]:
    values = {
        "Response ID": "101",
        "Person ID": "55",
        "Email": "ada@example.com",
        "Name": "Ada",
        "Score": "9",
        "Comment": "Great",
        "Created At (UTC)": "2025-06-01T08:30:00Z",
        "Updated At": "",
        "Survey Type": "nps",
        "Tags": "vip",
        "Notes": "",
        "Permalink": "https://app.delighted.com/r/abc",
        "Plan": "pro",
        "Purchase Experience": "Retail Store",
    }
    values.update({k.replace("_", " "): v for k, v in cells.items()})
    return [values[h] for h in HEADER]


COLUMNS = d.map_columns(HEADER)


def test_columns_are_matched_by_meaning_and_the_rest_become_properties() -> None:
    assert {name: HEADER[i] for name, i in COLUMNS.fields.items()} == {
        "response_id": "Response ID",
        "person_id": "Person ID",
        "email": "Email",
        "name": "Name",
        "score": "Score",
        "comment": "Comment",
        "created_at": "Created At (UTC)",
        "updated_at": "Updated At",
        "survey_type": "Survey Type",
        "tags": "Tags",
        "notes": "Notes",
        "permalink": "Permalink",
    }
    assert COLUMNS.properties == (("plan", 12), ("purchase_experience", 13))
    assert COLUMNS.dropped == ()


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Plan", "plan"),
        ("Purchase Experience", "purchase_experience"),
        ("person_properties[Country]", "country"),
        ("Properties: Store #", "store"),
        ("  Region (EU)  ", "region_eu"),
        ("NPS-Segment", "nps_segment"),
        ("¿Qué?", "qu"),
        ("!!!", None),
        ("", None),
        ("x" * 60, "x" * 40),
    ],
)
def test_property_keys_are_segment_safe(header: str, key: str | None) -> None:
    assert d.property_key(header) == key


def test_lowercase_api_style_headers_and_a_byte_order_mark_are_understood() -> None:
    columns = d.map_columns(["\ufeffid", "person", "score", "comment", "created_at", "person_email"])
    assert set(columns.fields) == {"response_id", "person_id", "score", "comment", "created_at", "email"}


def test_only_ten_properties_are_kept_and_the_rest_are_named() -> None:
    extra = [f"Attribute {n}" for n in range(13)] + ["attribute_0"]
    columns = d.map_columns(["Response ID", "Score", "Response Timestamp", *extra])
    assert [key for key, _ in columns.properties] == [f"attribute_{n}" for n in range(10)]
    assert columns.dropped == ("Attribute 10", "Attribute 11", "Attribute 12", "attribute_0")


def test_a_file_without_the_essentials_is_refused_with_the_names_looked_for() -> None:
    with pytest.raises(d.ColumnsProblem, match="no column for score, created_at") as problem:
        d.map_columns(["Response ID", "Comment"])
    assert "'response timestamp'" in str(problem.value)


def test_a_row_becomes_an_answer_with_its_own_time() -> None:
    answer = d.parse_row(row(), COLUMNS, Kind.NPS, NOW)
    assert answer == d.ImportedAnswer(
        response_id="101",
        score=9,
        answered_at=datetime(2025, 6, 1, 8, 30, tzinfo=UTC),
        updated_at=None,
        customer_id="55",
        channel="email",
        comment="Great",
        properties={"plan": "pro", "purchase_experience": "Retail Store"},
        extra={"permalink": "https://app.delighted.com/r/abc", "tags": "vip", "name": "Ada"},
    )


@pytest.mark.parametrize(
    ("cells", "customer"),
    [
        ({}, "55"),
        ({"Person_ID": ""}, "ada@example.com"),
        ({"Person_ID": "", "Email": ""}, "delighted-101"),
        ({"Person_ID": "has spaces", "Email": "not valid <x>"}, "delighted-101"),
    ],
)
def test_the_customer_is_the_person_then_the_email_then_the_response(
    cells: dict[str, str], customer: str
) -> None:
    assert d.parse_row(row(**cells), COLUMNS, Kind.NPS, NOW).customer_id == customer


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"Response_ID": " "}, d.MISSING_RESPONSE_ID),
        ({"Score": ""}, d.BAD_SCORE),
        ({"Score": "11"}, d.BAD_SCORE),
        ({"Score": "-1"}, d.BAD_SCORE),
        ({"Score": "8.5"}, d.BAD_SCORE),
        ({"Score": "nine"}, d.BAD_SCORE),
        ({"Created_At (UTC)": ""}, d.MISSING_TIMESTAMP),
        ({"Created_At (UTC)": "04/18/2024 10:00"}, d.BAD_TIMESTAMP),
        ({"Created_At (UTC)": "2024-13-40T00:00:00Z"}, d.BAD_TIMESTAMP),
        ({"Created_At (UTC)": "2026-01-17T00:00:00Z"}, d.FUTURE_TIMESTAMP),
        ({"Survey_Type": "csat"}, d.OTHER_SURVEY_TYPE),
    ],
)
def test_rows_that_cannot_be_answers_say_why(cells: dict[str, str], reason: str) -> None:
    with pytest.raises(d.RowSkipped) as skipped:
        d.parse_row(row(**cells), COLUMNS, Kind.NPS, NOW)
    assert skipped.value.reason == reason


def test_scores_follow_the_survey_kind() -> None:
    assert d.parse_row(row(Score="5.0", Survey_Type="csat"), COLUMNS, Kind.CSAT, NOW).score == 5
    assert d.parse_row(row(Score="7", Survey_Type="ces"), COLUMNS, Kind.CES, NOW).score == 7
    with pytest.raises(d.RowSkipped):
        d.parse_row(row(Score="0", Survey_Type="csat"), COLUMNS, Kind.CSAT, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-18T05:34:20Z", datetime(2024, 4, 18, 5, 34, 20, tzinfo=UTC)),
        ("2024-04-18T05:34:20.250+02:00", datetime(2024, 4, 18, 3, 34, 20, 250000, tzinfo=UTC)),
        ("2024-04-18 05:34:20 UTC", datetime(2024, 4, 18, 5, 34, 20, tzinfo=UTC)),
        ("2024-04-18 05:34:20 -0700", datetime(2024, 4, 18, 12, 34, 20, tzinfo=UTC)),
        ("2024-04-18 05:34", datetime(2024, 4, 18, 5, 34, tzinfo=UTC)),
        ("2024-04-18", datetime(2024, 4, 18, tzinfo=UTC)),
        ("1713418460", datetime(2024, 4, 18, 5, 34, 20, tzinfo=UTC)),
        ("1713418460000", datetime(2024, 4, 18, 5, 34, 20, tzinfo=UTC)),
    ],
)
def test_timestamps_in_the_formats_exports_carry(text: str, expected: datetime) -> None:
    assert d.parse_timestamp(text) == expected


def test_long_comments_and_values_are_cut_and_counted() -> None:
    answer = d.parse_row(
        row(Comment="x" * 2500, Plan="p" * 150 + "\n", Purchase_Experience="a\tb"), COLUMNS, Kind.NPS, NOW
    )
    assert answer.comment is not None and len(answer.comment) == d.MAX_COMMENT
    assert answer.comment_truncated and answer.values_truncated == 1
    assert answer.properties == {"plan": "p" * 100, "purchase_experience": "a b"}


def test_channel_comes_from_the_file_or_the_contact_it_holds() -> None:
    no_email = d.map_columns(["Response ID", "Score", "Created At", "Phone Number", "Channel"])

    def channel(phone: str, given: str) -> str:
        cells = ["1", "9", "2025-01-01", phone, given]
        return d.parse_row(cells, no_email, Kind.NPS, NOW).channel

    assert channel("+15551234567", "") == "sms"
    assert channel("", "") == "link"
    assert channel("", "Web") == "link"
    assert channel("", "SMS") == "sms"
    assert d.parse_row(row(), COLUMNS, Kind.NPS, NOW).channel == "email"


def test_an_update_time_is_kept_only_when_it_makes_sense() -> None:
    later = d.parse_row(row(Updated_At="2025-06-02 10:00:00 UTC"), COLUMNS, Kind.NPS, NOW)
    assert later.updated_at == datetime(2025, 6, 2, 10, tzinfo=UTC)
    before = d.parse_row(row(Updated_At="2025-05-01T00:00:00Z"), COLUMNS, Kind.NPS, NOW)
    assert before.updated_at is None


def test_import_codes_are_stable_distinct_and_look_like_invitation_codes() -> None:
    code = d.import_code("srv_abc", "101")
    assert code == d.import_code("srv_abc", "101")
    assert CODE_PATTERN.match(code) and len(code) == 10
    assert code != d.import_code("srv_abc", "102") != d.import_code("srv_abd", "101")
    assert d.import_invitation_id("srv_abc", "101").startswith("inv_")


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40, unique=True))
def test_codes_never_collide_for_different_responses(ids: list[str]) -> None:
    codes = {d.import_code("srv_x", i) for i in ids}
    assert len(codes) == len(ids)


@given(st.lists(st.text(max_size=30), max_size=25))
def test_any_header_row_maps_without_crashing(headers: list[str]) -> None:
    try:
        columns = d.map_columns(["Response ID", "Score", "Created At", *headers])
    except d.ColumnsProblem:
        return
    assert len(columns.properties) <= d.MAX_PROPERTIES
    keys = [key for key, _ in columns.properties]
    assert len(set(keys)) == len(keys)

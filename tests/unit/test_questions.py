"""Additional questions, pure parts (docs/questions.md): the form's fields, the counted positions,
the summary's `additional`, the ledger's exactly-once moves and Delighted's `additional_answers`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.domain.delighted_answers import answers_from_request, answers_view
from functions.domain.errors import InvalidInput, Unprocessable
from functions.domain.ledger import ItemState, StoredEntry, day_tallies, entries_for_change, entry_delta
from functions.domain.questions import (
    Question,
    additional_counts,
    answer_problem,
    answers_from_pairs,
    condition_tokens,
    picks,
    translation_gap,
)
from functions.domain.scoring import Tally

pytestmark = pytest.mark.unit

LIKED = Question("liked", "select_many", "What did you like?", ("Speed", "Price", "Staff"))
EASE = Question("ease", "scale", "How easy?", scale="0-10")
VISIT = Question("visit", "select_one", "How?", ("Online", "In store"))
WHY = Question("why", "free_response", "Anything else?")
QUESTIONS = (LIKED, EASE, VISIT, WHY)


def test_a_form_without_question_fields_keeps_the_stored_answers() -> None:
    assert answers_from_pairs([("score", "9"), ("comment", "x")]) is None
    # the thank-you form's marker alone: every question left unanswered (taken back)
    assert answers_from_pairs([("q", "1"), ("q.liked", "")]) == {}


def test_repeated_fields_are_one_answer_in_order_without_duplicates() -> None:
    pairs = [
        ("q", "1"),
        ("q.liked", "Staff"),
        ("q.liked", " Speed "),
        ("q.liked", "Staff"),
        ("q.why", "a\r\nb"),
    ]
    assert answers_from_pairs(pairs) == {"liked": ["Staff", "Speed"], "why": ["a\nb"]}


@pytest.mark.parametrize(
    ("pairs", "code"),
    [
        ([("q.Bad Key", "x")], "invalid_question"),
        ([("q.why", "x" * 2001)], "answer_too_long"),
        ([("q.liked", str(n)) for n in range(11)], "invalid_question"),
    ],
)
def test_malformed_fields_are_refused(pairs: list[tuple[str, str]], code: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        answers_from_pairs(pairs)
    assert raised.value.code == code


def test_answers_are_counted_by_position_and_free_text_is_not() -> None:
    answers = {"liked": ["Staff", "Speed"], "ease": ["10"], "visit": ["In store"], "why": ["Great"]}
    assert picks(QUESTIONS, answers) == ("0#0", "0#2", "1#10", "2#1")
    counted = additional_counts(QUESTIONS, {"0#0": 3, "0#2": 1, "1#10": 2})
    assert counted == {
        "liked": {"Speed": 3, "Price": 0, "Staff": 1},
        "ease": {str(n): 2 if n == 10 else 0 for n in range(11)},
        "visit": {"Online": 0, "In store": 0},
    }


@pytest.mark.parametrize(
    "answers",
    [{"liked": ["Coffee"]}, {"visit": ["Online", "In store"]}, {"ease": ["11"]}, {"nope": ["x"]}],
)
def test_an_answer_the_questions_do_not_admit_is_a_problem(answers: dict[str, list[str]]) -> None:
    assert answer_problem(QUESTIONS, answers) is not None
    with pytest.raises(ValueError):
        picks(QUESTIONS, answers)


def test_condition_tokens_admit_exactly_the_choices() -> None:
    tokens = condition_tokens(QUESTIONS)
    assert {"liked=Speed", "liked=+", "ease=0", "ease=10", "visit=Online", "why=*"} <= tokens
    assert "visit=+" not in tokens and "ease=11" not in tokens


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "liked": st.lists(st.sampled_from(LIKED.options), unique=True, max_size=3),
                "ease": st.lists(st.sampled_from(EASE.values()), max_size=1),
            }
        ),
        max_size=30,
    )
)
def test_summed_picks_count_every_choice_once(responses: list[dict[str, list[str]]]) -> None:
    tally = Tally()
    for answers in responses:
        tally.add_picks(picks(QUESTIONS, answers))
    counted = additional_counts(QUESTIONS, tally.picks)
    for question in (LIKED, EASE):
        for value in question.values():
            assert counted[question.key][value] == sum(value in a[question.key] for a in responses)
    assert Tally.from_compact(tally.to_compact()) == Tally(picks={k: v for k, v in tally.picks.items() if v})


def state(rev: int, chosen: tuple[str, ...]) -> ItemState:
    return ItemState(
        code="c1",
        tenant_id="t",
        survey_id="s",
        rev=rev,
        invited_day="2026-11-01",
        segments=("all",),
        score=9,
        answered_day="2026-11-01",
        picks=chosen,
    )


def test_a_changed_choice_moves_one_count_and_a_replay_moves_nothing() -> None:
    first = entries_for_change("MODIFY", state(1, ()), state(2, ("0#1",)), expired_by_ttl=False)
    assert [e.picks for e in first if e.part == "R"] == [("0#1",)]
    stored = StoredEntry.of(next(e for e in first if e.part == "R"))
    (changed,) = entries_for_change("MODIFY", state(2, ("0#1",)), state(3, ("0#0",)), expired_by_ttl=False)
    delta = entry_delta(stored, StoredEntry.of(changed))["all"]
    assert delta.picks == {"0#1": -1, "0#0": 1} and delta.counts == {9: 0}
    # the same choices again (a comment changed): no ledger entry at all
    assert entries_for_change("MODIFY", state(3, ("0#0",)), state(4, ("0#0",)), expired_by_ttl=False) == []
    assert day_tallies([StoredEntry.of(changed)])["all"].picks == {"0#0": 1}
    # an erasure takes the choices out with the score
    erased = entries_for_change("REMOVE", state(3, ("0#0",)), None, expired_by_ttl=False)
    tombstone = next(e for e in erased if e.part == "R")
    assert tombstone.picks == () and entry_delta(StoredEntry.of(changed), StoredEntry.of(tombstone))[
        "all"
    ].picks == {"0#0": -1}


def test_translation_gap_names_the_first_missing_text() -> None:
    views = [q.view() for q in (LIKED, WHY)]
    full = {
        "questions": {"liked": {"text": "Aimé ?", "options": ["a", "b", "c"]}, "why": {"text": "Autre ?"}}
    }
    assert translation_gap(views, full) is None
    assert translation_gap(views, {"questions": {"liked": full["questions"]["liked"]}}) == "why"
    assert (
        translation_gap(views, {"questions": {**full["questions"], "liked": {"text": "x"}}})
        == "liked.options"
    )


def test_delighted_additional_answers_round_trip() -> None:
    answers = {"liked": ["Price", "Staff"], "ease": ["7"], "visit": ["Online"], "why": ["Fine"]}
    view = answers_view(QUESTIONS, answers)
    assert view[0] == {
        "id": "liked",
        "value": {
            "select_one": None,
            "select_many": [{"id": "1", "text": "Price"}, {"id": "2", "text": "Staff"}],
            "free_response": None,
            "scale": None,
        },
        "question": {"id": "liked", "type": "select_many", "text": "What did you like?"},
    }
    assert answers_from_request(QUESTIONS, view) == answers
    # the plain form, option ids, and a CSI rating returned beside them (ignored)
    plain = [
        {"question_id": "liked", "value": [{"id": "0"}, "Staff"]},
        {"question_id": "ease", "value": 3},
        {"id": "speed", "value": {"scale": 8}, "question": {"id": "speed", "type": "scale"}},
    ]
    assert answers_from_request(QUESTIONS, plain, ignored_ids=["speed"]) == {
        "liked": ["Speed", "Staff"],
        "ease": ["3"],
    }


@pytest.mark.parametrize(
    "raw",
    [
        {"question_id": "liked"},
        [{"question_id": "nope", "value": "x"}],
        [{"question_id": "visit", "value": ["Online", "In store"]}],
        [{"question_id": "ease", "value": "very"}],
        [{"question_id": "ease", "value": 11}],
        [{"value": "x"}],
        ["liked"],
    ],
)
def test_delighted_additional_answers_that_do_not_fit_are_422(raw: object) -> None:
    with pytest.raises(Unprocessable):
        answers_from_request(QUESTIONS, raw)

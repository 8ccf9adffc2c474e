"""`hark import delighted FILE --survey ID`: bring a Delighted response export into a survey.

Each row becomes an answered invitation with the row's own time, so scores land on the days
the answers were given; the stream then takes them to the aggregator like any other answer.
Rows that cannot be imported are counted by reason and the first few are shown, and a
second run of the same file changes nothing: codes are derived from the rows, and the ones
already stored are found first and left alone (store/imports.py).
"""

from __future__ import annotations

import csv
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from functions.domain import delighted
from functions.domain.errors import InvalidInput, NotFound
from functions.domain.kinds import Kind
from functions.domain.survey import Invitation, Survey
from functions.logic import clock
from functions.settings import get_settings
from functions.store import core
from functions.store import imports as store

Progress = Callable[[int, int], None]
EXAMPLES = 20
SOURCE = "delighted"


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty data row, after the header."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield reader.line_num, cells


def read_export(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and data rows of a CSV file, or a clear error."""
    try:
        rows = list(_rows(path))
    except FileNotFoundError:
        raise InvalidInput(f"no file {path}", code="no_file") from None
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path} is not UTF-8 text; save the export as CSV UTF-8", code="bad_file"
        ) from None
    except csv.Error as exc:
        raise InvalidInput(f"{path} is not a readable CSV file: {exc}", code="bad_file") from None
    if not rows:
        raise InvalidInput(f"{path} is empty", code="bad_file")
    (_, header), *data = rows
    return header, data


def _invitation(
    survey: Survey,
    page: dict[str, Any],
    answer: delighted.ImportedAnswer,
    answers: dict[str, list[str]] | None = None,
) -> Invitation:
    answered = clock.iso(answer.answered_at)
    return Invitation(
        code=delighted.import_code(survey.id, answer.response_id),
        invitation_id=delighted.import_invitation_id(survey.id, answer.response_id),
        tenant_id=survey.tenant_id,
        survey_id=survey.id,
        customer_id=answer.customer_id,
        channel=answer.channel,
        touchpoint=answer.touchpoint,
        properties=dict(answer.properties),
        created_at=answered,
        # Closed when answered: an imported answer cannot be changed through a link.
        expires_at=int(answer.answered_at.timestamp()),
        rev=1,
        page=page,  # one copy shared by every row: a large file holds many invitations
        score=answer.score,
        comment=answer.comment,
        answers=answers or {},
        first_answered_at=answered,
        answered_at=clock.iso(answer.updated_at or answer.answered_at),
        scored_at_ms=int(answer.answered_at.timestamp() * 1000),
    )


def _purge_at(expires_at: int) -> int | None:
    days = get_settings().raw_retention_days
    return expires_at + days * 86400 if days else None


class _Counter:
    """Rows done so far, reported to `progress` from the writer threads."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done = 0
        self.total = total
        self.progress = progress
        self._lock = threading.Lock()

    def add(self, count: int = 1) -> None:
        with self._lock:
            self.done += count
            if self.progress is not None:
                self.progress(self.done, self.total)


def import_delighted(path: Path, survey_id: str, progress: Progress | None = None) -> dict[str, Any]:
    """Import a Delighted survey-response CSV into `survey_id`; the summary of what happened."""
    survey = core.get_survey(survey_id)
    if survey is None:
        raise NotFound(f"no survey {survey_id}")
    if survey.kind is Kind.CSI:
        raise InvalidInput("Delighted exports hold one score per response; a csi survey needs attributes")
    header, rows = read_export(path)
    # The survey's additional questions, one column each (Delighted named them by their text).
    asked = delighted.question_columns(header, survey.questions)
    try:
        columns = delighted.map_columns(header, reserved=set(asked))
    except delighted.ColumnsProblem as exc:
        raise InvalidInput(f"{path}: {exc}", code="bad_columns") from None

    now = clock.now()
    skipped: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    pending: list[store.ImportItem] = []
    seen: set[str] = set()
    truncated = Counter[str]()
    first: datetime | None = None
    last: datetime | None = None
    counter = _Counter(len(rows), progress)
    # Imported history opens no follow-ups: its answers are months old, and a queue flooded
    # with them would bury today's (docs/follow-ups.md).
    page = survey.public_view(opens_follow_ups=False)

    def skip(line: int, reason: str, detail: str) -> None:
        skipped[reason] += 1
        if len(examples) < EXAMPLES:
            examples.append({"line": line, "reason": reason, "detail": detail})

    for line, cells in rows:
        try:
            answer = delighted.parse_row(cells, columns, survey.kind, now)
        except delighted.RowSkipped as exc:
            skip(line, exc.reason, exc.detail)
            continue
        if answer.response_id in seen:
            skip(line, delighted.DUPLICATE_RESPONSE_ID, f"response {answer.response_id} appears again")
            continue
        seen.add(answer.response_id)
        truncated["comments"] += answer.comment_truncated
        truncated["property_values"] += answer.values_truncated
        answers, dropped = delighted.question_answers(cells, asked)
        truncated["answers_not_among_choices"] += dropped
        first = answer.answered_at if first is None else min(first, answer.answered_at)
        last = answer.answered_at if last is None else max(last, answer.answered_at)
        invitation = _invitation(survey, page, answer, answers)
        pending.append(
            store.ImportItem(
                invitation,
                {"source": SOURCE, "response_id": answer.response_id, **answer.extra},
                _purge_at(invitation.expires_at),
            )
        )
    counter.add(sum(skipped.values()))

    present = store.find_present(pending)
    outcomes: Counter[str] = Counter()
    for same in present.values():
        outcomes[store.PRESENT if same else store.TAKEN] += 1
    counter.add(len(present))
    to_write = [item for item in pending if item.invitation.code not in present]
    for outcome in store.write_imported(to_write, on_done=counter.add).values():
        outcomes[outcome] += 1

    failed = outcomes[store.THROTTLED] + outcomes[store.TAKEN]
    return {
        "survey_id": survey.id,
        "file": str(path),
        "rows": len(rows),
        "imported": outcomes[store.IMPORTED],
        "already_present": outcomes[store.PRESENT],
        "skipped": sum(skipped.values()),
        "failed": failed,
        "skipped_reasons": dict(sorted(skipped.items())),
        "skipped_examples": examples,
        "failed_reasons": {
            reason: n
            for reason, n in (
                ("throttled", outcomes[store.THROTTLED]),
                ("code_taken", outcomes[store.TAKEN]),
            )
            if n
        },
        "truncated": {k: v for k, v in sorted(truncated.items()) if v},
        "columns": {
            **columns.describe(header),
            "questions": {question.key: header[index] for index, question in asked.items()},
        },
        "first_answer": None if first is None else clock.iso(first),
        "last_answer": None if last is None else clock.iso(last),
    }

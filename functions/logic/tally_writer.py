"""Stage 2 of the scores pipeline: one coalescing tally writer per survey (docs/scale.md).

The aggregators of the stream's shards (functions/logic/aggregation.py) write each batch's
ledger entries together with pending deltas, the change they make to each (segment, day), and
send those deltas on a FIFO queue whose message group is the survey. SQS hands a group's
messages to one consumer at a time, so each survey has one writer, which sums the deltas of
all the messages it receives and applies them in one transaction: an ADD per day tally, month
tally and total, and a conditional Delete of each pending delta. A delta is applied exactly
once: a duplicate message finds it gone, the transaction is refused, and the writer reads what
is still pending and applies that. A message that names only its transaction (a replay) is
read the same way. The hot tallies are thus written by one writer a few times a
second, however many shards the survey's answers arrive on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from functions.logic import clock
from functions.settings import get_settings
from functions.store import queues
from functions.store import scores as score_store

ATTEMPTS = 5


def notify(refs: Sequence[score_store.PendingRef]) -> None:
    """Name pending deltas to their survey's tally writer: one message per (transaction,
    survey), grouped by survey; the same pair named again within five minutes is dropped by SQS."""
    if not refs:
        return
    queue_url = get_settings().required("scores_queue_url")
    queues.send_grouped(
        queue_url, [(ref.survey_id, f"{ref.survey_id}.{ref.tx}", ref.to_message()) for ref in refs]
    )


def _chunks(pending: Sequence[score_store.PendingDelta]) -> Iterable[list[score_store.PendingDelta]]:
    """Deltas in groups that fit one transaction with the tally items they move."""
    limit = score_store.MAX_TRANSACTION_ITEMS
    chunk: list[score_store.PendingDelta] = []
    items: set[score_store.TallyItem] = set()
    for delta in sorted(pending, key=lambda p: (p.day_key, p.sk)):
        mine = set(score_store.tally_items(delta.day_key))
        if chunk and len(chunk) + 1 + len(items | mine) > limit:
            yield chunk
            chunk, items = [], set()
        chunk.append(delta)
        items |= mine
    if chunk:
        yield chunk


def apply(refs: Iterable[score_store.PendingRef]) -> int:
    """Apply every pending delta `refs` name (those already applied are gone); the number applied.

    Raises `LedgerConflict` when the deltas kept moving (another writer, a rebuild): the
    messages are received again later.
    """
    wanted = list(dict.fromkeys(refs))
    applied = 0
    for attempt in range(ATTEMPTS):
        # First as the messages carry them (no read); after a refusal, as stored.
        pending = [
            delta
            for ref in wanted
            for delta in (ref.deltas if attempt == 0 and ref.deltas else score_store.read_pending(ref))
        ]
        try:
            for chunk in _chunks(pending):
                score_store.apply_pending(chunk)
                applied += len(chunk)
            return applied
        except score_store.LedgerConflict:
            # Applied meanwhile, or a rebuild's write held a tally: read again, apply what is left.
            clock.pause_before_retry(attempt)
    raise score_store.LedgerConflict("pending deltas kept moving; the messages will be received again")

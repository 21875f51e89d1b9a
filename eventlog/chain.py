"""The tamper-evident chain over each centre's event log, and over the national log (staff accounts,
sign-ins and the erasure of personal data: what belongs to no one centre).

Every event carries h_seq = SHA-256(h_(seq-1) || canonical(event)), h_0 being 32 zero bytes: the
previous hash as raw bytes, then the event as compact JSON with sorted keys (centre id, seq, type,
ticket, counter, actor, the time in UTC to the microsecond, data). Editing, deleting or reordering an
entry breaks the chain at that entry; cutting the tail is caught against the log's own counter and
against the heads exported each day to a file outside the database (docs/operations.md, "Audit").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from config.i18n import N_

GENESIS = "0" * 64
NATIONAL = "national"  # the national log's name in verdicts and exported heads


@dataclass(frozen=True)
class Entry:
    """One event as the chain sees it."""

    centre_id: int | None  # None: the national log
    seq: int
    type: str
    ticket_id: int | None
    counter_id: int | None
    actor: str
    at: datetime
    data: dict[str, Any]
    hash: str | None


def canonical(entry: Entry) -> bytes:
    """The bytes of an event that its hash covers."""
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    fields = {
        "centre": entry.centre_id,
        "seq": entry.seq,
        "type": entry.type,
        "ticket": entry.ticket_id,
        "counter": entry.counter_id,
        "actor": entry.actor,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "data": entry.data,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(previous: str, entry: Entry) -> str:
    """h_seq from h_(seq-1)."""
    return hashlib.sha256(bytes.fromhex(previous) + canonical(entry)).hexdigest()


@dataclass(frozen=True)
class Break:
    """The first entry of a centre's log that is not what was written; why, as an English template
    with its params, so that a page can say it in its reader's language."""

    seq: int
    template: str
    params: dict[str, int]

    @property
    def reason(self) -> str:
        return self.template % self.params


@dataclass(frozen=True)
class Head:
    """Where a centre's chain ends: its last seq and that entry's hash."""

    seq: int
    hash: str


def first_break(entries: Iterable[Entry], *, counted: int, heads: Iterable[Head] = ()) -> Break | None:
    """Walks one centre's entries in seq order; None when the chain holds.

    `counted` is how many events the log's counter says were written; `heads` are heads exported
    earlier, each of which must still be on the chain.
    """
    expected = {head.seq: head.hash for head in heads}
    previous, seq = GENESIS, 0
    for entry in entries:
        seq += 1
        if entry.seq != seq:
            return Break(
                seq,
                N_("entry %(seq)d is missing (the next one found is %(found)d)"),
                {"seq": seq, "found": entry.seq},
            )
        computed = chain_hash(previous, entry)
        if entry.hash != computed:
            return Break(
                seq,
                N_("entry %(seq)d was changed, or entries were moved (its hash does not match)"),
                {"seq": seq},
            )
        if seq in expected and expected.pop(seq) != computed:
            return Break(seq, N_("entry %(seq)d does not match the head exported for it"), {"seq": seq})
        previous = computed
    if seq < counted:
        return Break(
            seq + 1,
            N_("entries %(first)d to %(last)d are missing (the log counted %(last)d)"),
            {"first": seq + 1, "last": counted},
        )
    if expected:
        missing = min(expected)
        return Break(missing, N_("entry %(seq)d, an exported head, is missing"), {"seq": missing})
    return None


def chain(entries: Iterable[Entry]) -> Iterator[tuple[Entry, str]]:
    """Each entry with the hash it should carry (for a backfill)."""
    previous = GENESIS
    for entry in entries:
        previous = chain_hash(previous, entry)
        yield entry, previous

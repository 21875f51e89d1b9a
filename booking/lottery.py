"""The draw itself: who gets the scarce places, from a seed committed to before anyone applied. Pure
functions over plain data, the same for Dor and for anyone re-running a published draw
(`dor draw verify`); docs/scheduling.md has a worked example.

Every step is a SHA-256 over bytes written down here, so that it can be redone in any language:

1. **Commitment**: `commitment = SHA-256(seed)`, the seed being 32 random bytes. The commitment is
   published when the draw is opened; the seed only at its close.
2. **The list**: each application is a line `pseudonym|choice;choice;…`, a choice `CENTRE@YYYY-MM-DD`
   (or `CENTRE@*`: any day); the lines sorted, joined by `\\n`, encoded as UTF-8.
   `list_digest = SHA-256(list)`: when or in what order people applied changes nothing.
3. **The draw key**: `key = SHA-256(seed || list_digest)` (bytes, not hex). Nobody can know it
   before the close: the seed is secret until then, and the list is fixed only then.
4. **The order**: each application's ticket is `SHA-256(key || pseudonym)`; applications are drawn by
   ticket, lowest first. Each ticket is uniform, so each order is equally likely.
5. **The places**: in drawn order, each applicant takes the earliest slot with a place left among
   their choices, in their order of preference. Whoever's choices are all full joins the waiting
   list, numbered in drawn order.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

SEED_BYTES = 32
MAX_CHOICES = 3
ANY_DAY = "*"


@dataclass(frozen=True, order=True)
class Choice:
    """A centre, and a day there or any of the draw's days there (None)."""

    centre: str
    day: date | None = None

    def __str__(self) -> str:
        return f"{self.centre}@{self.day.isoformat() if self.day else ANY_DAY}"

    @classmethod
    def parse(cls, text: str) -> Choice:
        centre, _, day = text.partition("@")
        return cls(centre, None if day == ANY_DAY else date.fromisoformat(day))


@dataclass(frozen=True)
class Application:
    pseudonym: str
    choices: tuple[Choice, ...]

    def line(self) -> str:
        return f"{self.pseudonym}|{';'.join(str(c) for c in self.choices)}"


@dataclass(frozen=True)
class Place:
    """A slot's places offered by the draw; `start` as published (ISO 8601), which orders a day's
    slots."""

    centre: str
    day: date
    start: str
    places: int


@dataclass(frozen=True)
class Outcome:
    """Where one application ended: its draw position (1 first) and either a slot or a waiting place."""

    pseudonym: str
    rank: int
    centre: str | None = None
    start: str | None = None
    waiting: int | None = None


def new_seed() -> bytes:
    return secrets.token_bytes(SEED_BYTES)


def commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def list_digest(applications: Iterable[Application]) -> str:
    lines = sorted(a.line() for a in applications)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def draw_key(seed: bytes, digest: str) -> bytes:
    return hashlib.sha256(seed + bytes.fromhex(digest)).digest()


def ticket(key: bytes, pseudonym: str) -> str:
    return hashlib.sha256(key + pseudonym.encode()).hexdigest()


def order(seed: bytes, applications: Sequence[Application]) -> list[Application]:
    """The applications in drawn order."""
    key = draw_key(seed, list_digest(applications))
    return sorted(applications, key=lambda a: (ticket(key, a.pseudonym), a.pseudonym))


def allocate(drawn: Sequence[Application], places: Sequence[Place]) -> list[Outcome]:
    """Each applicant, in drawn order, takes the earliest slot left among their choices."""
    left = _Left(places)
    outcomes, waiting = [], 0
    for rank, application in enumerate(drawn, start=1):
        slot = next(filter(None, (left.take(choice) for choice in application.choices)), None)
        if slot is None:
            waiting += 1
            outcomes.append(Outcome(application.pseudonym, rank, waiting=waiting))
        else:
            outcomes.append(Outcome(application.pseudonym, rank, centre=slot[0], start=slot[1]))
    return outcomes


@dataclass
class _Slot:
    start: str
    left: int


class _Left:
    """The places left in each slot. Every taker takes a day's earliest free slot, so a day's full
    slots are always its first ones: each full slot, and each full day, is dropped once, not looked
    at again by every later applicant (a draw of 100,000 stays linear)."""

    def __init__(self, places: Sequence[Place]) -> None:
        self.slots: dict[tuple[str, date], deque[_Slot]] = {}
        for place in sorted(places, key=lambda p: (p.centre, p.day, p.start)):
            slots = self.slots.setdefault((place.centre, place.day), deque())
            if slots and slots[-1].start == place.start:
                slots[-1].left += place.places
            else:
                slots.append(_Slot(place.start, place.places))
        self.days: dict[str, list[date]] = {}
        for centre, day in self.slots:
            self.days.setdefault(centre, []).append(day)

    def take(self, choice: Choice) -> tuple[str, str] | None:
        for day in [choice.day] if choice.day else list(self.days.get(choice.centre, [])):
            slots = self.slots.get((choice.centre, day), deque())
            while slots and slots[0].left == 0:
                slots.popleft()
            if slots:
                slots[0].left -= 1
                return choice.centre, slots[0].start
            if day in self.days.get(choice.centre, []):
                self.days[choice.centre].remove(day)
        return None


def run(seed: bytes, applications: Sequence[Application], places: Sequence[Place]) -> list[Outcome]:
    """The whole draw: the order, then the places."""
    return allocate(order(seed, applications), places)


@dataclass(frozen=True)
class Record:
    """What a draw publishes at its close: enough for anyone to redo it."""

    commitment: str
    seed: bytes
    applications: Sequence[Application]
    places: Sequence[Place]
    outcomes: Sequence[Outcome]
    list_digest: str | None = None  # as published; checked against the list when given


def parse_record(data: Mapping[str, Any]) -> Record:
    """A record as `GET /api/v1/draws/{draw}/record` publishes it; KeyError or ValueError if it is not
    one."""
    entries = data["applications"]
    return Record(
        commitment=str(data["commitment"]),
        seed=bytes.fromhex(data["seed"]),
        applications=[
            Application(e["pseudonym"], tuple(Choice.parse(c) for c in e["choices"])) for e in entries
        ],
        places=[
            Place(p["centre"], date.fromisoformat(p["day"]), p["start"], int(p["places"]))
            for p in data["places"]
        ],
        outcomes=[Outcome(e["pseudonym"], e["rank"], e["centre"], e["start"], e["waiting"]) for e in entries],
        list_digest=data.get("list_digest"),
    )


def verify(record: Record) -> list[str]:
    """What does not hold in a published draw (nothing: it is the draw its seed and list give)."""
    if commitment(record.seed) != record.commitment:
        return ["the seed does not match the commitment published before the draw"]
    if record.list_digest is not None and record.list_digest != list_digest(record.applications):
        return ["the list of applications is not the one whose digest was published at the close"]
    pseudonyms = [a.pseudonym for a in record.applications]
    if len(set(pseudonyms)) != len(pseudonyms):
        return ["an application is listed twice"]
    expected = {o.pseudonym: o for o in run(record.seed, record.applications, record.places)}
    published = {o.pseudonym: o for o in record.outcomes}
    problems = [f"{p}: no published result" for p in expected if p not in published]
    problems += [f"{p}: a result for no application" for p in published if p not in expected]
    for pseudonym, outcome in expected.items():
        shown = published.get(pseudonym)
        if shown is not None and shown != outcome:
            problems.append(f"{pseudonym}: published {_said(shown)}, the draw gives {_said(outcome)}")
    return problems


def _said(outcome: Outcome) -> str:
    if outcome.waiting is not None:
        return f"#{outcome.rank}, waiting list {outcome.waiting}"
    return f"#{outcome.rank}, {outcome.centre} {outcome.start}"

"""What the simulator asks of an engine: the commands of queueing/engine.py and the balancer's round,
on the simulator's clock, and at the end the tickets it served.

Two engines answer. `DatabaseEngine` (database_engine.py) runs the real commands, one transaction
each, on a throwaway database. `MemoryEngine` (memory_engine.py) keeps the tickets and counters in
memory and makes every decision with the code production runs on what it reads from the database:
who is called next (queueing/policy.py), what a walk-in is promised (queueing/prediction.py) and the
balancer's moves (scheduling/balancing.py). tests/test_simulation_engines.py holds the two to the
same tickets, call by call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from queueing.policy import Priority
from queueing.waits import Standing


@dataclass(frozen=True)
class Layout:
    """The ids the engine gave what the scenario describes."""

    centre_ids: list[int]  # by the scenario's centre index
    service_ids: dict[str, int]  # service code -> id
    counter_ids: dict[tuple[int, int], int]  # (centre index, counter number) -> id


@dataclass(frozen=True)
class Issued:
    """A new ticket; for a walk-in, what it was promised and what the simpler predictors need."""

    ticket_id: int
    standing: Standing | None = None  # where it stands and its forecast (walk-ins)
    open_counters: int = 0  # open counters holding its queue as their own (paused ones too)
    ready_own: int = 0  # of those, ready to call now
    idle_own: int = 0  # of those, with nobody in hand


@dataclass(frozen=True)
class Called:
    ticket_id: int
    service_id: int
    arrived_at: datetime
    appointment: bool


@dataclass(frozen=True)
class Served:
    """One called citizen as the engine recorded them, in seconds from the run's start."""

    ticket_id: int
    centre_id: int
    service_id: int
    channel: str
    arrived_s: float
    called_s: float
    started_s: float | None
    ended_s: float | None
    counter_id: int | None
    appointment_s: float | None


class Engine(Protocol):
    """Centres are the scenario's centre indexes, counters (centre index, counter number)."""

    name: str

    def build(self, *, now: datetime) -> Layout:
        """Creates the scenario's services, centres and counters, every counter open at `now`."""
        ...

    def issue(
        self,
        *,
        now: datetime,
        centre: int,
        service: str,
        priority: Priority,
        appointment_at: datetime | None,
        phone: str | None,
    ) -> Issued:
        """A ticket at the kiosk (or a remote one, with a phone); a walk-in's promise first."""
        ...

    def call_next(self, *, now: datetime, counter: tuple[int, int]) -> Called | None:
        """The counter's agent presses next: the policy's choice, or None when nobody waits for it."""
        ...

    def start(self, *, now: datetime, counter: tuple[int, int]) -> None: ...

    def finish(self, *, now: datetime, counter: tuple[int, int]) -> None: ...

    def pause(self, *, now: datetime, counter: tuple[int, int]) -> None: ...

    def resume(self, *, now: datetime, counter: tuple[int, int]) -> None: ...

    def close(self, *, now: datetime, counter: tuple[int, int]) -> None: ...

    def balance(self, *, now: datetime) -> int:
        """The balancer job's round at every centre; the moves it planned."""
        ...

    def served(self, *, start: datetime) -> list[Served]:
        """Every called ticket of the run, in order of issue."""
        ...

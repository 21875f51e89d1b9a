"""Scenario files (config/scenarios/*.toml): what a simulated centre looks like, checked before a run,
and its variants (dedicated, pooled, chain). A little over the house's ~400 lines: the schema, its
checks and the variants read together, and each part alone would be a module of a few functions."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from scheduling import skills

NonNegative = Annotated[float, Field(ge=0)]
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


class ScenarioError(Exception):
    """A scenario file is malformed or describes a queue that never settles; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceSpec(_Strict):
    code: str = Field(pattern=r"^[A-Z]{2,8}$")
    prefix: str | None = Field(default=None, pattern=r"^[A-Z]$")
    mean_service_s: float = Field(gt=0)
    # Coefficient of variation of the service time (standard deviation / mean).
    cv: float = Field(default=0.6, ge=0)
    distribution: Literal["lognormal", "exponential"] = "lognormal"
    # Walk-ins per hour, hour by hour from opening; a single value holds all day.
    walk_ins_per_hour: list[NonNegative] = Field(min_length=1)
    # Booked appointments per hour, hour by hour from opening (one value: all day).
    appointments_per_hour: list[NonNegative] = [0.0]
    # Share of walk-ins in a priority class (elderly, disabled, pregnant), who get a head start.
    priority_share: float = Field(default=0.0, ge=0, le=1)


class CentreSpec(_Strict):
    code: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")
    latitude: float = Field(default=33.5, ge=-90, le=90)
    longitude: float = Field(default=36.3, ge=-180, le=180)
    # Scales every service's walk-ins and bookings at this centre (its share of the country's demand).
    demand: float = Field(default=1.0, ge=0)


class CounterSpec(_Strict):
    centre: str | None = None  # the code of one of the [[centre]]s; the first when not given
    count: int = Field(default=1, ge=1)
    services: dict[str, Annotated[float, Field(gt=0)]] = Field(min_length=1)
    # Queues the counter may serve when none of its own has anyone; the balancer may boost them.
    backups: dict[str, Annotated[float, Field(gt=0)]] = {}
    # Breaks, centre-local ["10:30", "10:45"]: the counter pauses when its citizen in hand is done.
    breaks: list[tuple[str, str]] = []

    @field_validator("breaks")
    @classmethod
    def _spans(cls, breaks: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for start, end in breaks:
            if not (re.match(HH_MM, start) and re.match(HH_MM, end)) or start >= end:
                raise ValueError(f"{[start, end]} is not a break like ['10:30', '10:45']")
        return breaks


class DaySpec(_Strict):
    date: dt.date = dt.date(2026, 11, 29)  # a Sunday: the centres work Sunday to Thursday
    timezone: str = "Asia/Damascus"
    opens: str = Field(pattern=HH_MM)
    closes: str = Field(pattern=HH_MM)  # walk-in intake stops; everyone in the hall is still served


class StationarySpec(_Strict):
    citizens: int = Field(ge=1)
    # The first citizens, whose waits start from an empty hall, are not counted: this many, or by
    # default as many as MSER-5 finds in the run's own waits (scheduling/simulation/intervals.py).
    warm_up: int | None = Field(default=None, ge=0)


class AppointmentSpec(_Strict):
    no_show_share: float = Field(default=0.3, ge=0, le=1)
    early_min: float = Field(default=10, ge=0)  # citizens arrive up to this early, uniformly


class BalancerSpec(_Strict):
    # off: counters keep their roles; recommend: the job runs and only counts its moves; apply: it
    # boosts and releases backup queues itself (a centre with auto_balance on).
    mode: Literal["off", "recommend", "apply"] = "off"
    every_s: float = Field(default=60, ge=10, le=3600)
    boost_above_s: float = Field(default=600, gt=0)
    release_below_s: float = Field(default=120, ge=0)


class AdviceSpec(_Strict):
    # The share of walk-ins who ask /api/v1/recommendations before leaving home (at their own centre)
    # and go where it says: the centre with the least travel plus predicted wait.
    follow_share: float = Field(default=0.0, ge=0, le=1)
    travel_s_per_km: float = Field(default=180.0, gt=0)


class RemoteSpec(_Strict):
    # The share of walk-ins who take a remote ticket from home at the time they would have come, and
    # come when the "your turn is near" SMS says so: `notify_ahead` people or `notify_lead_min` minutes
    # (estimated) before their turn, as DOR_SMS_NOTIFY_AHEAD and DOR_SMS_NOTIFY_LEAD_S in a centre.
    share: float = Field(default=0.0, ge=0, le=1)
    notify_ahead: int = Field(default=3, ge=0)
    notify_lead_min: float = Field(default=20.0, ge=0)
    travel_min: tuple[float, float] = (5.0, 15.0)  # from the SMS to the hall, uniformly
    # The centre calls a remote ticket only once its holder checks in at the kiosk (keeping its
    # place); false: it may be called while its holder is on the way, and the counter waits.
    check_in: bool = True

    @field_validator("travel_min")
    @classmethod
    def _range(cls, span: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= span[0] <= span[1]:
            raise ValueError(f"{list(span)} is not a range of minutes like [5, 15]")
        return span


class BookingSpec(_Strict):
    # The share of walk-ins who book a slot online instead, days ahead and in no particular order:
    # the slot holding the time they would have come, else the nearest one of that day with a place
    # left, earlier or later, as the booking pages offer (places from scheduling/capacity.py). They
    # come as early as [appointments] says; with no place left that day, they walk in. A booker who
    # does not come is served another day; none by default, so the day's demand stays whole. Every
    # default is the centre's (DOR_BOOKING_SLOT_MINUTES, _WALK_IN_SHARE, _PLACES, _TARGET_LOAD).
    share: float = Field(default=0.0, ge=0, le=1)
    no_show_share: float = Field(default=0.0, ge=0, le=1)
    slot_min: int = Field(default=30, ge=5, le=240)
    walk_in_share: float = Field(default=0.5, ge=0, lt=1)
    # "flat": every slot keeps `walk_in_share` for walk-ins; "demand" (DOR_BOOKING_PLACES): a slot
    # also gives way to the walk-ins expected in it and those still waiting, keeping the counters at
    # most `target_load` busy (scheduling/capacity.py, places_by_demand). The centre knows its walk-ins
    # from its history; here they are the scenario's rates less the share who book.
    places: Literal["flat", "demand"] = "demand"
    target_load: float = Field(default=0.9, gt=0, le=1)


DEFAULT_CENTRE = CentreSpec(code="SIM-01")


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    walk_s: float = Field(default=0, ge=0)  # from the call to the citizen reaching the counter
    # The share of walk-ins who leave before their call: their counter calls them, calls again, and
    # marks them a no-show (the database engine only).
    walk_away_share: float = Field(default=0.0, ge=0, le=1)
    day: DaySpec | None = None
    stationary: StationarySpec | None = None
    appointments: AppointmentSpec = AppointmentSpec()
    balancer: BalancerSpec = BalancerSpec()
    advice: AdviceSpec = AdviceSpec()
    remote: RemoteSpec = RemoteSpec()
    booking: BookingSpec = BookingSpec()
    # Several centres for one simulation (citizens may be advised from one to another); one when absent.
    centre: list[CentreSpec] = []
    service: list[ServiceSpec] = Field(min_length=1)
    counter: list[CounterSpec] = Field(min_length=1)

    def hours(self) -> int:
        """Hours of intake from opening (the length of a full rate profile); 0 when stationary."""
        if self.day is None:
            return 0
        opens, closes = (datetime.strptime(t, "%H:%M") for t in (self.day.opens, self.day.closes))
        return -(-int((closes - opens).total_seconds()) // 3600)

    def centres(self) -> list[CentreSpec]:
        """The simulated centres."""
        return self.centre or [DEFAULT_CENTRE]

    def counters_of(self, centre: str) -> list[CounterSpec]:
        """The counter specs of one centre."""
        first = self.centres()[0].code
        return [c for c in self.counter if (c.centre or first) == centre]

    def counters(self) -> int:
        """How many counters there are (in all centres)."""
        return sum(spec.count for spec in self.counter)


def rate_at(rates: Sequence[float], hour: int) -> float:
    """The rate of an hourly profile in hour `hour` from opening (one value holds all day)."""
    return rates[0] if len(rates) == 1 else rates[hour]


def offered_loads(scenario: Scenario, centre: CentreSpec) -> list[float]:
    """Per hour of intake (one value when stationary): a centre's offered load as a share of its counters."""
    hours = max(scenario.hours(), 1)
    counters = sum(c.count for c in scenario.counters_of(centre.code))
    return [
        sum(
            (rate_at(s.walk_ins_per_hour, h) + rate_at(s.appointments_per_hour, h)) * s.mean_service_s / 3600
            for s in scenario.service
        )
        * centre.demand
        / max(counters, 1)
        for h in range(hours)
    ]


def load_scenario(path: Path, overrides: Sequence[str] = ()) -> Scenario:
    """The scenario in this file, with `overrides` ("table.key=TOML value") applied, or ScenarioError
    naming the file, the line and the key at fault."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    for override in overrides:
        _override(data, override)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ScenarioError(_where(path, text, error["loc"]) + f": {error['msg']}") from None
    found = problems(scenario)
    if found:
        loc, message = found[0]
        raise ScenarioError(_where(path, text, loc) + f": {message}")
    return scenario


def _override(data: dict[str, Any], override: str) -> None:
    """Sets one "table.key=value" (a TOML value) in the parsed scenario."""
    path, _, value = override.partition("=")
    keys = path.strip().split(".")
    if not value or not all(re.fullmatch(r"[a-z_]+", k) for k in keys):
        raise ScenarioError(f"--set {override}: give table.key=value, e.g. advice.follow_share=0.5")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"--set {override}: {exc}") from None
    table = data
    for key in keys[:-1]:
        table = table.setdefault(key, {})
        if not isinstance(table, dict):
            raise ScenarioError(f"--set {override}: {key} is not a table")
    table[keys[-1]] = parsed


def problems(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """What is wrong across the keys of a well-typed scenario: (where, what), first problem first."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if (scenario.day is None) == (scenario.stationary is None):
        found.append(((), "give exactly one of [day] (a working day) or [stationary] (a long steady run)"))
        return found
    codes = [s.code for s in scenario.service]
    if len(set(codes)) != len(codes):
        found.append((("service",), f"service codes repeat: {codes}"))
    hours = scenario.hours()
    for index, spec in enumerate(scenario.service):
        if spec.distribution == "exponential" and spec.cv != 1:
            found.append((("service", index, "cv"), "an exponential service time has cv = 1"))
        for key in ("walk_ins_per_hour", "appointments_per_hour"):
            rates: list[float] = getattr(spec, key)
            if scenario.stationary is not None and len(rates) != 1:
                found.append((("service", index, key), "a stationary run takes one constant rate"))
            elif scenario.day is not None and len(rates) not in (1, hours):
                found.append((("service", index, key), f"give 1 value or one per hour of intake ({hours})"))
        if scenario.stationary is not None and any(spec.appointments_per_hour):
            found.append((("service", index, "appointments_per_hour"), "a stationary run has no bookings"))
    for index, counter in enumerate(scenario.counter):
        for key in ("services", "backups"):
            for code in getattr(counter, key):
                if code not in codes:
                    found.append((("counter", index, key, code), f"unknown service {code}"))
        for code in set(counter.services) & set(counter.backups):
            found.append((("counter", index, "backups", code), f"{code} is already one of its own queues"))
        if counter.breaks and scenario.day is None:
            found.append((("counter", index, "breaks"), "breaks belong to a [day] scenario"))
    centres = [c.code for c in scenario.centres()]
    if len(set(centres)) != len(centres):
        found.append((("centre",), f"centre codes repeat: {centres}"))
    for index, counter in enumerate(scenario.counter):
        if counter.centre is not None and counter.centre not in centres:
            found.append((("counter", index, "centre"), f"unknown centre {counter.centre}"))
    for index, centre in enumerate(scenario.centre):
        if not scenario.counters_of(centre.code):
            found.append((("centre", index), f"{centre.code} has no counters"))
    if scenario.stationary is not None and scenario.booking.share > 0:
        found.append((("booking", "share"), "bookings need slots: they belong to a [day] scenario"))
    warm_up = scenario.stationary.warm_up if scenario.stationary is not None else None
    if scenario.stationary is not None and warm_up is not None and warm_up >= scenario.stationary.citizens:
        found.append((("stationary", "warm_up"), "the warm-up must be shorter than the run"))
    return found


def instability(scenario: Scenario) -> str | None:
    """Why the queue cannot settle, when the offered work reaches the counters' capacity; None when
    it may. Necessary conditions only: the whole centre, and each service on the counters that serve
    it at full weight. Counters shared by several services can still be overloaded together."""
    for centre in scenario.centres():
        for hour, load in enumerate(offered_loads(scenario, centre)):
            if load >= 1:
                when = f" in hour {hour + 1} of intake" if scenario.day is not None else ""
                counters = sum(c.count for c in scenario.counters_of(centre.code))
                where = f" at {centre.code}" if scenario.centre else ""
                return f"offered load{where} is {load:.0%} of {counters} counters{when}"
    for _, code, work, serving in overloaded(scenario)[:1]:
        return f"{code} needs {work:.2f} counters but {serving} serve it"
    return None


def _where(path: Path, text: str, loc: Sequence[str | int]) -> str:
    """'file line N, key.path' for a pydantic-style location, found by reading the TOML text."""
    keys = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    line = _line_of(text, loc)
    at = f" line {line}" if line else ""
    return f"{path}{at}, {keys}" if keys else f"{path}{at}"


def _line_of(text: str, loc: Sequence[str | int]) -> int | None:
    lines = text.splitlines()
    position, found = 0, None
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        if not isinstance(part, str):
            i += 1
            continue
        key = re.escape(part)
        nth = parts[i + 1] if i + 1 < len(parts) and isinstance(parts[i + 1], int) else None
        table = re.compile(rf"^\s*\[\[\s*{key}\s*\]\]" if nth is not None else rf"^\s*\[\[?\s*{key}\s*\]")
        headers = [n for n in range(position, len(lines)) if table.match(lines[n])]
        if nth is not None and isinstance(nth, int) and nth < len(headers):
            position = found = headers[nth]
            i += 2
            continue
        if nth is None and headers:
            position = found = headers[0]
        else:
            assignment = re.compile(rf"(^|[\s{{,]){key}\s*=")
            hit = next((n for n in range(position, len(lines)) if assignment.search(lines[n])), None)
            if hit is None:
                break
            position = found = hit
        i += 1
    return None if found is None else found + 1


def variant(scenario: Scenario, name: str) -> Scenario:
    """The scenario as given, or its yardsticks: `dedicated` (each counter keeps to its own queues:
    no backups, no balancer), `pooled` (every counter calls every queue as its own, weight 1), or
    `chain` (each counter its own queue and a backup, planned from the demand: skill_chain)."""
    if name == "given":
        return scenario
    if name == "chain":
        return skill_chain(scenario)
    counters: list[CounterSpec] = []
    for counter in scenario.counter:
        services = (
            dict(counter.services)
            if name == "dedicated"
            else dict.fromkeys((s.code for s in scenario.service), 1.0)
        )
        counters.append(counter.model_copy(update={"services": services, "backups": {}}))
    return scenario.model_copy(
        update={"counter": counters, "balancer": BalancerSpec(), "name": f"{scenario.name} [{name}]"}
    )


def skill_chain(scenario: Scenario) -> Scenario:
    """The scenario with each centre's counters planned by scheduling/skills.py from its demand over
    the day (walk-ins and appointments, a day's mean); each keeps its breaks, in the file's order."""
    counters: list[CounterSpec] = []
    for centre in scenario.centres():
        given = [c for c in scenario.counters_of(centre.code) for _ in range(c.count)]
        hours = max(scenario.hours(), 1)
        work = {
            spec.code: sum(
                rate_at(spec.walk_ins_per_hour, h) + rate_at(spec.appointments_per_hour, h)
                for h in range(hours)
            )
            / hours
            * centre.demand
            * spec.mean_service_s
            / 3600
            for spec in scenario.service
        }
        try:
            assignments = skills.plan(work, len(given))
        except skills.PlanError as exc:
            raise ScenarioError(f"--variant chain at {centre.code}: {exc}") from exc
        for counter, assignment in zip(given, assignments, strict=True):
            counters.append(
                counter.model_copy(
                    update={
                        "count": 1,
                        "services": dict.fromkeys(assignment.own, 1.0),
                        "backups": dict.fromkeys(assignment.backups, 1.0),
                    }
                )
            )
    return scenario.model_copy(update={"counter": counters, "name": f"{scenario.name} [chain]"})


def overloaded(scenario: Scenario) -> list[tuple[int, str, float, int]]:
    """Services that need, at some hour, more counters of a centre than call them there (own queue or
    backup): (index, service [at centre], counters needed, counters calling it), at the worst hour."""
    found = []
    centres = scenario.centres()
    for centre in centres:
        counters = scenario.counters_of(centre.code)
        for index, spec in enumerate(scenario.service):
            serving = sum(c.count for c in counters if spec.code in c.services or spec.code in c.backups)
            rates = (
                rate_at(spec.walk_ins_per_hour, h) + rate_at(spec.appointments_per_hour, h)
                for h in range(max(scenario.hours(), 1))
            )
            work = max(rates) * centre.demand * spec.mean_service_s / 3600
            if work >= serving and work > 0:
                label = spec.code if len(centres) == 1 else f"{spec.code} at {centre.code}"
                found.append((index, label, work, serving))
    return found


def local_time(value: str) -> time:
    """'10:30' as a time."""
    return datetime.strptime(value, "%H:%M").time()

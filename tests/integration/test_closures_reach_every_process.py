"""A change to the organisation reaches every running process: two `dor serve` processes on one
database, each having listed a day's slots (its copy of the organisation in memory), and a supervisor
on the first closing that day. The second, asked again once its listings' snapshots have aged out
(a second at most, booking/listings.py), offers none. Then the supervisor shortens another day's
hours on the first: the second offers that day's new slots."""

from __future__ import annotations

import time
import tomllib
from datetime import date, timedelta
from pathlib import Path

import httpx2
import pytest

from booking.listings import MOST_A_LISTING_LAGS_S
from organisation.models import WEEKDAYS
from organisation.seed import DEMO_DIR
from tests.integration.helpers import CENTRE, prepared_database, running_servers, sign_in

pytestmark = pytest.mark.slow
OPEN_DAYS = {6, 0, 1, 2, 3}  # Sunday to Thursday (date.weekday(): Monday is 0)


def a_working_day_ahead(after: date | None = None) -> date:
    """A day the demo centre opens, a few days from now or the first after `after` (the servers run
    on the real clock)."""
    centres = tomllib.loads((DEMO_DIR / "centres.toml").read_text(encoding="utf-8"))["centre"]
    holidays = next(c["holidays"] for c in centres if c["code"] == CENTRE)
    day = date.today() + timedelta(days=3) if after is None else after + timedelta(days=1)
    while day.weekday() not in OPEN_DAYS or day.isoformat() in holidays:
        day += timedelta(days=1)
    return day


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_closure_and_new_hours_made_on_one_process_are_kept_by_the_other_within_a_second(
    backend: str, tmp_path: Path
) -> None:
    day = a_working_day_ahead()
    slots = f"/api/v1/centres/{CENTRE}/services/CR/slots?from={day.isoformat()}&days=1"
    later = a_working_day_ahead(after=day)
    later_slots = f"/api/v1/centres/{CENTRE}/services/CR/slots?from={later.isoformat()}&days=1"
    with (
        prepared_database(backend, tmp_path) as prepared,
        running_servers(prepared.url, tmp_path, 2) as servers,
        httpx2.Client(base_url=servers[1].url, timeout=30.0) as citizen,
    ):
        assert citizen.get(slots).json() != [], "the day is offered before its closure"
        assert last_start(citizen.get(later_slots).json()) == "14:30", "the demo's hours, 08:00 to 15:00"
        listed = time.monotonic()  # the second process's snapshots began before this
        supervisor = sign_in(servers[0].url, "supervisor1", "demo")
        try:
            closed = supervisor.post(
                f"/api/v1/centres/{CENTRE}/closures", json={"day": day.isoformat(), "reason": "power cut"}
            )
            week = supervisor.get(f"/api/v1/centres/{CENTRE}/hours").json()["week"]
            week[WEEKDAYS[later.weekday()]] = [["08:00", "10:00"]]
            shortened = supervisor.put(
                f"/api/v1/centres/{CENTRE}/hours", json={"week": week, "reason": "short day"}
            )
        finally:
            supervisor.close()
        assert closed.status_code == 201, closed.text
        assert shortened.status_code == 200, shortened.text
        time.sleep(max(0.0, listed + MOST_A_LISTING_LAGS_S - time.monotonic()))  # the lag it may have
        assert citizen.get(slots).json() == []
        assert last_start(citizen.get(later_slots).json()) == "09:30"


def last_start(slots: list[dict[str, str]]) -> str:
    """The local time the day's last slot starts, as the API writes it (2026-12-08T14:30:00+03:00)."""
    return slots[-1]["start"][11:16]

"""A change to the organisation reaches every running process on its next request: two `dor serve`
processes on one database, each having listed a day's slots (its copy of the organisation in
memory), and a supervisor on the first closing that day. The second, asked again, offers none."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path

import httpx2
import pytest

from organisation.seed import DEMO_DIR
from tests.integration.helpers import CENTRE, prepared_database, running_servers, sign_in

pytestmark = pytest.mark.slow
OPEN_DAYS = {6, 0, 1, 2, 3}  # Sunday to Thursday (date.weekday(): Monday is 0)


def a_working_day_ahead() -> date:
    """A day the demo centre opens, a few days from now (the servers run on the real clock)."""
    centres = tomllib.loads((DEMO_DIR / "centres.toml").read_text(encoding="utf-8"))["centre"]
    holidays = next(c["holidays"] for c in centres if c["code"] == CENTRE)
    day = date.today() + timedelta(days=3)
    while day.weekday() not in OPEN_DAYS or day.isoformat() in holidays:
        day += timedelta(days=1)
    return day


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_closure_made_on_one_process_is_kept_by_the_other_on_its_next_request(
    backend: str, tmp_path: Path
) -> None:
    day = a_working_day_ahead()
    slots = f"/api/v1/centres/{CENTRE}/services/CR/slots?from={day.isoformat()}&days=1"
    with (
        prepared_database(backend, tmp_path) as prepared,
        running_servers(prepared.url, tmp_path, 2) as servers,
        httpx2.Client(base_url=servers[1].url, timeout=30.0) as citizen,
    ):
        assert citizen.get(slots).json() != [], "the day is offered before its closure"
        supervisor = sign_in(servers[0].url, "supervisor1", "demo")
        try:
            closed = supervisor.post(
                f"/api/v1/centres/{CENTRE}/closures", json={"day": day.isoformat(), "reason": "power cut"}
            )
        finally:
            supervisor.close()
        assert closed.status_code == 201, closed.text
        assert citizen.get(slots).json() == []

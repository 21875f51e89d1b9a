"""The demo's past (`dor seed --demo --history`): a week of one centre played through the real engine,
on open days only, its chain whole, written once; then the reports, the transparency page and the
counter plan have something to show."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from eventlog.models import Event
from organisation.models import Centre, Counter
from queueing.models import Feedback, Ticket
from scheduling.simulation.history import seed_history
from sms_gateway.models import SmsMessage, SmsStatus
from supervision.audit import verify
from tests.conftest import VirtualClock, sign_in

CENTRE = "DAM-02"  # open Sunday to Thursday
HOLIDAY = date(2026, 11, 24)  # a Tuesday of the week before the clock's Sunday, 29 November
OPEN_DAYS = {date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 25), date(2026, 11, 26)}
WEEK = "from=2026-11-22&to=2026-11-28"


LOAD = 0.1  # half the demo's: fewer tickets, a quicker test


def _seed(database: Database, clock: VirtualClock) -> list[str]:
    written = seed_history(database, weeks=1, now=clock.now, centres=[CENTRE], load=LOAD)
    return [centre.skipped for centre in written]


def test_a_week_of_open_days_is_served_rated_and_chained_once_and_every_view_shows_it(
    database: Database, clock: VirtualClock, app: Starlette, client: TestClient
) -> None:
    with database.write() as session:
        session.execute(
            update(Centre).where(col(Centre.code) == CENTRE).values(holidays=[HOLIDAY.isoformat()])
        )
    assert _seed(database, clock) == [""]
    with database.read() as session:
        centre = session.exec(select(Centre).where(Centre.code == CENTRE)).one()
        tickets = session.exec(select(Ticket).where(Ticket.centre_id == centre.id)).all()
        assert {t.day for t in tickets} == OPEN_DAYS  # not Friday, Saturday or the holiday
        for day in OPEN_DAYS:
            served = [t for t in tickets if t.day == day and t.status == "done"]
            assert len(served) >= 10, day
        assert {t.status for t in tickets} == {"done", "no_show"}  # the day's hall emptied
        assert "kiosk" in {t.channel for t in tickets}
        assert len({t.counter_id for t in tickets}) >= 3
        ratings = session.exec(select(Feedback).where(Feedback.centre_id == centre.id)).all()
        assert len(ratings) > len(tickets) / 5
        given = [r.rating for r in ratings]  # mostly content, a few not
        assert given.count(5) > len(given) / 3 and min(given) <= 2
        assert all(r.agent_id is not None for r in ratings)  # who served them, from the log
        assert any(r.comment for r in ratings)
        assert not session.exec(
            select(Counter).where(Counter.centre_id == centre.id, col(Counter.is_open))
        ).all()
        pending = select(func.count()).where(col(SmsMessage.status) == SmsStatus.PENDING.value)
        assert session.exec(pending).one() == 0  # the past's SMS are not sent now
        events = session.exec(select(func.count()).where(Event.centre_id == centre.id)).one()
        assert all(verdict.broken is None for verdict in verify(session))
    assert _seed(database, clock) == [
        f"its log holds {events} events already; a past is written only into an empty log"
    ]
    with database.read() as session:
        assert session.exec(select(func.count()).select_from(Ticket)).one() == len(tickets)
    _the_views_show(app, client, clock)


def _the_views_show(app: Starlette, client: TestClient, clock: VirtualClock) -> None:
    """What a supervisor and a citizen read of the past week."""
    with sign_in(app, "supervisor1") as supervisor:
        services = supervisor.get(f"/api/v1/centres/{CENTRE}/reports/services?{WEEK}").json()
        assert sum(row["served"] for row in services) >= 40
        assert any(row["no_show"] for row in services)
        assert any(row["mean_wait_s"] for row in services)
        agents = supervisor.get(f"/api/v1/centres/{CENTRE}/reports/agents?{WEEK}").json()
        assert {row["agent"] for row in agents} >= {"staff:agent3", "staff:agent8"}
        feedback = supervisor.get(f"/api/v1/centres/{CENTRE}/reports/feedback?{WEEK}").json()["rows"]
        assert {row["by"] for row in feedback} == {"service", "counter", "agent"}
        plan = supervisor.get(f"/api/v1/centres/{CENTRE}/counter-plan")
        assert plan.status_code == 200, plan.text
        assert plan.json()["tickets"] >= 40
    figures = client.get(f"/api/v1/centres/{CENTRE}/transparency").json()
    served = {day["day"]: day["served"] for day in figures["days"]}
    yesterday = (clock.now.date() - timedelta(days=1)).isoformat()
    assert served[yesterday] == 0  # a Saturday
    assert all(served[day.isoformat()] > 0 for day in OPEN_DAYS if day.isoformat() in served)
    assert figures["feedback"]["answers"] > 10 and 3 < figures["feedback"]["mean_rating"] < 5

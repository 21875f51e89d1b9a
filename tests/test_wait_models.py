"""The wait a ticket is promised at issue is kept on it: the ranges are calibrated from how far such
promises were off."""

from sqlmodel import select
from starlette.testclient import TestClient

from config.db import Database
from queueing.models import Ticket
from tests.conftest import take_ticket


def test_the_wait_promised_at_issue_is_kept_on_the_ticket(client: TestClient, database: Database) -> None:
    """The calibration of the ranges compares each promise with the wait that came."""
    issued = [take_ticket(client, "CR") for _ in range(3)]
    assert [view["estimated_wait_s"] > 0 for view in issued] == [False, True, True]  # the first: nobody ahead
    with database.read() as session:
        for view in issued:
            ticket = session.exec(select(Ticket).where(Ticket.token == view["token"])).one()
            assert ticket.predicted_wait_s == view["estimated_wait_s"]

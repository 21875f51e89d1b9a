"""The draws' pages as served: public ones for anyone, in Arabic first; unknown draws and links are
not found; the admins' page is for admins only; what is typed in the results' search and page number
never fails. (The flow through them runs in a browser: tests/browser/test_draw_pages.py.)
Clock: Sunday 2026-11-29 09:00 in Damascus (UTC+3)."""

from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.appointments import national_rules
from booking.draw_results import run_due_draws
from booking.draws import find_draw
from booking.models import ApplicationStatus, DrawApplication
from config.db import Database
from config.settings import Settings
from config.sql import id_of
from tests.conftest import VirtualClock, sign_in

DRAW = {
    "code": "PASS-2026-12",
    "service": "PP",
    "centres": ["DAM-01"],
    "opens_at": "2026-11-29T10:00:00+03:00",
    "closes_at": "2026-12-01T12:00:00+03:00",
    "first_day": "2026-12-06",
    "last_day": "2026-12-08",
    "reason": "passports: demand far above places",
}


@pytest.fixture
def announced(client: TestClient, app: Starlette) -> str:
    with sign_in(app, "admin") as admin:
        response = admin.post("/api/v1/draws", json=DRAW)
    assert response.status_code == 201, response.text
    return str(response.json()["commitment"])


def test_a_draw_is_listed_and_shown_with_its_commitment_in_arabic_and_english(
    client: TestClient, announced: str
) -> None:
    listed = client.get("/draws")
    assert listed.status_code == 200
    assert 'dir="rtl"' in listed.text and "طلب جواز سفر" in listed.text and "معلَنة" in listed.text
    page = client.get("/draws/PASS-2026-12?lang=en")
    assert page.status_code == 200
    assert announced in page.text
    assert "Applications open on Sunday 29 November 2026, 10:00." in page.text
    assert 'id="apply"' not in page.text  # not before the window


def test_the_front_page_links_the_draws(client: TestClient) -> None:
    assert 'href="/draws"' in client.get("/").text


@pytest.mark.parametrize("path", ["/draws/NO-SUCH-DRAW", "/draws/applications/no-such-token"])
def test_an_unknown_draw_or_application_is_not_found(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert 'dir="rtl"' in response.text


@pytest.fixture
def drawn(announced: str, database: Database, settings: Settings, clock: VirtualClock) -> None:
    """The draw run at its close, with no one applying."""
    clock.now = datetime(2026, 12, 1, 9, 1, tzinfo=UTC)  # Tuesday 12:01 in Damascus
    run_due_draws(database, rules=national_rules(settings), base_url=settings.base_url, now=clock())


TYPED = ["?page=999999999999", "?page=-1", "?page=٢", "?q=%25_%5C", "?q=" + "x" * 300]


@pytest.mark.parametrize("query", TYPED)
def test_whatever_is_typed_in_the_search_or_page_the_page_answers(
    client: TestClient, drawn: None, query: str
) -> None:
    page = client.get(f"/draws/PASS-2026-12{query}")
    assert page.status_code == 200
    assert 'id="seed"' in page.text


def test_the_admins_page_sends_others_to_sign_in_or_away(client: TestClient, app: Starlette) -> None:
    anonymous = client.get("/admin/draws", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/admin/draws"
    with sign_in(app, "supervisor1") as supervisor:
        refused = supervisor.get("/admin/draws", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/admin"
    with sign_in(app, "admin") as admin:
        page = admin.get("/admin/draws")
    assert page.status_code == 200 and 'id="draw-form"' in page.text
    assert 'value="PP"' in page.text  # the bookable services to choose from


def test_the_results_come_a_hundred_a_page_in_drawn_order_and_the_search_finds_one(
    client: TestClient, drawn: None, database: Database, clock: VirtualClock
) -> None:
    with database.write() as session:
        draw = find_draw(session, "PASS-2026-12")
        assert draw is not None
        for rank in range(1, 151):
            session.add(
                DrawApplication(
                    draw_id=id_of(draw),
                    pseudonym=f"{rank:04X}-AAAA-BBBB-CCCC",
                    token=f"token-{rank}",
                    national_id_hash=f"hash-{rank}",
                    choices=["DAM-01@*"],
                    created_at=clock(),
                    status=ApplicationStatus.WAITING.value,
                    rank=rank,
                    waiting=rank,
                )
            )
    first = client.get("/draws/PASS-2026-12?lang=en").text
    assert first.count("<tr data-pseudonym=") == 100
    assert first.index("0001-AAAA") < first.index("0064-AAAA")  # rank 100
    assert "0065-AAAA" not in first and 'rel="next"' in first and "page 1 of 2" in first
    second = client.get("/draws/PASS-2026-12?lang=en&page=2").text
    assert second.count("<tr data-pseudonym=") == 50 and "0065-AAAA" in second and 'rel="prev"' in second
    found = client.get("/draws/PASS-2026-12?lang=en&q=0078-aaaa").text  # rank 120, typed in lower case
    assert found.count("<tr data-pseudonym=") == 1 and "Waiting list 120" in found

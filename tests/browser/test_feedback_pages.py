"""Feedback after service in a real browser: the tracker of a served ticket asks how it went (five
choices in words, an optional comment, one answer) in Arabic and English on a phone (390x844); the
reports page and the open figures show what was said; axe-core finds no WCAG 2.2 A/AA violation."""

import json
import re
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from queueing.models import Feedback
from tests.browser.conftest import LiveServer
from tests.browser.test_kiosk_page import axe_violations

KIOSK = {"Authorization": "Bearer demo-kiosk-DAM-01"}
COUNTER = "/api/v1/centres/DAM-01/counters/1"
PHONE = {"width": 390, "height": 844}


def served(live_server: LiveServer, count: int = 1) -> list[dict]:  # type: ignore[type-arg]
    """`count` CR tickets, each called, served and finished at counter 1 by agent1."""
    tickets = []
    with httpx2.Client(base_url=live_server.url) as agent:
        login = agent.post("/api/v1/auth/login", json={"username": "agent1", "password": "demo"})
        agent.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        agent.post(f"{COUNTER}/open")
        for _ in range(count):
            issued = agent.post(
                "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
            )
            assert issued.status_code == 201
            tickets.append(issued.json())
            for action in ("next", "start", "finish"):
                live_server.clock.advance(60)
                assert agent.post(f"{COUNTER}/{action}").status_code == 200
    return tickets


@pytest.fixture
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    """A phone where a test asks for one, else a supervisor's desk."""
    return getattr(request, "param", {"width": 1366, "height": 900})


def no_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


@pytest.mark.parametrize("viewport", [PHONE], indirect=True)
def test_the_tracker_asks_how_it_went_once_in_arabic(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    mine = served(live_server)[0]
    page.goto(f"{live_server.url}/t/{mine['token']}?lang=ar")
    expect(page.locator("#status")).to_have_text("تمت خدمتك. شكراً لك.")
    form = page.get_by_role("group", name="كيف كانت خدمتك؟")
    expect(form).to_be_visible()
    choices = form.get_by_role("button")
    expect(choices).to_have_text(["سيئة جداً", "سيئة", "مقبولة", "جيدة", "جيدة جداً"])
    expect(page.locator("#comment-hint")).to_have_text("٢٨٠ حرفاً على الأكثر؛ بقي ٢٨٠.")
    page.get_by_label("هل تود إضافة شيء؟ (اختياري)").fill("  موظف لطيف وسريع  ")
    expect(page.locator("#comment-hint")).to_have_text("٢٨٠ حرفاً على الأكثر؛ بقي ٢٦١.")
    page.screenshot(path=str(tmp_path / "tracker-feedback-ar.png"), full_page=True)
    no_violations(page)
    form.get_by_role("button", name="جيدة جداً").click()
    expect(page.locator("#thanks")).to_have_text("شكراً لك: وصلنا تقييمك.")
    expect(page.locator("#feedback")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "tracker-feedback-ar-given.png"), full_page=True)
    no_violations(page)
    page.reload()  # the view says it was given: no second answer is asked for
    expect(page.locator("#thanks")).to_be_visible()
    expect(page.locator("#feedback")).to_be_hidden()
    with live_server.database.read() as session:
        answers = [(a.rating, a.comment) for a in session.exec(select(Feedback)).all()]
    assert answers == [(5, "موظف لطيف وسريع")]


@pytest.mark.parametrize("viewport", [PHONE], indirect=True)
def test_the_tracker_asks_in_english_and_a_second_tab_is_told_it_was_given(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    mine = served(live_server)[0]
    page.goto(f"{live_server.url}/t/{mine['token']}?lang=en&digits=latin")
    form = page.get_by_role("group", name="How was your service?")
    expect(form.get_by_role("button")).to_have_text(["Very bad", "Bad", "Acceptable", "Good", "Very good"])
    expect(page.locator("#comment-hint")).to_have_text("At most 280 characters; 280 left.")
    page.screenshot(path=str(tmp_path / "tracker-feedback-en.png"), full_page=True)
    no_violations(page)
    # Another tab answered first: this one's tap is refused, and it says the answer was received.
    with httpx2.Client(base_url=live_server.url) as other_tab:
        assert (
            other_tab.post(f"/api/v1/tickets/{mine['token']}/feedback", json={"rating": 2}).status_code == 201
        )
    form.get_by_role("button", name="Acceptable").click()
    expect(page.locator("#thanks")).to_have_text("Thank you: your answer was received.")
    expect(page.locator("#error")).to_be_hidden()
    with live_server.database.read() as session:
        assert [a.rating for a in session.exec(select(Feedback)).all()] == [2]


def test_the_reports_and_the_open_figures_show_what_was_said(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    tickets = served(live_server, 3)
    with httpx2.Client(base_url=live_server.url) as citizen:
        for ticket, body in zip(
            tickets,
            ({"rating": 5, "comment": "Quick"}, {"rating": 4}, {"rating": 2, "comment": "Long wait"}),
            strict=True,
        ):
            live_server.clock.advance(60)
            assert citizen.post(f"/api/v1/tickets/{ticket['token']}/feedback", json=body).status_code == 201
    page.clock.set_fixed_time(live_server.clock.now)  # the session watcher reads the server's clock
    page.goto(f"{live_server.url}/login?next=/supervisor/reports")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    rows = page.locator("#feedback-rows tr")
    expect(rows).to_have_text(
        [re.compile(rf"^{what}\s*٣\s*٣٫٦٧$") for what in ("الخدمة CR", "الشباك ١", "موظف شباك agent1")]
    )
    comments = page.locator("#feedback-comments li")
    expect(comments).to_have_count(2)
    expect(comments.first).to_contain_text("سيئة")
    expect(comments.first).to_contain_text("Long wait")
    page.locator("#feedback-title").scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "reports-feedback-ar.png"), full_page=True)
    no_violations(page)

    page.goto(f"{live_server.url}/transparency/DAM-01?lang=ar")
    expect(page.locator("#feedback")).to_have_text(
        re.compile(r"^٣ تقييمات في آخر ٣٠ يوماً:\s+متوسط التقييم ٣٫٧ من ٥$")
    )
    expect(page.locator("main")).not_to_contain_text("Long wait")
    page.screenshot(path=str(tmp_path / "transparency-ar.png"), full_page=True)
    no_violations(page)
    page.goto(f"{live_server.url}/transparency/DAM-01?lang=en&digits=latin")
    expect(page.locator("#feedback")).to_have_text(
        re.compile(r"^3 answers in the last 30 days:\s+mean rating 3.7 out of 5$")
    )
    page.screenshot(path=str(tmp_path / "transparency-en.png"), full_page=True)

"""The supervisor's reports page in a real browser: the charts load, a broker's bookings are flagged,
voided and its browser blocked, each with a reason; axe-core finds no WCAG 2.2 A/AA violation."""

import json

import httpx2
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_booking_pages import START, latest_otp
from tests.browser.test_counter_console import issue
from tests.browser.test_kiosk_page import axe_violations

COUNTER = "/api/v1/centres/DAM-01/counters/1"


def broker_books_for_four(live_server: LiveServer) -> list[str]:
    """One browser (its /book cookie) books a slot for four national IDs, each with its own phone."""
    broker = httpx2.Client(base_url=live_server.url)
    assert broker.get("/book").status_code == 200
    codes = []
    for n in range(4):
        phone = f"+963944100{n:03d}"
        assert broker.post("/api/v1/otp", json={"phone": phone, "purpose": "booking"}).status_code == 202
        made = broker.post(
            "/api/v1/appointments",
            json={
                "centre": "DAM-01",
                "service": "CR",
                "start": START,
                "phone": phone,
                "otp": latest_otp(live_server),
                "national_id": f"0123456{n:04d}",
            },
        )
        assert made.status_code == 201, made.text
        codes.append(made.json()["code"])
    return codes


def a_few_served(live_server: LiveServer) -> None:
    """Three walk-ins, two served by agent1, so that the charts have something to show."""
    for _ in range(3):
        issue(live_server)
    agent = httpx2.Client(base_url=live_server.url)
    login = agent.post("/api/v1/auth/login", json={"username": "agent1", "password": "demo"})
    agent.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    assert agent.post(f"{COUNTER}/open").status_code == 200
    for _ in range(2):
        live_server.clock.advance(300)
        for action in ("next", "start"):
            assert agent.post(f"{COUNTER}/{action}").status_code == 200
        live_server.clock.advance(240)
        assert agent.post(f"{COUNTER}/finish").status_code == 200


def test_a_supervisor_voids_a_brokers_bookings_and_blocks_its_browser(
    live_server: LiveServer, page: Page
) -> None:
    a_few_served(live_server)
    codes = broker_books_for_four(live_server)
    page.clock.set_fixed_time(live_server.clock.now)  # the session watcher reads the server's clock
    page.goto(f"{live_server.url}/login?next=/supervisor/reports")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/supervisor/reports")

    flag = page.locator("#flags .flag").first
    expect(flag.locator("h3")).to_contain_text("أرقام وطنية كثيرة حُجز لها من متصفح واحد")
    for code in codes:
        expect(flag).to_contain_text(code)
    flag.get_by_role("button", name="ألغِ حجوزاته").click()
    expect(flag.locator("input")).to_be_focused()  # no reason, nothing done
    flag.locator("input").fill("متصفح واحد حجز لأربعة أشخاص")
    flag.get_by_role("button", name="ألغِ حجوزاته").click()
    expect(page.locator("#flags .flag").first.locator(".codes li").first).to_contain_text("أُبطل")

    flag = page.locator("#flags .flag").first
    flag.locator("input").fill("سمسار مواعيد")
    flag.get_by_role("button", name="احظر هذا المتصفح").click()
    expect(page.locator("#blocks li").first).to_contain_text("سمسار مواعيد")

    for chart in ("#services-chart", "#agents-chart"):  # drawn by the server from the served tickets
        expect(page.locator(chart)).to_have_js_property("complete", True)
        assert page.locator(chart).evaluate("image => image.naturalWidth") > 0
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "supervisor-reports-ar.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)

"""The supervisor's wallboard in a real browser: it follows the hall live as tickets are issued and
called, and axe-core finds no WCAG 2.2 A/AA violation."""

import json

import httpx2
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_counter_console import issue
from tests.browser.test_kiosk_page import axe_violations
from tests.browser.test_screens import arabic_digits

AGENT1 = "لينا العمر"  # config/demo/staff.toml: the wallboard names agents, not usernames


def test_the_wallboard_updates_live_when_a_ticket_is_issued_and_called(
    live_server: LiveServer, page: Page
) -> None:
    # The session's expiry comes from the server's (virtual) clock: the page's must agree with it, or
    # the session watcher signs the supervisor out, depending on the time of day the test runs at.
    page.clock.set_fixed_time(live_server.clock.now)
    page.goto(f"{live_server.url}/supervisor")
    expect(page).to_have_url(f"{live_server.url}/login?next=/supervisor")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/supervisor")
    waiting = page.locator("#queues tr[data-service=CR] .waiting")
    expect(waiting).to_have_text("٠")
    expect(page.locator("#queues tr[data-service=CR] th")).to_have_text("إخراج قيد فردي")

    number = issue(live_server)
    expect(waiting).to_have_text("١")  # no reload: the centre's feed rang

    agent = httpx2.Client(base_url=live_server.url)
    login = agent.post("/api/v1/auth/login", json={"username": "agent1", "password": "demo"})
    agent.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    assert agent.post("/api/v1/centres/DAM-01/counters/1/next").status_code == 200
    expect(page.locator("#counters tr[data-counter='1'] .ticket")).to_have_text(arabic_digits(number))
    expect(page.locator("#counters tr[data-counter='1'] td").nth(1)).to_have_text(AGENT1)
    expect(waiting).to_have_text("٠")
    expect(page.locator("#counters tr[data-counter='1'] .state")).to_have_text("ينادي")
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "supervisor-ar.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def test_an_agent_is_sent_to_the_counter_console(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/login?next=/supervisor")
    page.fill("#username", "agent1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/counter")

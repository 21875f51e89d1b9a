"""An agent works the counter console in a real browser, in Arabic."""

import json
from pathlib import Path

import httpx2
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_kiosk_page import axe_violations
from tests.browser.test_screens import arabic_digits


def issue(server: LiveServer, service: str = "CR") -> str:
    response = httpx2.post(
        f"{server.url}/api/v1/centres/DAM-01/tickets",
        json={"service": service, "channel": "kiosk"},
        headers={"Authorization": "Bearer demo-kiosk-DAM-01"},
    )
    assert response.status_code == 201
    return str(response.json()["number"])


def test_an_agent_serves_one_citizen_and_marks_the_next_no_show(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    first, second = issue(live_server), issue(live_server)
    page.goto(f"{live_server.url}/counter")
    expect(page).to_have_url(f"{live_server.url}/login?next=/counter")
    page.fill("#username", "agent1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/counter")

    page.locator(".counter-card", has_text="شباك ١").get_by_role("button").click()
    expect(page.locator("#desk")).to_be_visible()
    page.get_by_role("button", name="التالي").click()
    expect(page.locator("#ticket-number")).to_have_text(arabic_digits(first))
    expect(page.locator("#document-list")).to_contain_text("البطاقة الشخصية")
    page.get_by_role("button", name="بدء الخدمة").click()
    expect(page.locator("#ticket-meta")).to_contain_text("قيد الخدمة")
    page.get_by_role("button", name="إنهاء").click()
    expect(page.locator("#ticket-number")).to_have_text("—")

    page.keyboard.press("n")  # the keyboard works as well as the buttons
    expect(page.locator("#ticket-number")).to_have_text(arabic_digits(second))
    live_server.clock.advance(61)
    page.get_by_role("button", name="إعادة النداء").click()
    expect(page.locator("#ticket-meta")).to_contain_text("نداءان")
    assert "·" not in page.locator("#ticket-meta").inner_text()
    page.get_by_role("button", name="لم يحضر").click()
    expect(page.locator("#ticket-number")).to_have_text("—")

    states = httpx2.get(f"{live_server.url}/api/v1/centres/DAM-01/status").json()
    assert states["now_serving"] == []
    assert page.evaluate("document.documentElement.dir") == "rtl"
    ticket_panel = page.locator(".current").bounding_box()
    buttons = page.locator(".actions").bounding_box()
    assert ticket_panel and buttons
    assert ticket_panel["x"] > buttons["x"], "in Arabic the ticket panel comes first, on the right"
    page.screenshot(path=str((SCREENSHOTS or tmp_path) / "counter-ar.png"))


def test_the_console_learns_of_new_tickets_without_a_reload(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/login?next=/counter")
    page.fill("#username", "agent1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.locator(".counter-card", has_text="شباك ١").get_by_role("button").click()
    row = page.locator("#queue-counts tr", has_text="إخراج قيد فردي")
    expect(row).to_contain_text("٠")
    issue(live_server)
    issue(live_server)
    expect(row).to_contain_text("٢", timeout=10_000)


def test_the_console_says_what_the_server_refuses_in_arabic(live_server: LiveServer, page: Page) -> None:
    issue(live_server)
    page.goto(f"{live_server.url}/login?next=/counter")
    page.fill("#username", "agent1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.locator(".counter-card", has_text="شباك ١").get_by_role("button").click()
    page.get_by_role("button", name="التالي").click()
    page.get_by_role("button", name="لم يحضر").click()  # called once, a moment ago: too early
    toast = page.locator("#toast")
    expect(toast).to_contain_text("لتسجيل الغياب يلزم ٢ نداء و٦٠ ثانية")
    page.get_by_role("button", name="بدء الخدمة").click()
    page.get_by_role("button", name="إنهاء").click()

    page.get_by_role("button", name="نداء رقم").click()
    page.fill("#call-number", "Z-999")
    page.fill("#call-reason", "مراجعة")
    page.locator("#call-form").get_by_role("button", name="نداء", exact=True).click()
    # The number keeps its order among the Arabic words: isolated left to right (U+2066 … U+2069).
    expect(toast).to_have_text("لا توجد اليوم بطاقة بالانتظار برقم \u2066Z-٩٩٩\u2069")
    assert not any(letter in toast.inner_text() for letter in "aeiou"), "no English words"
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def test_a_wrong_password_is_said_without_saying_which_part(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "agent1")
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("اسم المستخدم أو كلمة المرور غير صحيحة.")

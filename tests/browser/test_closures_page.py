"""A supervisor closes the centre for a day from the closures page, in Arabic: the page says what the
closure would cancel before it is done, then lists the day with its reason; in English too; axe-core
finds no WCAG 2.2 A/AA violation."""

import json
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_booking_pages import DAY
from tests.browser.test_kiosk_page import axe_violations
from tests.browser.test_supervisor_reports import broker_books_for_four


def sign_in_to_closures(live_server: LiveServer, page: Page, lang: str) -> None:
    page.clock.set_fixed_time(live_server.clock.now)  # the session watcher reads the server's clock
    page.goto(f"{live_server.url}/login?next=/supervisor/closures?lang={lang}")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page.locator("#closures")).to_be_visible()


def test_a_supervisor_closes_a_day_and_sees_what_it_cancels_first(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    broker_books_for_four(live_server)  # four appointments on Monday
    sign_in_to_closures(live_server, page, "ar")
    expect(page.locator("#closed-days")).to_contain_text("عطلة")  # the configured holidays ahead
    page.fill("#day", DAY)
    page.locator("#day").dispatch_event("change")
    expect(page.locator("#preview")).to_have_text("إغلاق هذا اليوم يلغي ٤ مواعيد، ويُبلَّغ أصحابها برسائل نصية.")
    page.fill("#reason", "انقطاع الكهرباء عن المبنى")
    asked: list[str] = []

    def accept(dialog: Dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.get_by_role("button", name="أغلق هذا اليوم").click()
    expect(page.locator("#toast")).to_have_text("أُغلق اليوم. أُلغيت ٤ مواعيد وأُبلغ أصحابها برسائل نصية.")
    assert asked == ["إغلاق هذا اليوم يلغي ٤ مواعيد، ويُبلَّغ أصحابها برسائل نصية."]
    row = page.locator(f"#closed-days tr[data-day='{DAY}']")
    expect(row).to_contain_text("انقطاع الكهرباء عن المبنى")
    expect(row).to_contain_text("لا مواعيد محجوزة")
    page.screenshot(path=str(tmp_path / "closures-ar.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


@pytest.mark.parametrize("lang", ["en"])
def test_the_closures_page_in_english_refuses_a_day_closed_already(
    live_server: LiveServer, page: Page, lang: str
) -> None:
    sign_in_to_closures(live_server, page, lang)
    page.fill("#day", "2026-12-25")
    page.locator("#day").dispatch_event("change")
    expect(page.locator("#preview")).to_have_text("The centre is closed on this day already.")
    page.fill("#reason", "Christmas")
    page.get_by_role("button", name="Close this day").click()
    expect(page.locator("#day-error")).to_have_text("field 'day': 2026-12-25 is closed already")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)

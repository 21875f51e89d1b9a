"""The audit screen in a real browser, in Arabic and English: the centre's log newest first in the
centre's time and the page's digits, filtered and paged; the chain verified, then found broken where
an entry was changed; the CSV link carries the filters; axe-core finds no WCAG 2.2 A/AA violation."""

import json

from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_counter_console import issue
from tests.browser.test_kiosk_page import axe_violations
from tests.browser.test_supervisor_reports import a_few_served


def signed_in_as_supervisor(live_server: LiveServer, page: Page, path: str) -> None:
    page.goto(f"{live_server.url}/login?next={path}")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}{path}")


def no_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def test_a_supervisor_reads_the_log_and_finds_a_changed_entry_in_arabic(
    live_server: LiveServer, page: Page
) -> None:
    a_few_served(
        live_server
    )  # entries 1 to 10: three issued, the counter opened, two called, started, finished
    for _ in range(95):  # more than a page
        issue(live_server)
    signed_in_as_supervisor(live_server, page, "/supervisor/audit")
    rows = page.locator("#entries tr")
    expect(rows).to_have_count(100)
    expect(rows.first.locator("td").nth(0)).to_have_text("١٠٥")
    expect(rows.first.locator("td").nth(2)).to_have_text("إصدار دور")
    expect(page.locator("#shown")).to_have_text("١٠٠ قيد معروض")
    page.get_by_role("button", name="المزيد").click()
    expect(rows).to_have_count(105)
    expect(page.get_by_role("button", name="المزيد")).to_be_hidden()
    first = rows.last.locator("td")
    expect(first.nth(0)).to_have_text("١")
    expect(first.nth(1)).to_have_text("٢٠٢٦-١١-٢٩ ٠٩:٠٠:٠٠")  # 06:00 UTC, in Damascus
    expect(first.nth(4)).to_have_text("A-٠٠١")

    page.select_option("#kind", "called")
    page.get_by_role("button", name="بحث").click()
    expect(rows).to_have_count(2)
    expect(rows.first.locator("td").nth(2)).to_have_text("تم النداء")
    expect(rows.first.locator("td").nth(3)).to_have_text("staff:agent1")
    href = page.locator("#csv").get_attribute("href")
    assert href == "/api/v1/centres/DAM-01/audit.csv?kind=called&lang=ar"

    page.get_by_role("button", name="تحقّق من السلسلة").click()
    expect(page.locator("#verdict")).to_have_text("السلسلة سليمة: كل قيد كما كُتب. فُحصت ١٠٥ قيود.")
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "supervisor-audit-ar.png"), full_page=True)
    no_violations(page)

    with live_server.database.engine.begin() as connection:  # someone rewrites who made a call
        connection.execute(text("UPDATE event SET actor = 'staff:agent2' WHERE seq = 5 AND centre_id = 1"))
    page.get_by_role("button", name="تحقّق من السلسلة").click()
    expect(page.locator("#verdict")).to_have_text(
        "السلسلة مكسورة عند القيد ٥: القيد ٥ تغيّر، أو نُقلت قيود من مواضعها (بصمته لا تطابق)"
    )

    page.fill("#ticket", "zz")
    page.get_by_role("button", name="بحث").click()
    expect(page.get_by_role("alert")).to_have_text("معامل الاستعلام 'ticket': يجب أن يكون رقم دور مثل A-٠٤٢")
    no_violations(page)


def test_the_screen_in_english_filters_by_ticket_and_staff_member(
    live_server: LiveServer, page: Page
) -> None:
    a_few_served(live_server)
    signed_in_as_supervisor(live_server, page, "/supervisor/audit")
    page.goto(f"{live_server.url}/supervisor/audit?lang=en&ticket=a2&staff=agent1")
    rows = page.locator("#entries tr")
    expect(rows).to_have_count(3)
    expect(rows.locator("td:nth-child(3)")).to_have_text(["Service finished", "Service started", "Called"])
    expect(rows.first.locator("td").nth(4)).to_have_text("A-002")
    expect(page.locator("#shown")).to_have_text("3 entries shown")
    page.get_by_role("button", name="Verify the chain").click()
    expect(page.locator("#verdict")).to_have_text(
        "The chain holds: every entry is as it was written. 10 entries checked."
    )
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "supervisor-audit-en.png"), full_page=True)
    no_violations(page)

"""A supervisor changes the queues a counter serves from the counters page, in Arabic: the refusal of a
change without a reason beside the reason, then the change saved and read back after a reload; in
English, the counter plan's suggestion put in the form and saved, and a counter left with no queue
refused naming its field. axe-core finds no WCAG 2.2 A/AA violation."""

import json
from datetime import timedelta
from pathlib import Path

import httpx2
from playwright.sync_api import Page, expect
from sqlmodel import select

from queueing.models import Ticket
from tests.browser.conftest import LiveServer
from tests.browser.test_kiosk_page import axe_violations
from tests.browser.test_supervisor_controls import counters, staff


def open_counters_page(live_server: LiveServer, page: Page, lang: str) -> None:
    page.goto(f"{live_server.url}/login?next=/supervisor/counters?lang={lang}")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page.locator("section[data-counter='6']")).to_be_visible()


def yesterdays_tickets(live_server: LiveServer, services: dict[str, int]) -> None:
    """Kiosk tickets moved to yesterday: the history the counter plan is read from."""
    for service, count in services.items():
        for _ in range(count):
            issued = httpx2.post(
                f"{live_server.url}/api/v1/centres/DAM-01/tickets",
                json={"service": service, "channel": "kiosk"},
                headers={"Authorization": "Bearer demo-kiosk-DAM-01"},
            )
            assert issued.status_code == 201, issued.text
    with live_server.database.write() as session:
        for ticket in session.exec(select(Ticket)).all():
            ticket.day -= timedelta(days=1)
            session.add(ticket)


def test_a_supervisor_gives_a_counter_a_queue_with_a_reason_and_sees_it_after_reload(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    open_counters_page(live_server, page, "ar")
    counter = page.locator("section[data-counter='3']")
    expect(counter.get_by_role("heading")).to_have_text("الشباك ٣ — شباك ٣")
    expect(page.locator("#c3-ID-role")).to_have_value("own")
    expect(page.locator("#c3-CR-weight")).to_have_value("0.5")
    expect(page.locator("#c3-PP-role")).to_have_value("")
    expect(page.locator("#c3-PP-weight")).to_be_disabled()
    page.select_option("#c3-PP-role", "own")
    page.select_option("#c3-PP-weight", "0.75")
    counter.get_by_role("button", name="حفظ").click()
    expect(page.locator("#c3-reason-error")).to_contain_text("الحقل 'reason'")
    expect(page.locator("#c3-reason")).to_be_focused()
    page.fill("#c3-reason", "موظف جوازات إضافي اليوم")
    counter.get_by_role("button", name="حفظ").click()
    expect(page.locator("#c3-status")).to_have_text(
        "حُفظ. يستدعي الشباك من هذه الطوابير بدءاً من استدعائه التالي."
    )
    assert counters(staff(live_server, "supervisor1"))[3]["weights"] == {"ID": 1.0, "CR": 0.5, "PP": 0.75}

    page.reload()
    expect(page.locator("#c3-PP-role")).to_have_value("own")
    expect(page.locator("#c3-PP-weight")).to_have_value("0.75")
    expect(page.locator("#c3-PP-weight")).to_contain_text("٠٫٧٥")
    page.screenshot(path=str(tmp_path / "counters-ar.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def test_in_english_the_plan_is_applied_from_its_suggestion_and_no_queue_is_refused(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    yesterdays_tickets(live_server, {"CR": 12, "FS": 2})
    open_counters_page(live_server, page, "en")
    counter = page.locator("section[data-counter='1']")
    expect(counter).to_contain_text("Suggested from the demand of the last weeks:")
    counter.get_by_role("button", name="Apply the suggestion").click()
    expect(page.locator("#c1-status")).to_have_text("The suggestion is in the form: give a reason and save.")
    page.fill("#c1-reason", "follow last week's demand")
    counter.get_by_role("button", name="Save").click()
    expect(page.locator("#c1-status")).to_have_text(
        "Saved. The counter calls from these queues from its next call on."
    )
    supervisor = staff(live_server, "supervisor1")
    planned = supervisor.get("/api/v1/centres/DAM-01/counter-plan").json()["counters"][0]
    assert planned["now"] == {"services": planned["services"], "backups": planned["backups"]}
    expect(counter).not_to_contain_text("Suggested from")  # the counter serves the plan now

    other = page.locator("section[data-counter='2']")
    for code in ("CR", "FS", "BR"):
        page.select_option(f"#c2-{code}-role", "")
    page.fill("#c2-reason", "nobody at this counter")
    other.get_by_role("button", name="Save").click()
    expect(page.locator("#c2-status")).to_contain_text("field 'services'")
    expect(page.locator("#c2-status")).to_have_class("error")
    assert counters(supervisor)[2]["weights"] == {"CR": 1.0, "FS": 1.0, "BR": 1.0}
    page.screenshot(path=str(tmp_path / "counters-en.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)

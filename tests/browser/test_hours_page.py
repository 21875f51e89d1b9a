"""A supervisor changes the centre's week from the hours page, in Arabic: the page shows the week in
the screen's digits, says before saving how many booked appointments the new hours leave outside
them (kept and served), names a wrong time beside its day, and shows the server's answer; in English
too; axe-core finds no WCAG 2.2 A/AA violation. Reopening a closed day from the closures page."""

import json
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_kiosk_page import axe_violations
from tests.browser.test_supervisor_reports import broker_books_for_four


def sign_in_to(live_server: LiveServer, page: Page, screen: str, lang: str) -> None:
    page.clock.set_fixed_time(live_server.clock.now)  # the session watcher reads the server's clock
    page.goto(f"{live_server.url}/login?next=/supervisor/{screen}?lang={lang}")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")


def test_a_supervisor_changes_the_week_and_sees_first_what_it_leaves_outside(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    broker_books_for_four(live_server)  # four appointments on Monday at 10:00
    sign_in_to(live_server, page, "hours", "ar")
    expect(page.locator("#sun-0-0")).to_have_value("٠٨:٠٠")
    expect(page.locator("#sun-0-1")).to_have_value("١٥:٠٠")
    expect(page.locator("#fri-open")).not_to_be_checked()
    expect(page.locator("#preview")).to_have_text("لا يقع أي موعد محجوز خارج هذه الأوقات.")

    page.fill("#mon-0-1", "٠٩:٣٠")
    expect(page.locator("#preview")).to_have_text(
        "٤ مواعيد محجوزة تقع خارج هذه الأوقات، وتبقى محجوزة ويُخدَم أصحابها:"
    )
    expect(page.locator("#outside-days")).to_have_text("الاثنين، ٣٠ تشرين الثاني: ٤ مواعيد")

    page.fill("#tue-0-1", "٠٧:٠٠")  # closes before it opens
    page.fill("#reason", "دوام شتوي مختصر")
    page.get_by_role("button", name="حفظ أوقات الدوام").click()
    expect(page.locator("#tue-error")).to_have_text(
        "يجب أن يبدأ وقت الدوام قبل أن ينتهي، مثل من ٠٨:٠٠ إلى ١٤:٠٠"
    )
    expect(page.locator("#tue-0-0")).to_have_attribute("aria-invalid", "true")

    page.fill("#tue-0-1", "١٤:٠٠")
    page.locator("#sat-open").check()
    page.get_by_role("button", name="حفظ أوقات الدوام").click()
    expect(page.locator("#answer")).to_have_text("حُفظت. المواعيد الجديدة تتبع هذه الأوقات من الآن.")
    expect(page.locator("#sat-0-0")).to_have_value("٠٨:٠٠")
    expect(page.locator("#tue-error")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "hours-ar.png"), full_page=True)
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "supervisor-hours-ar.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def test_the_hours_page_in_english_names_overlapping_spans(live_server: LiveServer, page: Page) -> None:
    sign_in_to(live_server, page, "hours", "en")
    expect(page.locator("#wed-0-0")).to_have_value("08:00")
    page.fill("#wed-1-0", "14:00")
    page.fill("#wed-1-1", "16:00")
    expect(page.locator("#wed-error")).to_have_text("a day's opening spans must not overlap")
    page.fill("#wed-1-0", "15:30")
    expect(page.locator("#wed-error")).to_be_hidden()
    page.fill("#reason", "Late opening on Wednesdays")
    page.get_by_role("button", name="Save the hours").click()
    expect(page.locator("#answer")).to_have_text("Saved. New slots follow these hours now.")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def test_a_closed_day_is_reopened_with_a_reason(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    for lang, reason, done in (
        ("ar", "دوام استثنائي", "أُعيد فتح اليوم، وعادت مواعيده متاحة للحجز."),
        ("en", "Open after all", "Reopened. Its slots are offered again."),
    ):
        day = {"ar": "2026-12-25", "en": "2027-01-01"}[lang]
        sign_in_to(live_server, page, "closures", lang)
        row = page.locator(f"#closed-days tr[data-day='{day}']")
        row.get_by_role("button").click()
        expect(page.locator("#reopen-dialog")).to_be_visible()
        violations = axe_violations(page)
        assert violations == [], json.dumps(violations, ensure_ascii=False)
        page.fill("#reopen-reason", reason)
        page.locator("#reopen-confirm").click()
        expect(page.locator("#toast")).to_have_text(done)
        expect(row).to_have_count(0)
        page.screenshot(path=str(tmp_path / f"reopen-{lang}.png"), full_page=True)
        page.context.clear_cookies()

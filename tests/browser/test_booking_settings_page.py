"""A supervisor sets the centre's booking capacity from its screen, in Arabic: the national setting is
shown beside each field, a value typed in Arabic-Indic digits shows its effect on a coming day's
places before it is saved, and the saved value is then the one in effect; in English, a value out of
bounds is refused beside its field. axe-core finds no WCAG 2.2 A/AA violation."""

import json
import os
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_kiosk_page import axe_violations


def sign_in_to_booking_settings(live_server: LiveServer, page: Page, lang: str) -> None:
    page.clock.set_fixed_time(live_server.clock.now)  # the session watcher reads the server's clock
    page.goto(f"{live_server.url}/login?next=/supervisor/booking?lang={lang}")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page.locator("#booking-settings")).to_be_visible()


def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    """Kept with the test's files; also under DOR_SHOTS, when set, to look at."""
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if os.environ.get("DOR_SHOTS"):
        page.screenshot(path=str(Path(os.environ["DOR_SHOTS"]) / name), full_page=True)


def test_a_supervisor_sees_the_effect_of_a_walk_in_share_then_saves_it(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    sign_in_to_booking_settings(live_server, page, "ar")
    expect(page.locator("#walk-in-share-hint")).to_contain_text("من ٠ إلى ٠٫٩. الإعداد الوطني: ٠٫٥")
    expect(page.locator("#horizon-days-hint")).to_contain_text("٣٠ يوماً")
    extracts = page.locator("#preview-places tr[data-service='CR'] td")
    expect(extracts).to_have_text(["٧٠", "٧٠"])  # Monday: 14 half-hours of 5 places

    page.fill("#walk-in-share", "٠٫٨")
    expect(extracts).to_have_text(["٧٠", "٢٨"])  # a fifth of the time for bookings: 2 a slot
    page.fill("#reason", "القاعة مزدحمة كل صباح")
    page.get_by_role("button", name="حفظ").click()
    expect(page.locator("#answer")).to_have_text(
        "حُفظ. المواعيد التي لم يحجزها أحد بعد تتبع الإعدادات الجديدة من الآن."
    )
    expect(page.locator("#walk-in-share-hint")).to_contain_text("المعمول به الآن: ٠٫٨")
    expect(extracts).to_have_text(["٢٨", "٢٨"])
    screenshot(page, tmp_path, "booking-settings-ar.png")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def test_the_screen_in_english_refuses_a_share_out_of_bounds_beside_its_field(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    sign_in_to_booking_settings(live_server, page, "en")
    expect(page.locator("#walk-in-share-hint")).to_contain_text("From 0 to 0.9. National setting: 0.5")
    extracts = page.locator("#preview-places tr[data-service='CR'] td")
    expect(extracts).to_have_text(["70", "70"])
    page.fill("#walk-in-share", "0.95")  # the preview refuses it as it is typed
    expect(page.locator("#walk-in-share-error")).to_have_text(
        "query parameter 'walk_in_share': must be at most 0.9"
    )
    expect(extracts).to_have_text(["70", "–"])
    page.fill("#reason", "Crowded mornings")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#walk-in-share-error")).to_have_text("field 'walk_in_share': must be at most 0.9")
    expect(page.locator("#walk-in-share")).to_be_focused()
    screenshot(page, tmp_path, "booking-settings-en.png")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)

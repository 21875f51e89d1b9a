"""An admin changes a service from its page, in Arabic and in English: the change is saved and shown
at once, what the server refuses is shown beside its field, and axe-core finds no WCAG 2.2 A/AA
violation."""

import json
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_kiosk_page import axe_violations


def open_services(live_server: LiveServer, page: Page, lang: str) -> None:
    page.clock.set_fixed_time(live_server.clock.now)  # the session watcher reads the server's clock
    page.goto(f"{live_server.url}/login?next=/admin/services?lang={lang}")
    page.fill("#username", "admin")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page.locator("#name-ar")).not_to_have_value("")


def test_an_admin_changes_a_fee_and_sees_a_refusal_beside_its_field(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    open_services(live_server, page, "ar")
    page.select_option("#service", "CR")
    expect(page.locator("#name-en")).to_have_value("Civil-registry extract")
    page.fill("#name-ar", "")
    page.fill("#reason", "رسم جديد")
    page.get_by_role("button", name="حفظ").click()
    expect(page.locator("#name-ar-error")).to_contain_text("الحقل 'name.ar'")
    page.fill("#name-ar", "إخراج قيد فردي")
    page.fill("#fee", "2500")
    page.get_by_role("button", name="حفظ").click()
    expect(page.locator("#toast")).to_have_text("حُفظ. تعرض المراكز كلها التعديل الآن.")
    services = httpx2.get(f"{live_server.url}/api/v1/centres/DAM-01/services").json()
    assert next(s["fee"] for s in services if s["code"] == "CR") == 2500
    page.screenshot(path=str(tmp_path / "services-ar.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


@pytest.mark.parametrize("lang", ["en"])
def test_the_services_page_in_english(live_server: LiveServer, page: Page, lang: str) -> None:
    open_services(live_server, page, lang)
    expect(page.locator("h1")).to_have_text("Change a service")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)

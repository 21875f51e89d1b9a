"""The remote ticket page in a real browser, on a phone-sized screen: take a ticket in Arabic with the
SMS code read from the console backend's outbox and land on the tracker; a wrong code and a second
ticket for the same phone are refused next to their field; axe-core finds no WCAG 2.2 A/AA violation."""

import json
import re
from pathlib import Path

import httpx2
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_booking_pages import ARABIC_DIGITS, latest_otp, no_horizontal_scroll
from tests.browser.test_kiosk_page import axe_violations

PHONE = "٠٩٤٤ ١٢٣ ٤٥٦"  # Arabic-Indic digits, as a phone's Arabic keyboard types them


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 390, "height": 844}


def ask_for_a_code(page: Page, live_server: LiveServer, *, service: str = "CR") -> None:
    page.goto(f"{live_server.url}/remote/DAM-01")
    expect(page.locator(f"[data-wait={service}]")).not_to_be_empty()  # the wait now, for each service
    page.locator(f"label[for=service-{service}]").click()
    page.locator("#phone").fill(PHONE)
    page.locator("#send-otp").click()
    expect(page.locator("#otp")).to_be_visible()


def waiting(live_server: LiveServer) -> int:
    status = httpx2.get(f"{live_server.url}/api/v1/centres/DAM-01/status").json()
    return sum(s["waiting"] for s in status["services"])


def test_take_a_remote_ticket_in_arabic_and_land_on_the_tracker(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/remote/DAM-01")
    expect(page.locator("h1")).to_have_text("مركز خدمة المواطن - المزة")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert no_horizontal_scroll(page)
    ask_for_a_code(page, live_server)
    assert no_horizontal_scroll(page)
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "remote-ar.png"), full_page=True)
    page.locator("#otp").fill(latest_otp(live_server).translate(ARABIC_DIGITS))
    page.locator("#take").dblclick()  # a double tap takes one ticket

    expect(page).to_have_url(re.compile(r"/t/[^/]+$"))
    expect(page.locator("#number")).to_have_text("A-٠٠١")  # the tracker, in the Arabic page's digits
    assert waiting(live_server) == 1


def test_a_remote_ticket_is_checked_in_by_scanning_its_qr_at_the_kiosk(
    live_server: LiveServer, page: Page
) -> None:
    ask_for_a_code(page, live_server)
    page.locator("#otp").fill(latest_otp(live_server))
    page.locator("#take").click()
    expect(page).to_have_url(re.compile(r"/t/[^/]+$"))
    expect(page.locator("#check-in")).to_be_visible()  # DAM-01 asks for a check-in at the kiosk
    expect(page.locator("#check-in img")).to_have_js_property("complete", True)
    assert no_horizontal_scroll(page)
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "tracker-check-in-ar.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)

    kiosk = page.context.new_page()
    kiosk.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    kiosk.locator("#go-checkin").click()
    kiosk.locator("#code").fill(page.url)  # a hand scanner types the QR's address, then Enter
    kiosk.locator("#code").press("Enter")
    expect(kiosk.locator("#t-number")).to_have_text("A-٠٠١")
    expect(page.locator("#check-in")).to_be_hidden()  # the tracker heard it over its websocket
    expect(page.locator("#ahead")).to_have_text("لا أحد")


def test_a_wrong_code_is_shown_under_the_code_field(live_server: LiveServer, page: Page) -> None:
    ask_for_a_code(page, live_server)
    page.locator("#otp").fill("000000" if latest_otp(live_server) != "000000" else "111111")
    page.locator("#take").click()
    expect(page.locator("#otp-error")).to_contain_text("هذا الرمز خاطئ")
    expect(page.locator("#otp")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#otp")).to_be_focused()
    assert waiting(live_server) == 0


def test_a_pasted_sms_keeps_only_its_code(live_server: LiveServer, page: Page) -> None:
    ask_for_a_code(page, live_server)
    page.locator("#otp").focus()
    page.evaluate(
        """() => {
          const data = new DataTransfer();
          data.setData('text/plain', 'رمز التحقق من دور: ١٢٣٤٥٦');
          const paste = new ClipboardEvent('paste', {clipboardData: data, cancelable: true});
          document.getElementById('otp').dispatchEvent(paste);
        }"""
    )
    expect(page.locator("#otp")).to_have_value("١٢٣٤٥٦")


def test_a_second_remote_ticket_for_the_same_phone_is_refused(live_server: LiveServer, page: Page) -> None:
    ask_for_a_code(page, live_server)
    page.locator("#otp").fill(latest_otp(live_server))
    page.locator("#take").click()
    expect(page.locator("#number")).to_have_text("A-٠٠١")  # the tracker, in the Arabic page's digits

    ask_for_a_code(page, live_server, service="FS")
    page.locator("#otp").fill(latest_otp(live_server))
    page.locator("#take").click()
    expect(page.locator("#phone-error")).to_have_text(
        "لهذا الجوال بطاقة انتظار في هذا المركز. بطاقة واحدة فقط في كل مرة."
    )
    assert waiting(live_server) == 1


def test_a_ticket_needs_a_service(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/remote/DAM-01?lang=en")
    page.locator("#phone").fill("0944 123 456")
    page.locator("#send-otp").click()
    page.locator("#otp").fill("123456")
    page.locator("#take").click()
    expect(page.locator("#service-error")).to_have_text("Choose a service first.")
    assert no_horizontal_scroll(page)
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "remote-en.png"), full_page=True)


def test_priority_cannot_be_claimed_here(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/remote/DAM-01")
    expect(page.locator("[data-priority], [name=priority]")).to_have_count(0)


def test_unknown_centre_is_not_found(live_server: LiveServer) -> None:
    response = httpx2.get(f"{live_server.url}/remote/NOPE-99")
    assert response.status_code == 404
    assert 'dir="rtl"' in response.text
    assert httpx2.get(f"{live_server.url}/remote/NOPE-99/qr.svg").status_code == 404


def test_the_qr_leads_to_the_remote_page(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    page.goto(f"{live_server.url}/remote/DAM-02/qr.svg")
    page.screenshot(path=str(tmp_path / "qr.png"))
    decoded = [code.text for code in zxingcpp.read_barcodes(Image.open(tmp_path / "qr.png"))]
    assert decoded == [f"{live_server.url}/remote/DAM-02"]


@pytest.mark.parametrize("path", ["/remote/DAM-01", "/remote/DAM-01?lang=en", "STEPS"])
def test_no_wcag_violations_on_the_remote_page(live_server: LiveServer, page: Page, path: str) -> None:
    if path == "STEPS":
        ask_for_a_code(page, live_server)
        page.locator("#otp").fill("000000" if latest_otp(live_server) != "000000" else "111111")
        page.locator("#take").click()
        expect(page.locator("#otp-error")).to_be_visible()
    else:
        page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


@pytest.mark.parametrize(
    "viewport", [{"width": 390, "height": 844}, {"width": 1366, "height": 900}], ids=["phone", "desktop"]
)
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_each_service_shows_its_picture_beside_its_name(
    live_server: LiveServer, page: Page, lang: str, viewport: dict[str, int]
) -> None:
    page.goto(f"{live_server.url}/remote/DAM-01?lang={lang}")
    car = page.locator("label[for=service-VT] img.icon")
    expect(car).to_have_attribute("src", "/static/icons/car.svg")
    expect(car).to_have_attribute("alt", "")  # the name beside it says what it is
    pictures = page.locator(".service img.icon")
    assert pictures.count() == page.locator(".service").count() > 0
    assert page.evaluate(
        "[...document.querySelectorAll('.service img.icon')].every((i) => i.complete && i.naturalWidth > 0)"
    )
    assert no_horizontal_scroll(page)
    if SCREENSHOTS is not None:
        page.screenshot(
            path=str(SCREENSHOTS / f"remote-icons-{lang}-{viewport['width']}.png"), full_page=True
        )

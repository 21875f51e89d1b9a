"""The citizen's booking pages in a real browser, on a phone-sized screen: book end to end in Arabic
with the SMS code read from the console backend's outbox, then cancel by the manage link and see the
place return; errors are shown next to their field; axe-core finds no WCAG 2.2 A/AA violation."""

import json
import re
from pathlib import Path

import httpx2
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from sms_gateway.models import SmsMessage
from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_kiosk_page import axe_violations

DAY = "2026-11-30"  # Monday: the live server's clock is Sunday 09:00 in Damascus
START = f"{DAY}T10:00:00+03:00"
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 390, "height": 844}


def available(live_server: LiveServer, start: str = START) -> int:
    slots = httpx2.get(
        f"{live_server.url}/api/v1/centres/DAM-01/services/CR/slots", params={"from": DAY, "days": 1}
    ).json()
    return next(s["available"] for s in slots if s["start"] == start)


def latest_otp(live_server: LiveServer) -> str:
    with live_server.database.read() as session:
        message = session.exec(
            select(SmsMessage).where(SmsMessage.template == "otp").order_by(col(SmsMessage.id).desc())
        ).first()
    assert message is not None, "no OTP in the outbox"
    found = re.search(r"\d{6}", message.body)
    assert found is not None, message.body
    return found.group()


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def choose_slot(page: Page, live_server: LiveServer) -> None:
    page.goto(f"{live_server.url}/book")
    page.locator("[data-service=CR]").click()
    expect(page.locator("#documents")).to_contain_text("البطاقة الشخصية")  # what to bring, first
    expect(page.locator("#documents-fee")).to_have_text("٢,٠٠٠")
    page.locator("#documents-ok").click()
    page.locator("[data-centre=DAM-01]").click()
    page.locator(f"[data-day='{DAY}']").click()
    page.locator(f"[data-start='{START}']").click()
    expect(page.locator("#sum-when")).to_contain_text("١٠:٠٠")


def request_code(page: Page) -> None:
    page.locator("#phone").fill("0944 123 456")
    page.locator("#send-otp").click()
    expect(page.locator("#otp")).to_be_visible()


def test_book_in_arabic_then_cancel_and_the_place_returns(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    before = available(live_server)
    choose_slot(page, live_server)
    assert no_horizontal_scroll(page)
    request_code(page)
    page.locator("#otp").fill(latest_otp(live_server).translate(ARABIC_DIGITS))  # Arabic-Indic digits
    page.locator("#national-id").fill("01234567890")
    page.locator("#confirm").dblclick()  # a double click books once

    code = page.locator("#done-code")
    expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4,12}$"))
    expect(page.locator("#done-qr")).to_have_js_property("complete", True)
    expect(page.locator("#done-ics")).to_have_attribute("href", re.compile(r"calendar\.ics$"))
    page.locator("#done-qr").screenshot(path=str(tmp_path / "qr.png"))
    token = page.evaluate("document.getElementById('done-manage').pathname.split('/').pop()")
    decoded = [found.text for found in zxingcpp.read_barcodes(Image.open(tmp_path / "qr.png"))]
    assert decoded == [f"{live_server.url}/book/manage/{token}"]
    assert available(live_server) == before - 1
    assert no_horizontal_scroll(page)
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "book-confirmation-ar.png"), full_page=True)

    booked_code = code.inner_text()
    page.locator("#done-manage").click()
    expect(page.locator("h1")).to_have_text("موعدك")
    expect(page.locator(".code")).to_have_text(booked_code)
    expect(page.locator("#status")).to_have_text("محجوز")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#cancel").click()
    expect(page.locator("#status")).to_have_text("ملغى")
    expect(page.locator("#ended-text")).to_have_text("أُلغي موعدك.")
    expect(page.locator("#check-in")).to_be_hidden()  # nothing left to scan at the kiosk
    assert available(live_server) == before
    page.reload()
    expect(page.locator("#status")).to_have_text("ملغى")
    expect(page.locator("#cancel")).to_have_count(0)
    expect(page.locator("img")).to_have_count(0)


def test_a_wrong_code_and_a_bad_national_id_are_shown_next_to_their_fields(
    live_server: LiveServer, page: Page
) -> None:
    before = available(live_server)
    choose_slot(page, live_server)
    request_code(page)
    page.locator("#otp").fill("000000" if latest_otp(live_server) != "000000" else "111111")
    page.locator("#national-id").fill("11111111111")  # eleven digits, but not a real ID: the server says so
    page.locator("#confirm").click()
    expect(page.locator("#national-id-error")).to_have_text("هذا ليس رقماً وطنياً صحيحاً.")
    expect(page.locator("#national-id")).to_have_attribute("aria-invalid", "true")

    page.locator("#national-id").fill("01234567890")
    page.locator("#confirm").click()
    expect(page.locator("#otp-error")).to_contain_text("هذا الرمز خاطئ")
    expect(page.locator("#national-id-error")).to_be_hidden()
    expect(page.locator("#otp")).to_be_focused()
    assert available(live_server) == before  # nothing was booked


def test_a_pasted_sms_keeps_only_its_code(live_server: LiveServer, page: Page) -> None:
    choose_slot(page, live_server)
    request_code(page)
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


def test_the_nearest_centre_comes_first_when_the_browser_shares_its_location(
    live_server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="ar-SY",
        geolocation={"latitude": 33.4862, "longitude": 36.3461},  # Jaramana
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/book")
    page.locator("[data-service=CR]").click()
    page.locator("#documents-ok").click()
    first = page.locator("#centres [data-centre]").first
    expect(first).to_have_attribute("data-centre", "DAM-01")  # nothing asked on load: catalogue order
    expect(first.locator(".wait")).not_to_be_empty()  # the predicted wait for this service
    page.locator("#locate").click()
    expect(first).to_have_attribute("data-centre", "RIF-01")
    expect(first).to_contain_text("كم")
    context.close()


def test_book_page_fits_a_phone_screen(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/book")
    expect(page.locator("[data-service=CR]")).to_be_visible()
    assert no_horizontal_scroll(page)
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / "book-ar.png"), full_page=True)


def test_unknown_manage_link_is_not_found(live_server: LiveServer) -> None:
    response = httpx2.get(f"{live_server.url}/book/manage/no-such-token")
    assert response.status_code == 404
    assert 'dir="rtl"' in response.text


@pytest.mark.parametrize("path", ["/book", "/book?lang=en", "MANAGE", "STEPS"])
def test_no_wcag_violations_on_the_booking_pages(live_server: LiveServer, page: Page, path: str) -> None:
    if path == "MANAGE":
        token = book_through_the_api(live_server)
        path = f"/book/manage/{token}"
    if path == "STEPS":
        choose_slot(page, live_server)
        request_code(page)
    else:
        page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    if path.startswith("/book/manage/"):
        page.locator("#reschedule").click()
        expect(page.locator("#move-days [data-day]").first).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def book_through_the_api(live_server: LiveServer) -> str:
    api = httpx2.Client(base_url=live_server.url)
    assert api.post("/api/v1/otp", json={"phone": "0944123456", "purpose": "booking"}).status_code == 202
    response = api.post(
        "/api/v1/appointments",
        json={
            "centre": "DAM-01",
            "service": "CR",
            "start": START,
            "phone": "0944123456",
            "otp": latest_otp(live_server),
            "national_id": "01234567890",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot for the README, when asked (DOR_SCREENSHOTS)."""
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


SIZES = [{"width": 390, "height": 844}, {"width": 1366, "height": 900}]
NO_PLACES = {
    "ar": (
        "لا مكان شاغر خلال الـ٣٠ يوماً القادمة",
        "لا يوجد في هذا المركز مكان شاغر لهذه الخدمة خلال الـ٣٠ يوماً القادمة.",
    ),
    "en": (
        "No free place in the next 30 days",
        "This centre has no free place for this service in the next 30 days.",
    ),
}
FIRST_FREE = {"ar": "أول يوم متاح: الأحد، ٢٩ تشرين الثاني", "en": "First free day: Sunday 29 November"}


@pytest.mark.parametrize("viewport", SIZES, ids=["phone", "desktop"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_centre_without_places_says_so_before_any_day_and_offers_the_others(
    live_server: LiveServer, page: Page, lang: str, viewport: dict[str, int]
) -> None:
    page.goto(f"{live_server.url}/book?lang={lang}")
    expect(page.locator("[data-service=VT] img.icon")).to_have_attribute("src", "/static/icons/car.svg")
    shoot(page, f"book-services-{lang}-{viewport['width']}")
    page.locator("[data-service=VT]").click()
    page.locator("#documents-ok").click()
    # The centre list already tells: Mezzeh has nothing in the horizon, Jaramana has a place today.
    mezzeh, jaramana = (
        page.locator("#centres [data-centre=DAM-01]"),
        page.locator("#centres [data-centre=RIF-01]"),
    )
    expect(mezzeh.locator(".free")).to_have_text(NO_PLACES[lang][0])
    expect(jaramana.locator(".free")).to_have_text(FIRST_FREE[lang])
    assert "·" not in page.locator("#centres").inner_text()
    shoot(page, f"book-centres-{lang}-{viewport['width']}")

    mezzeh.click()
    expect(page.locator("#no-places-text")).to_have_text(NO_PLACES[lang][1])
    expect(page.locator("#book-picker")).to_be_hidden()  # no day to choose, greyed or not
    offered = page.locator("#elsewhere [data-centre]")
    expect(offered).to_have_count(1)
    expect(offered.locator(".free")).to_have_text(FIRST_FREE[lang])
    assert no_horizontal_scroll(page)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)
    shoot(page, f"book-no-places-{lang}-{viewport['width']}")

    offered.click()  # one tap: that centre's days
    expect(page.locator("#no-places")).to_be_hidden()
    days = page.locator("#book-days [data-day]")
    expect(days.first).to_have_attribute("data-day", "2026-11-29")
    assert page.locator("#book-days [data-day]:disabled").count() == 0  # a day with no place is not offered
    page.locator("#book-days [data-day='2026-11-29']").click()
    expect(page.locator("#book-times [data-start]").first).to_contain_text(
        {"ar": "مكان واحد شاغر", "en": "1 place left"}[lang]
    )


@pytest.mark.parametrize("viewport", SIZES, ids=["phone", "desktop"])
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_cancelled_appointments_page_has_no_qr_and_offers_to_book_again(
    live_server: LiveServer, page: Page, lang: str, viewport: dict[str, int]
) -> None:
    token = book_through_the_api(live_server)
    assert httpx2.delete(f"{live_server.url}/api/v1/appointments/{token}").status_code == 200
    page.goto(f"{live_server.url}/book/manage/{token}?lang={lang}")
    expect(page.locator("#ended")).to_be_visible()
    expect(page.locator("img")).to_have_count(0)
    expect(page.locator("#check-in")).to_have_count(0)
    expect(page.locator("#book-again")).to_have_attribute("href", f"/book?lang={lang}")
    expect(page.locator("#ended-text")).to_have_text(
        {
            "ar": "أُلغي هذا الموعد، وعاد مكانه متاحاً لغيرك.",
            "en": "This appointment was cancelled. Its place went back to others.",
        }[lang]
    )
    if lang == "ar":  # the day and the time in the page's digits
        expect(page.locator(".summary")).to_contain_text("١٠:٠٠")
    assert no_horizontal_scroll(page)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)
    shoot(page, f"manage-cancelled-{lang}-{viewport['width']}")

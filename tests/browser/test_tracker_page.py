"""The tracker and "Find my ticket" on a phone (390x844), in Arabic and English: where to go, every number
in the page's digits, counts in their plural forms, "I'm running late" once; axe-core finds no WCAG
2.2 A/AA violation."""

import json
import re
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from sms_gateway.models import SmsMessage
from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_kiosk_page import axe_violations

KIOSK = {"Authorization": "Bearer demo-kiosk-DAM-01"}
SHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 390, "height": 844}


def queue(live_server: LiveServer, count: int) -> list[dict]:  # type: ignore[type-arg]
    with httpx2.Client(base_url=live_server.url, headers=KIOSK) as kiosk:
        tickets = []
        for _ in range(count):
            response = kiosk.post(
                "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}
            )
            assert response.status_code == 201
            tickets.append(response.json())
            live_server.clock.advance(30)
    return tickets


def no_violations(page: Page) -> None:
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def test_the_tracker_says_where_to_go_in_arabic_digits_and_runs_late_once(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    mine = queue(live_server, 8)[4]
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/t/{mine['token']}")
    expect(page.locator("#centre")).to_have_text("مركز خدمة المواطن - المزة")
    expect(page.locator("#address")).to_have_text("شارع المزة، جانب جامع الأكرم")
    expect(page.locator("#service")).to_have_text("إخراج قيد فردي")
    expect(page.locator("#number")).to_have_text("A-٠٠٥")
    expect(page.locator("#ahead")).to_have_text("٤ أشخاص")
    expect(page.locator("#wait")).to_have_text(re.compile(r"^نحو [٠-٩]+ (دقيقة|دقائق)$"))
    expect(page.locator("#late-hint")).to_have_text("يتقدّم عليك ٣ أشخاص ممن بعدك. مرة واحدة فقط.")
    assert "·" not in page.locator("#tracker").inner_text()
    page.screenshot(path=str((SCREENSHOTS or tmp_path) / "tracker-ar.png"), full_page=True)
    no_violations(page)

    page.get_by_role("button", name="سأتأخر قليلاً").click()
    expect(page.locator("#moved")).to_have_text("أُخّر دورك ٣ أماكن. لا يمكن ذلك إلا مرة واحدة.")
    expect(page.locator("#ahead")).to_have_text("٧ أشخاص")
    expect(page.locator("#late")).to_be_hidden()
    page.screenshot(path=str(tmp_path / "tracker-ar-late.png"), full_page=True)
    no_violations(page)
    page.reload()  # the tracker still says so
    expect(page.locator("#moved")).to_be_visible()
    expect(page.locator("#late")).to_be_hidden()


def test_the_tracker_in_english_with_latin_digits(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    mine = queue(live_server, 3)[1]
    page.goto(f"{live_server.url}/t/{mine['token']}?lang=en")
    expect(page.locator("#centre")).to_have_text("Citizen Service Centre — Mezzeh")
    expect(page.locator("#address")).to_have_text("Mezzeh Street, beside Al-Akram Mosque")
    expect(page.locator("#number")).to_have_text("A-002")
    expect(page.locator("#ahead")).to_have_text("1 person")
    expect(page.locator("#late-hint")).to_have_text("The next 3 people go first. Once only.")
    page.screenshot(path=str(tmp_path / "tracker-en.png"), full_page=True)
    no_violations(page)


def remote_ticket(live_server: LiveServer, phone: str) -> dict:  # type: ignore[type-arg]
    with httpx2.Client(base_url=live_server.url) as citizen:
        assert (
            citizen.post("/api/v1/otp", json={"phone": phone, "purpose": "remote_ticket"}).status_code == 202
        )
        with live_server.database.read() as session:
            body = session.exec(
                select(SmsMessage.body)
                .where(SmsMessage.template == "otp")
                .order_by(col(SmsMessage.id).desc())
            ).first()
        assert body is not None
        code = re.findall(r"\d{6}", body)[0]
        response = citizen.post(
            "/api/v1/centres/DAM-01/tickets",
            json={"service": "CR", "channel": "remote", "phone": phone, "otp": code, "language": "en"},
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]


def test_find_my_ticket_sends_the_link_again(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    mine = remote_ticket(live_server, "+963944123456")
    page.goto(f"{live_server.url}/remote/DAM-01")
    page.get_by_role("link", name="أضعت رابط دورك؟ ابحث عن دورك").click()
    expect(page.get_by_label("المركز")).to_have_value("DAM-01")  # preselected from the centre's page
    page.get_by_label("رقم البطاقة").fill("a-٠٠١")
    page.get_by_label("رقم الجوال").fill("12")
    page.get_by_role("button", name="أرسلوا لي الرابط").click()
    expect(page.locator("#phone-error")).to_have_text("هذا ليس رقم جوال صحيحاً.")
    expect(page.locator("#number-hint")).to_have_text(
        "كما هو مطبوع أو ظاهر على بطاقة دورك، مثلاً \u2066A-٠١٢\u2069."
    )
    page.get_by_label("رقم الجوال").fill("٠٩٤٤١٢٣٤٥٦")
    page.get_by_role("button", name="أرسلوا لي الرابط").click()
    expect(page.locator("#done")).to_be_visible()
    page.screenshot(path=str(tmp_path / "find-ar.png"), full_page=True)
    no_violations(page)
    with live_server.database.read() as session:
        sent = session.exec(select(SmsMessage.body).where(SmsMessage.template == "tracker_link")).all()
    assert sent == [f"Follow your ticket A-001 at Citizen Service Centre - Mezzeh:\n{mine['tracking_url']}"]


def test_find_my_ticket_in_english(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    page.goto(f"{live_server.url}/?lang=en")
    page.get_by_role("link", name="Lost your ticket's link? Find my ticket").click()
    expect(page.get_by_role("heading", name="Find my ticket")).to_be_visible()
    page.get_by_role("button", name="Send me the link").click()
    example = "\u2066A-012\u2069"  # isolated left-to-right, for the Arabic page's sake
    expect(page.locator("#number-error")).to_have_text(
        f"Type the number on your ticket, for example {example}."
    )
    page.screenshot(path=str(tmp_path / "find-en.png"), full_page=True)
    no_violations(page)

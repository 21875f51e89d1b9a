"""The kiosk in a real browser: a tap gives a ticket the counter sees; its QR leads to the tracker;
axe-core finds no WCAG 2.2 A/AA violation on the citizens' pages."""

import json
from pathlib import Path

import httpx2
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.conftest import take_remote_ticket

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def axe_violations(page: Page) -> list[dict]:  # type: ignore[type-arg]
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result["violations"]]


LANDSCAPE = {"width": 1280, "height": 800}
PORTRAIT = {"width": 1080, "height": 1920}
SIZES = pytest.mark.parametrize(
    "viewport", [LANDSCAPE, PORTRAIT], indirect=True, ids=["landscape", "portrait"]
)
KIOSK_URL = "/kiosk/DAM-01?token=demo-kiosk-DAM-01"


@pytest.fixture
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    """Portrait, as most kiosks stand, unless a test asks for both sizes."""
    return getattr(request, "param", PORTRAIT)


def test_a_tap_gives_a_ticket_the_counter_sees_and_its_qr_leads_to_the_tracker(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    expect(page).to_have_url(f"{live_server.url}/kiosk/DAM-01")  # the token leaves the address bar
    page.locator("[data-service=CR]").click()
    page.get_by_role("button", name="لا").click()  # no priority
    page.get_by_role("button", name="تخطٍّ").click()  # no SMS
    number = page.locator("#t-number")
    expect(number).to_have_text("A-٠٠١")

    agent = httpx2.Client(base_url=live_server.url)
    csrf = agent.post("/api/v1/auth/login", json={"username": "agent1", "password": "demo"}).json()[
        "csrf_token"
    ]
    agent.headers["X-CSRF-Token"] = csrf
    status = agent.get("/api/v1/centres/DAM-01/status").json()
    assert {s["code"]: s["waiting"] for s in status["services"]}["CR"] == 1

    qr = page.locator("#t-qr")
    expect(qr).to_have_js_property("complete", True)
    qr.screenshot(path=str(tmp_path / "qr.png"))
    decoded = [code.text for code in zxingcpp.read_barcodes(Image.open(tmp_path / "qr.png"))]
    token = page.evaluate("document.getElementById('t-qr').src.split('/tickets/')[1].split('/')[0]")
    assert decoded == [f"{live_server.url}/t/{token}"]


def test_a_double_tap_gives_one_ticket(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    page.locator("[data-service=FS]").click()
    page.get_by_role("button", name="لا").click()
    skip = page.get_by_role("button", name="تخطٍّ")
    skip.dblclick()
    expect(page.locator("#t-number")).to_have_text("B-٠٠١")
    status = httpx2.get(f"{live_server.url}/api/v1/centres/DAM-01/status").json()
    assert {s["code"]: s["waiting"] for s in status["services"]}["FS"] == 1


def test_the_kiosk_says_so_when_the_server_is_gone_and_recovers(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    expect(page.locator("[data-service=CR]")).to_be_visible()
    live_server.stop()
    page.locator("[data-service=CR]").click()
    page.get_by_role("button", name="لا").click()
    page.get_by_role("button", name="تخطٍّ").click()
    offline = page.locator("#offline")
    expect(offline).to_be_visible()
    expect(offline).to_contain_text("خارج الخدمة")
    expect(offline).to_contain_text("out of service")
    live_server.start()
    expect(offline).to_be_hidden(timeout=15_000)
    status = httpx2.get(f"{live_server.url}/api/v1/centres/DAM-01/status").json()
    assert sum(s["waiting"] for s in status["services"]) == 0  # nothing was issued while offline


def test_a_revoked_kiosk_shows_out_of_service(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=revoked-or-wrong")
    expect(page.locator("#unregistered")).to_be_visible()


def test_the_kiosk_works_with_the_keyboard(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    expect(page.locator("[data-service=CR]")).to_be_visible()
    page.locator("[data-service=CR]").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("button[data-priority=none]")).to_be_focused()
    page.keyboard.press("Enter")
    page.locator("#phone-skip").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#t-number")).to_have_text("A-٠٠١")


@pytest.mark.parametrize("path", ["/display/DAM-01?mute=1", "TRACKER"])
def test_no_wcag_violations_on_citizens_pages(live_server: LiveServer, page: Page, path: str) -> None:
    if path == "TRACKER":
        ticket = httpx2.post(
            f"{live_server.url}/api/v1/centres/DAM-01/tickets",
            json={"service": "CR", "channel": "kiosk"},
            headers={"Authorization": "Bearer demo-kiosk-DAM-01"},
        ).json()
        path = f"/t/{ticket['token']}"
    page.goto(f"{live_server.url}{path}")
    page.wait_for_load_state("networkidle")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def _queue(live_server: LiveServer, service: str, count: int) -> None:
    with httpx2.Client(
        base_url=live_server.url, headers={"Authorization": "Bearer demo-kiosk-DAM-01"}
    ) as kiosk:
        for _ in range(count):
            response = kiosk.post(
                "/api/v1/centres/DAM-01/tickets", json={"service": service, "channel": "kiosk"}
            )
            assert response.status_code == 201


def _serving_at_al_midan(live_server: LiveServer) -> None:
    """An agent opens counter 1 of DAM-02 (CR among its queues): a nearby centre is suggested only
    where someone serves the service now."""
    with httpx2.Client(base_url=live_server.url) as agent:
        login = agent.post("/api/v1/auth/login", json={"username": "agent3", "password": "demo"})
        agent.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        assert agent.post("/api/v1/centres/DAM-02/counters/1/open").status_code == 200


def test_a_much_shorter_wait_nearby_is_named_before_the_ticket(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    _queue(live_server, "CR", 20)  # an hour's wait here; Al-Midan, 4.5 km away, has nobody
    _serving_at_al_midan(live_server)
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    page.locator("[data-service=CR]").click()
    page.get_by_role("button", name="لا").click()
    nearby = page.locator("#nearby")
    expect(nearby).to_be_visible()
    expect(nearby).to_contain_text("مركز خدمة المواطن - الميدان")
    expect(nearby).to_contain_text("هنا: ٦٠ د")
    expect(nearby).to_contain_text("امسح الرمز لتأخذ دورك هناك من جوالك")
    qr = page.locator("#nearby-qr")  # or take the ticket there from a phone, on the way
    expect(qr).to_have_js_property("complete", True)
    qr.screenshot(path=str(tmp_path / "nearby-qr.png"))
    decoded = [code.text for code in zxingcpp.read_barcodes(Image.open(tmp_path / "nearby-qr.png"))]
    assert decoded == [f"{live_server.url}/remote/DAM-02"]
    page.get_by_role("button", name="تخطٍّ").click()  # the ticket is still taken here if wanted
    expect(page.locator("#t-number")).to_have_text("A-٠٢١")


def test_no_suggestion_when_the_wait_here_is_short(live_server: LiveServer, page: Page) -> None:
    _queue(live_server, "CR", 2)
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    page.locator("[data-service=CR]").click()
    page.get_by_role("button", name="لا").click()
    expect(page.get_by_role("button", name="تخطٍّ")).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#nearby")).to_be_hidden()


# --- the kiosk on its two screens: every step on one screen, large targets, the next citizen in Arabic ---

# Every button, keypad key and link the citizen can see: outside the viewport, or under 64 px.
OFF_SCREEN = """() => {
  const visible = [...document.querySelectorAll("button, a.switch")].filter((b) => b.getClientRects().length);
  const bad = [];
  for (const b of visible) {
    const r = b.getBoundingClientRect();
    const name = b.id || b.dataset.service || b.dataset.priority || b.textContent.trim();
    const inside = r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight;
    if (!inside) bad.push(`${name} outside`);
    if (r.width < 64 || r.height < 64) bad.push(`${name} ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  const page = document.scrollingElement;
  if (page.scrollHeight > innerHeight || page.scrollWidth > innerWidth) {
    bad.push(`page scrolls: ${page.scrollWidth}x${page.scrollHeight}`);
  }
  return bad;
}"""


# The README shows the landscape kiosk's start and ticket (DOR_SCREENSHOTS, test_booking_pages.py).
README_SHOTS = {"1-services": "kiosk-ar.png", "4-ticket": "kiosk-ticket-ar.png"}


def fits(page: Page, tmp_path: Path, name: str) -> None:
    """Every control on screen, none too small, nothing to scroll, no WCAG violation; a screenshot."""
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / f"{name}.png"))
    landscape = page.viewport_size is not None and page.viewport_size["width"] > page.viewport_size["height"]
    if SCREENSHOTS is not None and landscape and name in README_SHOTS:
        page.screenshot(path=str(SCREENSHOTS / README_SHOTS[name]))
    assert page.evaluate(OFF_SCREEN) == [], name
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


def tap(page: Page, keys: str, pad: str) -> None:
    """Taps keys of an on-screen keypad, as they are labelled (digits in the page's digits)."""
    for key in keys:
        page.locator(f"{pad} .key", has_text=key).first.click()


@SIZES
def test_every_step_of_the_kiosk_fits_its_screen(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    _queue(live_server, "CR", 20)  # the nearby suggestion shows on the phone step
    _serving_at_al_midan(live_server)
    page.clock.install(time=live_server.clock.now)
    page.goto(f"{live_server.url}{KIOSK_URL}")
    expect(page.locator("#services li")).to_have_count(8)
    expect(page.locator("[data-service=CR] .wait")).to_have_text("٢٠ بالانتظار، ٦٠ دقيقة")
    fits(page, tmp_path, "1-services")
    page.locator("[data-service=CR]").click()
    fits(page, tmp_path, "2-priority")
    page.get_by_role("button", name="لا").click()
    expect(page.locator("#nearby")).to_be_visible()
    expect(page.locator("#nearby-qr")).to_have_js_property("complete", True)
    fits(page, tmp_path, "3-phone-nearby")
    page.get_by_role("button", name="تخطٍّ").click()
    expect(page.locator("#t-number")).to_have_text("A-٠٢١")
    expect(page.locator("#t-qr")).to_have_js_property("complete", True)
    fits(page, tmp_path, "4-ticket")
    page.locator("#done").click()
    page.locator("#go-checkin").click()
    fits(page, tmp_path, "5-checkin")
    tap(page, "A٢١", "#step-checkin")
    page.locator("#code-ok").click()
    fits(page, tmp_path, "6-last4")
    page.clock.fast_forward(31_000)  # left alone: a warning first
    expect(page.locator("#timeout-warning")).to_be_visible()
    fits(page, tmp_path, "7-timeout")
    page.locator("#stay").click()
    page.locator("#last4-back").click()
    page.locator("#step-checkin .back").click()
    live_server.stop()
    page.locator("[data-service=FS]").click()
    page.get_by_role("button", name="لا").click()
    page.get_by_role("button", name="تخطٍّ").click()
    expect(page.locator("#offline")).to_be_visible()
    fits(page, tmp_path, "8-offline")
    live_server.start()


def test_after_an_english_citizen_the_kiosk_starts_again_in_arabic(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{live_server.url}{KIOSK_URL}")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Civil-registry extract").click()
    page.get_by_role("button", name="No", exact=True).click()
    page.get_by_role("button", name="Skip").click()
    expect(page.locator("#t-ahead")).to_have_text("0 people ahead of you")
    expect(page.locator("#t-issued")).to_have_text("Issued: 29 November 2026 at 09:00")
    page.screenshot(path=str(tmp_path / "ticket-en.png"))
    page.get_by_role("button", name="Done").click()
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("#services-title")).to_have_text("اختر الخدمة")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["dor_lang"] == "ar"  # a reload of the kiosk stays in Arabic too
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "ar")


def test_english_left_alone_at_the_start_returns_to_arabic(live_server: LiveServer, page: Page) -> None:
    page.clock.install(time=live_server.clock.now)
    page.goto(f"{live_server.url}{KIOSK_URL}&lang=en")
    expect(page.locator("#services li")).to_have_count(8)
    page.clock.fast_forward(46_000)
    expect(page.locator("html")).to_have_attribute("lang", "ar")


def test_a_remote_ticket_checks_in_by_its_number_and_the_last_digits_of_its_phone(
    live_server: LiveServer, page: Page
) -> None:
    remote = take_remote_ticket(
        httpx2.Client(base_url=live_server.url), live_server.database
    )  # +963944123456
    assert remote["away"] is True
    page.goto(f"{live_server.url}{KIOSK_URL}")
    page.locator("#go-checkin").click()
    tap(page, "A١", "#step-checkin")
    expect(page.locator("#code")).to_have_value("A١")
    page.locator("#code-ok").click()
    expect(page.locator("#last4-hint")).to_contain_text("A-٠٠١")
    tap(page, "٠٠٠٠", "#step-last4")
    page.locator("#last4-ok").click()
    expect(page.locator("#last4-error")).to_have_text(
        "لا توجد بطاقة بهذا الرقم أُخذت اليوم هنا بهذا الجوال. تحقق من الرقمين وحاول مجدداً."
    )
    page.locator("#last4").fill("")
    tap(page, "٣٤٥٦", "#step-last4")
    page.locator("#last4-ok").click()
    expect(page.locator("#t-number")).to_have_text("A-٠٠١")
    tracked = httpx2.get(f"{live_server.url}/api/v1/tickets/{remote['token']}").json()
    assert tracked["away"] is False


def test_the_printed_ticket_holds_the_centre_the_service_the_time_and_the_people_ahead(
    live_server: LiveServer, page: Page
) -> None:
    _queue(live_server, "CR", 2)
    page.goto(f"{live_server.url}{KIOSK_URL}")
    page.locator("[data-service=CR]").click()
    page.get_by_role("button", name="لا").click()
    page.get_by_role("button", name="تخطٍّ").click()
    expect(page.locator("#t-number")).to_have_text("A-٠٠٣")
    page.emulate_media(media="print")
    printable = page.locator("#printable")
    expect(printable).to_be_visible()
    expect(page.locator("#step-ticket .row")).to_be_hidden()  # Print and Done stay off the paper
    for fact in (
        "مركز خدمة المواطن - المزة",  # the centre
        "إخراج قيد فردي",  # the service
        "A-٠٠٣",
        "شخصان قبلك",
        "وقت الإصدار: ٢٩ تشرين الثاني ٢٠٢٦",  # issued at 09:00 in Damascus (06:00 UTC)
        "٩:٠٠",
    ):
        expect(printable).to_contain_text(fact)
    expect(page.locator("#t-qr")).to_be_visible()
    width = page.evaluate("document.getElementById('printable').getBoundingClientRect().width")
    assert 260 < width < 280  # 72 mm of thermal paper

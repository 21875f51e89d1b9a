"""The kiosk in a real browser: a tap gives a ticket the counter sees; its QR leads to the tracker;
axe-core finds no WCAG 2.2 A/AA violation on the citizens' pages."""

import json
from pathlib import Path

import httpx2
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


def axe_violations(page: Page) -> list[dict]:  # type: ignore[type-arg]
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result["violations"]]


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1080, "height": 1920}


def test_a_tap_gives_a_ticket_the_counter_sees_and_its_qr_leads_to_the_tracker(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    expect(page).to_have_url(f"{live_server.url}/kiosk/DAM-01")  # the token leaves the address bar
    page.locator("[data-service=CR]").click()
    page.get_by_role("button", name="لا").click()  # no priority
    page.get_by_role("button", name="تخطٍّ").click()  # no SMS
    number = page.locator("#t-number")
    expect(number).to_have_text("A-001")

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
    expect(page.locator("#t-number")).to_have_text("B-001")
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
    expect(page.locator("#t-number")).to_have_text("A-001")


@pytest.mark.parametrize(
    "path", ["/kiosk/DAM-01?token=demo-kiosk-DAM-01", "/display/DAM-01?mute=1", "TRACKER"]
)
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


def test_a_much_shorter_wait_nearby_is_named_before_the_ticket(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    _queue(live_server, "CR", 20)  # an hour's wait here; Al-Midan, 4.5 km away, has nobody
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
    expect(page.locator("#t-number")).to_have_text("A-021")


def test_no_suggestion_when_the_wait_here_is_short(live_server: LiveServer, page: Page) -> None:
    _queue(live_server, "CR", 2)
    page.goto(f"{live_server.url}/kiosk/DAM-01?token=demo-kiosk-DAM-01")
    page.locator("[data-service=CR]").click()
    page.get_by_role("button", name="لا").click()
    expect(page.get_by_role("button", name="تخطٍّ")).to_be_visible()
    page.wait_for_load_state("networkidle")
    expect(page.locator("#nearby")).to_be_hidden()

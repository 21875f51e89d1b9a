"""The hall display and the ticket tracker in a real browser."""

import time
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer

ARABIC_FONTS = {
    "Noto Naskh Arabic",
    "Noto Sans Arabic",
    "Noto Kufi Arabic",
    "Noto Naskh Arabic UI",
    "Noto Sans Arabic UI",
}


def kiosk_ticket(server: LiveServer, service: str = "CR") -> dict:  # type: ignore[type-arg]
    response = httpx2.post(
        f"{server.url}/api/v1/centres/DAM-01/tickets",
        json={"service": service, "channel": "kiosk"},
        headers={"Authorization": "Bearer demo-kiosk-DAM-01"},
    )
    assert response.status_code == 201
    return response.json()  # type: ignore[no-any-return]


def agent(server: LiveServer) -> httpx2.Client:
    client = httpx2.Client(base_url=server.url)
    login = client.post("/api/v1/auth/login", json={"username": "agent1", "password": "demo"})
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    assert client.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    return client


def serve_next(client: httpx2.Client) -> str:
    number = client.post("/api/v1/centres/DAM-01/counters/1/next").json()["ticket"]["number"]
    client.post("/api/v1/centres/DAM-01/counters/1/start")
    client.post("/api/v1/centres/DAM-01/counters/1/finish")
    return str(number)


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1920, "height": 1080}


def test_a_call_reaches_the_display_within_a_second_and_is_announced_in_order(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    first, second = kiosk_ticket(live_server), kiosk_ticket(live_server)
    desk = agent(live_server)
    page.goto(f"{live_server.url}/display/DAM-01")
    expect(page.locator("#waits li[data-service=CR]")).to_contain_text("2")
    called = desk.post("/api/v1/centres/DAM-01/counters/1/next")
    started = time.monotonic()
    expect(page.locator("#now-number")).to_have_text(first["number"], timeout=1000)
    assert time.monotonic() - started < 1.0
    expect(page.locator("#now-counter")).to_have_text("1")
    assert called.status_code == 200
    desk.post("/api/v1/centres/DAM-01/counters/1/start")
    desk.post("/api/v1/centres/DAM-01/counters/1/finish")
    desk.post("/api/v1/centres/DAM-01/counters/1/next")
    expect(page.locator("#now-number")).to_have_text(second["number"], timeout=1000)
    expect(page.locator("#recent tr")).to_have_count(2)

    # Both calls are announced, the second only after the first has finished.
    page.wait_for_function(
        "window.dorAnnouncements.length === 2 && window.dorAnnouncements[1].ended !== null", timeout=40_000
    )
    played = page.evaluate("window.dorAnnouncements")
    assert [p["src"].split("/")[-1].split(".")[0] for p in played] == [first["number"], second["number"]]
    assert played[1]["started"] >= played[0]["ended"]
    page.screenshot(path=str(tmp_path / "display-ar.png"))


def test_the_arabic_text_is_rendered_with_an_installed_arabic_font(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(f"{live_server.url}/display/DAM-01?mute=1")
    expect(page.locator(".tv-head h1")).to_have_text("مركز خدمة المواطن - المزة")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    heading = cdp.send("DOM.querySelector", {"nodeId": root, "selector": ".tv-head h1"})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": heading})["fonts"]
    used = {font["familyName"] for font in fonts if font["glyphCount"] > 0}
    assert used & ARABIC_FONTS, f"Arabic was drawn with {used}, not an Arabic font"


def test_the_display_reconnects_by_itself_after_a_server_restart(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/display/DAM-01?mute=1")
    expect(page.locator("#connection")).to_be_hidden()
    live_server.stop()
    expect(page.locator("#connection")).to_be_visible(timeout=5_000)
    live_server.start()
    ticket = kiosk_ticket(live_server)
    agent(live_server).post("/api/v1/centres/DAM-01/counters/1/next")
    expect(page.locator("#now-number")).to_have_text(ticket["number"], timeout=15_000)
    expect(page.locator("#connection")).to_be_hidden()


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}])
def test_the_tracker_follows_the_place_in_line_on_a_phone(live_server: LiveServer, page: Page) -> None:
    tickets = [kiosk_ticket(live_server) for _ in range(3)]
    page.goto(tickets[2]["tracking_url"])
    expect(page.locator("#ahead")).to_have_text("شخصان")  # counts in their Arabic plural forms
    desk = agent(live_server)
    serve_next(desk)
    expect(page.locator("#ahead")).to_have_text("شخص واحد")
    serve_next(desk)
    expect(page.locator("#ahead")).to_have_text("لا أحد")
    desk.post("/api/v1/centres/DAM-01/counters/1/next")
    expect(page.locator("#status")).to_have_text("حان دورك! توجّه إلى الشباك.")
    expect(page.locator("#counter")).to_have_text("١")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "nothing overflows the phone's width"

"""The hall display and the ticket tracker in a real browser."""

import json
import time
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_booking_pages import ARABIC_DIGITS
from tests.browser.test_kiosk_page import axe_violations

ARABIC_FONTS = {
    "Noto Naskh Arabic",
    "Noto Sans Arabic",
    "Noto Kufi Arabic",
    "Noto Naskh Arabic UI",
    "Noto Sans Arabic UI",
}


def arabic_digits(text: str) -> str:
    """As an Arabic page writes it by default: Arabic-Indic digits."""
    return text.translate(ARABIC_DIGITS)


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
    expect(page.locator("#waits li[data-service=CR]")).to_contain_text("شخصان بالانتظار")
    called = desk.post("/api/v1/centres/DAM-01/counters/1/next")
    started = time.monotonic()
    expect(page.locator("#now-number")).to_have_text(arabic_digits(first["number"]), timeout=1000)
    assert time.monotonic() - started < 1.0
    expect(page.locator("#now-counter")).to_have_text("١")
    assert called.status_code == 200
    desk.post("/api/v1/centres/DAM-01/counters/1/start")
    desk.post("/api/v1/centres/DAM-01/counters/1/finish")
    desk.post("/api/v1/centres/DAM-01/counters/1/next")
    expect(page.locator("#now-number")).to_have_text(arabic_digits(second["number"]), timeout=1000)
    expect(page.locator("#recent tr")).to_have_count(2)

    # Both calls are announced, the second only after the first has finished.
    page.wait_for_function(
        "window.dorAnnouncements.length === 2 && window.dorAnnouncements[1].ended !== null", timeout=40_000
    )
    played = page.evaluate("window.dorAnnouncements")
    assert [p["src"].split("/")[-1].split(".")[0] for p in played] == [first["number"], second["number"]]
    assert played[1]["started"] >= played[0]["ended"]
    page.screenshot(path=str((SCREENSHOTS or tmp_path) / "display-ar.png"))


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


# The last calls' rows, their panel's bottom edge, and whether the page scrolls.
LAST_CALLS = """() => {
  const panel = document.querySelector(".recent").getBoundingClientRect();
  return {
    rows: [...document.querySelectorAll("#recent tr")].map((row) => ({
      number: row.dataset.number, bottom: row.getBoundingClientRect().bottom,
      again: row.querySelector(".again")?.textContent || null })),
    panel: panel.bottom,
    scrolls: document.scrollingElement.scrollHeight > innerHeight,
  };
}"""


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1920, "height": 1080}, {"width": 1080, "height": 1920}],
    ids=["landscape", "portrait"],
)
def test_the_last_calls_fit_the_screen_and_a_recall_is_one_marked_row(
    live_server: LiveServer, page: Page, viewport: dict[str, int], tmp_path: Path
) -> None:
    desk = agent(live_server)
    numbers = [kiosk_ticket(live_server)["number"] for _ in range(12)]
    for _ in numbers[:-1]:
        serve_next(desk)
    desk.post("/api/v1/centres/DAM-01/counters/1/next")  # the last one, called and not yet served
    page.goto(f"{live_server.url}/display/DAM-01?mute=1")
    expect(page.locator("#now-number")).to_have_text(arabic_digits(numbers[-1]))
    live_server.clock.advance(seconds=30)
    assert desk.post("/api/v1/centres/DAM-01/counters/1/recall").status_code == 200
    expect(page.locator("#recent tr").first.locator(".again")).to_have_text("نداء مكرر")

    shown = page.evaluate(LAST_CALLS)
    listed = [row["number"] for row in shown["rows"]]
    assert listed[0] == numbers[-1] and len(listed) == len(set(listed)), listed  # one row per number
    assert listed == numbers[::-1][: len(listed)], "newest first"
    assert len(listed) >= 4, "a hall display has room for several calls"
    assert all(row["bottom"] <= shown["panel"] for row in shown["rows"]), shown
    assert not shown["scrolls"]
    assert [row["again"] for row in shown["rows"][1:]] == [None] * (len(listed) - 1)
    waiting = page.locator("#waits li").all_inner_texts()
    assert not any("·" in text for text in waiting), waiting
    page.screenshot(path=str(tmp_path / f"display-{viewport['width']}x{viewport['height']}.png"))
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)


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

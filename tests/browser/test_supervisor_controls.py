"""The supervisor's controls on the wallboard in a real browser, in Arabic: a service's intake, closing
a counter its agent left open, moving an agent, and a message on the hall display, which shows at
both orientations without covering the number called, and goes at its end by itself."""

import json
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_kiosk_page import axe_violations
from tests.browser.test_screens import agent, arabic_digits, kiosk_ticket

AGENT1 = "لينا العمر"  # config/demo/staff.toml
MESSAGE_AR = "نعتذر عن توقف خدمة جوازات السفر مؤقتاً بسبب عطل في الشبكة، ويرجى من أصحاب الدور الانتظار"
MESSAGE_EN = "The passport service is stopped for a short while by a network fault; please keep your place"


def staff(server: LiveServer, username: str) -> httpx2.Client:
    client = httpx2.Client(base_url=server.url)
    login = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
    return client


def counters(client: httpx2.Client) -> dict[int, dict]:  # type: ignore[type-arg]
    return {c["number"]: c for c in client.get("/api/v1/centres/DAM-01/counters").json()}


def sign_in_as_supervisor(server: LiveServer, page: Page) -> None:
    page.goto(f"{server.url}/login?next=/supervisor")
    page.fill("#username", "supervisor1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/supervisor")


def test_the_supervisor_stops_intake_closes_a_counter_moves_an_agent_and_writes_to_the_hall(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    desk = agent(live_server)  # agent1 at counter 1
    sign_in_as_supervisor(live_server, page)

    # Intake: stopped, then resumed, each as the server answered.
    intake = page.locator("#queues tr[data-service=CR] td.intake")
    expect(intake).to_contain_text("يستقبل الأدوار")
    intake.get_by_role("button").click()
    expect(page.locator("#toast")).to_have_text("أُوقف استقبال الأدوار — إخراج قيد فردي")
    expect(intake).to_contain_text("الاستقبال متوقف")
    refused = httpx2.post(
        f"{live_server.url}/api/v1/centres/DAM-01/tickets",
        json={"service": "CR", "channel": "kiosk"},
        headers={"Authorization": "Bearer demo-kiosk-DAM-01"},
    )
    assert refused.json()["error"]["code"] == "intake_stopped"
    intake.get_by_role("button").click()
    expect(intake).to_contain_text("يستقبل الأدوار")

    # A counter with a ticket in hand is not closed: the server's refusal is shown.
    ticket = kiosk_ticket(live_server)
    desk.post("/api/v1/centres/DAM-01/counters/1/next")
    row = page.locator("#counters tr[data-counter='1']")
    expect(row.locator(".ticket")).to_have_text(arabic_digits(ticket["number"]))
    row.get_by_role("button", name="إغلاق — ").click()
    dialog = page.locator("#counter-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#counter-reason").fill("غادر الموظف دون إغلاق الشباك")
    dialog.get_by_role("button", name="إغلاق").click()
    expect(page.locator("#toast")).to_contain_text("يجب إنهاء خدمته")
    expect(page.locator("#toast")).to_have_attribute("data-kind", "error")
    dialog.get_by_role("button", name="إلغاء").click()
    desk.post("/api/v1/centres/DAM-01/counters/1/start")
    desk.post("/api/v1/centres/DAM-01/counters/1/finish")

    # Now it closes, and the agent's console reads it closed.
    expect(row.locator(".ticket")).to_have_text("—")
    row.get_by_role("button", name="إغلاق — ").click()
    dialog.locator("#counter-reason").fill("غادر الموظف دون إغلاق الشباك")
    dialog.get_by_role("button", name="إغلاق").click()
    expect(page.locator("#toast")).to_have_text("أُغلق الشباك — ١")
    expect(row.locator(".state")).to_have_text("مغلق")
    assert counters(desk)[1]["status"] == "closed"

    # The agent comes back to counter 1 and is moved to counter 3.
    assert desk.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
    expect(row.locator(".state")).to_have_text("متاح")
    row.get_by_role("button", name="نقل الموظف — ").click()
    dialog.locator("#move-to").select_option("3")
    dialog.locator("#counter-reason").fill("ازدحام على خدمة الجوازات")
    page.screenshot(path=str(tmp_path / "supervisor-move-ar.png"))
    dialog.get_by_role("button", name="نقل الموظف").click()
    expect(page.locator("#toast")).to_have_text("نُقل الموظف — الشباك ٣")
    expect(page.locator("#counters tr[data-counter='3'] td").nth(1)).to_have_text(AGENT1)
    expect(row.locator(".state")).to_have_text("مغلق")
    assert desk.post("/api/v1/centres/DAM-01/counters/3/next").status_code == 204  # works there at once

    # A message on the hall display, then taken down.
    page.fill("#message-ar", MESSAGE_AR)
    page.fill("#message-en", MESSAGE_EN)
    page.get_by_role("button", name="اعرضها على شاشة القاعة").click()
    expect(page.locator("#toast")).to_have_text("الرسالة معروضة على شاشة القاعة")
    expect(page.locator("#message-now")).to_have_text(f"{MESSAGE_AR} (حتى ١٠:٠٠ ص)")  # an hour from 09:00
    page.screenshot(path=str(tmp_path / "supervisor-controls-ar.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)
    page.get_by_role("button", name="إزالة الرسالة").click()
    expect(page.locator("#message-now")).to_have_text("لا توجد رسالة على شاشة القاعة")


def test_the_agents_console_follows_a_move_to_another_counter_and_a_close(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(f"{live_server.url}/login?next=/counter")
    page.fill("#username", "agent1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.locator(".counter-card").first.get_by_role("button").click()
    expect(page.locator("#desk-number")).to_have_text("١")
    supervisor = staff(live_server, "supervisor1")
    moved = supervisor.post(
        "/api/v1/centres/DAM-01/counters/1/move-agent", json={"to": 3, "reason": "ازدحام"}
    )
    assert moved.status_code == 200
    expect(page.locator("#desk-number")).to_have_text("٣")  # on its next refresh
    expect(page.locator("#toast")).to_have_text("نقلك المشرف إلى الشباك ٣")
    closed = supervisor.post("/api/v1/centres/DAM-01/counters/3/force-close", json={"reason": "غادر"})
    assert closed.status_code == 200
    expect(page.locator("#choose")).to_be_visible()  # back to choosing a counter
    expect(page.locator("#toast")).to_have_text("أغلق المشرف شباكك")


# The banner, the number called and the screen, as boxes.
BOXES = """() => {
  const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const number = document.getElementById("now-number");
  const range = document.createRange();
  range.selectNodeContents(number);  // the digits themselves, not their line
  const r = range.getBoundingClientRect();
  return { banner: box(document.getElementById("hall-message")), number: [r.left, r.top, r.right, r.bottom],
           panel: box(document.querySelector(".now")), width: innerWidth, height: innerHeight,
           scrolls: document.scrollingElement.scrollHeight > innerHeight };
}"""


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1920, "height": 1080}, {"width": 1080, "height": 1920}],
    ids=["landscape", "portrait"],
)
def test_the_hall_message_shows_beside_the_call_is_spoken_after_it_and_goes_at_its_end(
    live_server: LiveServer, page: Page, viewport: dict[str, int], tmp_path: Path
) -> None:
    ticket = kiosk_ticket(live_server)
    page.goto(f"{live_server.url}/display/DAM-01")
    agent(live_server).post("/api/v1/centres/DAM-01/counters/1/next")
    expect(page.locator("#now-number")).to_have_text(arabic_digits(ticket["number"]))
    supervisor = staff(live_server, "supervisor1")
    longest = {"ar": (MESSAGE_AR + " ") * 3, "en": (MESSAGE_EN + " ") * 3}
    longest = {tongue: text[:200] for tongue, text in longest.items()}  # as long as a message may be
    shown = supervisor.put("/api/v1/centres/DAM-01/hall-message", json=longest).json()
    banner = page.locator("#hall-message")
    expect(banner).to_be_visible()
    expect(banner.locator("[lang=ar]")).to_have_text(shown["ar"])
    expect(banner.locator("[lang=en]")).to_have_text(shown["en"])

    boxes = page.evaluate(BOXES)
    banner_box, number = boxes["banner"], boxes["number"]
    assert banner_box[3] <= boxes["panel"][1], "the band ends above the call's panel"
    assert number[1] >= banner_box[3] and number[3] <= boxes["height"], boxes
    assert number[0] >= 0 and number[2] <= boxes["width"], boxes
    assert not boxes["scrolls"]
    landscape = viewport["width"] > viewport["height"]  # the README's picture
    folder = SCREENSHOTS if SCREENSHOTS is not None and landscape else tmp_path
    page.screenshot(path=str(folder / f"display-message-ar{'' if landscape else '-portrait'}.png"))
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)

    # Spoken once, after the call being announced.
    page.wait_for_function("window.dorAnnouncements.length === 2", timeout=40_000)
    played = page.evaluate("window.dorAnnouncements")
    assert "/announcements/" in played[0]["src"]
    assert played[1]["src"].endswith(f"/hall-message/{shown['seq']}.wav")
    assert played[1]["started"] >= played[0]["ended"]

    # After a reload the message is still there (the snapshot carries it), not spoken again.
    page.reload()
    expect(banner).to_be_visible()
    expect(page.locator("#now-number")).to_have_text(arabic_digits(ticket["number"]))

    # At its end (an hour on the server's and the page's clocks) it goes by itself.
    live_server.clock.advance(seconds=3600)
    page.clock.set_fixed_time(live_server.clock.now)
    expect(banner).to_be_hidden()
    assert page.evaluate("window.dorAnnouncements.length") == 0

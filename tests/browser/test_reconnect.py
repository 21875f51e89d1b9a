"""How the live pages reconnect (config/web/static/reconnect.js): the waits the policy chooses are
spread and grow to a cap, and a hall display whose server restarted comes back by itself and shows
what it missed. The page's timers are Playwright's fake clock, so no test waits on the wall clock."""

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.test_kiosk_page import axe_violations
from tests.browser.test_screens import agent, arabic_digits, kiosk_ticket

CLIENTS = 1000

# A seeded random (mulberry32) per client, so the figures are the same on every run.
SEEDED = """
  const seeded = (seed) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
"""


def test_the_clients_of_a_restarted_server_come_back_spread_over_five_seconds(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(f"{live_server.url}/display/DAM-01?mute=1")
    waits = page.evaluate(
        f"""(clients) => {{ {SEEDED}
        return Array.from({{ length: clients }}, (_, i) => DorReconnect.policy(seeded(i)).lost(true));
        }}""",
        CLIENTS,
    )
    assert all(0 <= wait < 5000 for wait in waits)
    per_second = [sum(1 for wait in waits if s * 1000 <= wait < (s + 1) * 1000) for s in range(5)]
    # About a fifth in each second; the old policy (1 s + 0-0.5 s) brought them all back in one half.
    assert all(150 <= n <= 250 for n in per_second), per_second


def test_the_retries_grow_to_the_cap_and_start_again_once_a_socket_has_worked(
    live_server: LiveServer, page: Page
) -> None:
    page.goto(f"{live_server.url}/display/DAM-01?mute=1")
    # Each client: a socket that worked closes, then six attempts fail; then one works, closes, and
    # the next attempt fails.
    runs = page.evaluate(
        f"""(clients) => {{ {SEEDED}
        return Array.from({{ length: clients }}, (_, i) => {{
          const policy = DorReconnect.policy(seeded(i));
          const failing = [true, false, false, false, false, false, false].map((heard) => policy.lost(heard));
          return {{ failing, after: [policy.lost(true), policy.lost(false)],
                    asked: policy.lost(true, true), soon: policy.soon() }};
        }});
        }}""",
        CLIENTS,
    )
    ceilings = [5000, 2000, 4000, 8000, 16000, 30000, 30000]
    for attempt, ceiling in enumerate(ceilings):
        waits = [run["failing"][attempt] for run in runs]
        # Full jitter: anywhere from nothing to the ceiling, which doubles up to 30 s.
        assert 0 <= min(waits) < 0.01 * ceiling and 0.99 * ceiling < max(waits) < ceiling, (attempt, ceiling)
    # Once a socket has worked, the count starts again: spread, then 2 s at most.
    assert max(run["after"][0] for run in runs) < 5000
    assert max(run["after"][1] for run in runs) < 2000
    # A socket the page closed itself (a gap in `seq`), or a return online: under a second.
    assert max(max(run["asked"], run["soon"]) for run in runs) < 1000


def lose_the_server(page: Page, server: LiveServer, banner: str) -> None:
    """The server restarts under the page: the page says so. Its clock then moves only when the test
    moves it, so its next attempt is still to come whatever happens meanwhile. (Paused by jumping an
    hour ahead, it fired on the way a retry whose socket, in flight, could reach the server started
    again on a slow machine: it pauses where it is.)"""
    server.stop()
    expect(page.locator("#connection")).to_have_text(banner)
    violations = axe_violations(page)  # the banner too; the page's attempts fail while the server is down
    assert violations == [], json.dumps(violations, ensure_ascii=False)
    page.clock.pause_at(page.evaluate("Date.now()") + 1)
    server.start()


@pytest.mark.parametrize(("lang", "banner"), [("ar", "جارٍ إعادة الاتصال…"), ("en", "Reconnecting…")])
def test_the_hall_display_comes_back_after_a_restart_and_shows_the_call_made_while_away(
    live_server: LiveServer, page: Page, lang: str, banner: str
) -> None:
    page.clock.install(time=live_server.clock.now)
    page.goto(f"{live_server.url}/display/DAM-01?mute=1&lang={lang}")
    expect(page.locator("#connection")).to_be_hidden()
    lose_the_server(page, live_server, banner)
    ticket = kiosk_ticket(live_server)
    agent(live_server).post("/api/v1/centres/DAM-01/counters/1/next")
    number = arabic_digits(ticket["number"]) if lang == "ar" else ticket["number"]
    expect(page.locator("#connection")).to_be_visible()
    expect(page.locator("#now-number")).not_to_have_text(number)

    page.clock.run_for(30_000)  # no wait is longer than the cap
    expect(page.locator("#now-number")).to_have_text(number)
    expect(page.locator("#connection")).to_be_hidden()


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}])
def test_the_tracker_comes_back_after_a_restart_and_says_the_ticket_was_called(
    live_server: LiveServer, page: Page
) -> None:
    ticket = kiosk_ticket(live_server)
    page.clock.install(time=live_server.clock.now)
    page.goto(f"{ticket['tracking_url']}?lang=en")
    expect(page.locator("#status")).to_have_text("Waiting")
    lose_the_server(page, live_server, "Reconnecting…")
    agent(live_server).post("/api/v1/centres/DAM-01/counters/1/next")
    expect(page.locator("#status")).to_have_text("Waiting")

    page.clock.run_for(30_000)
    expect(page.locator("#status")).to_have_text("It is your turn! Go to the counter.")
    expect(page.locator("#counter")).to_have_text("1")
    expect(page.locator("#connection")).to_be_hidden()

"""The admin's table of all centres in a real browser: a centre on its own node shows its link
(connected, or offline since when, and its last outage); a centre the central serves shows none. In
Arabic and English, and axe-core finds no WCAG 2.2 A/AA violation."""

import json
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from config.secrets import hash_token
from eventlog.models import NodeLink, NodeOutage
from organisation.models import Centre, Device
from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_kiosk_page import axe_violations


def silent_node(live_server: LiveServer) -> None:
    """DAM-02 runs on its node, which last called ten minutes ago, after an outage of a quarter hour."""
    now = live_server.clock.now
    with live_server.database.write() as session:
        centre = session.exec(select(Centre).where(Centre.code == "DAM-02")).one()
        assert centre.id is not None
        session.add(Device(centre_id=centre.id, kind="node", token_hash=hash_token("node"), created_at=now))
        session.add(NodeLink(centre_id=centre.id, last_contact_at=now - timedelta(minutes=10), node_seq=0))
        began = now - timedelta(hours=2)
        session.add(NodeOutage(centre_id=centre.id, began_at=began, ended_at=began + timedelta(minutes=15)))


@pytest.mark.parametrize(
    ("lang", "offline", "none"),
    [
        ("ar", "غير متصل منذ ٠٨:٥٠ ص · آخر انقطاع ٠٧:٠٠ ص–٠٧:١٥ ص", "—"),
        ("en", "offline since 08:50 · last outage 07:00–07:15", "—"),
    ],
)
def test_the_table_of_all_centres_shows_each_nodes_link(
    live_server: LiveServer, page: Page, lang: str, offline: str, none: str
) -> None:
    silent_node(live_server)
    page.clock.set_fixed_time(live_server.clock.now)
    page.goto(f"{live_server.url}/login?next=/supervisor&lang={lang}")
    page.fill("#username", "admin")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page.locator("#national tr[data-centre=DAM-02] td").last).to_have_text(offline)
    expect(page.locator("#national tr[data-centre=DAM-01] td").last).to_have_text(none)
    if SCREENSHOTS is not None:
        page.screenshot(path=str(SCREENSHOTS / f"national-{lang}.png"), full_page=True)
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)

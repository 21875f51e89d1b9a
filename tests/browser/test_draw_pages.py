"""The draws' pages in a real browser, in Arabic and in English: an admin opens a draw through its
form (a refusal shown beside its field) and excludes a flagged application; a citizen applies through
the draw's page, the code read from the outbox; the draw runs at the close; the results list names
the pseudonym with its place and the search finds it; the status page shows the appointment won; a
place freed later is offered on a waiting applicant's status page and accepted there. axe-core finds
no WCAG 2.2 A/AA violation on any of these pages; none scrolls sideways; each is photographed (the
citizens' at a phone's width) in the test's folder, to be looked at.
Clock: Sunday 2026-11-29 09:00 in Damascus (UTC+3)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlmodel import col, select

from booking.appointments import national_rules
from booking.draw_results import run_due_draws
from booking.waiting_list import offer_freed_places
from sms_gateway.models import SmsMessage
from tests.browser.conftest import SCREENSHOTS, LiveServer
from tests.browser.test_booking_pages import no_horizontal_scroll
from tests.browser.test_kiosk_page import axe_violations

ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PHONE, ADMIN = {"width": 390, "height": 844}, {"width": 1280, "height": 900}
FIRST_DAY, LAST_DAY = "2026-12-06", "2026-12-07"  # Sunday and Monday at DAM-01
WORDS = {
    "ar": {
        "announced": "معلَنة", "open": "مفتوحة للطلبات", "drawn": "تمّ السحب", "applied": "في القرعة",
        "won": "فزتَ بموعد", "offered": "عُرض عليك موعد", "accepted": "قُبل الموعد", "excluded": "مستبعَد",
    },
    "en": {
        "announced": "Announced", "open": "Open for applications", "drawn": "Drawn", "applied": "In the draw",
        "won": "Won a place", "offered": "A place is offered to you", "accepted": "Place accepted",
        "excluded": "Excluded",
    },
}  # fmt: skip


@pytest.fixture
def live_settings() -> dict[str, object]:
    """Many applicants ask for codes from one address; the draw runs when the test says."""
    return {"otp_per_phone_hour": 100, "otp_per_address_hour": 10_000, "jobs": False}


@pytest.fixture
def screens(browser: Browser, live_server: LiveServer) -> Iterator[dict[str, Page]]:
    """An admin's screen and a citizen's phone; a JavaScript error on either fails the test."""
    contexts: list[BrowserContext] = []
    pages: dict[str, Page] = {}
    errors: list[str] = []
    for name, viewport in (("admin", ADMIN), ("phone", PHONE)):
        contexts.append(browser.new_context(viewport=viewport, locale="ar-SY"))
        pages[name] = contexts[-1].new_page()
        # The staff pages' session watcher measures the server's expiry times against the browser's.
        pages[name].clock.set_fixed_time(live_server.clock.now)
        pages[name].on("pageerror", lambda error: errors.append(str(error)))
    yield pages
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def look(page: Page, name: str, tmp_path: Path) -> None:
    """axe finds nothing, nothing scrolls sideways, and the page is photographed whole."""
    page.wait_for_load_state("networkidle")
    violations = axe_violations(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False)
    assert no_horizontal_scroll(page), name
    page.screenshot(path=str(tmp_path / f"draw-{name}.png"), full_page=True)
    if SCREENSHOTS is not None and name in README_SHOTS:
        page.screenshot(path=str(SCREENSHOTS / f"draw-{name}.png"), full_page=True)


# The pages the README shows.
README_SHOTS = {"status-offered-ar", "applied-ar"}


def code_sent_to(server: LiveServer, phone: str) -> str:
    with server.database.read() as session:
        body = session.exec(
            select(SmsMessage.body)
            .where(SmsMessage.template == "otp", SmsMessage.phone == phone)
            .order_by(col(SmsMessage.id).desc())
        ).first()
    assert body is not None, f"no code sent to {phone}"
    return re.findall(r"\d{6}", body)[0]


def apply(server: LiveServer, draw: str, n: int, choice: str, phone: str | None = None) -> dict[str, Any]:
    """Another applicant, through the API."""
    phone = phone or f"+96393{n:07d}"
    sent = httpx2.post(f"{server.url}/api/v1/otp", json={"phone": phone, "purpose": "draw"})
    assert sent.status_code == 202, sent.text
    body = {
        "phone": phone,
        "otp": code_sent_to(server, phone),
        "national_id": f"{10_000_000_000 + n}",
        "choices": [choice],
        "language": "en",
    }
    applied = httpx2.post(f"{server.url}/api/v1/draws/{draw}/applications", json=body)
    assert applied.status_code == 201, applied.text
    return dict(applied.json())


def open_draw_through_the_form(page: Page, server: LiveServer, lang: str, code: str, tmp_path: Path) -> None:
    page.goto(f"{server.url}/login?next=/admin/draws?lang={lang}")
    page.fill("#username", "admin")
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    expect(page.locator("#draw-list")).to_contain_text("لا قرعة بعد." if lang == "ar" else "No draw yet.")
    page.fill("#code", code)
    page.select_option("#service", "PP")
    page.check("#centres input[value=DAM-01]")
    page.fill("#opens-at", "2026-11-29T09:10")
    page.fill("#closes-at", "2026-12-01T12:00")
    page.fill("#first-day", FIRST_DAY)
    page.fill("#last-day", LAST_DAY)
    page.fill("#reason", "x")  # too short: the server says so beside the field
    page.click("#open-draw")
    expect(page.locator("#reason-error")).to_be_visible()
    page.fill("#reason", "passports: demand far above places")
    page.click("#open-draw")
    row = page.locator(f"#draw-list tr[data-draw={code}]")
    expect(row).to_contain_text(WORDS[lang]["announced"])
    expect(page.locator("#reason-error")).to_be_hidden()
    look(page, f"admin-{lang}", tmp_path)
    opened = httpx2.get(f"{server.url}/api/v1/draws/{code}").json()
    # The wall clock typed, read in Damascus.
    assert datetime.fromisoformat(opened["opens_at"]) == datetime(2026, 11, 29, 6, 10, tzinfo=UTC)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_draw_from_its_opening_to_an_offer_accepted(
    live_server: LiveServer, screens: dict[str, Page], lang: str, tmp_path: Path
) -> None:
    server, code, words = live_server, f"PASS-{lang.upper()}-2026", WORDS[lang]
    admin, phone = screens["admin"], screens["phone"]
    open_draw_through_the_form(admin, server, lang, code, tmp_path)
    server.clock.advance(600)  # 09:10: the window opens (the admin's session is still alive)

    # A citizen finds the draw and applies on a phone, for the first day; the code typed as received.
    phone.goto(f"{server.url}/draws?lang={lang}")
    expect(phone.locator(f"[data-draw={code}]")).to_contain_text(words["open"])
    look(phone, f"list-{lang}", tmp_path)
    phone.locator(f"[data-draw={code}] h2 a").click()
    expect(phone.locator("#apply")).to_be_visible()
    look(phone, f"open-{lang}", tmp_path)
    phone.fill("#national-id", "11111111111")  # eleven digits, but no one's: the server says so
    phone.fill("#phone", "0944 123 456")
    phone.click("#send-otp")
    expect(phone.locator("#otp")).to_be_visible()
    sent = code_sent_to(server, "+963944123456")
    phone.fill("#otp", sent.translate(ARABIC_DIGITS) if lang == "ar" else sent)
    phone.select_option("#centre-0", "DAM-01")
    phone.select_option("#day-0", FIRST_DAY)
    phone.select_option("#centre-1", "")
    phone.click("#submit-application")
    expect(phone.locator("#national-id-error")).to_be_visible()
    expect(phone.locator("#national-id")).to_have_attribute("aria-invalid", "true")
    look(phone, f"form-{lang}", tmp_path)
    phone.fill("#national-id", "01234567890")
    phone.click("#submit-application")
    pseudonym = phone.locator("#pseudonym")
    expect(pseudonym).to_have_text(re.compile(r"^[0-9A-F]{4}(-[0-9A-F]{4}){3}$"))
    mine = pseudonym.inner_text()
    look(phone, f"applied-{lang}", tmp_path)
    phone.click("#status-link")
    expect(phone.locator("#status")).to_have_text(words["applied"])
    look(phone, f"status-applied-{lang}", tmp_path)

    # More applicants than the second day has places, all for it, so that some wait; three share a phone.
    opened = httpx2.get(f"{server.url}/api/v1/draws/{code}").json()
    second_day = sum(p["places"] for p in opened["places"] if p["day"] == LAST_DAY)
    others = [apply(server, code, n, f"DAM-01@{LAST_DAY}") for n in range(second_day + 2)]
    shared = [apply(server, code, 900 + n, f"DAM-01@{LAST_DAY}", phone="+963930000999") for n in range(3)]

    # The admin sees the shared phone flagged and excludes one of them, with a reason.
    admin.reload()
    flags = admin.locator(f".flags[data-draw={code}]")
    expect(flags).to_contain_text("الهاتف نفسه" if lang == "ar" else "The same phone")
    flagged = flags.locator(f"button[data-pseudonym='{shared[0]['pseudonym']}']")
    flagged.first.click()
    admin.fill("#exclude-reason", "one phone, many people")
    look(admin, f"admin-exclude-{lang}", tmp_path)
    admin.click("#exclude-confirm")
    expect(flags).to_contain_text(words["excluded"])
    expect(flagged).to_have_count(0)

    # The window closes and the draw runs.
    server.clock.now = datetime(2026, 12, 1, 9, 1, tzinfo=UTC)  # Tuesday 12:01 in Damascus
    settings = server.app.state.settings
    rules = national_rules(settings)
    run_due_draws(server.database, rules=rules, base_url=settings.base_url, now=server.clock())

    phone.goto(f"{server.url}/draws/{code}?lang={lang}")
    expect(phone.locator(".state")).to_have_text(words["drawn"])
    expect(phone.locator(f"#results tr[data-pseudonym='{mine}']")).to_be_visible()
    expect(phone.locator("#excluded")).to_contain_text("one phone, many people")
    look(phone, f"drawn-{lang}", tmp_path)
    phone.fill("#q", mine.lower()[:9])  # part of it, as someone might type it
    phone.locator("form.search button").click()
    rows = phone.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-pseudonym", mine)
    expect(rows.first).to_contain_text("المزة" if lang == "ar" else "Mezzeh")  # alone on its day: won
    look(phone, f"search-{lang}", tmp_path)

    phone.go_back()
    phone.go_back()  # the status page of the application, now drawn
    phone.reload()
    expect(phone.locator("#status")).to_have_text(words["won"])
    expect(phone.locator("#appointment-code")).to_have_text(re.compile(r"^[A-Z0-9]{4,12}$"))
    expect(phone.locator("#manage-link")).to_have_attribute("href", re.compile(r"^/book/manage/"))
    look(phone, f"status-won-{lang}", tmp_path)

    # A winner cancels; the place is offered to the first on the waiting list, who accepts it.
    results = [
        httpx2.get(f"{server.url}/api/v1/draw-applications/{a['token']}").json() for a in [*others, *shared]
    ]
    winner = next(r for r in results if r["status"] == "won")
    first = next(r for r in results if r["waiting"] == 1)
    cancelled = httpx2.delete(f"{server.url}/api/v1/appointments/{winner['appointment']['token']}")
    assert cancelled.status_code == 200, cancelled.text
    offered = offer_freed_places(server.database, rules=rules, base_url=settings.base_url, now=server.clock())
    assert offered == 1
    phone.goto(f"{server.url}/draws/applications/{first['token']}?lang={lang}")
    expect(phone.locator("#status")).to_have_text(words["offered"])
    look(phone, f"status-offered-{lang}", tmp_path)
    phone.click("#accept")
    expect(phone.locator("#status")).to_have_text(words["accepted"])
    expect(phone.locator("#appointment-code")).to_be_visible()
    look(phone, f"status-accepted-{lang}", tmp_path)

    # The centre's transparency page names the draw, with its commitment.
    phone.goto(f"{server.url}/transparency/DAM-01?lang={lang}")
    expect(phone.locator(f"#draws [data-draw={code}]")).to_contain_text(opened["commitment"])
    look(phone, f"transparency-{lang}", tmp_path)

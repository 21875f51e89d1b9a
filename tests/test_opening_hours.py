"""A centre's week of opening hours changed from the API: validated naming the field in Arabic and
English, logged with who, why, before and after, followed by the slots at once; appointments booked
outside the new hours are counted before saving, stay booked and are checked in."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.settings import Settings
from eventlog.models import Event
from organisation.hours import covers
from tests.conftest import KIOSK, VirtualClock, sign_in
from tests.test_booking import booking, otp

HOURS = "/api/v1/centres/DAM-01/hours"
DEMO_WEEK = {day: [["08:00", "15:00"]] for day in ("sun", "mon", "tue", "wed", "thu")}
MORNINGS = {day: [["08:00", "12:00"]] for day in ("sun", "mon", "tue", "wed", "thu")}
MONDAY = "2026-11-30"  # the tests' clock is Sunday 29 November, 09:00 in Damascus


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"otp_per_phone_hour": 100, "otp_per_phone_day": 100})


@pytest.fixture
def supervisor(app: Starlette, client: TestClient) -> Iterator[TestClient]:
    with sign_in(app, "supervisor1") as signed_in:
        yield signed_in


def book(client: TestClient, database: Database, start: str, national_id: str) -> dict[str, str]:
    made = client.post("/api/v1/appointments", json=booking(otp(client, database), start, national_id))
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def monday_slots(client: TestClient) -> list[str]:
    slots = client.get(f"/api/v1/centres/DAM-01/services/CR/slots?from={MONDAY}&days=1").json()
    return [slot["start"][11:16] for slot in slots]


def test_the_week_is_read_with_every_weekday(supervisor: TestClient) -> None:
    answer = supervisor.get(HOURS).json()
    assert answer["week"] == {"fri": [], "sat": [], **DEMO_WEEK}
    assert list(answer["week"]) == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert (answer["timezone"], answer["outside"]) == ("Asia/Damascus", {"total": 0, "days": []})


def test_a_new_week_is_logged_with_who_and_why_and_the_slots_follow_it(
    client: TestClient, supervisor: TestClient, database: Database
) -> None:
    assert monday_slots(client)[-1] == "14:30"
    week = {**MORNINGS, "mon": [["08:00", "12:00"], ["13:00", "16:00"]], "sat": [["09:00", "11:00"]]}

    saved = supervisor.put(HOURS, json={"week": week, "reason": "دوام شتوي"})

    assert saved.status_code == 200, saved.text
    assert saved.json()["changed"] is True
    assert saved.json()["week"] == {"fri": [], **week}
    with database.read() as session:
        event = session.exec(select(Event).where(Event.type == "hours_changed")).one()
    assert event.actor == "staff:supervisor1"
    assert event.data == {"reason": "دوام شتوي", "from": DEMO_WEEK, "to": week, "outside": 0}
    audit = supervisor.get("/api/v1/centres/DAM-01/audit?kind=hours_changed").json()["entries"]
    assert [(e["actor"], e["data"]["reason"]) for e in audit] == [("staff:supervisor1", "دوام شتوي")]
    slots = monday_slots(client)
    assert "12:00" not in slots and "12:30" not in slots  # the break
    assert (slots[0], slots[-1]) == ("08:00", "15:30")
    assert supervisor.get(HOURS).json()["week"]["sat"] == [["09:00", "11:00"]]


def test_saving_the_same_week_again_logs_nothing(supervisor: TestClient, database: Database) -> None:
    first = supervisor.put(HOURS, json={"week": MORNINGS, "reason": "دوام صباحي"})
    again = supervisor.put(HOURS, json={"week": MORNINGS, "reason": "دوام صباحي"})
    assert (first.json()["changed"], again.json()["changed"]) == (True, False)
    with database.read() as session:
        assert len(session.exec(select(Event).where(Event.type == "hours_changed")).all()) == 1


@pytest.mark.parametrize(
    ("week", "reason", "field", "english", "arabic"),
    [
        ({"sun": [["8:00", "14:00"]]}, "سبب", "week.sun.0.0", "a time like 08:00", "وقتاً مثل"),
        ({"sun": [["08:00", "24:00"]]}, "سبب", "week.sun.0.1", "a time like 08:00", "وقتاً مثل"),
        ({"mon": [["14:00", "08:00"]]}, "سبب", "week.mon.0", "starts before it ends", "يبدأ"),
        ({"tue": [["08:00", "12:00"], ["11:00", "15:00"]]}, "سبب", "week.tue", "must not overlap", "تتداخل"),
        (
            {"wed": [["08:00", "09:00"], ["10:00", "11:00"], ["12:00", "13:00"]]},
            "سبب",
            "week.wed",
            "at most 2",
            "يزيد على 2",
        ),
        ({"sunday": [["08:00", "14:00"]]}, "سبب", "week.sunday", "not a field", "ليس"),
        ({"sun": [["08:00"]]}, "سبب", "week.sun.0.1", "required", "مطلوب"),
        (MORNINGS, "x", "reason", "at least 3", "يقل عن 3"),
    ],
)
@pytest.mark.parametrize("backend", ["sqlite"])  # refused by the body's schema before any query
def test_a_week_that_cannot_be_is_refused_naming_the_field_in_both_languages(
    supervisor: TestClient,
    database: Database,
    week: dict[str, list[list[str]]],
    reason: str,
    field: str,
    english: str,
    arabic: str,
) -> None:
    body = {"week": week, "reason": reason}
    in_english = supervisor.put(HOURS, json=body, headers={"Accept-Language": "en"})
    in_arabic = supervisor.put(HOURS, json=body, headers={"Accept-Language": "ar"})
    for refused in (in_english, in_arabic):
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["field"] == field
    assert english in in_english.json()["error"]["message"]
    assert arabic in in_arabic.json()["error"]["message"], in_arabic.json()["error"]["message"]
    with database.read() as session:
        assert session.exec(select(Event).where(Event.type == "hours_changed")).first() is None


def test_arabic_indic_digits_are_taken(supervisor: TestClient) -> None:
    saved = supervisor.put(HOURS, json={"week": {"sun": [["٠٨:٠٠", "١٢:٣٠"]]}, "reason": "سبب"})
    assert saved.status_code == 200, saved.text
    assert saved.json()["week"]["sun"] == [["08:00", "12:30"]]


def test_appointments_outside_the_new_hours_are_counted_before_saving_and_stay_booked(
    client: TestClient, supervisor: TestClient, database: Database
) -> None:
    book(client, database, "2026-11-30T10:00:00+03:00", "01234567890")
    late = book(client, database, "2026-11-30T14:00:00+03:00", "01234567891")
    book(client, database, "2026-12-01T13:30:00+03:00", "01234567892")

    preview = supervisor.post(f"{HOURS}/preview", json={"week": MORNINGS})
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "total": 2,
        "days": [{"day": "2026-11-30", "appointments": 1}, {"day": "2026-12-01", "appointments": 1}],
    }
    with database.read() as session:
        assert session.exec(select(Event).where(Event.type == "hours_changed")).first() is None

    saved = supervisor.put(HOURS, json={"week": MORNINGS, "reason": "دوام صباحي"})
    assert saved.json()["outside"]["total"] == 2
    assert client.get(f"/api/v1/appointments/{late['token']}").json()["status"] == "booked"
    assert supervisor.get(HOURS).json()["outside"]["total"] == 2  # kept, still shown


def test_an_appointment_left_outside_the_new_hours_is_checked_in_and_called(
    client: TestClient, supervisor: TestClient, database: Database, clock: VirtualClock
) -> None:
    late = book(client, database, "2026-11-30T14:00:00+03:00", "01234567891")
    assert supervisor.put(HOURS, json={"week": MORNINGS, "reason": "دوام صباحي"}).status_code == 200
    clock.now = datetime(2026, 11, 30, 10, 50, tzinfo=UTC)  # Monday 13:50 in Damascus: closed by the hours

    walk_in = client.post(
        "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
    )
    checked = client.post("/api/v1/centres/DAM-01/check-in", json={"code": late["code"]}, headers=KIOSK)

    assert (walk_in.status_code, walk_in.json()["error"]["code"]) == (409, "centre_closed")
    assert checked.status_code == 201, checked.text
    assert checked.json()["status"] == "waiting"
    with sign_in(client.app, "agent1") as agent:  # type: ignore[arg-type]
        assert agent.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
        called = agent.post("/api/v1/centres/DAM-01/counters/1/next")
    assert called.status_code == 200, called.text
    assert called.json()["ticket"]["number"] == checked.json()["number"]


def test_an_appointment_still_inside_the_hours_checks_in_no_earlier_than_before(
    client: TestClient, supervisor: TestClient, database: Database, clock: VirtualClock
) -> None:
    early = book(client, database, "2026-11-30T08:00:00+03:00", "01234567891")
    clock.now = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)  # Monday 07:30: within the hour before, closed
    refused = client.post("/api/v1/centres/DAM-01/check-in", json={"code": early["code"]}, headers=KIOSK)
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "centre_closed")


def test_a_span_covers_an_appointment_only_whole() -> None:
    def at(hhmm: str) -> datetime:
        return datetime.fromisoformat(f"2026-11-30T{hhmm}:00+03:00")

    week = {"mon": [["08:00", "12:00"], ["13:00", "15:00"]]}
    assert covers(at("11:30"), at("12:00"), hours=week, timezone="Asia/Damascus")
    assert not covers(at("11:45"), at("12:15"), hours=week, timezone="Asia/Damascus")
    assert not covers(at("12:00"), at("12:30"), hours=week, timezone="Asia/Damascus")
    assert not covers(at("10:00"), at("10:30"), hours={"sun": [["08:00", "15:00"]]}, timezone="Asia/Damascus")


def test_only_the_centres_managers_change_its_hours(app: Starlette, client: TestClient) -> None:
    body = {"week": MORNINGS, "reason": "سبب"}
    assert client.put(HOURS, json=body).status_code == 401
    with sign_in(app, "agent1") as agent:
        assert agent.put(HOURS, json=body).status_code == 403
    with sign_in(app, "supervisor2") as elsewhere:
        assert elsewhere.put(HOURS, json=body).status_code == 403
        assert elsewhere.get(HOURS).status_code == 403
        assert elsewhere.post(f"{HOURS}/preview", json={"week": MORNINGS}).status_code == 403
    with sign_in(app, "admin") as admin:
        assert admin.put(HOURS, json=body).status_code == 200

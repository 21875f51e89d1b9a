"""Booking: the slot engine, booking with an OTP, the limits, cancel and reschedule, and the jobs
(no-shows, reminders, retention). Clock: Sunday 2026-11-29 09:00 in Damascus (UTC+3)."""

import re
from datetime import date, timedelta

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from booking.appointments import BookingRules
from booking.models import Appointment, BookingSlot
from booking.slots import NotBookable, SlotRules, check_bookable, day_slots
from booking.upkeep import erase_personal_data, mark_no_shows, send_reminders
from config.db import Database
from config.settings import Settings
from eventlog.models import Event
from identity.models import OtpChallenge
from queueing.models import Ticket
from scheduling.capacity import capacity, places_by_demand
from server.app import create_app
from sms_gateway.models import SmsMessage
from tests.conftest import KIOSK, VirtualClock

PHONE = "+963944123456"
MONDAY_10 = "2026-11-30T10:00:00+03:00"
WEEK = {day: [["08:00", "12:00"], ["12:30", "15:00"]] for day in ("sun", "mon", "tue", "wed", "thu")}
ZONE = "Asia/Damascus"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """These tests ask for many codes for one phone: the caps on sends have their own tests."""
    return settings.model_copy(update={"otp_per_phone_hour": 100, "otp_per_phone_day": 100})


# --- the slot engine (pure) ---------------------------------------------------------------------


def test_capacity_shares_each_counter_by_its_weights_and_keeps_the_walk_in_reserve() -> None:
    # Counter 1 serves only CR; counter 2 splits its time between CR and FS: 1.5 counters for CR.
    # 30 min / 300 s = 6 a counter, x 1.5 = 9, half kept for walk-ins: 4 places.
    counters = [{1: 1.0}, {1: 1.0, 2: 1.0}]
    assert (
        capacity(
            slot=timedelta(minutes=30),
            mean_service_s=300,
            counter_weights=counters,
            service_id=1,
            walk_in_share=0.5,
        )
        == 4
    )
    assert (
        capacity(
            slot=timedelta(minutes=30),
            mean_service_s=300,
            counter_weights=counters,
            service_id=2,
            walk_in_share=0.5,
        )
        == 1
    )
    assert (
        capacity(
            slot=timedelta(minutes=30),
            mean_service_s=300,
            counter_weights=counters,
            service_id=3,
            walk_in_share=0.5,
        )
        == 0
    )


def test_places_by_demand_give_way_to_the_walk_ins_and_their_backlog() -> None:
    # Two counters, 30-minute slots: 3,600 s of counter time, 2,880 s at the target load of 0.8.
    # Flat places: 3 of A (300 s) and 1 of B (600 s), 1,500 s of work a slot.
    places = places_by_demand(
        {"A": [3] * 4, "B": [1] * 4},
        mean_service_s={"A": 300, "B": 600},
        counter_s=[3600] * 4,
        walk_in_work_s=[600, 2880, 3500, 1000],
        target_load=0.8,
    )
    # 2,280 s free: all. None free: none. 620 s too many: none, and they wait into the next slot,
    # which has 2,880 - 1,000 - 620 = 1,260 s free: 84% of the flat places, rounded down.
    assert places == {"A": [3, 0, 0, 2], "B": [1, 0, 0, 0]}


def test_slots_follow_the_spans_of_the_day_and_never_straddle_a_break() -> None:
    slots = day_slots(
        date(2026, 11, 29), hours=WEEK, holidays=[], timezone=ZONE, length=timedelta(minutes=30)
    )
    utc = [start.isoformat()[11:16] for start, _ in slots]
    assert len(slots) == 8 + 5
    assert (utc[0], utc[7], utc[8]) == ("05:00", "08:30", "09:30")  # local 08:00, 11:30, then 12:30
    friday = day_slots(
        date(2026, 12, 4), hours=WEEK, holidays=[], timezone=ZONE, length=timedelta(minutes=30)
    )
    holiday = day_slots(
        date(2026, 11, 30), hours=WEEK, holidays=["2026-11-30"], timezone=ZONE, length=timedelta(minutes=30)
    )
    assert friday == [] and holiday == []


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("2026-11-29T08:00:00+03:00", "past"),
        ("2026-11-29T10:30:00+03:00", "too_soon"),  # 1.5 h ahead: the notice is 2 h
        ("2027-01-03T10:00:00+03:00", "beyond_horizon"),
        ("2026-12-04T10:00:00+03:00", "closed"),  # a Friday
        ("2026-12-01T10:00:00+03:00", "closed"),  # a holiday
        ("2026-11-30T12:00:00+03:00", "not_a_slot"),  # the break
        ("2026-11-30T10:10:00+03:00", "not_a_slot"),
    ],
)
def test_a_start_that_cannot_be_booked_says_why(clock: VirtualClock, start: str, reason: str) -> None:
    from datetime import datetime

    with pytest.raises(NotBookable) as refused:
        check_bookable(
            datetime.fromisoformat(start),
            now=clock(),
            hours=WEEK,
            holidays=["2026-12-01"],
            timezone=ZONE,
            rules=SlotRules(),
        )
    assert refused.value.reason == reason


# --- booking through the API ---------------------------------------------------------------------


def otp(client: TestClient, database: Database, phone: str = PHONE) -> str:
    assert client.post("/api/v1/otp", json={"phone": phone, "purpose": "booking"}).status_code == 202
    with database.read() as session:
        body = session.exec(
            select(SmsMessage.body).where(SmsMessage.template == "otp").order_by(SmsMessage.id.desc())  # type: ignore[union-attr]
        ).first()
    assert body is not None
    return re.findall(r"\d{6}", body)[0]


def booking(
    code: str, start: str = MONDAY_10, national_id: str = "01234567890", **extra: str
) -> dict[str, str]:
    return {
        "centre": "DAM-01",
        "service": "CR",
        "start": start,
        "phone": "0944 123 456",
        "otp": code,
        "national_id": national_id,
        **extra,
    }


def available(client: TestClient, start: str = MONDAY_10) -> int:
    slots = client.get("/api/v1/centres/DAM-01/services/CR/slots?from=2026-11-30&days=1").json()
    return next(s["available"] for s in slots if s["start"] == start)


def test_a_weekday_whose_walk_ins_fill_an_hour_offers_no_places_in_it(
    client: TestClient, settings: Settings, database: Database, clock: VirtualClock
) -> None:
    for _ in range(55):  # this Sunday at 09:00: 55 extracts, 9,900 s of work for DAM-01's 6 counters
        assert (
            client.post(
                "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
            ).status_code
            == 201
        )

    def sunday_week(asking: TestClient = client) -> dict[str, int]:
        slots = asking.get("/api/v1/centres/DAM-01/services/CR/slots?from=2026-12-06&days=1").json()
        return {s["start"][11:16]: s["available"] for s in slots}

    # 6 counters x 1,800 s x 0.9 = 9,720 s a slot: the 09:00 slot is full of walk-ins (180 s over,
    # carried into 09:30, which still has room for all its places).
    places = sunday_week()
    assert (places["08:00"], places["09:00"], places["09:30"]) == (5, 0, 5)
    refused = client.post(
        "/api/v1/appointments", json=booking(otp(client, database), "2026-12-06T09:00:00+03:00")
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "slot_full")
    flat = create_app(settings.model_copy(update={"booking_places": "flat"}), database=database, clock=clock)
    with TestClient(flat) as started_flat:
        assert sunday_week(started_flat)["09:00"] == 5


def test_todays_walk_ins_count_at_once_and_stay_counted_once_the_day_is_past(
    client: TestClient, clock: VirtualClock
) -> None:
    def nine_sunday_week() -> int:
        slots = client.get("/api/v1/centres/DAM-01/services/CR/slots?from=2026-12-06&days=1").json()
        return next(s["available"] for s in slots if s["start"][11:16] == "09:00")

    assert nine_sunday_week() == 5  # no walk-ins yet this Sunday
    for _ in range(55):
        assert (
            client.post(
                "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
            ).status_code
            == 201
        )
    assert nine_sunday_week() == 0  # today's history is read live, not kept
    clock.advance(24 * 3600)  # Monday: Sunday's walk-ins are settled, and kept
    assert [nine_sunday_week(), nine_sunday_week()] == [0, 0]


def test_slots_list_a_day_with_the_places_left(client: TestClient) -> None:
    slots = client.get("/api/v1/centres/DAM-01/services/CR/slots?from=2026-11-30&days=1").json()
    assert len(slots) == 14  # 08:00 to 15:00 in 30-minute slots
    assert slots[0] == {
        "start": "2026-11-30T08:00:00+03:00",
        "end": "2026-11-30T08:30:00+03:00",
        "available": 5,
    }
    today = client.get("/api/v1/centres/DAM-01/services/CR/slots").json()
    assert today[0]["start"] == "2026-11-29T11:00:00+03:00"  # 2 h notice from 09:00
    assert client.get("/api/v1/centres/DAM-01/services/CR/slots?days=40").status_code == 422
    assert client.get("/api/v1/centres/DAM-01/services/XX/slots").status_code == 404


def test_book_with_an_otp_then_cancel_by_the_manage_link(client: TestClient, database: Database) -> None:
    assert available(client) == 5
    response = client.post("/api/v1/appointments", json=booking(otp(client, database)))
    assert response.status_code == 201, response.text
    made = response.json()
    assert re.fullmatch(r"[ACDEFGHJKMNPQRTUVWXY34679]{8}", made["code"])
    assert len(made["token"]) >= 32
    assert (made["status"], made["start"], made["reschedules_left"]) == ("booked", MONDAY_10, 1)
    assert made["manage_url"].endswith(f"/book/manage/{made['token']}")
    assert available(client) == 4
    with database.read() as session:
        stored = session.exec(select(Appointment)).one()
        sms = session.exec(select(SmsMessage.template).where(SmsMessage.template != "otp")).all()
    assert stored.national_id_hash and "01234567890" not in stored.national_id_hash
    assert sms == ["booking_confirmed"]
    ics = client.get(f"/api/v1/appointments/{made['token']}/calendar.ics")
    assert ics.headers["content-type"].startswith("text/calendar")
    assert "DTSTART:20261130T070000Z" in ics.text and made["code"] in ics.text
    cancelled = client.delete(f"/api/v1/appointments/{made['token']}")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert available(client) == 5
    assert client.delete(f"/api/v1/appointments/{made['token']}").status_code == 409
    assert client.get("/api/v1/appointments/nope").status_code == 404


def test_the_same_key_gets_the_first_result(client: TestClient, database: Database) -> None:
    body = booking(otp(client, database))
    first = client.post("/api/v1/appointments", json=body, headers={"Idempotency-Key": "k1"})
    again = client.post("/api/v1/appointments", json=body, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    other = client.post(
        "/api/v1/appointments",
        json={**body, "start": "2026-11-30T11:00:00+03:00"},
        headers={"Idempotency-Key": "k1"},
    )
    assert other.status_code == 422
    assert available(client) == 4


def test_one_active_booking_per_person_and_service(client: TestClient, database: Database) -> None:
    assert client.post("/api/v1/appointments", json=booking(otp(client, database))).status_code == 201
    twice = client.post(
        "/api/v1/appointments", json=booking(otp(client, database), "2026-11-30T11:00:00+03:00")
    )
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "quota_exceeded")


def test_a_phone_holds_at_most_three_bookings(client: TestClient, database: Database) -> None:
    ids = ["11111111112", "11111111113", "11111111114", "11111111115"]
    codes = [
        client.post("/api/v1/appointments", json=booking(otp(client, database), national_id=n)).status_code
        for n in ids[:3]
    ]
    assert codes == [201, 201, 201]
    fourth = client.post("/api/v1/appointments", json=booking(otp(client, database), national_id=ids[3]))
    assert (fourth.status_code, fourth.json()["error"]["code"]) == (409, "quota_exceeded")


def test_a_full_slot_is_refused(client: TestClient, database: Database, clock: VirtualClock) -> None:
    assert client.post("/api/v1/appointments", json=booking(otp(client, database))).status_code == 201
    with database.write() as session:
        slot = session.exec(select(BookingSlot)).one()
        slot.capacity = 1
        session.add(slot)
    full = client.post(
        "/api/v1/appointments",
        json=booking(
            otp(client, database, "+963944000001"), national_id="22222222223", phone="+963944000001"
        ),
    )
    assert (full.status_code, full.json()["error"]["code"]) == (409, "slot_full")


def test_a_full_slot_is_refused_before_the_code_is_used(client: TestClient, database: Database) -> None:
    """At a release most attempts are for slots just gone: they cost the citizen neither the code
    nor a try, so the next slot can be booked at once."""
    assert client.post("/api/v1/appointments", json=booking(otp(client, database))).status_code == 201
    with database.write() as session:
        slot = session.exec(select(BookingSlot)).one()
        slot.capacity = 1
        session.add(slot)
    other = {"national_id": "22222222223", "phone": "+963944000001"}
    code = otp(client, database, other["phone"])
    wrong = "000000" if code != "000000" else "111111"
    for attempt in (code, wrong):
        full = client.post("/api/v1/appointments", json=booking(attempt, **other))
        assert (full.status_code, full.json()["error"]["code"]) == (409, "slot_full")
    later = client.post(
        "/api/v1/appointments", json=booking(code, start="2026-11-30T10:30:00+03:00", **other)
    )
    assert later.status_code == 201, later.text


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"start": "2026-11-29T08:00:00+03:00"}, 422, "slot_past"),
        ({"start": "2027-01-03T10:00:00+03:00"}, 422, "slot_beyond_horizon"),
        ({"start": "2026-12-04T10:00:00+03:00"}, 422, "slot_closed"),
        ({"start": "2026-11-30T10:10:00+03:00"}, 422, "slot_not_a_slot"),
        ({"start": "2026-11-30T10:00:00"}, 422, "invalid_input"),  # no offset
        ({"national_id": "123"}, 422, "invalid_input"),
        ({"national_id": "٠١٢٣٤٥٦٧٨٩"}, 422, "invalid_input"),  # 10 digits
        ({"phone": "hello"}, 422, "invalid_input"),
        ({"otp": "000000"}, 401, "otp_invalid"),
        ({"centre": "NOPE"}, 404, "not_found"),
        ({"centre": "DAM-02", "service": "VT"}, 422, "service_not_offered"),
    ],
)
def test_bad_bookings_say_why_and_book_nothing(
    client: TestClient, database: Database, change: dict[str, str], status: int, code: str
) -> None:
    body = {**booking(otp(client, database)), **change}
    response = client.post("/api/v1/appointments", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    with database.read() as session:
        assert session.exec(select(Appointment)).all() == []


def test_a_wrong_code_is_counted_and_five_burn_it(client: TestClient, database: Database) -> None:
    code = otp(client, database)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert client.post("/api/v1/appointments", json=booking(wrong)).status_code == 401
    assert client.post("/api/v1/appointments", json=booking(code)).status_code == 401
    with database.read() as session:
        assert session.exec(select(OtpChallenge.wrong_tries)).one() == 5


def test_reschedule_once_moves_the_place(client: TestClient, database: Database) -> None:
    made = client.post("/api/v1/appointments", json=booking(otp(client, database))).json()
    later = "2026-11-30T11:00:00+03:00"
    moved = client.post(f"/api/v1/appointments/{made['token']}/reschedule", json={"start": later})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["start"], moved.json()["reschedules_left"]) == (later, 0)
    assert (available(client), available(client, later)) == (5, 4)
    again = client.post(f"/api/v1/appointments/{made['token']}/reschedule", json={"start": MONDAY_10})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "reschedule_limit")


# --- the no-show loop, reminders, retention -------------------------------------------------------


def test_reminder_the_day_before_once_with_the_cancel_link(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    made = client.post(
        "/api/v1/appointments", json=booking(otp(client, database), "2026-12-01T10:00:00+03:00")
    ).json()
    with database.write() as session:
        assert send_reminders(session, now=clock(), base_url="https://dor.test") == 0  # two days ahead
    clock.advance(25 * 3600 + 60)  # 23 h 59 min before it
    for _ in range(2):
        with database.write() as session:
            send_reminders(session, now=clock(), base_url="https://dor.test")
    with database.read() as session:
        reminders = session.exec(select(SmsMessage.body).where(SmsMessage.template == "reminder")).all()
    assert len(reminders) == 1
    assert f"https://dor.test/book/manage/{made['token']}" in reminders[0] and made["code"] in reminders[0]


def test_three_no_shows_block_booking(client: TestClient, database: Database, clock: VirtualClock) -> None:
    rules = BookingRules()
    for day in ("2026-11-30", "2026-12-01", "2026-12-02"):
        made = client.post(
            "/api/v1/appointments", json=booking(otp(client, database), f"{day}T10:00:00+03:00")
        )
        assert made.status_code == 201, made.text
        clock.advance(26 * 3600)  # 11:00 the next morning: an hour past the appointment
        with database.write() as session:
            assert mark_no_shows(session, now=clock(), grace=timedelta(minutes=15)) == 1
    assert rules.no_show_limit == 3
    with database.read() as session:  # each no-show is in the centre's log, by the scheduler
        logged = session.exec(select(Event.actor).where(Event.type == "appointment_no_show")).all()
    assert logged == ["scheduler:no-shows"] * 3
    blocked = client.post(
        "/api/v1/appointments", json=booking(otp(client, database), "2026-12-07T10:00:00+03:00")
    )
    assert (blocked.status_code, blocked.json()["error"]["code"]) == (409, "booking_blocked")
    clock.advance(31 * 24 * 3600)
    again = client.post(
        "/api/v1/appointments", json=booking(otp(client, database), "2027-01-04T10:00:00+03:00")
    )
    assert again.status_code == 201, again.text


def test_nothing_personal_is_left_after_the_retention_period(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    client.post("/api/v1/appointments", json=booking(otp(client, database)))
    assert (
        client.post("/api/v1/otp", json={"phone": "0944 555 666", "purpose": "remote_ticket"}).status_code
        == 202
    )
    client.post(
        "/api/v1/centres/DAM-01/tickets",
        json={"service": "CR", "channel": "kiosk", "phone": "0944 777 888"},
        headers={"Authorization": "Bearer demo-kiosk-DAM-01"},
    )
    clock.advance(92 * 24 * 3600)
    with database.write() as session:
        erase_personal_data(session, now=clock(), retention=timedelta(days=90))
    with database.read() as session:
        appointments = session.exec(select(Appointment)).all()
        tickets = session.exec(select(Ticket)).all()
        messages = session.exec(select(SmsMessage)).all()
        challenges = session.exec(select(OtpChallenge)).all()
        erasures = session.exec(select(Event).where(Event.type == "personal_data_erased")).all()
    assert appointments and tickets and messages  # the anonymous facts stay
    assert all(a.phone is None and a.national_id_hash is None for a in appointments)
    assert all(t.phone is None for t in tickets)
    assert all(m.phone == "" and m.body == "" and m.params == {} for m in messages)
    assert {m.template for m in messages} == {"otp", "booking_confirmed", "turn_near"}
    assert challenges == []
    assert erasures[0].actor == "scheduler:retention" and erasures[0].data["appointments"] == 1
    assert [a.status for a in appointments] == ["booked"] and appointments[0].start.isoformat().startswith(
        "2026-11-30"
    )


def test_the_confirmation_qr_scanned_at_the_kiosk_checks_in(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    made = client.post("/api/v1/appointments", json=booking(otp(client, database))).json()
    clock.advance(24 * 3600 + 40 * 60)  # Monday 09:40, twenty minutes early
    checked = client.post(
        "/api/v1/centres/DAM-01/check-in",
        json={"code": made["manage_url"]},
        headers={"Authorization": "Bearer demo-kiosk-DAM-01"},
    )
    assert checked.status_code == 201, checked.text
    assert client.get(f"/api/v1/appointments/{made['token']}").json()["status"] == "checked_in"


def test_arabic_indic_digits_in_the_code_book(client: TestClient, database: Database) -> None:
    code = otp(client, database).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert client.post("/api/v1/appointments", json=booking(code)).status_code == 201


def test_moving_to_the_same_time_is_refused_and_keeps_the_move(
    client: TestClient, database: Database
) -> None:
    made = client.post("/api/v1/appointments", json=booking(otp(client, database))).json()
    same = client.post(f"/api/v1/appointments/{made['token']}/reschedule", json={"start": MONDAY_10})
    assert (same.status_code, same.json()["error"]["code"]) == (422, "slot_unchanged")
    assert client.get(f"/api/v1/appointments/{made['token']}").json()["reschedules_left"] == 1


def test_a_cancelled_appointment_shows_no_qr_to_check_in_and_offers_to_book_again(
    client: TestClient, database: Database
) -> None:
    made = client.post("/api/v1/appointments", json=booking(otp(client, database))).json()
    page, qr = f"/book/manage/{made['token']}", f"/book/manage/{made['token']}/qr.svg"
    assert f'src="{qr}"' in client.get(f"{page}?lang=en").text
    assert client.get(qr).headers["content-type"] == "image/svg+xml"

    assert client.delete(f"/api/v1/appointments/{made['token']}").status_code == 200
    cancelled = client.get(f"{page}?lang=en").text
    assert "qr.svg" not in cancelled and "scan the QR code" not in cancelled
    assert "This appointment was cancelled." in cancelled and 'href="/book?lang=en">Book again' in cancelled
    gone = client.get(qr)
    assert (gone.status_code, gone.json()["error"]["code"]) == (410, "appointment_not_active")
    assert client.get("/book/manage/no-such-token/qr.svg").status_code == 404


def test_a_checked_in_appointment_leads_to_its_ticket_not_to_the_kiosk_again(
    client: TestClient, database: Database, clock: VirtualClock
) -> None:
    made = client.post("/api/v1/appointments", json=booking(otp(client, database))).json()
    clock.advance(24 * 3600 + 40 * 60)  # Monday 09:40
    ticket = client.post("/api/v1/centres/DAM-01/check-in", json={"code": made["code"]}, headers=KIOSK).json()
    page = client.get(f"/book/manage/{made['token']}?lang=en").text
    assert "qr.svg" not in page and "scan the QR code" not in page
    assert f'href="/t/{ticket["token"]}?lang=en"' in page
    assert client.get(f"/book/manage/{made['token']}/qr.svg").status_code == 410

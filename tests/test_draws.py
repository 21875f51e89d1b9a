"""Draws through the API: an admin opens one, its commitment is public before the window, citizens
apply (one application per national ID, the broker caps), the draw runs at the close, winners get
appointments and the others a place on the waiting list, which is offered each freed place in order.
Clock: Sunday 2026-11-29 09:00 in Damascus (UTC+3)."""

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select, update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.appointments import national_rules
from booking.draw_results import run_due_draws
from booking.lottery import Record, parse_record, verify
from booking.models import Appointment, AppointmentStatus, DrawApplication
from booking.upkeep import erase_personal_data
from booking.waiting_list import offer_freed_places
from config.db import Database
from config.settings import Settings
from config.sql import id_of
from eventlog.models import Event
from organisation.models import Centre, Service
from sms_gateway.models import SmsMessage
from tests.conftest import VirtualClock, sign_in

SERVICE = "PP"
OPENS = "2026-11-29T10:00:00+03:00"
CLOSES = "2026-12-01T12:00:00+03:00"
FIRST_DAY, LAST_DAY = "2026-12-06", "2026-12-08"  # Sunday to Tuesday


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Many applicants ask for codes from one test client: the caps on sends have their own tests."""
    return settings.model_copy(update={"otp_per_phone_hour": 100, "otp_per_address_hour": 10_000})


@pytest.fixture(autouse=True)
def passports_at_dam_02(database: Database) -> None:
    """DAM-02's one passport counter has no place to spare at the national walk-in share (half its
    time): it keeps none for walk-ins here, so that a draw can span two centres."""
    with database.write() as session:
        session.execute(update(Centre).where(col(Centre.code) == "DAM-02").values(booking_walk_in_share=0.0))


@pytest.fixture
def admin(client: TestClient, app: Starlette) -> Iterator[TestClient]:
    with sign_in(app, "admin") as signed_in:
        yield signed_in


def draw_body(**changes: Any) -> dict[str, Any]:
    return {
        "code": "PASS-2026-12",
        "service": SERVICE,
        "centres": ["DAM-01", "DAM-02"],
        "opens_at": OPENS,
        "closes_at": CLOSES,
        "first_day": FIRST_DAY,
        "last_day": LAST_DAY,
        "reason": "passports: demand far above places",
        **changes,
    }


def code_for(client: TestClient, database: Database, phone: str) -> str:
    assert client.post("/api/v1/otp", json={"phone": phone, "purpose": "draw"}).status_code == 202
    with database.read() as session:
        body = session.exec(
            select(SmsMessage.body)
            .where(SmsMessage.template == "otp", SmsMessage.phone == phone)
            .order_by(col(SmsMessage.id).desc())
        ).first()
    assert body is not None
    return re.findall(r"\d{6}", body)[0]


def apply(
    client: TestClient,
    database: Database,
    n: int,
    choices: tuple[str, ...] = ("DAM-01@*",),
    phone: str | None = None,
    national_id: str | None = None,
) -> Any:
    phone = phone or f"+96393{n:07d}"
    return client.post(
        "/api/v1/draws/PASS-2026-12/applications",
        json={
            "phone": phone,
            "otp": code_for(client, database, phone),
            "national_id": national_id or f"{10_000_000_000 + n}",
            "choices": list(choices),
            "language": "en",
        },
    )


def open_window(admin: TestClient, clock: VirtualClock, **changes: Any) -> dict[str, Any]:
    response = admin.post("/api/v1/draws", json=draw_body(**changes))
    assert response.status_code == 201, response.text
    clock.advance(3600)  # 10:00: the window opens
    return dict(response.json())


def close_and_draw(clock: VirtualClock, database: Database, settings: Settings) -> None:
    clock.advance(2 * 86400 + 3 * 3600)  # Tuesday 12:00
    drawn = run_due_draws(database, rules=national_rules(settings), base_url=settings.base_url, now=clock())
    assert [d.draw for d in drawn] == ["PASS-2026-12"]


def events(database: Database, kind: str) -> list[dict[str, Any]]:
    with database.read() as session:
        return [
            e.data for e in session.exec(select(Event).where(Event.type == kind).order_by(col(Event.seq)))
        ]


def test_the_commitment_is_public_before_the_window_and_the_seed_once_drawn(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock, settings: Settings
) -> None:
    opened = admin.post("/api/v1/draws", json=draw_body())
    assert opened.status_code == 201, opened.text
    public = client.get("/api/v1/draws/PASS-2026-12").json()
    assert public["state"] == "announced" and public["seed"] is None
    assert re.fullmatch("[0-9a-f]{64}", public["commitment"])
    assert public["places_total"] > 0
    assert {p["centre"] for p in public["places"]} == {"DAM-01", "DAM-02"}
    [logged] = events(database, "draw_opened")
    assert logged["commitment"] == public["commitment"] and logged["reason"].startswith("passports")
    assert client.get("/api/v1/draws/PASS-2026-12/record").json()["error"]["code"] == "draw_not_drawn"

    clock.advance(3600)
    assert client.get("/api/v1/draws/PASS-2026-12").json()["state"] == "open"
    assert apply(client, database, 1).status_code == 201
    close_and_draw(clock, database, settings)

    drawn = client.get("/api/v1/draws/PASS-2026-12").json()
    assert drawn["state"] == "drawn"
    assert hashlib.sha256(bytes.fromhex(drawn["seed"])).hexdigest() == drawn["commitment"]
    [logged] = events(database, "draw_drawn")
    assert logged["seed"] == drawn["seed"] and logged["list_digest"] == drawn["list_digest"]


def test_applications_are_taken_only_in_the_window(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock
) -> None:
    assert admin.post("/api/v1/draws", json=draw_body()).status_code == 201
    early = apply(client, database, 1)
    assert early.status_code == 409 and early.json()["error"]["code"] == "draw_not_open"
    clock.advance(3600 + 2 * 86400 + 3 * 3600)  # the close
    late = apply(client, database, 2)
    assert late.status_code == 409 and late.json()["error"]["code"] == "draw_not_open"


def test_one_application_per_national_id_and_the_caps_per_phone(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock
) -> None:
    open_window(admin, clock)
    first = apply(client, database, 1)
    assert first.status_code == 201, first.text
    assert re.fullmatch(r"[0-9A-F]{4}(-[0-9A-F]{4}){3}", first.json()["pseudonym"])
    twin = apply(client, database, 2, national_id="10000000001")  # the same person, another phone
    assert twin.status_code == 409 and twin.json()["error"]["code"] == "already_applied"
    family = "+963930000100"
    for n in (100, 101, 102):  # a family: three national IDs on one phone
        assert apply(client, database, n, phone=family).status_code == 201
    broker = apply(client, database, 103, phone=family)  # a fourth
    assert broker.status_code == 409 and broker.json()["error"]["code"] == "too_many_applications"
    with database.read() as session:
        assert len(session.exec(select(DrawApplication)).all()) == 4


@pytest.mark.parametrize(
    ("choices", "field"),
    [
        (("RIF-01@*",), "choices.0"),  # not one of the draw's centres
        (("DAM-01@2026-12-20",), "choices.0"),  # not one of its days
        (("DAM-01@*", "DAM-02@2026-12-04"), "choices.1"),  # a Friday: DAM-02 is closed
        (("DAM-01@*", "DAM-01@*"), "choices.1"),
        (("DAM-01",), "choices.0"),
        ((), "choices"),
        (("DAM-01@*", "DAM-02@*", "DAM-01@2026-12-06", "DAM-02@2026-12-06"), "choices"),
    ],
)
def test_choices_name_the_draws_centres_and_days(
    admin: TestClient,
    client: TestClient,
    database: Database,
    clock: VirtualClock,
    choices: tuple[str, ...],
    field: str,
) -> None:
    open_window(admin, clock)
    refused = apply(client, database, 1, choices)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"opens_at": "2026-11-29T08:00:00+03:00"}, "opens_at"),  # before now
        ({"closes_at": OPENS}, "closes_at"),
        ({"first_day": "2026-12-01"}, "first_day"),  # the day the window closes
        ({"last_day": "2026-12-05"}, "last_day"),
        ({"last_day": "2027-01-15"}, "last_day"),  # more than 31 days
        ({"centres": ["DAM-01", "DAM-01"]}, "centres.1"),
        ({"centres": ["RIF-01"]}, "centres.0"),  # does not offer passports
        ({"code": "pass 1"}, "code"),
    ],
)
def test_a_draw_is_refused_with_the_field_that_is_wrong(
    admin: TestClient, changes: dict[str, Any], field: str
) -> None:
    refused = admin.post("/api/v1/draws", json=draw_body(**changes))
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"] == field


def test_only_admins_open_draws_and_twice_is_refused(admin: TestClient, app: Starlette) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        assert supervisor.post("/api/v1/draws", json=draw_body()).status_code == 403
    assert admin.post("/api/v1/draws", json=draw_body()).status_code == 201
    again = admin.post("/api/v1/draws", json=draw_body())
    assert again.status_code == 409 and again.json()["error"]["code"] == "draw_exists"
    overlap = admin.post("/api/v1/draws", json=draw_body(code="PASS-2026-12B"))
    assert overlap.status_code == 409 and overlap.json()["error"]["code"] == "draw_overlap"


def test_a_draws_slots_are_not_for_first_come_first_served_booking(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock
) -> None:
    open_window(admin, clock)
    listed = client.get(f"/api/v1/centres/DAM-01/services/{SERVICE}/slots?from={FIRST_DAY}&days=1").json()
    assert listed and all(slot["available"] == 0 for slot in listed)
    phone = "+963944123456"
    assert client.post("/api/v1/otp", json={"phone": phone, "purpose": "booking"}).status_code == 202
    with database.read() as session:
        body = session.exec(select(SmsMessage.body).where(SmsMessage.phone == phone)).one()
    booked = client.post(
        "/api/v1/appointments",
        json={
            "centre": "DAM-01",
            "service": SERVICE,
            "start": listed[0]["start"],
            "phone": phone,
            "otp": re.findall(r"\d{6}", body)[0],
            "national_id": "01234567890",
        },
    )
    assert booked.status_code == 409 and booked.json()["error"]["code"] == "allocated_by_draw"
    assert "PASS-2026-12" in booked.json()["error"]["message"]


def record_of(client: TestClient) -> Record:
    """The published record as `dor draw verify` reads it."""
    return parse_record(client.get("/api/v1/draws/PASS-2026-12/record").json())


def test_the_draw_gives_appointments_to_winners_and_waiting_places_to_the_others(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock, settings: Settings
) -> None:
    places = open_window(admin, clock)["places_total"]
    applicants = places + 12
    tokens = [apply(client, database, n, ("DAM-01@*", "DAM-02@*")).json()["token"] for n in range(applicants)]
    close_and_draw(clock, database, settings)

    drawn = client.get("/api/v1/draws/PASS-2026-12").json()
    assert (drawn["winners"], drawn["waiting"], drawn["applications"]) == (places, 12, applicants)
    results = [client.get(f"/api/v1/draw-applications/{t}").json() for t in tokens]
    winners = [r for r in results if r["status"] == "won"]
    assert len(winners) == places
    assert all(
        r["appointment"]["status"] == "booked" and r["appointment"]["service"] == SERVICE for r in winners
    )
    assert sorted(r["waiting"] for r in results if r["status"] == "waiting") == list(range(1, 13))
    assert sorted(r["rank"] for r in results) == list(range(1, applicants + 1))
    with database.read() as session:
        texts = session.exec(select(SmsMessage.template).where(col(SmsMessage.template).like("draw_%"))).all()
    assert sorted(set(texts)) == ["draw_waiting", "draw_won"] and len(texts) == applicants
    # A waiting applicant's SMS links to their status page.
    waiting = next(r for r in results if r["waiting"] == 1)
    with database.read() as session:
        sms = session.exec(
            select(SmsMessage).where(
                SmsMessage.template == "draw_waiting",
                SmsMessage.phone == f"+96393{results.index(waiting):07d}",
            )
        ).one()
    assert "number 1 on the waiting list" in sms.body
    link = sms.body.rsplit("\n", 1)[1]
    assert link == f"{settings.base_url}/d/{waiting['token']}"
    opened = client.get(link.removeprefix(settings.base_url), follow_redirects=False)
    assert (
        opened.status_code == 302 and opened.headers["location"] == f"/draws/applications/{waiting['token']}"
    )
    # What the record publishes is the draw its seed and list give.
    assert verify(record_of(client)) == []
    # Every place is now taken: the listing still offers none of them to first come, first served.
    listed = client.get(f"/api/v1/centres/DAM-01/services/{SERVICE}/slots?from={FIRST_DAY}&days=1").json()
    assert all(slot["available"] == 0 for slot in listed)


def test_whoever_holds_an_appointment_of_the_service_at_the_close_is_excluded(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock, settings: Settings
) -> None:
    open_window(admin, clock)
    held = apply(client, database, 1).json()
    assert apply(client, database, 2).status_code == 201
    with database.write() as session:  # booked elsewhere after applying
        application = session.exec(
            select(DrawApplication).where(DrawApplication.pseudonym == held["pseudonym"])
        ).one()
        passports = session.exec(select(Service).where(Service.code == SERVICE)).one()
        session.add(
            Appointment(
                code="ELSEWHERE",
                token="t" * 32,
                centre_id=1,
                service_id=id_of(passports),
                start=clock() + timedelta(days=20),
                end=clock() + timedelta(days=20, minutes=30),
                national_id_hash=application.national_id_hash,
                created_at=clock(),
            )
        )
    close_and_draw(clock, database, settings)
    record = client.get("/api/v1/draws/PASS-2026-12/record").json()
    assert record["excluded"] == [
        {"pseudonym": held["pseudonym"], "reason": "holds an appointment for this service"}
    ]
    assert [a["pseudonym"] for a in record["applications"]] != [held["pseudonym"]]
    assert len(record["applications"]) == 1


def test_a_freed_place_goes_to_the_waiting_list_in_order_with_a_deadline(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock, settings: Settings
) -> None:
    opened = open_window(admin, clock, centres=["DAM-01"])
    places = opened["places_total"]
    tokens = [apply(client, database, n, ("DAM-01@*",)).json()["token"] for n in range(places + 3)]
    close_and_draw(clock, database, settings)
    results = {t: client.get(f"/api/v1/draw-applications/{t}").json() for t in tokens}
    waiting = sorted((r["waiting"], t) for t, r in results.items() if r["status"] == "waiting")
    winner = next(r for r in results.values() if r["status"] == "won")
    rules = national_rules(settings)

    def offer() -> int:
        return offer_freed_places(database, rules=rules, base_url=settings.base_url, now=clock())

    assert offer() == 0  # nothing freed yet
    cancelled = client.delete(f"/api/v1/appointments/{winner['appointment']['token']}")
    assert cancelled.status_code == 200
    assert offer() == 1
    first, second, third = (t for _, t in waiting)
    offered = client.get(f"/api/v1/draw-applications/{first}").json()
    assert offered["status"] == "offered" and offered["offer"]["centre"] == "DAM-01"
    assert offer() == 0  # the place is held for the one it was offered to
    with database.read() as session:
        sms = session.exec(select(SmsMessage).where(SmsMessage.template == "draw_offer")).one()
    assert sms.phone == f"+96393{tokens.index(first):07d}"

    # The first lets the deadline pass: the place goes to the second, who declines; then the third.
    clock.advance(opened["offer_hours"] * 3600 + 60)
    assert offer() == 1
    assert client.get(f"/api/v1/draw-applications/{first}").json()["status"] == "lapsed"
    late = client.post(f"/api/v1/draw-applications/{first}/accept")
    assert late.status_code == 409 and late.json()["error"]["code"] == "offer_not_open"
    assert client.post(f"/api/v1/draw-applications/{second}/decline").json()["status"] == "lapsed"
    assert offer() == 1
    accepted = client.post(f"/api/v1/draw-applications/{third}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["appointment"]["status"] == "booked"
    assert accepted.json()["appointment"]["start"] == offered["offer"]["start"]
    again = client.post(f"/api/v1/draw-applications/{third}/accept")
    assert again.status_code == 409
    kinds = [e["pseudonym"] for e in events(database, "draw_place_offered")]
    assert len(kinds) == 3
    assert [e["pseudonym"] for e in events(database, "draw_offer_accepted")] == [results[third]["pseudonym"]]
    with database.read() as session:
        booked = session.exec(
            select(Appointment).where(Appointment.status == AppointmentStatus.BOOKED.value)
        ).all()
    assert len(booked) == places  # the place went round once, no more


def test_an_admin_excludes_a_flagged_application_before_the_close(
    admin: TestClient,
    app: Starlette,
    client: TestClient,
    database: Database,
    clock: VirtualClock,
    settings: Settings,
) -> None:
    open_window(admin, clock)
    client.cookies.set("dor_device", "one-browser-many-people")
    pseudonyms = [apply(client, database, n).json()["pseudonym"] for n in range(4)]
    admin = sign_in(app, "admin")  # the first session has been idle too long
    flags = admin.get("/api/v1/draws/PASS-2026-12/flags").json()
    device = [f for f in flags if f["identity"] == "device"]
    assert device and sorted(device[0]["pseudonyms"]) == sorted(pseudonyms)
    fifth = apply(client, database, 5)  # the browser's cap
    assert fifth.status_code == 409 and fifth.json()["error"]["code"] == "too_many_applications"

    out = admin.post(
        f"/api/v1/draws/PASS-2026-12/applications/{pseudonyms[0]}/exclude",
        json={"reason": "one broker's browser"},
    )
    assert out.status_code == 200 and out.json() == {
        "pseudonym": pseudonyms[0],
        "reason": "one broker's browser",
    }
    assert events(database, "draw_application_excluded")[0]["reason"] == "one broker's browser"
    [flag] = [f for f in admin.get("/api/v1/draws/PASS-2026-12/flags").json() if f["identity"] == "device"]
    assert flag["excluded"] == [pseudonyms[0]]
    unknown = admin.post(
        "/api/v1/draws/PASS-2026-12/applications/0000-0000-0000-0000/exclude", json={"reason": "x" * 3}
    )
    assert unknown.status_code == 404
    close_and_draw(clock, database, settings)
    admin = sign_in(app, "admin")
    late = admin.post(
        f"/api/v1/draws/PASS-2026-12/applications/{pseudonyms[1]}/exclude", json={"reason": "too late"}
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "draw_closed"
    record = client.get("/api/v1/draws/PASS-2026-12/record").json()
    assert record["excluded"] == [{"pseudonym": pseudonyms[0], "reason": "one broker's browser"}]
    assert len(record["applications"]) == 3


def dor_draw_verify(source: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "draw", "verify", str(source)],
        env={k: v for k, v in os.environ.items() if not k.startswith("DOR_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_dor_draw_verify_re_runs_the_published_record_and_catches_tampering(
    admin: TestClient,
    client: TestClient,
    database: Database,
    clock: VirtualClock,
    settings: Settings,
    tmp_path: Path,
) -> None:
    places = open_window(admin, clock)["places_total"]
    for n in range(places + 5):
        assert apply(client, database, n, ("DAM-01@*", "DAM-02@*")).status_code == 201
    close_and_draw(clock, database, settings)
    record = client.get("/api/v1/draws/PASS-2026-12/record").json()
    published = tmp_path / "record.json"
    published.write_text(json.dumps(record))
    checked = dor_draw_verify(published)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{places + 5} applications" in checked.stdout and f"{places} places won" in checked.stdout

    def tampered(change: Callable[[dict[str, Any]], None]) -> subprocess.CompletedProcess[str]:
        copy = json.loads(json.dumps(record))
        change(copy)
        published.write_text(json.dumps(copy))
        return dor_draw_verify(published)

    def other_seed(r: dict[str, Any]) -> None:
        r["seed"] = "00" * 32

    def swapped(r: dict[str, Any]) -> None:  # a winner's place given to someone on the waiting list
        winner, loser = r["applications"][0], r["applications"][-1]
        winner["pseudonym"], loser["pseudonym"] = loser["pseudonym"], winner["pseudonym"]

    def rewritten(r: dict[str, Any]) -> None:  # an applicant's choices changed after the close
        r["applications"][0]["choices"] = ["DAM-02@*"]

    for change, said in (
        (other_seed, "does not match the commitment"),
        (swapped, "published #"),
        (rewritten, "not the one whose digest was published"),
    ):
        caught = tampered(change)
        assert caught.returncode == 1 and said in caught.stdout, caught.stdout
    published.write_text("{not json")
    assert dor_draw_verify(published).returncode == 2


def test_who_applied_is_erased_after_the_retention_period_and_the_record_stays(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock, settings: Settings
) -> None:
    open_window(admin, clock)
    applied = apply(client, database, 1).json()
    close_and_draw(clock, database, settings)
    clock.advance(90 * 86400)
    with database.write() as session:
        erase_personal_data(session, now=clock(), retention=timedelta(days=30))
    with database.read() as session:
        application = session.exec(select(DrawApplication)).one()
    assert (application.phone, application.national_id_hash, application.device_hash) == (None, None, None)
    record = client.get("/api/v1/draws/PASS-2026-12/record").json()
    assert [a["pseudonym"] for a in record["applications"]] == [applied["pseudonym"]]
    assert events(database, "personal_data_erased")[-1]["draw_applications"] == 1


def test_places_nobody_on_the_waiting_list_wants_go_back_to_booking(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock, settings: Settings
) -> None:
    open_window(admin, clock)
    assert apply(client, database, 1, ("DAM-01@2026-12-06",)).status_code == 201
    close_and_draw(clock, database, settings)
    slots = f"/api/v1/centres/DAM-01/services/{SERVICE}/slots?from={FIRST_DAY}&days=3"
    assert all(slot["available"] == 0 for slot in client.get(slots).json())
    offer_freed_places(database, rules=national_rules(settings), base_url=settings.base_url, now=clock())
    listed = client.get(slots).json()
    # Every place at DAM-01 but the one won is for first come, first served booking again.
    drawn = client.get("/api/v1/draws/PASS-2026-12").json()
    assert (
        sum(slot["available"] for slot in listed)
        == sum(p["places"] for p in drawn["places"] if p["centre"] == "DAM-01") - 1
    )
    [released] = events(database, "draw_places_released")
    assert released["slots"] > 0


def test_a_centre_without_places_for_the_service_on_those_days_is_refused(admin: TestClient) -> None:
    refused = admin.post("/api/v1/draws", json=draw_body(centres=["DAM-01", "RIF-02"]))
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "centres.1"


def test_a_draw_nobody_applied_to_is_drawn_and_gives_its_places_back(
    admin: TestClient, client: TestClient, database: Database, clock: VirtualClock, settings: Settings
) -> None:
    open_window(admin, clock)
    close_and_draw(clock, database, settings)
    drawn = client.get("/api/v1/draws/PASS-2026-12").json()
    assert (drawn["state"], drawn["applications"], drawn["winners"], drawn["waiting"]) == ("drawn", 0, 0, 0)
    offer_freed_places(database, rules=national_rules(settings), base_url=settings.base_url, now=clock())
    listed = client.get(f"/api/v1/centres/DAM-01/services/{SERVICE}/slots?from={FIRST_DAY}&days=1").json()
    assert sum(slot["available"] for slot in listed) > 0

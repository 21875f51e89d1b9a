"""Broker detection: the flags (pure), then a supervisor finding a broker's bookings, voiding them and
blocking the broker's browser. Clock: Sunday 2026-11-29 09:00 in Damascus (UTC+3)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.brokers import Booking, BrokerRules, Reason, detect
from booking.identities import DEVICE_COOKIE, network_of
from booking.models import Appointment, BookingBlock, IdentityKind
from booking.slots import released_at
from booking.upkeep import erase_personal_data
from config.db import Database
from config.settings import Settings
from eventlog.models import Event
from sms_gateway.models import SmsMessage
from supervision.audit import verify
from tests.conftest import VirtualClock, sign_in
from tests.test_booking import MONDAY_10, available, booking, otp

RELEASE = datetime(2026, 11, 28, 21, tzinfo=UTC)  # midnight in Damascus


def made(code: str, seconds: float = 3600, status: str = "booked", **who: str) -> Booking:
    return Booking(
        code=code,
        centre="DAM-01",
        service="CR",
        start=datetime(2026, 12, 29, 7, tzinfo=UTC),
        created_at=RELEASE + timedelta(seconds=seconds),
        released_at=RELEASE,
        status=status,
        identities={IdentityKind(kind): value for kind, value in {"national_id": code, **who}.items()},
    )


# --- the flags (pure) ----------------------------------------------------------------------------


def test_a_phone_behind_three_national_ids_is_flagged_a_family_of_two_is_not() -> None:
    broker = [made(f"B{i}", phone="p-broker") for i in range(3)]
    family = [made(f"F{i}", phone="p-family") for i in range(2)]
    flags = detect([*broker, *family], BrokerRules())
    assert [(f.reason, f.identity, f.key, f.identities) for f in flags] == [
        (Reason.SHARED_IDENTITY, IdentityKind.PHONE, "p-broker", 3)
    ]


def test_one_person_booking_several_services_is_not_a_cluster() -> None:
    same = [made(f"S{i}", national_id="one", device="d", address="a", phone="p") for i in range(6)]
    assert detect(same, BrokerRules()) == []


def test_an_address_needs_more_national_ids_than_a_browser() -> None:
    office = [made(f"O{i}", address="a-office", device=f"d{i}") for i in range(5)]
    bot = [made(f"D{i}", device="d-bot") for i in range(4)]
    flags = detect([*office, *bot], BrokerRules())
    assert [(f.identity, f.identities) for f in flags] == [(IdentityKind.DEVICE, 4)]
    assert detect(office, BrokerRules(address_identities=5))[0].identity is IdentityKind.ADDRESS


def test_bookings_within_seconds_of_the_release_are_flagged_together() -> None:
    fast = [made("Q1", seconds=2), made("Q2", seconds=9.5)]
    slow = [made("L1", seconds=11), made("EARLY", seconds=-5)]  # -5: a clock skew, not a script
    flags = detect([*fast, *slow], BrokerRules())
    assert len(flags) == 1
    assert flags[0].reason is Reason.FAST_AFTER_RELEASE and flags[0].key == RELEASE.isoformat()
    assert [b.code for b in flags[0].bookings] == ["Q1", "Q2"]


def test_no_shows_behind_one_phone_are_a_cluster_only_across_national_ids() -> None:
    rules = BrokerRules(phone_identities=10)  # only the no-show flag is in question here
    clients = [made(f"N{i}", status="no_show", phone="p", national_id=f"id{i % 2}") for i in range(3)]
    alone = [made(f"M{i}", status="no_show", phone="q", national_id="one") for i in range(3)]
    flags = detect([*clients, *alone, made("OK", phone="p", national_id="id3")], rules)
    assert [(f.reason, f.key, f.no_shows, f.identities) for f in flags] == [
        (Reason.NO_SHOW_CLUSTER, "p", 3, 2)
    ]


def test_a_slot_is_released_at_midnight_a_horizon_ahead_in_the_centres_zone() -> None:
    start = datetime(2026, 12, 29, 7, tzinfo=UTC)  # 10:00 in Damascus
    assert released_at(start, timezone="Asia/Damascus", horizon_days=30) == RELEASE


def test_an_ipv6_address_counts_by_its_64_network() -> None:
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert network_of("203.0.113.7") == "203.0.113.7"
    assert network_of("testclient") is None


# --- a supervisor and a broker -------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"otp_per_address_hour": 100})


@pytest.fixture
def broker(app: Starlette, client: TestClient) -> Iterator[TestClient]:
    """One browser that has been on /book, at one network address."""
    with TestClient(app, raise_server_exceptions=False, client=("203.0.113.7", 40000)) as browser:
        assert browser.get("/book").status_code == 200
        assert browser.cookies.get(DEVICE_COOKIE)
        yield browser


def book_as(browser: TestClient, database: Database, n: int, start: str = MONDAY_10) -> dict[str, str]:
    phone = f"0944 100 {n:03d}"
    code = otp(browser, database, phone=f"+963944100{n:03d}")
    response = browser.post(
        "/api/v1/appointments", json=booking(code, start, national_id=f"0123456{n:04d}", phone=phone)
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_supervisor_sees_a_browser_booking_for_four_people_voids_and_blocks_it(
    app: Starlette, client: TestClient, broker: TestClient, database: Database, clock: VirtualClock
) -> None:
    codes = [book_as(broker, database, n)["code"] for n in range(4)]
    left = available(client)
    with sign_in(app, "supervisor1") as supervisor:
        found = supervisor.get("/api/v1/centres/DAM-01/bookings/flags?from=2026-11-29&to=2026-11-29")
        assert found.status_code == 200, found.text
        [flag] = found.json()
        assert (flag["reason"], flag["identity"], flag["identities"], flag["elsewhere"]) == (
            "shared_identity",
            "device",
            4,
            0,
        )
        assert [a["code"] for a in flag["appointments"]] == codes

        voided = supervisor.post(
            "/api/v1/centres/DAM-01/appointments/void",
            json={"codes": [*codes[:2], codes[0]], "reason": "one browser booked for four people"},
        )
        assert voided.json() == {"voided": codes[:2], "skipped": []}
        again = supervisor.post(
            "/api/v1/centres/DAM-01/appointments/void", json={"codes": codes[:1], "reason": "again"}
        )
        assert again.json() == {"voided": [], "skipped": [{"code": codes[0], "status": "voided"}]}
        assert available(client) == left + 2

        blocked = supervisor.post(
            "/api/v1/centres/DAM-01/blocks",
            json={
                "appointments": codes,
                "identities": ["device"],
                "days": 30,
                "reason": "a broker's browser",
            },
        )
        assert blocked.status_code == 201, blocked.text
        [block] = blocked.json()
        assert block["kind"] == "device" and block["actor"] == "staff:supervisor1"

        refused = broker.post(
            "/api/v1/appointments",
            json=booking(
                otp(broker, database, phone="+963944100099"), national_id="01234560099", phone="0944100099"
            ),
        )
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "booking_blocked"
        # The same person from another browser books: the block is on the browser, not on them.
        assert client.get("/book").status_code == 200
        elsewhere = client.post(
            "/api/v1/appointments",
            json=booking(
                otp(client, database, phone="+963944100099"), national_id="01234560099", phone="0944100099"
            ),
        )
        assert elsewhere.status_code == 201, elsewhere.text

        assert [b["id"] for b in supervisor.get("/api/v1/centres/DAM-01/blocks").json()] == [block["id"]]
        lifted = supervisor.delete(f"/api/v1/centres/DAM-01/blocks/{block['id']}")
        assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None
        assert supervisor.delete(f"/api/v1/centres/DAM-01/blocks/{block['id']}").status_code == 409
        assert supervisor.get("/api/v1/centres/DAM-01/blocks").json() == []
    assert book_as(broker, database, 5)["status"] == "booked"

    with database.read() as session:
        events = session.exec(
            select(Event)
            .where(col(Event.type).in_(("appointment_voided", "identity_blocked", "block_lifted")))
            .order_by(col(Event.id))
        ).all()
        statuses = {a.code: a.status for a in session.exec(select(Appointment)).all()}
        told = session.exec(select(SmsMessage).where(SmsMessage.template == "cancelled")).all()
        assert all(v.broken is None for v in verify(session))
    assert [(e.type, e.actor) for e in events] == [
        ("appointment_voided", "staff:supervisor1"),
        ("appointment_voided", "staff:supervisor1"),
        ("identity_blocked", "staff:supervisor1"),
        ("block_lifted", "staff:supervisor1"),
    ]
    assert events[0].data["reason"] == "one browser booked for four people"
    assert [statuses[c] for c in codes] == ["voided", "voided", "booked", "booked"]
    assert len(told) == 2


def test_bookings_in_the_first_seconds_after_midnight_are_flagged(
    app: Starlette, client: TestClient, broker: TestClient, database: Database, clock: VirtualClock
) -> None:
    clock.advance(15 * 3600 + 4)  # Monday 00:00:04 in Damascus: 2026-12-30 has just been released
    made = book_as(broker, database, 1, start="2026-12-30T10:00:00+03:00")
    with sign_in(app, "supervisor1") as supervisor:
        flags = supervisor.get("/api/v1/centres/DAM-01/bookings/flags?from=2026-11-30&to=2026-11-30").json()
    assert [(f["reason"], f["key"]) for f in flags] == [("fast_after_release", "2026-11-29T21:00:00+00:00")]
    assert flags[0]["appointments"][0]["code"] == made["code"]
    assert flags[0]["appointments"][0]["seconds_after_release"] <= 10


def test_a_blocked_national_id_cannot_book_anywhere(
    app: Starlette, client: TestClient, broker: TestClient, database: Database
) -> None:
    first = book_as(broker, database, 1)
    with sign_in(app, "supervisor1") as supervisor:
        supervisor.post(
            "/api/v1/centres/DAM-01/blocks",
            json={"appointments": [first["code"]], "identities": ["national_id"], "reason": "resold slots"},
        )
    code = otp(client, database, phone="+963944200001")
    response = client.post(
        "/api/v1/appointments",
        json=booking(code, national_id="01234560001", phone="0944200001", service="PP"),
    )
    # The date is isolated left to right among the Arabic words (config/web/errors.py).
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "الحجز موقوف حتى \u20662027-02-27\u2069"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("appointments/void", {"codes": ["NOSUCH22", "MINE"], "reason": "broker"}, 404),
        ("appointments/void", {"codes": [], "reason": "broker"}, 422),
        ("appointments/void", {"codes": ["MINE"], "reason": ""}, 422),
        ("blocks", {"appointments": ["MINE"], "identities": ["shoe_size"], "reason": "broker"}, 422),
        ("blocks", {"appointments": ["MINE"], "identities": ["device"], "days": 0, "reason": "broker"}, 422),
        ("blocks", {"appointments": ["MINE", "NOSUCH22"], "identities": ["device"], "reason": "broker"}, 404),
    ],
)
def test_bad_control_input_is_refused_and_changes_nothing(
    app: Starlette,
    client: TestClient,
    broker: TestClient,
    database: Database,
    path: str,
    body: dict[str, object],
    status: int,
) -> None:
    mine = book_as(broker, database, 1)["code"]
    for field in ("codes", "appointments"):
        if field in body:
            body[field] = [mine if code == "MINE" else code for code in body[field]]  # type: ignore[attr-defined]
    with sign_in(app, "supervisor1") as supervisor:
        response = supervisor.post(f"/api/v1/centres/DAM-01/{path}", json=body)
        assert response.status_code == status, response.text
        assert supervisor.get("/api/v1/centres/DAM-01/blocks").json() == []
    with database.read() as session:
        assert session.exec(select(Appointment.status)).all() == ["booked"]


def test_flags_for_a_range_backwards_or_over_a_year_are_refused(app: Starlette, client: TestClient) -> None:
    with sign_in(app, "supervisor1") as supervisor:
        backwards = supervisor.get("/api/v1/centres/DAM-01/bookings/flags?from=2026-11-29&to=2026-11-01")
        long = supervisor.get("/api/v1/centres/DAM-01/bookings/flags?from=2025-01-01&to=2026-11-29")
    assert backwards.status_code == long.status_code == 422


def test_a_block_on_an_appointment_without_that_identity_is_refused(
    app: Starlette, client: TestClient, database: Database
) -> None:
    code = otp(client, database, phone="+963944300001")
    made = client.post(
        "/api/v1/appointments", json=booking(code, phone="0944300001")
    ).json()  # no /book visit
    with sign_in(app, "supervisor1") as supervisor:
        refused = supervisor.post(
            "/api/v1/centres/DAM-01/blocks",
            json={"appointments": [made["code"]], "identities": ["device"], "reason": "broker"},
        )
    assert refused.status_code == 422 and "identities" in refused.json()["error"]["message"]


def test_browser_and_address_hashes_and_old_blocks_go_with_the_retention_period(
    app: Starlette, client: TestClient, broker: TestClient, database: Database, clock: VirtualClock
) -> None:
    first = book_as(broker, database, 1)
    with sign_in(app, "supervisor1") as supervisor:
        supervisor.post(
            "/api/v1/centres/DAM-01/blocks",
            json={"appointments": [first["code"]], "identities": ["address"], "days": 1, "reason": "broker"},
        )
    with database.read() as session:
        [kept] = session.exec(select(Appointment)).all()
        assert kept.device_hash and kept.address_hash
    clock.advance(92 * 24 * 3600)
    with database.write() as session:
        erase_personal_data(session, now=clock(), retention=timedelta(days=90))
    with database.read() as session:
        [erased] = session.exec(select(Appointment)).all()
        assert session.exec(select(BookingBlock)).all() == []
    assert erased.device_hash is None and erased.address_hash is None and erased.status == "booked"

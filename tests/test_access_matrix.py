"""Every operation x every kind of caller: 2xx only where allowed, a refusal everywhere else.

The table below must name every operation the application declares; a new endpoint fails
`test_every_operation_has_a_row` until its access rule is written here. Access logic does not depend
on the database, so the matrix runs on SQLite only.
"""

import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from booking.appointments import BookingRules
from booking.draw_applications import ApplicationCaps
from booking.draw_applications import apply as apply_to_draw
from booking.draw_results import run_draw
from booking.draws import DrawSpec, find_draw, open_draw
from booking.identities import Identities
from booking.models import Appointment, BookingBlock, BookingSlot, DrawApplication
from config.db import Database
from config.settings import Settings
from display.hall_messages import show_message
from organisation.models import Centre, Device, Service
from queueing.models import Ticket
from server.openapi import operations
from sms_gateway.models import SmsMessage
from sms_gateway.outbox import enqueue, report_signature
from tests.conftest import KIOSK, VirtualClock, sharing, sign_in, take_ticket
from tests.test_kiosk import book

PUBLIC = {
    "anonymous",
    "kiosk",
    "display",
    "agent",
    "agent_elsewhere",
    "supervisor",
    "supervisor_elsewhere",
    "admin",
}
STAFF = {"agent", "agent_elsewhere", "supervisor", "supervisor_elsewhere", "admin"}
CENTRE_STAFF = {"agent", "supervisor", "admin"}
MANAGERS = {"supervisor", "admin"}
SERVICE_CHANGE = {
    "name": {"ar": "إخراج قيد فردي", "en": "Civil-registry extract"},
    "description": {
        "ar": "صورة عن القيد الفردي من السجل المدني.",
        "en": "An individual extract of the civil register.",
    },
    "documents": [{"ar": "البطاقة الشخصية", "en": "National ID card"}],
    "fee": 2000,
    "mean_service_s": 180,
    "bookable": True,
    "walk_in": True,
    "icon": "document",
    "reason": "wording",
}
USERS = {
    "agent": "agent1",  # DAM-01
    "agent_elsewhere": "agent3",  # DAM-02
    "supervisor": "supervisor1",  # DAM-01, DAM-02
    "supervisor_elsewhere": "supervisor2",  # RIF-01, RIF-02
    "admin": "admin",
}
TOKENS = {"kiosk": "demo-kiosk-DAM-01", "display": "demo-display-DAM-01"}
REFUSALS = {401, 403, 404}
PHONE = "+963944123456"
DRAW = "MATRIX-1"
NEXT_DAY_SLOT = "2026-11-30T10:00:00+03:00"  # Monday, a bookable slot at DAM-01


@dataclass
class World:
    """The app, an owner who prepares state, and the caller under test."""

    app: Starlette
    clock: VirtualClock
    database: Database
    printer: str
    public: TestClient
    ticket: dict[str, Any] = field(default_factory=dict)
    sms_id: int = 0
    otp: str = ""
    hall_message: int = 0  # the seq of the message the hall displays show
    application: DrawApplication | None = None
    signed_owner: TestClient | None = None

    @property
    def owner(self) -> TestClient:
        """agent1, who holds counter 1 of DAM-01: signed in when a case first needs them (most do not)."""
        if self.signed_owner is None:
            self.signed_owner = sign_in(self.app, "agent1", through=self.public)
        return self.signed_owner

    def draw_action(self, action: str) -> bool:
        """Brings the draw MATRIX-1 to a state; False for an action that is not a draw's."""
        now = self.clock()
        with self.database.write() as session:
            draw = find_draw(session, DRAW)
            if action == "draw":  # open since an hour ago, for PP at DAM-01 on the week after next
                spec = DrawSpec(
                    code=DRAW,
                    service=session.exec(select(Service).where(Service.code == "PP")).one(),
                    centres=[session.exec(select(Centre).where(Centre.code == "DAM-01")).one()],
                    opens_at=now - timedelta(hours=1),
                    closes_at=now + timedelta(days=2),
                    first_day=date(2026, 12, 6),
                    last_day=date(2026, 12, 8),
                    offer_hours=24,
                    reason="matrix",
                )
                open_draw(
                    session,
                    spec=spec,
                    rules=BookingRules(),
                    actor="staff:admin",
                    now=now - timedelta(hours=2),
                )
            elif action == "applied" and draw is not None:
                who = Identities(national_id="n" * 64, phone=PHONE, phone_hash="p" * 64)
                self.application = apply_to_draw(
                    session,
                    draw=draw,
                    who=who,
                    choices=["DAM-01@*"],
                    language="ar",
                    caps=ApplicationCaps(),
                    rules=BookingRules(),
                    secret=b"matrix",
                    now=now,
                )
            elif action == "drawn" and draw is not None:
                draw.closes_at = now - timedelta(minutes=1)
                session.add(draw)
                session.flush()
                run_draw(session, draw=draw, rules=BookingRules(), base_url="https://dor.test", now=now)
            elif action == "offered" and self.application is not None and draw is not None:
                slot = session.exec(
                    select(BookingSlot).where(
                        col(BookingSlot.draw_id) == draw.id,
                        col(BookingSlot.booked) < col(BookingSlot.capacity),
                    )
                ).first()
                assert slot is not None
                application = session.get(DrawApplication, self.application.id)
                assert application is not None
                won = session.get(Appointment, application.appointment_id)
                if won is not None:  # the only applicant won: as if they had cancelled, then waited
                    won.status = "cancelled"
                    session.add(won)
                application.status = "offered"
                application.offer_centre, application.offer_start = "DAM-01", slot.start
                application.offer_expires_at = now + timedelta(hours=1)
                session.add(application)
            else:
                return False
        return True

    def counter(self, *actions: str, caller: TestClient | None) -> None:
        """Brings counter 1 to a state by performing `actions` as `caller` (the owner if None)."""
        for action in actions:
            if self.draw_action(action):
                continue
            if action == "ticket":
                self.ticket = take_ticket(self.public)
            elif action == "behind":  # someone after that ticket, whom it can let go first
                take_ticket(self.public)
            elif action == "wait":
                self.clock.advance(61)
            elif action == "history":  # a ticket of yesterday's: demand to plan counters from
                number = take_ticket(self.public)["number"]
                with self.database.write() as session:
                    ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
                    ticket.day -= timedelta(days=1)
                    session.add(ticket)
            elif action == "appointment":
                book(self.database, self.clock, code="MATRIX", minutes_from_now=10)
            elif action == "identified":  # the appointment as booked online: its holder is known
                with self.database.write() as session:
                    appointment = session.exec(select(Appointment).where(Appointment.code == "MATRIX")).one()
                    appointment.national_id_hash = "a" * 64
                    session.add(appointment)
            elif action == "block":
                with self.database.write() as session:
                    session.add(
                        BookingBlock(
                            kind="device",
                            value_hash="d" * 64,
                            centre_id=1,
                            reason="matrix",
                            actor="staff:supervisor1",
                            created_at=self.clock(),
                            until=self.clock() + timedelta(days=1),
                        )
                    )
            elif action in ("booking_otp", "draw_otp"):
                purpose = action.removesuffix("_otp")
                assert (
                    self.public.post("/api/v1/otp", json={"phone": PHONE, "purpose": purpose}).status_code
                    == 202
                )
                with self.database.read() as session:
                    body = session.exec(select(SmsMessage.body).where(SmsMessage.template == "otp")).one()
                self.otp = re.findall(r"\d{6}", body)[0]
            elif action == "sms":
                with self.database.write() as session:
                    enqueue(
                        session,
                        dedupe_key="matrix",
                        phone="+963944123456",
                        template="called",
                        language="ar",
                        params={"number": "A-001", "counter": 1, "link": "https://dor.gov.sy/t/x"},
                        now=self.clock(),
                    )
                    message = session.exec(select(SmsMessage)).one()
                    self.sms_id = message.id or 0
            elif action == "announced":  # the owner calls the ticket to counter 1, whoever the caller
                for step in ("open", "next"):
                    assert self.owner.post(f"/api/v1/centres/DAM-01/counters/1/{step}").status_code == 200
            elif action == "served":  # the owner serves the ticket at counter 1, whoever the caller
                for step in ("open", "next", "start", "finish"):
                    assert self.owner.post(f"/api/v1/centres/DAM-01/counters/1/{step}").status_code == 200
            elif action == "held":  # counter 1 open by its agent, whoever the caller
                assert self.owner.post("/api/v1/centres/DAM-01/counters/1/open").status_code == 200
            elif action == "message":
                with self.database.write() as session:
                    centre = session.exec(select(Centre).where(Centre.code == "DAM-01")).one()
                    now = self.clock()
                    shown = show_message(
                        session,
                        centre=centre,
                        ar="أهلاً",
                        en="Welcome",
                        ends=now + timedelta(hours=1),
                        actor="staff:supervisor1",
                        now=now,
                    )
                self.hall_message = shown.seq
            elif action == "printer":
                with self.database.write() as session:
                    for device in session.exec(select(Device)).all():
                        device.printer_url = self.printer
                        session.add(device)
            else:
                body = {"reason": "break"} if action == "pause" else None
                response = (caller or self.owner).post(
                    f"/api/v1/centres/DAM-01/counters/1/{action}", json=body
                )
                assert response.status_code in (200, 204), (action, response.text)


@dataclass
class Row:
    """An operation's access rule: who may, what state it needs, and the request."""

    allowed: set[str]
    request: Callable[[World], tuple[str, str, Any]]
    prepare: tuple[str, ...] = ()  # counter actions performed first, by the caller if allowed


def counter_action(action: str, *prepare: str, body: Any = None) -> Row:
    return Row(CENTRE_STAFF, lambda w: ("POST", f"/api/v1/centres/DAM-01/counters/1/{action}", body), prepare)


CALLED = ("open", "ticket", "next")
MATRIX: dict[str, Row] = {
    "GET /healthz": Row(PUBLIC, lambda w: ("GET", "/healthz", None)),
    "GET /api/v1/centres": Row(PUBLIC, lambda w: ("GET", "/api/v1/centres", None)),
    "GET /api/v1/centres/{centre}/services": Row(
        PUBLIC, lambda w: ("GET", "/api/v1/centres/DAM-01/services", None)
    ),
    "GET /api/v1/recommendations": Row(
        PUBLIC, lambda w: ("GET", "/api/v1/recommendations?service=CR&lat=33.5&lon=36.3", None)
    ),
    "GET /api/v1/centres/{centre}/status": Row(
        PUBLIC, lambda w: ("GET", "/api/v1/centres/DAM-01/status", None)
    ),
    "POST /api/v1/centres/{centre}/tickets": Row(
        {"kiosk"}, lambda w: ("POST", "/api/v1/centres/DAM-01/tickets", {"service": "CR", "channel": "kiosk"})
    ),
    "GET /api/v1/tickets/{token}": Row(
        PUBLIC, lambda w: ("GET", f"/api/v1/tickets/{w.ticket['token']}", None), ("ticket",)
    ),
    "DELETE /api/v1/tickets/{token}": Row(
        PUBLIC, lambda w: ("DELETE", f"/api/v1/tickets/{w.ticket['token']}", None), ("ticket",)
    ),
    "POST /api/v1/tickets/{token}/late": Row(
        PUBLIC, lambda w: ("POST", f"/api/v1/tickets/{w.ticket['token']}/late", None), ("ticket", "behind")
    ),
    "POST /api/v1/tickets/{token}/feedback": Row(
        PUBLIC,
        lambda w: ("POST", f"/api/v1/tickets/{w.ticket['token']}/feedback", {"rating": 5}),
        ("ticket", "served"),
    ),
    "POST /api/v1/centres/{centre}/tickets/find": Row(
        PUBLIC,
        lambda w: (
            "POST",
            "/api/v1/centres/DAM-01/tickets/find",
            {"number": "A-001", "phone": "0944 123 456"},
        ),
    ),
    "GET /api/v1/tickets/{token}/qr.svg": Row(
        PUBLIC, lambda w: ("GET", f"/api/v1/tickets/{w.ticket['token']}/qr.svg", None), ("ticket",)
    ),
    "GET /api/v1/tickets/{token}/ticket.png": Row(
        PUBLIC, lambda w: ("GET", f"/api/v1/tickets/{w.ticket['token']}/ticket.png", None), ("ticket",)
    ),
    "POST /api/v1/tickets/{token}/print": Row(
        {"kiosk"},
        lambda w: ("POST", f"/api/v1/tickets/{w.ticket['token']}/print", None),
        ("ticket", "printer"),
    ),
    "POST /api/v1/centres/{centre}/check-in": Row(
        {"kiosk"}, lambda w: ("POST", "/api/v1/centres/DAM-01/check-in", {"code": "MATRIX"}), ("appointment",)
    ),
    "GET /api/v1/devices/me": Row({"kiosk", "display"}, lambda w: ("GET", "/api/v1/devices/me", None)),
    "GET /api/v1/centres/{centre}/announcements/{number}.wav": Row(
        PUBLIC,
        lambda w: ("GET", f"/api/v1/centres/DAM-01/announcements/{w.ticket['number']}.wav?counter=1", None),
        ("ticket", "announced"),
    ),
    "GET /api/v1/centres/{centre}/counters": Row(
        CENTRE_STAFF, lambda w: ("GET", "/api/v1/centres/DAM-01/counters", None)
    ),
    "POST /api/v1/centres/{centre}/counters/{counter}/open": counter_action("open"),
    "POST /api/v1/centres/{centre}/counters/{counter}/close": counter_action("close", "open"),
    "POST /api/v1/centres/{centre}/counters/{counter}/next": counter_action("next", "open", "ticket"),
    "POST /api/v1/centres/{centre}/counters/{counter}/recall": counter_action("recall", *CALLED, "wait"),
    "POST /api/v1/centres/{centre}/counters/{counter}/start": counter_action("start", *CALLED),
    "POST /api/v1/centres/{centre}/counters/{counter}/finish": counter_action("finish", *CALLED, "start"),
    "POST /api/v1/centres/{centre}/counters/{counter}/no-show": counter_action(
        "no-show", *CALLED, "wait", "recall"
    ),
    "POST /api/v1/centres/{centre}/counters/{counter}/transfer": counter_action(
        "transfer", *CALLED, body={"service": "FS"}
    ),
    "POST /api/v1/centres/{centre}/counters/{counter}/call": Row(
        CENTRE_STAFF,
        lambda w: (
            "POST",
            "/api/v1/centres/DAM-01/counters/1/call",
            {"number": w.ticket["number"], "reason": "at the door"},
        ),
        ("open", "ticket"),
    ),
    "POST /api/v1/centres/{centre}/counters/{counter}/pause": counter_action(
        "pause", "open", body={"reason": "break"}
    ),
    "POST /api/v1/centres/{centre}/counters/{counter}/resume": Row(
        CENTRE_STAFF,
        lambda w: ("POST", "/api/v1/centres/DAM-01/counters/1/resume", None),
        ("open", "pause"),
    ),
    "POST /api/v1/auth/login": Row(
        PUBLIC, lambda w: ("POST", "/api/v1/auth/login", {"username": "agent2", "password": "demo"})
    ),
    "POST /api/v1/auth/logout": Row(STAFF, lambda w: ("POST", "/api/v1/auth/logout", None)),
    "GET /api/v1/auth/me": Row(STAFF, lambda w: ("GET", "/api/v1/auth/me", None)),
    "GET /api/v1/centres/{centre}/balance": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/balance", None)
    ),
    "POST /api/v1/centres/{centre}/balance/moves": Row(
        MANAGERS,
        lambda w: (
            "POST",
            "/api/v1/centres/DAM-01/balance/moves",
            {"counter": 6, "service": "CR", "role": "boosted"},
        ),
    ),
    "POST /api/v1/centres/{centre}/balance/auto": Row(
        MANAGERS, lambda w: ("POST", "/api/v1/centres/DAM-01/balance/auto", {"auto": True})
    ),
    "GET /api/v1/centres/{centre}/counter-plan": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/counter-plan", None), prepare=("history",)
    ),
    "GET /api/v1/centres/{centre}/audit": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/audit", None)
    ),
    "GET /api/v1/centres/{centre}/audit.csv": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/audit.csv", None)
    ),
    "POST /api/v1/centres/{centre}/audit/verify": Row(
        MANAGERS, lambda w: ("POST", "/api/v1/centres/DAM-01/audit/verify", None)
    ),
    "GET /api/v1/centres/{centre}/closures": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/closures", None)
    ),
    "GET /api/v1/centres/{centre}/closures/{day}": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/closures/2026-11-30", None)
    ),
    "POST /api/v1/centres/{centre}/closures": Row(
        MANAGERS,
        lambda w: ("POST", "/api/v1/centres/DAM-01/closures", {"day": "2026-11-30", "reason": "power cut"}),
    ),
    "GET /api/v1/centres/{centre}/booking-settings": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/booking-settings", None)
    ),
    "PUT /api/v1/centres/{centre}/booking-settings": Row(
        MANAGERS,
        lambda w: (
            "PUT",
            "/api/v1/centres/DAM-01/booking-settings",
            {"walk_in_share": 0.6, "horizon_days": None, "target_load": None, "reason": "busy hall"},
        ),
    ),
    "GET /api/v1/centres/{centre}/booking-settings/preview": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/booking-settings/preview?walk_in_share=0.6", None)
    ),
    "DELETE /api/v1/centres/{centre}/closures/{day}": Row(
        MANAGERS,
        lambda w: ("DELETE", "/api/v1/centres/DAM-01/closures/2026-12-25", {"reason": "open after all"}),
    ),
    "GET /api/v1/centres/{centre}/hours": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/hours", None)
    ),
    "POST /api/v1/centres/{centre}/hours/preview": Row(
        MANAGERS,
        lambda w: ("POST", "/api/v1/centres/DAM-01/hours/preview", {"week": {"sun": [["08:00", "12:00"]]}}),
    ),
    "PUT /api/v1/centres/{centre}/hours": Row(
        MANAGERS,
        lambda w: (
            "PUT",
            "/api/v1/centres/DAM-01/hours",
            {"week": {"sun": [["08:00", "12:00"]]}, "reason": "winter hours"},
        ),
    ),
    "POST /api/v1/centres/{centre}/counters/{counter}/force-close": Row(
        MANAGERS,
        lambda w: ("POST", "/api/v1/centres/DAM-01/counters/1/force-close", {"reason": "left"}),
        ("held",),
    ),
    "POST /api/v1/centres/{centre}/counters/{counter}/move-agent": Row(
        MANAGERS,
        lambda w: ("POST", "/api/v1/centres/DAM-01/counters/1/move-agent", {"to": 3, "reason": "busy"}),
        ("held",),
    ),
    "PUT /api/v1/centres/{centre}/hall-message": Row(
        MANAGERS, lambda w: ("PUT", "/api/v1/centres/DAM-01/hall-message", {"ar": "أهلاً", "en": "Welcome"})
    ),
    "DELETE /api/v1/centres/{centre}/hall-message": Row(
        MANAGERS, lambda w: ("DELETE", "/api/v1/centres/DAM-01/hall-message", None), ("message",)
    ),
    "GET /api/v1/centres/{centre}/hall-message/{seq}.wav": Row(
        PUBLIC,
        lambda w: ("GET", f"/api/v1/centres/DAM-01/hall-message/{w.hall_message}.wav", None),
        ("message",),
    ),
    "POST /api/v1/centres/{centre}/services/{service}/intake": Row(
        MANAGERS, lambda w: ("POST", "/api/v1/centres/DAM-01/services/CR/intake", {"open": False})
    ),
    "GET /api/v1/centres/{centre}/devices": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/devices", None)
    ),
    "POST /api/v1/centres/{centre}/devices": Row(
        MANAGERS, lambda w: ("POST", "/api/v1/centres/DAM-01/devices", {"kind": "kiosk", "name": "Kiosk 2"})
    ),
    "DELETE /api/v1/centres/{centre}/devices/{device}": Row(
        MANAGERS, lambda w: ("DELETE", "/api/v1/centres/DAM-01/devices/1", None)
    ),
    "POST /api/v1/otp": Row(
        PUBLIC, lambda w: ("POST", "/api/v1/otp", {"phone": "0944 123 456", "purpose": "remote_ticket"})
    ),
    "GET /api/v1/sms/reports/{message}": Row(
        PUBLIC,
        lambda w: ("GET", f"/api/v1/sms/reports/{w.sms_id}?kannel=1&sig={signature(w.sms_id)}", None),
        ("sms",),
    ),
    "POST /api/v1/sms/reports/{message}": Row(
        PUBLIC,
        lambda w: (
            "POST",
            f"/api/v1/sms/reports/{w.sms_id}?sig={signature(w.sms_id)}",
            {"status": "delivered"},
        ),
        ("sms",),
    ),
    "GET /api/v1/centres/{centre}/services/{service}/slots": Row(
        PUBLIC, lambda w: ("GET", "/api/v1/centres/DAM-01/services/CR/slots?from=2026-11-30&days=2", None)
    ),
    "GET /api/v1/services/{service}/availability": Row(
        PUBLIC, lambda w: ("GET", "/api/v1/services/VT/availability", None)
    ),
    "POST /api/v1/appointments": Row(
        PUBLIC,
        lambda w: (
            "POST",
            "/api/v1/appointments",
            {
                "centre": "DAM-01",
                "service": "CR",
                "start": NEXT_DAY_SLOT,
                "phone": PHONE,
                "otp": w.otp,
                "national_id": "01234567890",
            },
        ),
        ("booking_otp",),
    ),
    "GET /api/v1/appointments/{token}": Row(
        PUBLIC, lambda w: ("GET", "/api/v1/appointments/tok-MATRIX", None), ("appointment",)
    ),
    "DELETE /api/v1/appointments/{token}": Row(
        PUBLIC, lambda w: ("DELETE", "/api/v1/appointments/tok-MATRIX", None), ("appointment",)
    ),
    "POST /api/v1/appointments/{token}/reschedule": Row(
        PUBLIC,
        lambda w: ("POST", "/api/v1/appointments/tok-MATRIX/reschedule", {"start": NEXT_DAY_SLOT}),
        ("appointment",),
    ),
    "GET /api/v1/appointments/{token}/calendar.ics": Row(
        PUBLIC, lambda w: ("GET", "/api/v1/appointments/tok-MATRIX/calendar.ics", None), ("appointment",)
    ),
    "GET /api/v1/centres/{centre}/sms/usage": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/sms/usage?from=2026-11-01&to=2026-11-30", None)
    ),
    "GET /api/v1/centres/{centre}/transparency": Row(
        PUBLIC, lambda w: ("GET", "/api/v1/centres/DAM-01/transparency", None)
    ),
    "PUT /api/v1/centres/{centre}/counters/{counter}/services": Row(
        MANAGERS,
        lambda w: ("PUT", "/api/v1/centres/DAM-01/counters/2/services", {"services": {"CR": 1.0, "FS": 1.0}}),
    ),
    "PUT /api/v1/centres/{centre}/no-show-policy": Row(
        MANAGERS,
        lambda w: ("PUT", "/api/v1/centres/DAM-01/no-show-policy", {"min_calls": 2, "min_wait_s": 60}),
    ),
    "POST /api/v1/centres/{centre}/tickets/{number}/move": Row(
        MANAGERS,
        lambda w: ("POST", f"/api/v1/centres/DAM-01/tickets/{w.ticket['number']}/move", {"service": "FS"}),
        ("ticket",),
    ),
    "GET /api/v1/national": Row({"admin"}, lambda w: ("GET", "/api/v1/national", None)),
    "GET /api/v1/centres/{centre}/wallboard": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/wallboard", None)
    ),
    "GET /api/v1/centres/{centre}/reports/services": Row(
        MANAGERS,
        lambda w: ("GET", "/api/v1/centres/DAM-01/reports/services?from=2026-11-29&to=2026-11-29", None),
    ),
    "GET /api/v1/centres/{centre}/reports/agents": Row(
        MANAGERS,
        lambda w: ("GET", "/api/v1/centres/DAM-01/reports/agents?from=2026-11-29&to=2026-11-29", None),
    ),
    "GET /api/v1/centres/{centre}/reports/feedback": Row(
        MANAGERS,
        lambda w: ("GET", "/api/v1/centres/DAM-01/reports/feedback?from=2026-11-29&to=2026-11-29", None),
    ),
    "GET /api/v1/centres/{centre}/reports/exceptions": Row(
        MANAGERS,
        lambda w: ("GET", "/api/v1/centres/DAM-01/reports/exceptions?from=2026-11-29&to=2026-11-29", None),
    ),
    "GET /api/v1/centres/{centre}/bookings/flags": Row(
        MANAGERS,
        lambda w: ("GET", "/api/v1/centres/DAM-01/bookings/flags?from=2026-11-29&to=2026-11-29", None),
    ),
    "POST /api/v1/centres/{centre}/appointments/void": Row(
        MANAGERS,
        lambda w: (
            "POST",
            "/api/v1/centres/DAM-01/appointments/void",
            {"codes": ["MATRIX"], "reason": "matrix"},
        ),
        ("appointment",),
    ),
    "POST /api/v1/centres/{centre}/blocks": Row(
        MANAGERS,
        lambda w: (
            "POST",
            "/api/v1/centres/DAM-01/blocks",
            {"appointments": ["MATRIX"], "identities": ["national_id"], "reason": "matrix"},
        ),
        ("appointment", "identified"),
    ),
    "GET /api/v1/centres/{centre}/blocks": Row(
        MANAGERS, lambda w: ("GET", "/api/v1/centres/DAM-01/blocks", None)
    ),
    "DELETE /api/v1/centres/{centre}/blocks/{block}": Row(
        MANAGERS, lambda w: ("DELETE", "/api/v1/centres/DAM-01/blocks/1", None), ("block",)
    ),
    "GET /api/v1/staff": Row(MANAGERS | {"supervisor_elsewhere"}, lambda w: ("GET", "/api/v1/staff", None)),
    "GET /api/v1/services": Row(PUBLIC, lambda w: ("GET", "/api/v1/services", None)),
    "PUT /api/v1/services/{service}": Row(
        {"admin"}, lambda w: ("PUT", "/api/v1/services/CR", SERVICE_CHANGE)
    ),
    "POST /api/v1/staff": Row(
        MANAGERS,
        lambda w: ("POST", "/api/v1/staff", {"username": "newagent", "role": "agent", "centres": ["DAM-01"]}),
    ),
    "POST /api/v1/staff/{username}/disable": Row(
        MANAGERS, lambda w: ("POST", "/api/v1/staff/agent2/disable", None)
    ),
    "POST /api/v1/staff/{username}/password": Row(
        MANAGERS, lambda w: ("POST", "/api/v1/staff/agent2/password", {})
    ),
    "GET /api/v1/draws": Row(PUBLIC, lambda w: ("GET", "/api/v1/draws", None), ("draw",)),
    "POST /api/v1/draws": Row(
        {"admin"},
        lambda w: (
            "POST",
            "/api/v1/draws",
            {
                "code": "MATRIX-2",
                "service": "PP",
                "centres": ["DAM-01"],
                "opens_at": "2026-11-30T09:00:00+03:00",
                "closes_at": "2026-12-01T09:00:00+03:00",
                "first_day": "2026-12-09",
                "last_day": "2026-12-10",
                "reason": "matrix",
            },
        ),
    ),
    "GET /api/v1/draws/{draw}": Row(PUBLIC, lambda w: ("GET", f"/api/v1/draws/{DRAW}", None), ("draw",)),
    "GET /api/v1/draws/{draw}/record": Row(
        PUBLIC, lambda w: ("GET", f"/api/v1/draws/{DRAW}/record", None), ("draw", "applied", "drawn")
    ),
    "GET /api/v1/draws/{draw}/flags": Row(
        {"admin"}, lambda w: ("GET", f"/api/v1/draws/{DRAW}/flags", None), ("draw", "applied")
    ),
    "POST /api/v1/draws/{draw}/applications/{pseudonym}/exclude": Row(
        {"admin"},
        lambda w: (
            "POST",
            f"/api/v1/draws/{DRAW}/applications/{w.application.pseudonym if w.application else ''}/exclude",
            {"reason": "matrix"},
        ),
        ("draw", "applied"),
    ),
    # A centre node's routes: every caller here is refused; tests/test_centre_node.py plays the node.
    "GET /api/v1/node/log": Row({"node"}, lambda w: ("GET", "/api/v1/node/log", None)),
    "GET /api/v1/node/appointments": Row({"node"}, lambda w: ("GET", "/api/v1/node/appointments", None)),
    "GET /api/v1/node/organisation": Row({"node"}, lambda w: ("GET", "/api/v1/node/organisation", None)),
    "POST /api/v1/node/log": Row({"node"}, lambda w: ("POST", "/api/v1/node/log", {"head": 0, "events": []})),
    "POST /api/v1/draws/{draw}/applications": Row(
        PUBLIC,
        lambda w: (
            "POST",
            f"/api/v1/draws/{DRAW}/applications",
            {"phone": PHONE, "otp": w.otp, "national_id": "01234567890", "choices": ["DAM-01@*"]},
        ),
        ("draw", "draw_otp"),
    ),
    "GET /api/v1/draw-applications/{token}": Row(
        PUBLIC,
        lambda w: ("GET", f"/api/v1/draw-applications/{w.application.token if w.application else ''}", None),
        ("draw", "applied"),
    ),
    "POST /api/v1/draw-applications/{token}/accept": Row(
        PUBLIC,
        lambda w: (
            "POST",
            f"/api/v1/draw-applications/{w.application.token if w.application else ''}/accept",
            None,
        ),
        ("draw", "applied", "drawn", "offered"),
    ),
    "POST /api/v1/draw-applications/{token}/decline": Row(
        PUBLIC,
        lambda w: (
            "POST",
            f"/api/v1/draw-applications/{w.application.token if w.application else ''}/decline",
            None,
        ),
        ("draw", "applied", "drawn", "offered"),
    ),
}


def signature(message_id: int) -> str:
    """The signature Dor puts in a message's delivery-report URL (the test settings' demo secret)."""
    return report_signature(Settings(dev=True).secret, message_id)


def test_every_operation_has_a_row(app: Starlette) -> None:
    declared = {f"{op.method} {op.path}" for op in operations(app.routes)}
    assert declared - set(MATRIX) == set(), "write the access rule of each new operation here"
    assert set(MATRIX) - declared == set()


@pytest.fixture(scope="module")
def sink() -> Iterator[str]:
    """A printer's socket that accepts any number of jobs and discards them; one for the module, as its
    thread takes up to half a second to notice it should stop."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    running = True

    def serve() -> None:
        while running:
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            with connection:
                while connection.recv(65536):
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    running = False
    thread.join(timeout=5)
    server.close()


@pytest.fixture
def world(
    client: TestClient, app: Starlette, clock: VirtualClock, database: Database, sink: str
) -> Iterator[World]:
    # The clients below send their requests through the lifespan `client` started: entering them
    # would start and stop it once more each.
    world = World(app=app, clock=clock, database=database, printer=sink, public=client)
    yield world
    if world.signed_owner is not None:
        world.signed_owner.close()


def caller(world: World, principal: str) -> TestClient:
    if principal in USERS:
        return sign_in(world.app, USERS[principal], through=world.public)
    client = sharing(TestClient(world.app, raise_server_exceptions=False), world.public)
    if principal in TOKENS:
        client.headers["Authorization"] = f"Bearer {TOKENS[principal]}"
    return client


class AccessMatrix:
    """The matrix for the callers its subclasses name: `--dist loadscope` (Makefile) gives a test class
    to one worker, so that both workers share the matrix's 500-odd cases."""

    @pytest.mark.parametrize("backend", ["sqlite"])
    @pytest.mark.parametrize("operation", sorted(MATRIX))
    def test_access(self, operation: str, principal: str, world: World) -> None:
        row = MATRIX[operation]
        allowed = principal in row.allowed
        with closing(caller(world, principal)) as who:
            # Prepare the state in which the operation would succeed: as the caller when it may act,
            # otherwise as the agent who holds the counter.
            world.counter(*row.prepare, caller=who if allowed else None)
            method, url, body = row.request(world)
            response = who.request(method, url, json=body)
        answer = (operation, principal, response.status_code, response.text)
        if allowed:
            assert 200 <= response.status_code < 300, answer
        else:
            refused = response.status_code in REFUSALS or (
                response.status_code == 409 and response.json()["error"]["code"] == "counter_taken"
            )
            assert refused, answer


@pytest.mark.parametrize("principal", sorted(PUBLIC - STAFF))
class TestCallersWithoutAnAccount(AccessMatrix):
    pass


@pytest.mark.parametrize("principal", sorted(CENTRE_STAFF))
class TestStaffOfTheCentre(AccessMatrix):
    pass


@pytest.mark.parametrize("principal", sorted(STAFF - CENTRE_STAFF))
class TestStaffOfOtherCentres(AccessMatrix):
    pass


def test_a_display_token_cannot_issue_tickets(client: TestClient) -> None:
    response = client.post(
        "/api/v1/centres/DAM-01/tickets",
        json={"service": "CR", "channel": "kiosk"},
        headers={"Authorization": "Bearer demo-display-DAM-01"},
    )
    assert response.status_code == 403
    assert (
        client.post(
            "/api/v1/centres/DAM-01/tickets", json={"service": "CR", "channel": "kiosk"}, headers=KIOSK
        ).status_code
        == 201
    )

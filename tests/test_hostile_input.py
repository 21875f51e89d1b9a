"""Hostile input gets a 4xx in the error shape, never a 500: deep or long JSON, texts no database
stores, non-ASCII digits, days and instants at the ends of the calendar, numbers past 64 bits, odd
headers. Each class once answered 500 somewhere (the module docstrings of the fixes say where); the
requests below hit public and staff endpoints alike, on both databases."""

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from config.db import Database
from config.web.endpoints import MAX_JSON_DEPTH
from tests.conftest import KIOSK, sign_in
from tests.test_booking import MONDAY_10, booking, otp

JSON = {"content-type": "application/json"}
REPORTS = ["sms/usage", "reports/exceptions", "reports/services", "reports/agents", "bookings/flags"]


@pytest.fixture(autouse=True)
def no_traceback_is_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A 500 logs its traceback; a refusal logs none."""
    yield
    logged = [r.getMessage() for r in caplog.get_records("call") if r.levelno >= logging.ERROR and r.exc_info]
    assert logged == []


@pytest.fixture
def supervisor(client: TestClient, app: Starlette) -> Iterator[TestClient]:
    with sign_in(app, "supervisor1") as signed_in:
        yield signed_in


@pytest.fixture
def admin(client: TestClient, app: Starlette) -> Iterator[TestClient]:
    with sign_in(app, "admin") as signed_in:
        yield signed_in


def refused(response: httpx2.Response, status: int, code: str, naming: str = "") -> None:
    """The answer is `status` in the error shape with this code, naming the field if given (in the
    message, and as `field` where it names an input rather than the whole body)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "field"}
    assert error["code"] == code, error
    if naming:
        assert f"'{naming}'" in error["message"], error
        assert error.get("field", naming) == naming, error


def raw(client: TestClient, method: str, url: str, body: str, **headers: str) -> httpx2.Response:
    """Sends `body` as it is: json= would refuse NaN or escape what the test means to send."""
    return client.request(method, url, content=body.encode(), headers={**JSON, **headers})


def nested(levels: int, inner: Any = 1) -> str:
    return "[" * levels + json.dumps(inner) + "]" * levels


# --- deep or long JSON -------------------------------------------------------------------------------


def test_json_nested_past_the_decoders_depth_is_422_not_a_recursion_error(
    client: TestClient, agent: TestClient, supervisor: TestClient
) -> None:
    deep = "[" * 30_000 + "]" * 30_000  # 60 KB, under the size limit: it raised RecursionError
    refused(raw(client, "POST", "/api/v1/otp", deep), 422, "invalid_json")
    refused(raw(client, "POST", "/api/v1/centres/DAM-01/tickets", deep, **KIOSK), 422, "invalid_json")
    refused(raw(agent, "POST", "/api/v1/centres/DAM-01/counters/1/transfer", deep), 422, "invalid_json")
    refused(raw(supervisor, "PUT", "/api/v1/centres/DAM-01/counters/1/services", deep), 422, "invalid_json")


def test_json_deeper_than_any_body_of_the_contract_is_refused_before_its_model(client: TestClient) -> None:
    at_the_limit = f'{{"phone": {nested(MAX_JSON_DEPTH - 1)}, "purpose": "booking"}}'
    refused(raw(client, "POST", "/api/v1/otp", at_the_limit), 422, "invalid_input", naming="phone")
    too_deep = f'{{"phone": {nested(MAX_JSON_DEPTH)}, "purpose": "booking"}}'
    response = raw(client, "POST", "/api/v1/otp", too_deep)
    refused(response, 422, "invalid_json")
    assert f"more than {MAX_JSON_DEPTH} levels" in response.json()["error"]["message"]


def test_long_texts_are_422_naming_the_field(
    client: TestClient, agent: TestClient, admin: TestClient
) -> None:
    def long(**fields: object) -> str:
        """40 KB of UTF-8 in each text: under the size limit, far over every field's."""
        texts = {name: "٩" * 20_000 if value is None else value for name, value in fields.items()}
        return json.dumps(texts, ensure_ascii=False)

    answer = raw(client, "POST", "/api/v1/otp", long(phone=None, purpose="booking"))
    refused(answer, 422, "invalid_input", "phone")
    answer = raw(client, "POST", "/api/v1/centres/DAM-01/check-in", long(code=None), **KIOSK)
    refused(answer, 422, "invalid_input", "code")
    answer = raw(client, "POST", "/api/v1/auth/login", long(username=None, password="x"))
    refused(answer, 422, "invalid_input", "username")
    answer = raw(agent, "POST", "/api/v1/centres/DAM-01/counters/1/pause", long(reason=None))
    refused(answer, 422, "invalid_input", "reason")
    answer = raw(admin, "POST", "/api/v1/centres/DAM-01/devices", long(kind="kiosk", name=None))
    refused(answer, 422, "invalid_input", "name")


def test_long_paths_and_headers_are_refused_in_the_error_shape(client: TestClient, agent: TestClient) -> None:
    long = "x" * 10_000
    refused(client.get(f"/api/v1/tickets/{long}"), 404, "not_found")
    refused(client.get(f"/api/v1/centres/{long}/status"), 404, "not_found")
    refused(client.get(f"/api/v1/centres/DAM-01/services/{long}/slots"), 404, "not_found")
    refused(agent.post(f"/api/v1/centres/DAM-01/counters/{'1' * 5_000}/open"), 404, "not_found")
    refused(
        client.post(
            "/api/v1/centres/DAM-01/tickets",
            json={"service": "CR", "channel": "kiosk"},
            headers={**KIOSK, "Idempotency-Key": long},
        ),
        422,
        "invalid_input",
        "Idempotency-Key",
    )


# --- texts no database stores -------------------------------------------------------------------------


def test_an_unpaired_surrogate_anywhere_in_a_body_is_422_naming_where(
    supervisor: TestClient, client: TestClient
) -> None:
    # Pydantic refuses one in a plain text field; in a key or a list it reached the driver and the
    # answer's renderer, which cannot encode it to UTF-8.
    refused(
        raw(supervisor, "PUT", "/api/v1/centres/DAM-01/counters/1/services", '{"services": {"\\ud800": 1}}'),
        422,
        "invalid_input",
        "services",
    )
    refused(
        raw(
            supervisor,
            "POST",
            "/api/v1/centres/DAM-01/appointments/void",
            '{"codes": ["\\udfff"], "reason": "abc"}',
        ),
        422,
        "invalid_input",
        "codes.0",
    )
    refused(
        raw(client, "POST", "/api/v1/otp", '{"phone": "\\ud83d", "purpose": "booking"}'),
        422,
        "invalid_input",
        "phone",
    )


def test_a_surrogate_pair_is_one_character_and_is_accepted_as_text(supervisor: TestClient) -> None:
    response = raw(
        supervisor,
        "POST",
        "/api/v1/centres/DAM-01/appointments/void",
        '{"codes": ["\\ud83d\\ude00"], "reason": "abc"}',
    )
    refused(response, 404, "not_found")  # an unknown appointment: the code got through as 😀
    assert "😀" in response.json()["error"]["message"]


def test_a_nul_character_is_422_naming_the_field_on_either_database(
    client: TestClient, agent: TestClient, backend: str
) -> None:
    # PostgreSQL refused it in the driver, SQLite stored it: now both refuse it at the door.
    refused(
        raw(
            client,
            "POST",
            "/api/v1/centres/DAM-01/tickets",
            '{"service": "C\\u0000R", "channel": "kiosk"}',
            **KIOSK,
        ),
        422,
        "invalid_input",
        "service",
    )
    refused(
        raw(agent, "POST", "/api/v1/centres/DAM-01/counters/1/pause", '{"reason": "tea\\u0000break"}'),
        422,
        "invalid_input",
        "reason",
    )
    refused(client.get("/api/v1/recommendations?service=C%00R"), 422, "invalid_input", "service")


def test_non_ascii_digits_and_characters_in_paths_are_404(
    client: TestClient, agent: TestClient, admin: TestClient
) -> None:
    refused(agent.post("/api/v1/centres/DAM-01/counters/١/open"), 404, "not_found")  # Arabic-Indic one
    refused(agent.post("/api/v1/centres/DAM-01/counters/¹/open"), 404, "not_found")  # a digit to str.isdigit
    refused(admin.delete("/api/v1/centres/DAM-01/devices/٣"), 404, "not_found")
    refused(client.get("/api/v1/centres/%F0%9F%98%80/status"), 404, "not_found")
    refused(client.get("/api/v1/tickets/%ED%A0%80"), 404, "not_found")  # a surrogate, UTF-8 encoded
    # What no database stores is named, as in a body: PostgreSQL refused it, SQLite looked for it.
    refused(client.get("/api/v1/tickets/%00"), 422, "invalid_input", "token")


# --- days and instants at the ends of the calendar ------------------------------------------------------


def test_days_out_of_range_are_422_naming_the_parameter(client: TestClient, supervisor: TestClient) -> None:
    # 0001-01-01 and 9999-12-31 overflowed a day, a week of history or a time-zone shift away.
    for day in ("0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01", "0000-01-01", "10000-01-01"):
        answer = client.get(f"/api/v1/centres/DAM-01/services/CR/slots?from={day}")
        refused(answer, 422, "invalid_input", "from")
        for report in REPORTS:
            answer = supervisor.get(f"/api/v1/centres/DAM-01/{report}?from={day}&to={day}")
            refused(answer, 422, "invalid_input", "from")


def test_the_first_and_last_days_accepted_are_answered(client: TestClient, supervisor: TestClient) -> None:
    assert client.get("/api/v1/centres/DAM-01/services/CR/slots?from=2999-12-31&days=31").status_code == 200
    assert client.get("/api/v1/centres/DAM-01/services/CR/slots?from=1900-01-01").status_code == 200
    for report in REPORTS:
        for day in ("1900-01-01", "2999-12-31"):
            answer = supervisor.get(f"/api/v1/centres/DAM-01/{report}?from={day}&to={day}")
            assert answer.status_code == 200, (report, answer.text)


OUT_OF_RANGE_INSTANTS = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z"]


def test_a_booking_at_the_end_of_time_is_422_naming_start(client: TestClient, database: Database) -> None:
    # With a good code, so that the start is looked at: it overflowed in converting to the centre's zone.
    code = otp(client, database)
    for start in OUT_OF_RANGE_INSTANTS:
        response = client.post("/api/v1/appointments", json=booking(code, start=start))
        refused(response, 422, "invalid_input", "start")


def test_a_move_to_the_end_of_time_is_422_naming_start(client: TestClient, database: Database) -> None:
    booked = client.post("/api/v1/appointments", json=booking(otp(client, database), start=MONDAY_10))
    assert booked.status_code == 201, booked.text
    for start in OUT_OF_RANGE_INSTANTS:
        response = client.post(
            f"/api/v1/appointments/{booked.json()['token']}/reschedule", json={"start": start}
        )
        refused(response, 422, "invalid_input", "start")


# --- numbers ------------------------------------------------------------------------------------------


def test_a_counter_past_what_the_database_holds_is_422(supervisor: TestClient) -> None:
    # PostgreSQL's integer is 32 bits, SQLite's 64: beyond, the driver raised before the query ran.
    for counter in (2**31, 2**63, 10**30):
        body = {"counter": counter, "service": "CR", "role": "boosted"}
        answer = supervisor.post("/api/v1/centres/DAM-01/balance/moves", json=body)
        refused(answer, 422, "invalid_input", "counter")


def test_numbers_json_has_not_are_422_invalid_json(client: TestClient, supervisor: TestClient) -> None:
    for number in ("NaN", "Infinity", "-Infinity", "9" * 5_000):  # Python's decoder takes all four
        answer = raw(client, "POST", "/api/v1/otp", f'{{"phone": {number}, "purpose": "booking"}}')
        refused(answer, 422, "invalid_json")
        services = f'{{"services": {{"CR": {number}}}}}'
        answer = raw(supervisor, "PUT", "/api/v1/centres/DAM-01/counters/1/services", services)
        refused(answer, 422, "invalid_json")


def test_odd_numbers_in_a_query_are_422_naming_the_parameter(client: TestClient) -> None:
    for value in ("nan", "inf", "-inf", "1e400", "9" * 400, "٣٣"):
        answer = client.get(f"/api/v1/recommendations?service=CR&lat={value}&lon=36")
        refused(answer, 422, "invalid_input", "lat")
        answer = client.get(f"/api/v1/centres/DAM-01/services/CR/slots?days={value}")
        refused(answer, 422, "invalid_input", "days")


# --- headers and cookies ------------------------------------------------------------------------------
# Header values travel as bytes (latin-1 to Starlette); httpx2 sends bytes as they are.


def test_a_csrf_token_with_non_ascii_bytes_is_403(agent: TestClient) -> None:
    # compare_digest raised TypeError on a str with non-ASCII characters.
    for token in (b"\xc3\xa9", b"\xff\xfe", "é".encode("latin-1")):
        answer = agent.post("/api/v1/centres/DAM-01/counters/1/open", headers={"X-CSRF-Token": token})  # type: ignore[dict-item]
        refused(answer, 403, "csrf_failed")


def test_odd_credentials_are_401(client: TestClient) -> None:
    for authorization in (b"Bearer \xff\xfe", b"Bearer " + b"x" * 10_000, b"\x00"):
        answer = client.post(
            "/api/v1/centres/DAM-01/tickets",
            json={"service": "CR", "channel": "kiosk"},
            headers={"Authorization": authorization},  # type: ignore[dict-item]
        )
        refused(answer, 401, "unauthorized")
    for cookie in (b"dor_session=\xff\xfe", b"dor_session=" + b"a" * 10_000, b"dor_session=%ED%A0%80"):
        refused(client.get("/api/v1/auth/me", headers={"Cookie": cookie}), 401, "unauthorized")  # type: ignore[dict-item]


def test_an_odd_accept_language_is_answered_in_one_of_the_languages(client: TestClient) -> None:
    for value in (
        b"\xff\xfe",
        b"en;q=nan",
        b"*;q=0",
        b";;,,",
        b"sr_Latn_RS@x",
        b"x" * 10_000,
        b"ar-\xd9\xa3",
    ):
        answer = client.get("/api/v1/centres/NOWHERE/status", headers={"Accept-Language": value})  # type: ignore[dict-item]
        refused(answer, 404, "not_found")
        assert answer.json()["error"]["message"] in ("Unknown centre: NOWHERE", "مركز غير معروف: NOWHERE")


def test_an_odd_idempotency_key_is_taken_or_refused_never_a_500(client: TestClient) -> None:
    # SQLite stores a NUL, PostgreSQL refuses it (422): a key is the client's own, either is right.
    for key in (b"a\x00b", b"\xff\xfe", "é".encode("latin-1")):
        answer = client.post(
            "/api/v1/centres/DAM-01/tickets",
            json={"service": "CR", "channel": "kiosk"},
            headers={**KIOSK, "Idempotency-Key": key},  # type: ignore[dict-item]
        )
        if answer.status_code != 201:
            refused(answer, 422, "invalid_input")


# --- the last line of defence ------------------------------------------------------------------------

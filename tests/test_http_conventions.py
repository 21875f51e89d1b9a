"""The contract's conventions for bad input: 4xx in the error shape naming the field, never 500."""

from collections.abc import Iterator

import pytest
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.testclient import TestClient

from config.schemas import Strict
from config.settings import Settings
from config.web.endpoints import operation
from server.app import create_app


class EchoQuery(BaseModel):
    days: int = Field(default=1, ge=1, le=30)


class EchoBody(Strict):
    name: str = Field(max_length=20)
    count: int = 1


class Echo(BaseModel):
    name: str
    count: int
    days: int


@operation(
    "POST", "/api/v1/echo", summary="echo", tag="test", responses={201: Echo}, query=EchoQuery, body=EchoBody
)
async def echo(request: Request, query: EchoQuery, body: EchoBody) -> Echo:
    return Echo(name=body.name, count=body.count, days=query.days)


@operation("GET", "/api/v1/boom", summary="boom", tag="test", responses={200: Echo})
async def boom(request: Request) -> Echo:
    raise RuntimeError("a bug")


@operation("GET", "/api/v1/locked", summary="locked", tag="test", responses={200: Echo})
async def locked(request: Request) -> Echo:
    raise OperationalError("UPDATE ticket …", {}, Exception("database is locked"))


@pytest.fixture
def http(empty_database) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(Settings(dev=True), database=empty_database)
    app.router.routes[:0] = [echo, boom, locked]
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_valid_body_and_query_reach_the_handler(http: TestClient) -> None:
    response = http.post("/api/v1/echo?days=3", json={"name": "رنا", "count": 2})
    assert response.status_code == 201
    assert response.json() == {"name": "رنا", "count": 2, "days": 3}


def test_bad_query_parameter_is_422_naming_it(http: TestClient) -> None:
    response = http.post("/api/v1/echo?days=99", json={"name": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert "'days'" in response.json()["error"]["message"]


def test_wrong_type_in_body_is_422_naming_the_field(http: TestClient) -> None:
    response = http.post("/api/v1/echo", json={"name": "x", "count": "many"})
    assert response.status_code == 422
    assert "'count'" in response.json()["error"]["message"]


def test_unknown_field_in_body_is_422(http: TestClient) -> None:
    response = http.post("/api/v1/echo", json={"name": "x", "colour": "red"})
    assert response.status_code == 422
    assert "'colour'" in response.json()["error"]["message"]


def test_what_is_wrong_is_said_in_the_requested_language_with_the_field_named(http: TestClient) -> None:
    arabic = http.post("/api/v1/echo?days=99", json={"name": "x"}).json()["error"]  # Arabic by default
    assert arabic == {
        "code": "invalid_input",
        "message": "المعامل 'days': يجب ألا يزيد على 30",
        "field": "days",
    }
    english = http.post("/api/v1/echo", json={"count": 1}, headers={"Accept-Language": "en"}).json()["error"]
    assert english == {"code": "invalid_input", "message": "field 'name': required", "field": "name"}
    too_long = http.post("/api/v1/echo?lang=en", json={"name": "x" * 21}).json()["error"]
    assert too_long["message"] == "field 'name': must have at most 20 characters"


def test_body_that_is_not_json_is_422(http: TestClient) -> None:
    response = http.post("/api/v1/echo", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_json"


def test_body_of_the_wrong_shape_is_422(http: TestClient) -> None:
    response = http.post("/api/v1/echo", json=[1, 2, 3])
    assert response.status_code == 422


def test_body_of_another_media_type_is_415(http: TestClient) -> None:
    response = http.post(
        "/api/v1/echo", content=b"name=x", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 415


def test_body_over_64_kib_is_413(http: TestClient) -> None:
    response = http.post("/api/v1/echo", json={"name": "x" * 70_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_streamed_body_over_the_limit_is_413_without_content_length(http: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = http.post("/api/v1/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_a_bug_is_500_in_the_error_shape_without_details(http: TestClient) -> None:
    response = http.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "internal error; it has been logged"}
    }


def test_path_numbers_are_ascii_digits_only() -> None:
    from config.web.endpoints import path_number

    assert path_number("12") == 12
    assert path_number("¹") is None  # str.isdigit() says yes; int() would fail
    assert path_number("٣") is None
    assert path_number("0") is None
    assert path_number("-1") is None
    assert path_number("9" * 30) is None


def test_a_busy_database_is_503_try_again_not_500(http: TestClient) -> None:
    response = http.get("/api/v1/locked")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "busy"
    assert response.headers["Retry-After"] == "1"

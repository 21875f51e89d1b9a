"""Sign-in sends the browser only to a path of Dor's own origin, whatever `next` says."""

import html
import re

import pytest
from starlette.testclient import TestClient

from organisation.web.pages import safe_next

DEFAULT = "/counter"


SAFE = ["/counter", "/admin", "/supervisor/reports", "/supervisor?centre=DAM-01#top", "/%5Chost", "/a//b"]
# Each as the server receives it, once the query string is decoded.
UNSAFE = [
    "",
    "/",  # no page to sign in for
    "//evil.example",
    "///evil.example",
    "/\\evil.example",  # /%5Cevil.example decoded: Chromium goes to evil.example
    "\\\\evil.example",
    "\\/evil.example",
    "/x\\y",
    "/\t/evil.example",  # browsers drop the tab: //evil.example
    "/\n/evil.example",
    "/\r\n",  # /%0d%0a decoded
    "/x\x00",
    "/x\u202e",  # a bidi override: formatting, not a path
    " /counter",
    "/counter ",
    "https://evil.example",
    "HTTPS://evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "%2F%2Fevil.example",
    "%2f%2Fevil.example",
    "%5C%5Cevil.example",
    "evil.example",
]


@pytest.fixture
def backend() -> str:
    """Where sign-in leads does not depend on the database: these run on SQLite only."""
    return "sqlite"


@pytest.mark.parametrize("target", SAFE)
def test_a_path_of_this_site_is_kept(target: str) -> None:
    assert safe_next(target, default=DEFAULT) == target


@pytest.mark.parametrize("target", UNSAFE)
def test_anything_else_gives_the_default(target: str) -> None:
    assert safe_next(target, default=DEFAULT) == DEFAULT


def form_target(client: TestClient, query: str) -> str:
    response = client.get(f"/login?{query}")
    assert response.status_code == 200
    found = re.search(r'<form id="login"[^>]*\sdata-next="([^"]*)"', response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


@pytest.mark.parametrize(
    ("query", "target"),
    [
        ("next=/admin", "/admin"),
        ("next=/supervisor/reports", "/supervisor/reports"),
        ("next=%2Fadmin", "/admin"),
        ("", DEFAULT),
    ],
)
def test_the_sign_in_form_keeps_a_path_of_this_site(client: TestClient, query: str, target: str) -> None:
    assert form_target(client, query) == target


@pytest.mark.parametrize(
    "query",
    [
        "next=/%5Cevil.example",
        "next=/%5cevil.example",
        "next=%5C%5Cevil.example",
        "next=//evil.example",
        "next=%2F%2Fevil.example",
        "next=%252F%252Fevil.example",
        "next=/%09/evil.example",
        "next=/%0d%0a",
        "next=%20/admin",
        "next=https://evil.example",
        "next=https%3A%2F%2Fevil.example",
        "next=javascript:alert(1)",
        "next=JaVaScRiPt%3Aalert(1)",
        "next=",
    ],
)
def test_the_sign_in_form_never_carries_another_origin(client: TestClient, query: str) -> None:
    assert form_target(client, query) == DEFAULT


def test_a_page_that_needs_sign_in_sends_its_own_path(client: TestClient) -> None:
    response = client.get("/admin", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/admin")

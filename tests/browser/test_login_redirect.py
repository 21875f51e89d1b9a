"""After signing in, a real Chromium stays on Dor's origin whatever the sign-in link's `next` said."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer


def sign_in(page: Page) -> None:
    page.fill("#username", "agent1")
    page.fill("#password", "demo")
    page.click("button[type=submit]")


@pytest.mark.parametrize(
    "next_",
    [
        "/%5Cevil.example",  # Chromium reads /\evil.example as //evil.example
        "/%09/evil.example",  # and drops the tab
        "//evil.example",
        "https://evil.example/",
    ],
)
def test_sign_in_never_leaves_for_another_origin(live_server: LiveServer, page: Page, next_: str) -> None:
    page.goto(f"{live_server.url}/login?next={next_}")
    sign_in(page)
    expect(page).to_have_url(f"{live_server.url}/counter")


def test_sign_in_goes_on_to_the_page_asked_for(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/login?next=/admin")
    sign_in(page)
    expect(page).to_have_url(f"{live_server.url}/admin")

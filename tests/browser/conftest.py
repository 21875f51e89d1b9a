"""Browser tests: the machine's Chromium driven by Playwright against Dor served in-process."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.applications import Starlette

from config.db import Database
from config.settings import Settings
from server.app import create_app
from tests.conftest import VirtualClock

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A hall display is a kiosk-mode browser that may play sound without a touch.
    "--autoplay-policy=no-user-gesture-required",
]


# Screenshots for the README are written only when asked (DOR_SCREENSHOTS=docs/screenshots), so a
# test run leaves the work tree as it found it.
SCREENSHOTS = Path(os.environ["DOR_SCREENSHOTS"]) if os.environ.get("DOR_SCREENSHOTS") else None


class LiveServer:
    """Dor served by uvicorn in a thread, on a virtual clock; it can be restarted on the same port."""

    def __init__(self, app: Starlette, clock: VirtualClock, database: Database, port: int) -> None:
        self.app, self.clock, self.database, self.port = app, clock, database, port
        self.url = f"http://127.0.0.1:{port}"
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        assert self.server is not None and self.thread is not None
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def backend() -> str:
    """Pages do not depend on the database: browser tests run on SQLite."""
    return "sqlite"


@pytest.fixture
def live_settings() -> dict[str, object]:
    """Settings a test module changes for its live server."""
    return {}


@pytest.fixture
def live_server(
    database: Database, clock: VirtualClock, tmp_path: Path, live_settings: dict[str, object]
) -> Iterator[LiveServer]:
    port = _free_port()
    settings = Settings(
        database_url=database.url.render_as_string(hide_password=False),
        dev=True,
        port=port,
        data_dir=str(tmp_path),
        **live_settings,
    )
    server = LiveServer(create_app(settings, database=database, clock=clock), clock, database, port)
    server.start()
    yield server
    server.stop()


# Per module, not per session: Playwright's sync API keeps an event loop running in the main thread
# while it is open, and a later module in the same worker (asyncio.run, pytest-asyncio) cannot run.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def viewport() -> dict[str, int]:
    return {"width": 1366, "height": 900}


@pytest.fixture
def page(browser: Browser, viewport: dict[str, int], clock: VirtualClock) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, locale="ar-SY")
    page = context.new_page()
    # The browser tells the server's time, as a browser beside a real server would: the staff pages'
    # session watcher measures the server's expiry times against it (a session begun at the virtual
    # 09:00 had ended by the real 21:00 of the same day, and every day after).
    page.clock.set_fixed_time(clock.now)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"

"""What every route takes from the application rather than from the request."""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request


def now(request: Request) -> datetime:
    """The application's clock (injected: tests and the simulator run on a virtual one)."""
    moment: datetime = request.app.state.clock()
    return moment

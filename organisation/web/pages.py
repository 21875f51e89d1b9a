"""Staff pages: sign-in and administration. The pages are shells; everything they
do goes through the API, which checks every action."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlencode

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from config.web.context import now
from config.web.errors import ApiError
from config.web.pages import render
from config.web.threads import read
from organisation.accounts import SignedIn
from organisation.web.credentials import credentials, require_staff, session_policy


async def signed_in(request: Request) -> SignedIn | None:
    creds, at, policy = credentials(request), now(request), session_policy(request)

    def work(session: Session) -> SignedIn | None:
        try:
            return require_staff(session, creds, now=at, policy=policy)
        except ApiError:
            return None

    return await read(request, work)


def to_login(request: Request) -> Response:
    query = urlencode({"next": request.url.path}, safe="/")
    return RedirectResponse(f"/login?{query}", status_code=303)


def safe_next(target: str, *, default: str) -> str:
    """`target` if it is a path of this site, else `default`: where sign-in may send the browser."""
    # Browsers read "//host" and "/\host" as another site, and drop tabs and newlines anywhere in a
    # URL before parsing it ("/\t/host" is "//host"). So: one "/", then a character that starts a
    # path (which leaves no room for a scheme or a host), and no backslash, space or control or
    # formatting character anywhere.
    if len(target) < 2 or target[0] != "/" or target[1] == "/":
        return default
    if any(c == "\\" or c.isspace() or unicodedata.category(c).startswith("C") for c in target):
        return default
    return target


async def login_page(request: Request) -> Response:
    """The sign-in form."""
    target = safe_next(request.query_params.get("next", ""), default="/counter")
    return render(request, "login.html", {"next": target})


async def admin_page(request: Request) -> Response:
    """Devices and staff accounts, for supervisors and admins."""
    me = await signed_in(request)
    if me is None:
        return to_login(request)
    return render(request, "admin.html", {"me": me.staff})


routes = [
    Route("/login", login_page, methods=["GET"], name="login"),
    Route("/admin", admin_page, methods=["GET"], name="admin"),
]

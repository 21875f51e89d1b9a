"""The services, listed for everyone and changed by admins (organisation/services.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from config.schemas import Strict
from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import not_found
from config.web.pages import render
from config.web.threads import read, write
from organisation import catalogue
from organisation.models import SERVICE_ICONS, Role, Service
from organisation.schemas import ServiceOut
from organisation.services import change_service
from organisation.web.credentials import credentials, require_role, require_staff, session_policy
from organisation.web.pages import signed_in, to_login

Icon = Literal[SERVICE_ICONS]  # type: ignore[valid-type]


class Words(Strict):
    """A text in both languages, neither empty."""

    ar: str = Field(min_length=1, max_length=300)
    en: str = Field(min_length=1, max_length=300)


class ServiceIn(Strict):
    name: Words
    description: Words
    documents: list[Words] = Field(default=[], max_length=20, description="what to bring, in order")
    fee: int = Field(ge=0, le=10_000_000, description="Syrian pounds")
    mean_service_s: int = Field(ge=30, le=7200, description="the mean time at the counter, in seconds")
    bookable: bool
    walk_in: bool
    icon: Icon
    reason: str = Field(min_length=3, max_length=200, description="why: kept in the audit log")

    @model_validator(mode="after")
    def _reachable(self) -> ServiceIn:
        if not (self.bookable or self.walk_in):
            raise ValueError("a service is booked, taken at the kiosk, or both")
        return self


@operation(
    "GET",
    "/api/v1/services",
    summary="Every service, with its documents, fee and picture",
    tag="catalogue",
    responses={200: list[ServiceOut]},
)
async def list_services(request: Request) -> list[ServiceOut]:
    return await read(request, lambda s: [ServiceOut.of(x) for x in catalogue.list_services(s)])


@operation(
    "PUT",
    "/api/v1/services/{service}",
    summary="Change a service: names, description, documents, fee, mean time, booked or walk-in, picture",
    tag="administration",
    body=ServiceIn,
    responses={200: ServiceOut},
    errors=(401, 403, 404),
    security=("session",),
)
async def put_service(request: Request, body: ServiceIn) -> ServiceOut:
    """Admins only; every centre offering the service shows the change on its next request."""
    creds, at, rules = credentials(request), now(request), session_policy(request)
    code = request.path_params["service"]
    values = {
        "name_ar": body.name.ar.strip(),
        "name_en": body.name.en.strip(),
        "description_ar": body.description.ar.strip(),
        "description_en": body.description.en.strip(),
        "required_documents": [{"ar": d.ar.strip(), "en": d.en.strip()} for d in body.documents],
        "fee": body.fee,
        "mean_service_s": body.mean_service_s,
        "bookable": body.bookable,
        "walk_in": body.walk_in,
        "icon": body.icon,
    }

    def work(session: Session) -> Service | None:
        admin = require_staff(session, creds, now=at, policy=rules)
        require_role(admin, Role.ADMIN)
        return change_service(session, code=code, values=values, reason=body.reason, actor=admin.actor, at=at)

    service = await write(request, work)
    if service is None:
        raise not_found(request, "service", code)
    return ServiceOut.of(service)


async def services_page(request: Request) -> Response:
    """Admins change the services here."""
    me = await signed_in(request)
    if me is None:
        return to_login(request)
    if me.role != Role.ADMIN:
        return RedirectResponse("/admin", status_code=303)
    return render(request, "services.html", {"me": me.staff, "icons": SERVICE_ICONS})


routes = [list_services, put_service, Route("/admin/services", services_page, methods=["GET"])]

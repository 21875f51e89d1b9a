"""The public catalogue routes: centres and the services they offer."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request

from config.web.endpoints import operation
from config.web.errors import not_found
from config.web.threads import read
from organisation import catalogue
from organisation.schemas import CentreOut, ServiceOut


@operation(
    "GET", "/api/v1/centres", summary="List the centres", tag="catalogue", responses={200: list[CentreOut]}
)
async def list_centres(request: Request) -> list[CentreOut]:
    """Every centre, with its names and location."""
    return await read(request, lambda s: [CentreOut.of(c) for c in catalogue.list_centres(s)])


@operation(
    "GET",
    "/api/v1/centres/{centre}/services",
    summary="List the services a centre offers",
    tag="catalogue",
    responses={200: list[ServiceOut]},
)
async def list_services(request: Request) -> list[ServiceOut]:
    """The services of one centre, with the documents each requires."""
    code = request.path_params["centre"]

    def work(session: Session) -> list[ServiceOut] | None:
        centre = catalogue.find_centre(session, code=code)
        if centre is None or centre.id is None:
            return None
        return [ServiceOut.of(s) for s in catalogue.services_of(session, centre_id=centre.id)]

    services = await read(request, work)
    if services is None:
        raise not_found(request, "centre", code)
    return services


routes = [list_centres, list_services]

"""The public catalogue routes: centres and the services they offer."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request

from config.http import ApiError, not_found, operation, read
from queueing import catalogue
from queueing.recommendations import rank
from queueing.schemas import CentreOut, RecommendationOut, RecommendationsQuery, ServiceOut, Text
from queueing.service import centre_options
from queueing.web import now


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


@operation(
    "GET",
    "/api/v1/recommendations",
    summary="Centres offering a service, best first: travel time plus predicted wait",
    tag="catalogue",
    query=RecommendationsQuery,
    responses={200: list[RecommendationOut]},
    errors=(404,),
)
async def recommendations(request: Request, query: RecommendationsQuery) -> list[RecommendationOut]:
    """With `lat` and `lon`, the distance counts (at `DOR_TRAVEL_S_PER_KM`); without, the wait alone."""
    if (query.lat is None) != (query.lon is None):
        raise ApiError(422, "invalid_input", "query parameter 'lat': give both lat and lon, or neither")
    settings, at = request.app.state.settings, now(request)

    def work(session: Session) -> list[RecommendationOut]:
        service = catalogue.find_service(session, code=query.service)
        if service is None:
            raise not_found(request, "service", query.service)
        names = {c.code: Text(ar=c.name_ar, en=c.name_en) for c in catalogue.list_centres(session)}
        options = centre_options(
            session, service=service, at=(query.lat, query.lon), now=at, always_open=settings.always_open
        )
        return [
            RecommendationOut(
                centre=o.centre,
                name=names[o.centre],
                distance_km=o.distance_km,
                estimated_wait_s=o.estimated_wait_s,
                open=o.open,
            )
            for o in rank(options, travel_s_per_km=settings.travel_s_per_km)
        ]

    return await read(request, work, slow=True)


routes = [list_centres, list_services, recommendations]

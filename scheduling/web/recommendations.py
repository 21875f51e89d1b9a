"""The recommendations route: centres offering a service, best first."""

from __future__ import annotations

from sqlmodel import Session
from starlette.requests import Request

from config.web.context import now
from config.web.endpoints import operation
from config.web.errors import ApiError, not_found
from config.web.threads import read
from organisation import catalogue
from organisation.schemas import Text
from scheduling.recommendations import centre_options, rank
from scheduling.schemas import RecommendationOut, RecommendationsQuery


@operation(
    "GET",
    "/api/v1/recommendations",
    summary="Centres offering a service, best first: those serving it now (`open`), then by travel time plus"
    " predicted wait",
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
                taking_tickets=o.taking_tickets,
            )
            for o in rank(options, travel_s_per_km=settings.travel_s_per_km)
        ]

    return await read(request, work, slow=True)


routes = [recommendations]

"""Reading the organisation: which centres exist and which services each offers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from organisation.models import Centre, CentreService, Service
from organisation.snapshot import organisation


def list_centres(session: Session) -> Sequence[Centre]:
    """All centres, by code."""
    return session.exec(select(Centre).order_by(col(Centre.code))).all()


def find_centre(session: Session, *, code: str) -> Centre | None:
    """The centre with this code, or None."""
    return session.exec(select(Centre).where(Centre.code == code)).first()


def find_service(session: Session, *, code: str) -> Service | None:
    """The service with this code, or None."""
    return session.exec(select(Service).where(Service.code == code)).first()


def list_services(session: Session) -> Sequence[Service]:
    """Every service, by code."""
    return session.exec(select(Service).order_by(col(Service.code))).all()


def services_of(session: Session, *, centre_id: int) -> Sequence[Service]:
    """The services a centre offers, by code."""
    query = (
        select(Service)
        .join(CentreService, col(CentreService.service_id) == Service.id)
        .where(CentreService.centre_id == centre_id)
        .order_by(col(Service.code))
    )
    return session.exec(query).all()


def service_code(session: Session, service_id: int) -> str:
    """A service's code ("" if unknown), from the organisation in memory: loading a `Service` per
    event and per answer cost a counter action a tenth of its time."""
    service = organisation(session).services_by_id.get(service_id)
    return service.code if service is not None else ""

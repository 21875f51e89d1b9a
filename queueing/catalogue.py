"""Reading the organisation: which centres exist and which services each offers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from queueing.models import Centre, CentreService, Service

# In a session's `info`: every service's code by id, read once per transaction.
SERVICE_CODES = "dor_service_codes"


def list_centres(session: Session) -> Sequence[Centre]:
    """All centres, by code."""
    return session.exec(select(Centre).order_by(col(Centre.code))).all()


def find_centre(session: Session, *, code: str) -> Centre | None:
    """The centre with this code, or None."""
    return session.exec(select(Centre).where(Centre.code == code)).first()


def find_service(session: Session, *, code: str) -> Service | None:
    """The service with this code, or None."""
    return session.exec(select(Service).where(Service.code == code)).first()


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
    """A service's code ("" if unknown). The catalogue is a handful of rows, read once per
    transaction: loading a `Service` per event and per answer cost a counter action a tenth of its
    time, since the session forgets rows nothing else holds. A miss reads them again: the service
    may be newer than the codes, added in this transaction by a write that shares it."""
    codes: dict[int, str] | None = session.info.get(SERVICE_CODES)
    if codes is None or service_id not in codes:
        codes = {id_: code for id_, code in session.exec(select(Service.id, Service.code)).all() if id_}
        session.info[SERVICE_CODES] = codes
    return codes.get(service_id, "")

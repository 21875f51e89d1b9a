"""Changing what a service is: its names, description, required documents, fee, mean service time,
whether it is booked or taken at the kiosk, and its picture. Services are national (every centre
offering one shows the same), so the change is in the national audit log, with who and why and each
field before and after. Like any change to the organisation it bumps its version: every process
shows the new text on its next request (organisation/snapshot.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from eventlog.log import append_national_event
from organisation.models import Service

# What may change; the code and the ticket letter never do (numbers and reports refer to them).
CHANGEABLE = (
    "name_ar",
    "name_en",
    "description_ar",
    "description_en",
    "required_documents",
    "fee",
    "mean_service_s",
    "bookable",
    "walk_in",
    "icon",
)


def change_service(
    session: Session, *, code: str, values: dict[str, Any], reason: str, actor: str, at: datetime
) -> Service | None:
    """Sets `values` (keys of CHANGEABLE) on the service `code` and logs what changed; None for an
    unknown service. Nothing changed: nothing logged."""
    service = session.exec(select(Service).where(Service.code == code).with_for_update()).first()
    if service is None:
        return None
    changed = {
        name: {"from": getattr(service, name), "to": value}
        for name, value in values.items()
        if name in CHANGEABLE and getattr(service, name) != value
    }
    if not changed:
        return service
    for name, change in changed.items():
        setattr(service, name, change["to"])
    session.add(service)
    session.flush()
    append_national_event(
        session,
        type="service_changed",
        actor=actor,
        at=at,
        data={"service": code, "reason": reason, "changes": changed},
    )
    return service

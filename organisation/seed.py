"""Loading the organisation from readable TOML files (config/demo): idempotent upserts by code."""

from __future__ import annotations

import logging
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, col, delete, select

from config.secrets import hash_password, hash_token, verify_password
from config.sql import id_of
from organisation.models import (
    GOVERNORATES,
    SERVICE_ICONS,
    Centre,
    CentreService,
    Counter,
    CounterService,
    Device,
    DeviceKind,
    QueueRole,
    Role,
    Service,
    Staff,
    StaffCentre,
)
from organisation.week import Week

ModelT = TypeVar("ModelT", bound=BaseModel)
DEMO_DIR = Path(__file__).resolve().parent.parent / "config" / "demo"
log = logging.getLogger(__name__)


class SeedError(Exception):
    """A data file is malformed; the message names the file and the entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Bilingual(_Strict):
    ar: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ServiceSpec(_Strict):
    code: str = Field(pattern=r"^[A-Z]{2,8}$")
    prefix: str = Field(pattern=r"^[A-Z]$")
    name: Bilingual
    description: Bilingual
    fee: int = Field(ge=0)
    mean_service_s: int = Field(gt=0)
    bookable: bool = True
    walk_in: bool = True
    documents: list[Bilingual] = []
    icon: str = "document"

    @field_validator("icon")
    @classmethod
    def _shipped_icon(cls, icon: str) -> str:
        if icon not in SERVICE_ICONS:
            raise ValueError(f"unknown icon {icon!r}; use one of {', '.join(SERVICE_ICONS)}")
        return icon


class CounterSpec(_Strict):
    number: int = Field(gt=0)
    label: str
    services: dict[str, float] = Field(min_length=1)
    # Queues it may take when its own are empty; the balancer may boost them (docs/scheduling.md).
    backups: dict[str, float] = {}


class Location(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CentreSpec(_Strict):
    code: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")
    name: Bilingual
    governorate: str
    address: Bilingual | None = None
    location: Location
    timezone: str = "Asia/Damascus"
    services: list[str] = Field(min_length=1)
    holidays: list[str] = []
    hours: Week
    counters: list[CounterSpec] = Field(min_length=1)
    # Remote tickets are called only once checked in at the kiosk (docs/queueing.md).
    remote_check_in: bool = False

    @field_validator("governorate")
    @classmethod
    def _known_governorate(cls, governorate: str) -> str:
        if governorate not in GOVERNORATES:
            raise ValueError(f"unknown governorate {governorate!r}; use one of {', '.join(GOVERNORATES)}")
        return governorate


class StaffSpec(_Strict):
    username: str = Field(pattern=r"^[a-z][a-z0-9_.-]{1,63}$")
    name: str
    role: Role
    centres: list[str]


class StaffFile(_Strict):
    password: str
    staff: list[StaffSpec]


def _load(path: Path, key: str, model: type[ModelT]) -> list[ModelT]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SeedError(f"{path.name}: {exc}") from None
    specs = []
    for index, entry in enumerate(data.get(key, [])):
        try:
            specs.append(model.model_validate(entry))
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            raise SeedError(f"{path.name}: [[{key}]] #{index + 1} {where}: {error['msg']}") from None
    return specs


def seed_demo(session: Session, *, directory: Path = DEMO_DIR, now: datetime) -> None:
    """Creates or updates the demo organisation, staff and device tokens; safe to run again."""
    services = {
        s.code: _upsert_service(session, s)
        for s in _load(directory / "services.toml", "service", ServiceSpec)
    }
    centres = {}
    for spec in _load(directory / "centres.toml", "centre", CentreSpec):
        centres[spec.code] = _upsert_centre(session, spec, services)
    staff_path = directory / "staff.toml"
    try:
        staff_file = StaffFile.model_validate(tomllib.loads(staff_path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise SeedError(f"{staff_path.name}: {exc}") from None
    password = _DemoPassword(staff_file.password)
    for person in staff_file.staff:
        _upsert_staff(session, person, password, centres)
    for code, centre in centres.items():
        # A kiosk and a display each; no node: the demo is one Dor (docs/centre-node.md).
        for kind in (DeviceKind.KIOSK, DeviceKind.DISPLAY):
            _ensure_device(session, centre, kind, f"demo-{kind.value}-{code}", now)
    log.info(
        "demo data: %d centres, %d services, %d staff", len(centres), len(services), len(staff_file.staff)
    )


def _upsert_service(session: Session, spec: ServiceSpec) -> Service:
    service = session.exec(select(Service).where(Service.code == spec.code)).first() or Service(
        code=spec.code, prefix=spec.prefix, name_ar="", name_en=""
    )
    service.prefix = spec.prefix
    service.name_ar, service.name_en = spec.name.ar, spec.name.en
    service.description_ar, service.description_en = spec.description.ar, spec.description.en
    service.required_documents = [d.model_dump() for d in spec.documents]
    service.fee = spec.fee
    service.mean_service_s = spec.mean_service_s
    service.bookable = spec.bookable
    service.walk_in = spec.walk_in
    service.icon = spec.icon
    session.add(service)
    session.flush()
    return service


def _upsert_centre(session: Session, spec: CentreSpec, services: dict[str, Service]) -> Centre:
    unknown = [code for code in spec.services if code not in services]
    if unknown:
        raise SeedError(f"centres.toml: {spec.code} offers unknown services {unknown}")
    centre = session.exec(select(Centre).where(Centre.code == spec.code)).first() or Centre(
        code=spec.code, name_ar="", name_en="", governorate="", latitude=0, longitude=0
    )
    centre.name_ar, centre.name_en = spec.name.ar, spec.name.en
    centre.governorate = spec.governorate
    centre.address_ar, centre.address_en = (spec.address.ar, spec.address.en) if spec.address else ("", "")
    centre.latitude, centre.longitude = spec.location.lat, spec.location.lon
    centre.timezone = spec.timezone
    centre.opening_hours = spec.hours.opening_hours()
    centre.holidays = spec.holidays
    centre.remote_check_in = spec.remote_check_in
    session.add(centre)
    session.flush()
    session.exec(delete(CentreService).where(col(CentreService.centre_id) == id_of(centre)))
    for code in spec.services:
        session.add(CentreService(centre_id=id_of(centre), service_id=id_of(services[code])))
    for counter_spec in spec.counters:
        _upsert_counter(session, centre, counter_spec, services, set(spec.services))
    return centre


def _upsert_counter(
    session: Session, centre: Centre, spec: CounterSpec, services: dict[str, Service], offered: set[str]
) -> None:
    foreign = (set(spec.services) | set(spec.backups)) - offered
    if foreign:
        raise SeedError(
            f"centres.toml: {centre.code} counter {spec.number} serves {sorted(foreign)}, "
            "which the centre does not offer"
        )
    counter = session.exec(
        select(Counter).where(Counter.centre_id == centre.id, Counter.number == spec.number)
    ).first() or Counter(centre_id=id_of(centre), number=spec.number)
    counter.label = spec.label
    session.add(counter)
    session.flush()
    session.exec(delete(CounterService).where(col(CounterService.counter_id) == id_of(counter)))
    roles = [(spec.services, QueueRole.MAIN), (spec.backups, QueueRole.BACKUP)]
    for weights, role in roles:
        for code, weight in weights.items():
            service_id = id_of(services[code])
            session.add(
                CounterService(counter_id=id_of(counter), service_id=service_id, weight=weight, role=role)
            )


class _DemoPassword:
    """The demo accounts' one password, hashed once for all of them: a hash takes a third of a second
    (argon2id), so a stored hash already checked in this run is not checked again."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.hash: str | None = None
        self.checked: set[str] = set()

    def hashed(self) -> str:
        if self.hash is None:
            self.hash = hash_password(self.password)
            self.checked.add(self.hash)
        return self.hash

    def matches(self, stored: str) -> bool:
        if stored not in self.checked and verify_password(stored, self.password):
            self.checked.add(stored)
        return stored in self.checked


def _upsert_staff(
    session: Session, spec: StaffSpec, password: _DemoPassword, centres: dict[str, Centre]
) -> None:
    staff = session.exec(select(Staff).where(Staff.username == spec.username)).first()
    if staff is None:
        staff = Staff(username=spec.username, password_hash=password.hashed())
    elif not password.matches(staff.password_hash):
        staff.password_hash = password.hashed()
    staff.display_name = spec.name
    staff.role = spec.role.value
    staff.active = True
    session.add(staff)
    session.flush()
    session.exec(delete(StaffCentre).where(col(StaffCentre.staff_id) == id_of(staff)))
    for code in spec.centres:
        if code not in centres:
            raise SeedError(f"staff.toml: {spec.username} works at unknown centre {code}")
        session.add(StaffCentre(staff_id=id_of(staff), centre_id=id_of(centres[code])))


def _ensure_device(session: Session, centre: Centre, kind: DeviceKind, token: str, now: datetime) -> None:
    token_hash = hash_token(token)
    if session.exec(select(Device).where(Device.token_hash == token_hash)).first() is None:
        session.add(
            Device(
                centre_id=id_of(centre),
                kind=kind.value,
                name=f"demo {kind.value}",
                token_hash=token_hash,
                created_at=now.astimezone(UTC),
            )
        )

"""The public shapes of the organisation: centres and services, sign-in, staff and devices."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from config.schemas import Strict
from organisation.models import Centre, Service


class Text(BaseModel):
    """A text in both languages."""

    ar: str
    en: str


class Location(BaseModel):
    lat: float
    lon: float


class CentreOut(BaseModel):
    code: str
    name: Text
    governorate: str
    address: Text
    location: Location

    @classmethod
    def of(cls, centre: Centre) -> CentreOut:
        return cls(
            code=centre.code,
            name=Text(ar=centre.name_ar, en=centre.name_en),
            governorate=centre.governorate,
            address=Text(ar=centre.address_ar, en=centre.address_en),
            location=Location(lat=centre.latitude, lon=centre.longitude),
        )


class ServiceOut(BaseModel):
    code: str
    name: Text
    description: Text
    required_documents: list[Text]
    fee: int
    mean_service_s: int
    bookable: bool
    walk_in: bool
    icon: str = Field(description="a picture shipped with Dor: /static/icons/{icon}.svg")

    @classmethod
    def of(cls, service: Service) -> ServiceOut:
        return cls(
            code=service.code,
            name=Text(ar=service.name_ar, en=service.name_en),
            description=Text(ar=service.description_ar, en=service.description_en),
            required_documents=[Text.model_validate(doc) for doc in service.required_documents],
            fee=service.fee,
            mean_service_s=service.mean_service_s,
            bookable=service.bookable,
            walk_in=service.walk_in,
            icon=service.icon,
        )


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginOut(BaseModel):
    username: str
    role: str
    centres: list[str]
    csrf_token: str


class Done(BaseModel):
    status: str


class DeviceIn(Strict):
    kind: Literal["kiosk", "display", "node"]
    name: str = Field(min_length=1, max_length=80)


class DeviceOut(BaseModel):
    id: int
    kind: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


class NewDeviceOut(DeviceOut):
    token: str = Field(description="shown once: only its hash is stored")


class StaffIn(Strict):
    username: str = Field(pattern=r"^[a-z][a-z0-9_.-]{1,63}$")
    role: Literal["agent", "supervisor", "admin"]
    centres: list[str] = Field(default_factory=list, max_length=100)
    display_name: str = Field(default="", max_length=80)
    password: str | None = Field(default=None, min_length=10, max_length=256)


class StaffOut(BaseModel):
    username: str
    display_name: str
    role: str
    centres: list[str]
    active: bool


class NewPasswordIn(Strict):
    password: str | None = Field(default=None, min_length=10, max_length=256)


class CredentialOut(BaseModel):
    """A new account or password; `password` is present only when Dor generated it."""

    staff: StaffOut
    password: str | None


class MeOut(BaseModel):
    username: str
    display_name: str
    role: str
    centres: list[str]
    csrf_token: str
    idle_timeout_s: int
    expires_at: datetime = Field(description="when the session ends unless used before")
    session_ends_at: datetime = Field(description="when the session ends whatever happens")


class DeviceMe(BaseModel):
    """What a device learns about itself from its token."""

    id: int
    kind: str
    name: str
    centre: str
    has_printer: bool

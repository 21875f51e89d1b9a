"""The public shapes of the organisation, as shared/API.md defines them."""

from __future__ import annotations

from pydantic import BaseModel

from queueing.models import Centre, Service


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
    location: Location

    @classmethod
    def of(cls, centre: Centre) -> CentreOut:
        return cls(
            code=centre.code,
            name=Text(ar=centre.name_ar, en=centre.name_en),
            governorate=centre.governorate,
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
        )

"""Errors in the contract's shape (`{"error": {"code", "message"}}`), in the request's language."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from config.errors import Refused
from config.i18n import N_, gettext_for, negotiate


class ApiError(Exception):
    """An answer in the contract's error shape: `{"error": {"code", "message"}}`."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    error: ErrorDetail


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The contract's error shape."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def language(request: Request) -> str:
    """The language of human-readable texts: `?lang=`, then `Accept-Language`, then Arabic."""
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


# The objects a 404 can name, as texts the catalogues translate.
NOUNS = {
    "centre": N_("centre"),
    "service": N_("service"),
    "ticket": N_("ticket"),
    "counter": N_("counter"),
    "device": N_("device"),
    "staff": N_("staff member"),
    "appointment": N_("appointment"),
    "block": N_("block"),
}


def not_found(request: Request, what: str, value: str) -> ApiError:
    """404 naming the unknown object, in the request's language."""
    _ = gettext_for(language(request))
    return ApiError(
        404, "not_found", _("Unknown %(what)s: %(value)s") % {"what": _(NOUNS[what]), "value": value}
    )


def describe_validation_error(exc: ValidationError, kind: str) -> str:
    """One line naming the first bad field and what is wrong with it."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if not where:
        return f"request body: {message}" if kind == "field" else message
    return f"{kind} '{where}': {message}"


def refusal(error: Refused) -> ApiError:
    """The HTTP answer to a domain's refusal."""
    return ApiError(error.http_status, error.code, str(error), headers=error.headers())

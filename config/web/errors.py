"""Errors in the contract's shape (`{"error": {"code", "message"}}`), in the request's language."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from config.errors import Refused
from config.i18n import N_, gettext_for, negotiate

# An invalid input's message names what is wrong first: "field 'phone': ...", "query parameter 'to': ...".
_NAMED = re.compile(r"^(?:field|query parameter|path parameter) '([\w.]+)'")


class ApiError(Exception):
    """An answer in the contract's error shape: `{"error": {"code", "message"}}`. The message is
    English with named placeholders, as a refusal's (config/errors.py), and reaches the reader in
    their language."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        /,
        *,
        headers: Mapping[str, str] | None = None,
        **params: object,
    ) -> None:
        super().__init__(message % params if params else message)
        self.status = status
        self.code = code
        self.template = message
        self.params = params
        self.message = str(self)
        self.headers = dict(headers or {})
        named = _NAMED.match(message)
        self.field = named.group(1) if named else None


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = Field(
        default=None, description="the input an `invalid_input` is about, whatever the message's language"
    )


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    error: ErrorDetail


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    *,
    field: str | None = None,
) -> JSONResponse:
    """The contract's error shape."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


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
    return ApiError(error.http_status, error.code, error.template, headers=error.headers(), **error.params)


def localise(request: Request, error: ApiError) -> str:
    """The error's message in the request's language (English where the catalogue has no entry)."""
    if not error.template:
        return error.template
    text = gettext_for(language(request))(error.template)
    return text % error.params if error.params else text

"""Errors in the contract's shape (`{"error": {"code", "message"}}`), in the request's language."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from config.errors import Refused
from config.i18n import N_, Phrase, direction, gettext_for, negotiate

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
        named = _NAMED.match(self.message)
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
    "hall_message": N_("hall message"),
    "draw": N_("draw"),
    "application": N_("application"),
}


def not_found(request: Request, what: str, value: str) -> ApiError:
    """404 naming the unknown object, in the request's language."""
    _ = gettext_for(language(request))
    return ApiError(
        404, "not_found", _("Unknown %(what)s: %(value)s") % {"what": _(NOUNS[what]), "value": value}
    )


# What pydantic finds wrong, in words the catalogues translate (with pydantic's `ctx` as params); any
# other kind of problem is said as pydantic says it, in English.
PROBLEMS = {
    "missing": N_("required"),
    "string_type": N_("must be a text"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_type": N_("must be a number"),
    "float_parsing": N_("must be a number"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be an object"),
    "model_type": N_("must be an object"),
    "string_too_short": N_("must have at least %(min_length)s characters"),
    "string_too_long": N_("must have at most %(max_length)s characters"),
    "too_short": N_("must have at least %(min_length)s items"),
    "too_long": N_("must have at most %(max_length)s items"),
    "greater_than": N_("must be more than %(gt)s"),
    "greater_than_equal": N_("must be at least %(ge)s"),
    "less_than": N_("must be less than %(lt)s"),
    "less_than_equal": N_("must be at most %(le)s"),
    "string_pattern_mismatch": N_("must match %(pattern)s"),
    "literal_error": N_("must be one of %(expected)s"),
    "enum": N_("must be one of %(expected)s"),
    "extra_forbidden": N_("is not a field of this request"),
    "date_parsing": N_("must be a date like 2026-12-07"),
    "date_type": N_("must be a date like 2026-12-07"),
    "datetime_parsing": N_("must be a date and time like 2026-12-07T09:30:00+03:00"),
    "datetime_type": N_("must be a date and time like 2026-12-07T09:30:00+03:00"),
    "timezone_aware": N_("must give its time zone, like +03:00"),
}
WHERE = {
    "field": N_("field '%(where)s': %(problem)s"),
    "query parameter": N_("query parameter '%(where)s': %(problem)s"),
}


def invalid_input(exc: ValidationError, kind: str) -> ApiError:
    """A 422 naming the first bad field (`kind` is "field" or "query parameter") and what is wrong."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    known = PROBLEMS.get(error["type"])
    problem = (
        Phrase(known, error.get("ctx", {})) if known else Phrase(error["msg"].removeprefix("Value error, "))
    )
    if where:
        return ApiError(422, "invalid_input", WHERE[kind], where=where, problem=problem)
    # No location: the whole body is wrong (not an object); query parameters always have a name.
    return ApiError(422, "invalid_input", N_("request body: %(problem)s"), problem=problem)


def refusal(error: Refused) -> ApiError:
    """The HTTP answer to a domain's refusal."""
    return ApiError(error.http_status, error.code, error.template, headers=error.headers(), **error.params)


def localise(request: Request, error: ApiError) -> str:
    """The error's message in the request's language (English where the catalogue has no entry)."""
    reader = language(request)
    gettext, rtl = gettext_for(reader), direction(reader) == "rtl"
    params = {
        name: value.translated(gettext)
        if isinstance(value, Phrase)
        else _isolated(value)
        if rtl and isinstance(value, str)
        else value
        for name, value in error.params.items()
    }
    return Phrase(error.template, params).translated(gettext)


def _isolated(text: str) -> str:
    """A text mixing digits with letters or signs (A-012, DAM-01, 2027-02-27, 09:30), isolated left to
    right: among Arabic words it would otherwise read backwards (012-A)."""
    mixed = any(c.isdigit() for c in text) and not text.isdigit()
    return f"\u2066{text}\u2069" if mixed else text

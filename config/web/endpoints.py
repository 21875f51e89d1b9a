"""The conventions of the public HTTP contract (shared/API.md), shared by every package's routes.

An operation is declared once with `operation(...)`: its path, its query and body models and its
responses. The same declaration validates requests, shapes errors and feeds the OpenAPI document, so
the document cannot drift from the code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config.web.errors import ApiError, invalid_input


def path_number(raw: str, *, maximum: int = 10**9) -> int | None:
    """A positive number from a path segment, or None (ASCII digits only: '¹' is a digit to Python)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    number = int(raw)
    return number if 0 < number < maximum else None


Handler = Callable[..., Awaitable[Response | BaseModel | Sequence[BaseModel]]]


@dataclass(frozen=True)
class Operation:
    """One documented HTTP operation."""

    method: str
    path: str
    summary: str
    tag: str
    responses: Mapping[int, Any]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    security: tuple[str, ...] = ()
    headers: tuple[str, ...] = field(default=())

    @property
    def success_status(self) -> int:
        return min(self.responses)

    def all_errors(self) -> tuple[int, ...]:
        """Every error status this operation can answer, the implicit ones included."""
        implicit = {405}
        if "{" in self.path:
            implicit.add(404)
        if self.query is not None:
            implicit.add(422)
        if self.body is not None:
            implicit.update({413, 415, 422})
        return tuple(sorted(implicit | set(self.errors)))


def operation(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    responses: Mapping[int, Any],
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    errors: Sequence[int] = (),
    security: Sequence[str] = (),
    headers: Sequence[str] = (),
) -> Callable[[Handler], Route]:
    """Declares an operation and returns its route; the handler gets `query=` and `body=` parsed."""
    op = Operation(
        method=method.upper(),
        path=path,
        summary=summary,
        tag=tag,
        responses=responses,
        query=query,
        body=body,
        errors=tuple(errors),
        security=tuple(security),
        headers=tuple(headers),
    )
    adapters = {status: TypeAdapter(kind) for status, kind in responses.items() if kind is not None}

    def decorate(handler: Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            kwargs: dict[str, Any] = {}
            _screen(request.path_params, "path parameter")
            if op.query is not None:
                kwargs["query"] = _parse(op.query, dict(request.query_params), "query parameter")
            if op.body is not None:
                kwargs["body"] = _parse(op.body, await _json_body(request), "field")
            result = await handler(request, **kwargs)
            if isinstance(result, Response):
                return result
            status = op.success_status
            content = adapters[status].dump_python(result, mode="json")
            return JSONResponse(content, status_code=status)

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        route = Route(path, endpoint, methods=[op.method], name=handler.__name__)
        route.operation = op  # type: ignore[attr-defined]
        return route

    return decorate


async def _json_body(request: Request) -> Any:
    limit: int = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "body_too_large", f"request body larger than {limit} bytes")
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "request body must be application/json")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise ApiError(413, "body_too_large", f"request body larger than {limit} bytes")
    try:
        return json.loads(chunks or b"null", parse_constant=_not_json)
    except RecursionError:  # the decoder recurses once per level: a body of 60 KiB of "[" is enough
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(422, "invalid_json", "request body is not valid JSON") from None


def _not_json(constant: str) -> NoReturn:
    """NaN, Infinity and -Infinity, which Python's decoder takes and JSON does not have."""
    raise ValueError(f"{constant} is not JSON")


# Deeper than any body of the contract (three levels at most): refused before a model sees it.
MAX_JSON_DEPTH = 16
# What no text of the contract holds, and what the stack below refuses with an exception of its own:
# PostgreSQL stores no NUL, and an unpaired surrogate (JSON's "\ud800") has no UTF-8 encoding, so
# neither a driver nor the JSON renderer of an answer echoing it can write it out.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """False for a text that holds a NUL or an unpaired surrogate, which no database stores."""
    return _UNSTORABLE.search(text) is None


def _too_deep() -> ApiError:
    return ApiError(422, "invalid_json", f"request body nested more than {MAX_JSON_DEPTH} levels deep")


def _screen(data: Any, kind: str) -> None:
    """What no model should see: 422 for JSON nested too deep, or for a text (a key too) that holds
    a NUL or an unpaired surrogate, naming where. Iterative, so that depth cannot exhaust the stack."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while pending:
        value, where = pending.pop()
        if len(where) > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            for key, item in value.items():
                if not storable(key):
                    _bad_text(where, kind, "a key")
                pending.append((item, (*where, key)))
        elif isinstance(value, list):
            pending.extend((item, (*where, str(index))) for index, item in enumerate(value))
        elif isinstance(value, str) and not storable(value):
            _bad_text(where, kind, "text")


def _bad_text(where: tuple[str, ...], kind: str, what: str) -> NoReturn:
    problem = f"{what} must not contain NUL or unpaired surrogate characters"
    name = ".".join(where)
    if not name:
        raise ApiError(422, "invalid_input", f"request body: {problem}" if kind == "field" else problem)
    raise ApiError(422, "invalid_input", f"{kind} '{name}': {problem}")


def _parse(model: type[BaseModel], data: Any, kind: str) -> BaseModel:
    _screen(data, kind)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc, kind) from None

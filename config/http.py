"""The conventions of the public HTTP contract (shared/API.md), shared by every package's routes.

An operation is declared once with `operation(...)`: its path, its query and body models and its
responses. The same declaration validates requests, shapes errors and feeds the OpenAPI document, so
the document cannot drift from the code.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated, Any, NoReturn, Protocol, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from config.i18n import gettext_for, negotiate

T = TypeVar("T")


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


class Strict(BaseModel):
    """Base of request bodies: unknown fields are an error, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


# The days and instants a request may name. Python's dates end at years 1 and 9999, and a day near
# either end overflows once the code goes a day, a week or a time-zone offset beyond it (500s that
# were found: `9999-12-31T23:59:59-14:00`, `from=0001-01-01`). Nothing Dor keeps is near these bounds.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
Instant = Annotated[
    AwareDatetime,
    Field(ge=datetime(1900, 1, 1, tzinfo=UTC), le=datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)),
]


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The contract's error shape."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


class Transactions(Protocol):
    """What a view needs of the database (config.db.Database)."""

    write_threads: int
    writes_first: bool

    def read(self) -> Any: ...

    def write(self) -> Any: ...


# Reads and writes run on separate groups of worker threads (bulkheads): at a booking release,
# thousands of slot listings wait for the read thread while each citizen's booking finds a write
# thread free at once. Python runs one thread at a time, so more threads would not answer faster;
# they would only take the interpreter from the writes. Reports and other reads that may take long
# go on threads of their own, so that they never hold up the quick ones. The database says how many
# writers it takes (config/db.py).
QUICK_READ_THREADS = 1
SLOW_READ_THREADS = 2
# Writes go first where they share the interpreter with the reads (SQLite; config/db.py): while the
# writes fill their threads, a quick read waits for room before it runs. A write is mostly the last
# step of what someone came to do (a booking after its listing, a counter's call): at a booking
# release, listings running beside every booking stretch the one writer's queue (bench/booking_surge.py,
# docs/performance.md). A read waits at most this long, however busy the writes, so that a stream of
# writes cannot starve the reads.
MOST_A_READ_WAITS_FOR_WRITES_S = 1.0
_QUICK_READS: RunVar[CapacityLimiter] = RunVar("dor_quick_read_threads")
_SLOW_READS: RunVar[CapacityLimiter] = RunVar("dor_slow_read_threads")
_WRITES: RunVar[CapacityLimiter] = RunVar("dor_write_threads")
_WRITE_LOAD: RunVar[WriteLoad] = RunVar("dor_write_load")
# Work that takes the processor for a while and no database (checking a password: argon2, ~0.1 s)
# runs on a thread of its own, one at a time: a flood of sign-ins queues there, and never holds a
# transaction or a database thread that tickets need.
_HASHING: RunVar[CapacityLimiter] = RunVar("dor_hashing_threads")
HASHING_THREADS = 1


class WriteLoad:
    """The writes of one event loop in flight: waiting for a write thread or running."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.in_flight = 0
        self._changed = threading.Condition()

    @contextmanager
    def counted(self) -> Iterator[None]:
        """Counts one write in flight for as long as the block runs."""
        with self._changed:
            self.in_flight += 1
        try:
            yield
        finally:
            with self._changed:
                self.in_flight -= 1
                self._changed.notify_all()

    def wait_for_room(self, most_s: float) -> None:
        """Blocks the calling (read) thread while the writes fill their threads, `most_s` at most."""
        with self._changed:
            self._changed.wait_for(lambda: self.in_flight < self.threads, timeout=most_s)


def _write_load(database: Transactions) -> WriteLoad:
    try:
        return _WRITE_LOAD.get()
    except LookupError:
        _WRITE_LOAD.set(WriteLoad(database.write_threads))
        return _WRITE_LOAD.get()


def _threads(group: RunVar[CapacityLimiter], size: int) -> CapacityLimiter:
    """The event loop's group of worker threads (one per loop, as anyio keeps its default one)."""
    try:
        return group.get()
    except LookupError:
        group.set(CapacityLimiter(size))
        return group.get()


async def read(request: Request, work: Callable[[Session], T], *, slow: bool = False) -> T:
    """Runs `work` in a read transaction on a read thread; `slow` for a report or a view over many
    rows or centres (and the health check, which must answer while quick reads queue)."""
    database: Transactions = request.app.state.database
    writes = _write_load(database) if database.writes_first and not slow else None

    def run() -> T:
        if writes is not None:
            writes.wait_for_room(MOST_A_READ_WAITS_FOR_WRITES_S)
        with database.read() as session:
            return work(session)

    threads = _threads(_SLOW_READS, SLOW_READ_THREADS) if slow else _threads(_QUICK_READS, QUICK_READ_THREADS)
    return await to_thread.run_sync(run, limiter=threads)


async def write(request: Request, work: Callable[[Session], T]) -> T:
    """Runs `work` in a write transaction of its own on a write thread; it commits when `work`
    returns, and the database's commit hooks (the events' publication) run then."""
    database: Transactions = request.app.state.database

    def run() -> T:
        with database.write() as session:
            return work(session)

    with _write_load(database).counted() if database.writes_first else nullcontext():
        return await to_thread.run_sync(run, limiter=_threads(_WRITES, database.write_threads))


async def hashing(work: Callable[..., T], *args: Any) -> T:
    """Runs `work(*args)`, slow and outside any transaction, on the hashing thread."""
    return await to_thread.run_sync(work, *args, limiter=_threads(_HASHING, HASHING_THREADS))


def language(request: Request) -> str:
    """The language of human-readable texts: `?lang=`, then `Accept-Language`, then Arabic."""
    return negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))


def path_number(raw: str, *, maximum: int = 10**9) -> int | None:
    """A positive number from a path segment, or None (ASCII digits only: '¹' is a digit to Python)."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        return None
    number = int(raw)
    return number if 0 < number < maximum else None


def N_(message: str) -> str:
    """Marks a text for translation where it is defined; it is translated where it is shown."""
    return message


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
        raise ApiError(422, "invalid_input", describe_validation_error(exc, kind)) from None


def describe_validation_error(exc: ValidationError, kind: str) -> str:
    """One line naming the first bad field and what is wrong with it."""
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if not where:
        return f"request body: {message}" if kind == "field" else message
    return f"{kind} '{where}': {message}"

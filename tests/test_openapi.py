"""The served OpenAPI document describes every route, and every operation survives fuzzing."""

from dataclasses import dataclass, field

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError
from schemathesis import Case, CheckContext, GenerationMode, Response
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from config.web.errors import ErrorBody
from server.openapi import operations
from tests.conftest import sign_in

STAFF = {"agent": "agent1", "supervisor": "supervisor1", "admin": "admin"}
DEVICES = {"kiosk": "demo-kiosk-DAM-01", "display": "demo-display-DAM-01"}
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}  # per operation and role
AT_DAM_01 = {"centre": "DAM-01", "counter": "1", "service": "CR"}


def test_openapi_document_lists_every_declared_route(client: TestClient, app: Starlette) -> None:
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for op in operations(app.routes):
        assert op.method.lower() in document["paths"][op.path], op.path


def test_every_api_route_is_declared(app: Starlette) -> None:
    """A route under /api/ without an operation would be missing from the document."""
    undeclared = [
        route.path
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/api/") and not hasattr(route, "operation")
    ]
    assert undeclared == []


def test_contract_paths_of_the_catalogue_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/centres" in paths
    assert "/api/v1/centres/{centre}/services" in paths
    assert "/healthz" in paths


@dataclass(frozen=True)
class Caller:
    """What a role sends with every request, and the operations it is fuzzed on."""

    scheme: str | None  # the security scheme of its operations; None: every operation
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    excluded: tuple[str, ...] = ()
    # Paths at DAM-01 (where the role may act: an unknown centre is a 404 before anything else is
    # looked at), and fuzzed paths too.
    random_paths: bool = False

    def fuzzes(self, label: str, security: tuple[str, ...]) -> bool:
        return label not in self.excluded and (self.scheme is None or self.scheme in security)


def caller(app: Starlette, role: str) -> Caller:
    if role in DEVICES:
        return Caller("device", headers={"Authorization": f"Bearer {DEVICES[role]}"})
    if role in STAFF:
        signed_in = sign_in(app, STAFF[role])
        return Caller(
            "session",
            headers={"X-CSRF-Token": signed_in.headers["X-CSRF-Token"]},
            cookies={"dor_session": signed_in.cookies["dor_session"]},
            excluded=("POST /api/v1/auth/logout",),  # would end the session the rest of the run uses
        )
    return Caller(None, random_paths=True)


def error_shape(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every error answer, documented or not, is `{"error": {"code", "message"}}`."""
    if response.status_code >= 400:
        try:
            ErrorBody.model_validate_json(response.content)
        except ValidationError:
            shown = response.content[:200]
            raise AssertionError(f"{response.status_code} not in the error shape: {shown!r}") from None


# PostgreSQL only: it refuses more than SQLite does (a NUL in a text, an integer past 64 bits), so a
# value that slips past validation shows there as a 500; a run per backend would double the time.
@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("role", ["anonymous", *STAFF, *DEVICES])
def test_no_operation_answers_5xx_or_off_schema(app: Starlette, role: str) -> None:
    """Schemathesis fuzzes the served document in-process as each kind of caller: anonymous on every
    operation, staff on those of a session, devices on those of a device; at DAM-01."""
    who = caller(app, role)
    security = {f"{op.method} {op.path}": op.security for op in operations(app.routes)}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    fuzzed = []
    for operation in (result.ok() for result in schema.get_all_operations()):
        if not who.fuzzes(operation.label, security[operation.label]):
            continue
        paths = {name: value for name, value in AT_DAM_01.items() if "{" + name + "}" in operation.path}
        for mode, examples in EXAMPLES.items():
            # An operation that takes only texts in its path has no schema to break.
            if mode is GenerationMode.NEGATIVE and not (operation.query or operation.body):
                continue

            cases = operation.as_strategy(generation_mode=mode, path_parameters=paths)
            if who.random_paths:
                cases = cases | operation.as_strategy(generation_mode=mode)

            @given(case=cases)
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],  # a request is slow next to generating one
                database=None,
            )
            def check(case: Case) -> None:
                case.call_and_validate(
                    headers=who.headers,
                    cookies=who.cookies,
                    additional_checks=[error_shape],
                    # Schema-valid input may still break a business rule (an unknown service code):
                    # 4xx is right. Schema-breaking credentials are replaced by the role's own.
                    excluded_checks=[positive_data_acceptance, negative_data_rejection],
                )

            check()
        fuzzed.append(operation.label)
    assert fuzzed  # the document has operations to fuzz for this role
    if role != "anonymous":  # and the role's credentials lasted the whole run
        me = "/api/v1/auth/me" if role in STAFF else "/api/v1/devices/me"
        client = TestClient(app, headers=who.headers, cookies=who.cookies)
        assert client.get(me).status_code == 200

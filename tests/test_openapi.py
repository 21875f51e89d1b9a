"""The served OpenAPI document describes every route, and every operation survives fuzzing."""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.checks import positive_data_acceptance
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from server.openapi import operations


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


def test_no_operation_answers_5xx_or_off_schema(app: Starlette) -> None:
    """Schemathesis fuzzes every operation of the served document in-process."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    fuzzed = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Case) -> None:
            # Schema-valid input may still break a business rule (an unknown service code): 4xx is right.
            case.call_and_validate(excluded_checks=[positive_data_acceptance])

        check()
        fuzzed.append(operation.label)
    assert fuzzed  # the document has operations to fuzz

"""The OpenAPI document, generated from the operations the routes declare (config.web.endpoints.operation)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter
from starlette.routing import BaseRoute, Mount, Route

from config.web.endpoints import Operation
from config.web.errors import ErrorBody

REF_TEMPLATE = "#/components/schemas/{model}"
REASONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Unknown centre, service or token",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Request body is not JSON",
    422: "Invalid input; the message names the field",
    429: "Too many requests",
    503: "Unavailable",
}


def operations(routes: Iterable[BaseRoute]) -> list[Operation]:
    """Every declared operation among `routes`, mounts included."""
    found: list[Operation] = []
    for route in routes:
        if isinstance(route, Mount):
            found.extend(operations(route.routes))
        elif isinstance(route, Route) and hasattr(route, "operation"):
            found.append(route.operation)
    return found


def build_openapi(routes: Iterable[BaseRoute], *, title: str, version: str) -> dict[str, Any]:
    """The whole document."""
    schemas: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations(routes):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "device": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "dor_session"},
            },
        },
    }


def _schema(kind: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(kind).json_schema(ref_template=REF_TEMPLATE)
    schemas.update(schema.pop("$defs", {}))
    return schema


def _operation(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "operationId": _operation_id(op)}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_parameters(op.path)
    ]
    if op.query is not None:
        query = _schema(op.query, schemas)
        required = set(query.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in query.get("properties", {}).items()
        ]
    parameters += [
        {"name": name, "in": "header", "required": False, "schema": {"type": "string"}} for name in op.headers
    ]
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema(op.body, schemas)}},
        }
    responses: dict[str, Any] = {}
    for status, kind in op.responses.items():
        entry: dict[str, Any] = {"description": "Success" if status < 300 else REASONS.get(status, "")}
        if kind is not None:
            entry["content"] = {"application/json": {"schema": _schema(kind, schemas)}}
        responses[str(status)] = entry
    error = {"application/json": {"schema": _schema(ErrorBody, schemas)}}
    for status in op.all_errors():
        responses[str(status)] = {"description": REASONS.get(status, "Error"), "content": error}
    doc["responses"] = responses
    if op.security:
        doc["security"] = [{scheme: []} for scheme in op.security]
    return doc


def _path_parameters(path: str) -> list[str]:
    return re.findall(r"\{([^}:]+)", path)


def _operation_id(op: Operation) -> str:
    words = [re.sub(r"[{}]", "", w) for w in op.path.split("/") if w and w not in ("api", "v1")]
    return "_".join([op.method.lower(), *words]).replace("-", "_").replace(".", "_")

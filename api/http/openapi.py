"""The OpenAPI document, completed with what no single route declares itself.

Answers that any operation can give come from layers around the routes (rate limits, body limits,
trusted hosts, a lost database, an unexpected error), so they are declared here on every operation.
And `?fields=` may leave out any field but the slug, so the schemas it trims require only that.
"""

from typing import Any

from fastapi import FastAPI

from api.http.problems import PROBLEM_JSON
from api.http.shaping import ALWAYS_KEPT

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
EVERY_OPERATION = {
    400: "Bad request (for instance a Host header this server does not serve)",
    429: "Too many requests; see Retry-After",
    500: "Unexpected error",
    503: "The database is unavailable; see Retry-After",
}
WITH_BODY = {413: "The request body is over the configured size"}
METHODS = ("get", "post", "put", "patch", "delete")


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def _trimmed_schema(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any] | None:
    """The component schema whose instances `fields` trims: the answer, or each item of a page."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref")
    if not ref:
        return None
    schema = schemas[ref.rsplit("/", 1)[1]]
    item_ref = schema.get("properties", {}).get("items", {}).get("items", {}).get("$ref")
    if item_ref and {"total", "next"} <= set(schema.get("properties", {})):
        schema = schemas[item_ref.rsplit("/", 1)[1]]
    return schema  # type: ignore[no-any-return]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.get("components", {}).get("schemas", {})
    for item in document.get("paths", {}).values():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            declared = operation.setdefault("responses", {})
            extra = EVERY_OPERATION | (WITH_BODY if "requestBody" in operation else {})
            for status, description in extra.items():
                declared.setdefault(str(status), _problem(description))
            takes_fields = any(p.get("name") == "fields" for p in operation.get("parameters", []))
            schema = _trimmed_schema(operation, schemas) if takes_fields else None
            if schema is not None:
                schema["required"] = [f for f in ALWAYS_KEPT if f in schema.get("properties", {})]
    return document


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

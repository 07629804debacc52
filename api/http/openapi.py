"""The OpenAPI document, completed with what no single route declares itself.

Answers that any operation can give come from layers around the routes (rate limits, body limits,
trusted hosts, a lost database, an unexpected error), so they are declared here on every operation;
so are the headers the edge adds (ETag, Cache-Control, Link, Retry-After) and the 304 of a
conditional public read. Every error answer is a `Problem` under `application/problem+json`.
Operation ids are made here too, from each route's path and method, so client generators get
stable names (`procedures_list`, `admin_procedures_create`).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.http.caching import PUBLIC_PREFIX, is_admin_path
from api.http.jsonld import JSONLD_SCHEMA, JSONLD_SCHEMA_NAME
from api.http.problems import PROBLEM_JSON, PROBLEM_REF, Problem

EVERY_OPERATION = {
    400: "Bad request (for instance a Host header this server does not serve)",
    429: "Too many requests; see Retry-After",
    500: "Unexpected error",
    503: "The database is unavailable; see Retry-After",
}
WITH_BODY = {413: "The request body is over the configured size"}
METHODS = ("get", "post", "put", "patch", "delete")
# Operations named outright: what the path-and-method rule would name awkwardly.
NAMED = {
    ("GET", "/healthz"): "health_live",
    ("GET", "/readyz"): "health_ready",
    ("GET", "/v1/search"): "search",
    ("GET", "/v1/stats"): "stats",
    ("GET", "/v1/export"): "export",
    ("GET", "/sitemap.xml"): "sitemap",
    ("GET", "/v1/admin/whoami"): "admin_whoami",
}
# Last path words that are actions, not collections: a POST there does the action.
ACTIONS = {"publish", "unpublish", "restore", "import"}
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {
        "description": "A strong validator of the answer: send it back in If-None-Match (public "
        "reads) or If-Match (admin changes).",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "How long the answer may be reused (`no-store` on the admin API).",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'The next page, as `<url>; rel="next"` (absent on the last page).',
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    },
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of an answer already held: 304 without a body if it still stands.",
    "schema": {"type": "string"},
}


def operation_id(route: APIRoute) -> str:
    """`collection[_relation]_verb` from the path's words and the method: `procedures_get`,
    `procedures_side_effects`, `admin_procedures_side_effects_add`, `admin_keys_delete`."""
    (method,) = sorted(route.methods or ())
    if (method, route.path_format) in NAMED:
        return NAMED[method, route.path_format]
    segments = route.path_format.strip("/").split("/")
    segments = segments[1:] if segments[0] == "v1" else segments
    words = [s.replace("-", "_") for s in segments if not s.startswith("{")]
    last_is_parameter = segments[-1].startswith("{")
    nested = any(s.startswith("{") for s in segments[:-1])
    if last_is_parameter:
        verbs = {"GET": "get", "PATCH": "update", "PUT": "replace"}
        verb = verbs.get(method) or ("remove" if nested else "delete")
    elif words[-1] in ACTIONS:
        verb = ""
    elif nested:
        verb = {"GET": "", "POST": "add"}[method]
    else:
        verb = {"GET": "list", "POST": "create"}[method]
    return "_".join([*words, verb] if verb else words)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _always_sent(*names: str) -> dict[str, Any]:
    """Headers every such answer carries (the HTTP cache layer adds them to each public read)."""
    return {name: {**HEADERS[name], "required": True} for name in names}


def _is_page(response: dict[str, Any], schemas: dict[str, Any]) -> bool:
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    properties = schemas[ref.rsplit("/", 1)[1]].get("properties", {}) if ref else {}
    return {"items", "total", "next"} <= set(properties)


def _complete_operation(
    path: str, method: str, operation: dict[str, Any], schemas: dict[str, Any]
) -> None:
    declared = operation.setdefault("responses", {})
    extra = EVERY_OPERATION | (WITH_BODY if "requestBody" in operation else {})
    for status, description in extra.items():
        declared.setdefault(str(status), _problem(description))
    for status, response in declared.items():
        if status.isdigit() and int(status) >= 400:
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
        if status in ("429", "503"):
            response["headers"] = _header_refs("Retry-After")
    admin = is_admin_path(path)
    for response in declared.values() if admin else ():
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        entry = ("ETag",) if schema.get("$ref", "").endswith("/AdminEntry") else ()
        response["headers"] = {
            **response.get("headers", {}),
            **_header_refs("Cache-Control", *entry),
        }
    public_read = path.startswith(PUBLIC_PREFIX) and not admin and "200" in declared
    if public_read and method == "get":
        ok = declared["200"]
        paged = ("Link",) if _is_page(ok, schemas) else ()
        ok["headers"] = {**_always_sent("ETag", "Cache-Control"), **_header_refs(*paged)}
        declared["304"] = {
            "description": "Not modified: the ETag sent in If-None-Match still stands",
            "headers": _always_sent("ETag", "Cache-Control"),
        }
        operation.setdefault("parameters", []).append(IF_NONE_MATCH)


def complete(document: dict[str, Any]) -> dict[str, Any]:
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema()
    schemas[JSONLD_SCHEMA_NAME] = JSONLD_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["headers"] = HEADERS
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is not None:
                _complete_operation(path, method, operation, schemas)
    return document


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

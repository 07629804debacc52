"""The layout shows the architecture: each package of `api/` imports only what its layer may
touch, so arrows point one way, and framework internals appear only in the fast path."""

import ast
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1] / "api"
# What each layer must not import (a prefix of a module name).
FORBIDDEN = {
    "db": ("fastapi", "starlette", "api.kb", "api.http", "api.routes", "api.fastpath", "api.deps"),
    "http": ("sqlmodel", "api.kb", "api.db", "api.routes", "api.fastpath", "api.deps"),
    "fastpath": ("api.kb", "api.routes", "api.deps", "api.main"),
    "kb": ("fastapi", "starlette", "api.http", "api.routes", "api.deps", "api.main"),
    "routes": ("api.main",),
}
INTERNALS = re.compile(
    r"iter_route_contexts|RouteContext|fastapi\._compat|construct_params|"
    r"construct_expanded_state|_generate_cache_key|HttpToolsProtocol|before_cursor_execute|-shm"
)


def imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_only_what_it_may(layer: str) -> None:
    wrong = [
        f"{path.relative_to(API.parent)} imports {name}"
        for path in sorted((API / layer).rglob("*.py"))
        for name in imported(path)
        if name.startswith(FORBIDDEN[layer]) and not (layer == "http" and name == "sqlalchemy.exc")
    ]
    assert wrong == []


def test_http_runs_no_sql() -> None:
    wrong = [
        f"{path.relative_to(API.parent)} imports {name}"
        for path in sorted((API / "http").rglob("*.py"))
        for name in imported(path)
        if name.startswith("sqlalchemy") and name != "sqlalchemy.exc"
    ]
    assert wrong == []


def test_framework_internals_only_in_the_fast_path() -> None:
    wrong = [
        str(path.relative_to(API.parent))
        for path in sorted(API.rglob("*.py"))
        if "fastpath" not in path.parts and INTERNALS.search(path.read_text())
    ]
    assert wrong == []


def test_the_top_of_api_holds_only_entry_points() -> None:
    modules = sorted(p.name for p in API.glob("*.py"))
    assert len(modules) <= 8, modules

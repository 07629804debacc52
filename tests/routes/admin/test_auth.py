"""API keys and roles: every write is guarded, each role may do what it should and no more."""

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session, col

from api.main import app
from models import ApiKey, AuditEvent
from tests.routes.admin.conftest import Admin
from tests.routes.admin.documents import DOCUMENTS, SOURCE, TEXT

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def app_routes() -> list[tuple[str, set[str]]]:
    """(path, methods) of every route the app serves, documented or not."""
    try:  # FastAPI versions that include routers lazily
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return [(r.path, getattr(r, "methods", None) or set()) for r in app.routes]  # type: ignore[attr-defined]
    routes = []
    for c in iter_route_contexts(app.routes):
        assert c.path is not None, c  # typed optional, but every route of the app has one
        routes.append((c.path, set(c.methods or ())))
    return routes


def guarded_operations() -> list[tuple[str, str]]:
    """Every write operation of the app, and every operation under /v1/admin."""
    out = []
    for path, methods in app_routes():
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            if method in WRITE_METHODS or path.startswith("/v1/admin"):
                out.append((method, re.sub(r"\{[^}]+\}", "x", path)))
    return out


class TestEveryWriteIsGuarded:
    def test_there_are_admin_writes_to_check(self) -> None:
        ops = guarded_operations()
        documented = {
            (m.upper(), re.sub(r"\{[^}]+\}", "x", p))
            for p, operations in app.openapi()["paths"].items()
            for m in operations
            if p.startswith("/v1/admin")
        }
        assert documented <= set(ops)
        assert len([m for m, _ in ops if m in WRITE_METHODS]) >= 40
        assert all(p.startswith("/v1/admin/") for _, p in ops)

    @pytest.mark.parametrize(("method", "path"), guarded_operations())
    def test_without_a_key_is_401(self, client: TestClient, method: str, path: str) -> None:
        r = client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["Cache-Control"] == "no-store"

    @pytest.mark.parametrize(
        "header",
        ["Bearer skb_000000000000_nope", "Bearer nonsense", "Basic dXNlcjpwdw==", "Bearer"],
    )
    def test_a_bad_key_is_401_and_audited(
        self, client: TestClient, admin: Admin, header: str
    ) -> None:
        r = client.post("/v1/admin/sources", json={}, headers={"Authorization": header})
        assert r.status_code == 401
        events = admin.get("/v1/admin/audit", params={"action": "auth.failed"}).json()["items"]
        assert events[0]["target"] == "POST /v1/admin/sources"
        assert header.split(" ")[-1] not in str(events[0])

    def test_a_revoked_key_is_401(self, client: TestClient, admin: Admin, editor: Admin) -> None:
        assert editor.get("/v1/admin/sources").status_code == 200
        assert admin.delete("/v1/admin/keys/editor-key").status_code == 200
        r = editor.get("/v1/admin/sources")
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]


class TestKeys:
    def test_only_a_hash_is_stored(self, session: Session, keys: dict[str, str]) -> None:
        row = session.scalars(select(ApiKey).where(col(ApiKey.name) == "editor-key")).one()
        key = keys["editor"]
        assert key.startswith(f"skb_{row.prefix}_")
        assert key not in str(row.model_dump()) and len(row.key_hash) == 64

    def test_admin_creates_a_key_that_works_once_shown(
        self, client: TestClient, admin: Admin
    ) -> None:
        r = admin.post("/v1/admin/keys", json={"name": "carol", "role": "publisher"})
        assert r.status_code == 201
        carol = Admin(client, r.json()["key"])
        assert carol.get("/v1/admin/procedures").status_code == 200
        listed = admin.get("/v1/admin/keys").json()
        assert {k["name"]: k["role"] for k in listed}["carol"] == "publisher"
        assert r.json()["key"] not in str(listed)
        # Times carry their offset on every database.
        assert all(k["created_at"].endswith(("Z", "+00:00")) for k in listed)

    def test_a_taken_name_is_409(self, admin: Admin) -> None:
        r = admin.post("/v1/admin/keys", json={"name": "editor-key", "role": "editor"})
        assert r.status_code == 409

    def test_an_unknown_role_is_422(self, admin: Admin) -> None:
        r = admin.post("/v1/admin/keys", json={"name": "dave", "role": "owner"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "role"]

    def test_keys_never_reach_the_audit_log(self, admin: Admin, keys: dict[str, str]) -> None:
        admin.post("/v1/admin/keys", json={"name": "erin", "role": "editor"})
        log = admin.get("/v1/admin/audit").json()
        assert log["items"][0]["action"] == "key.create"
        assert not any(key in str(log) for key in keys.values())


def _etag(c: Admin, url: str) -> dict[str, str]:
    return {"If-Match": c.etag(url)}


def _setup_source(c: Admin) -> None:
    assert c.post("/v1/admin/sources", json=DOCUMENTS["sources"]).status_code == 201


# (write, the least role allowed, setup run with an admin key, the request: (method, url, kwargs))
WRITES: list[tuple[str, str, Any, Any]] = [
    (
        "create",
        "editor",
        None,
        lambda c: ("POST", "/v1/admin/sources", {"json": DOCUMENTS["sources"]}),
    ),
    (
        "update",
        "editor",
        None,
        lambda c: (
            "PATCH",
            "/v1/admin/side-effects/redness",
            {
                "json": {"name": "Reddened skin"},
                "headers": _etag(c, "/v1/admin/side-effects/redness"),
            },
        ),
    ),
    (
        "link",
        "editor",
        _setup_source,
        lambda c: (
            "POST",
            "/v1/admin/procedures/at-home-dermapen/side-effects",
            {
                "json": {
                    "side_effect": "itching",
                    "citations": [{"source": SOURCE, "excerpt": TEXT.split("\n")[0]}],
                }
            },
        ),
    ),
    (
        "unlink",
        "editor",
        None,
        lambda c: (
            "DELETE",
            "/v1/admin/procedures/at-home-derma-roller/side-effects/redness",
            {"headers": _etag(c, "/v1/admin/side-effects/redness")},
        ),
    ),
    (
        "tag",
        "editor",
        None,
        lambda c: (
            "POST",
            "/v1/admin/quotes/baum-scalp-health-role/procedures",
            {"json": {"procedure": "scalp-microneedling"}},
        ),
    ),
    (
        "restore",
        "editor",
        lambda c: c.patch(
            "/v1/admin/conditions/alopecia-areata",
            json={"name": "Scarring"},
            headers=_etag(c, "/v1/admin/conditions/alopecia-areata"),
        ),
        lambda c: (
            "POST",
            "/v1/admin/conditions/alopecia-areata/revisions/1/restore",
            {"headers": _etag(c, "/v1/admin/conditions/alopecia-areata")},
        ),
    ),
    (
        "publish",
        "publisher",
        _setup_source,
        lambda c: (
            "POST",
            f"/v1/admin/sources/{SOURCE}/publish",
            {"headers": _etag(c, f"/v1/admin/sources/{SOURCE}")},
        ),
    ),
    (
        "unpublish",
        "publisher",
        None,
        lambda c: (
            "POST",
            "/v1/admin/side-effects/redness/unpublish",
            {"headers": _etag(c, "/v1/admin/side-effects/redness")},
        ),
    ),
    (
        "delete",
        "publisher",
        None,
        lambda c: (
            "DELETE",
            "/v1/admin/conditions/alopecia-areata",
            {"headers": _etag(c, "/v1/admin/conditions/alopecia-areata")},
        ),
    ),
    ("import", "publisher", None, lambda c: ("POST", "/v1/admin/import", {"json": {}})),
    (
        "create key",
        "admin",
        None,
        lambda c: ("POST", "/v1/admin/keys", {"json": {"name": "x", "role": "editor"}}),
    ),
    ("revoke key", "admin", None, lambda c: ("DELETE", "/v1/admin/keys/editor-key", {})),
    ("list keys", "admin", None, lambda c: ("GET", "/v1/admin/keys", {})),
    ("read audit", "admin", None, lambda c: ("GET", "/v1/admin/audit", {})),
]
RANK = {"editor": 0, "publisher": 1, "admin": 2}


@pytest.mark.parametrize("role", list(RANK))
@pytest.mark.parametrize(("write", "least", "setup", "build"), WRITES, ids=[w[0] for w in WRITES])
def test_each_role_against_each_kind_of_write(
    client: TestClient,
    keys: dict[str, str],
    session: Session,
    role: str,
    write: str,
    least: str,
    setup: Any,
    build: Any,
) -> None:
    admin = Admin(client, keys["admin"])
    if setup is not None:
        setup(admin)
    method, url, kwargs = build(admin)
    r = Admin(client, keys[role]).request(method, url, **kwargs)
    if RANK[role] >= RANK[least]:
        assert r.status_code in (200, 201), r.text
        if method != "GET":
            actions = [e.action for e in session.scalars(select(AuditEvent)).all()]
            assert actions and actions[-1] != "auth.failed"
    else:
        assert r.status_code == 403, r.text
        assert r.headers["content-type"] == "application/problem+json"


def test_keys_never_reach_the_logs(
    client: TestClient, editor: Admin, keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    editor.get("/v1/admin/sources")
    editor.patch(
        "/v1/admin/conditions/alopecia-areata", json={"name": "x"}, headers={"If-Match": '"1"'}
    )
    client.get("/v1/admin/sources", headers={"Authorization": f"Bearer {keys['editor']}x"})
    assert caplog.records, "the requests were logged"
    logged = caplog.text + " ".join(str(getattr(r, "fields", "")) for r in caplog.records)
    secrets = [key.split("_", 2)[2] for key in keys.values()]
    assert not any(secret in logged for secret in secrets)


def test_every_admin_operation_declares_its_problems() -> None:
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith("/v1/admin"):
            continue
        for method, operation in operations.items():
            declared = operation["responses"]
            assert {"401", "403"} <= set(declared), (method, path)
            if method in ("patch", "delete") or path.endswith(
                ("/publish", "/unpublish", "/restore")
            ):
                if not path.startswith("/v1/admin/keys"):
                    assert {"412", "428"} <= set(declared), (method, path)
            for status, answer in declared.items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in answer["content"], (method, path, status)

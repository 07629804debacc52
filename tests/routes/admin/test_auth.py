"""API keys and roles: every write is guarded, each role may do what it should and no more."""

import logging
import re
from collections.abc import Iterator, MutableMapping
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
                # Keys and webhooks are settings, not versioned entries: no If-Match.
                if not path.startswith(("/v1/admin/keys", "/v1/admin/webhooks")):
                    assert {"412", "428"} <= set(declared), (method, path)
            for status, answer in declared.items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in answer["content"], (method, path, status)


# --- the edge under a flood of refusals (security review, issue 14) ----------------------------


@pytest.fixture
def rate_limited(client: TestClient) -> Iterator[Any]:
    """The app's own rate limit layer, switched on: 20 refusals per address, refilled so slowly
    that a slow test machine sees none come back."""
    from api.http.rate_limit import RateLimitMiddleware, TokenBuckets

    client.get("/healthz")  # builds the middleware stack
    layer: Any = app.middleware_stack
    while not isinstance(layer, RateLimitMiddleware):
        layer = layer.app
    saved = layer.enabled, layer.auth_failures, layer.admin
    layer.enabled, layer.auth_failures = True, TokenBuckets(1 / 3600, 20)
    layer.admin = TokenBuckets(5.0, 50)
    yield layer
    layer.enabled, layer.auth_failures, layer.admin = saved


def _refusals(session: Session) -> list[AuditEvent]:
    query = select(AuditEvent).where(col(AuditEvent.action).in_(["auth.failed", "auth.forbidden"]))
    return list(session.scalars(query.order_by(col(AuditEvent.id))).all())


class TestRefusalFlood:
    LONG = "/v1/admin/procedures/" + "A" * 60_000

    def test_unauthenticated_401s_are_throttled_and_audited_once(
        self, client: TestClient, session: Session, rate_limited: Any
    ) -> None:
        before = len(_refusals(session))
        statuses = [client.get(f"{self.LONG}{n}").status_code for n in range(40)]
        assert statuses == [401] * 20 + [429] * 20
        events = _refusals(session)[before:]
        assert len(events) == 1
        target = events[0].target or ""
        assert len(target) <= 512 and target.startswith("GET /v1/admin/procedures/AAA")
        assert events[0].detail["count"] == 1

    def test_a_valid_key_is_not_locked_out_by_others_failures(
        self, client: TestClient, admin: Admin, rate_limited: Any
    ) -> None:
        for n in range(25):
            client.get(f"/v1/admin/procedures/x{n}", headers={"Authorization": "Bearer wrong"})
        assert client.get("/v1/admin/keys").status_code == 429
        assert admin.get("/v1/admin/keys").status_code == 200
        assert admin.post("/v1/admin/keys", json={"name": "frank", "role": "editor"}).is_success
        read = client.get("/v1/procedures", headers={"Authorization": "Bearer anything"})
        assert read.status_code == 200

    def test_a_minute_of_failures_is_one_event_with_their_count(
        self, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from api.kb import audit

        now = [1000.0]
        monkeypatch.setattr(audit.failures, "clock", lambda: now[0])
        before = len(_refusals(session))
        for n in range(5):
            assert client.get(f"/v1/admin/sources/s{n}").status_code == 401
        now[0] += 61
        assert client.delete("/v1/admin/sources/last").status_code == 401
        events = [(e.target, e.detail["count"]) for e in _refusals(session)[before:]]
        assert events == [
            ("GET /v1/admin/sources/s0", 1),
            ("GET /v1/admin/sources/s4", 4),  # the last of the four counted in memory
            ("DELETE /v1/admin/sources/last", 1),
        ]

    def test_without_the_limit_a_flood_is_still_one_event(
        self, client: TestClient, session: Session
    ) -> None:
        before = len(_refusals(session))
        for n in range(300):
            client.get(f"/v1/admin/procedures/{'B' * 2000}{n}")
        assert len(_refusals(session)) - before == 1


class TestForbidden:
    def test_a_403_is_audited_with_a_clipped_target(self, editor: Admin, session: Session) -> None:
        before = len(_refusals(session))
        assert editor.get("/v1/admin/keys").status_code == 403
        assert editor.delete("/v1/admin/keys/" + "k" * 2000).status_code == 403
        events = _refusals(session)[before:]
        assert [(e.action, e.actor) for e in events] == [("auth.forbidden", "editor-key")] * 2
        assert events[0].target == "GET /v1/admin/keys" and events[0].detail["needed"] == "admin"
        assert len(events[1].target or "") == 512


class TestNoStoreOnEveryAdminAnswer:
    def test_413(self, admin: Admin) -> None:
        from api.config import settings

        r = admin.post("/v1/admin/sources", content=b"x" * (settings.max_body_bytes + 1))
        assert r.status_code == 413 and r.headers["cache-control"] == "no-store"

    def test_nul_422(self, admin: Admin) -> None:
        r = admin.post("/v1/admin/sources", json={"slug": "a\x00b"})
        assert r.status_code == 422 and r.headers["cache-control"] == "no-store"

    def test_429(self, admin: Admin, rate_limited: Any) -> None:
        from api.http.rate_limit import TokenBuckets

        rate_limited.admin = TokenBuckets(1 / 60, 1)
        statuses = [admin.post("/v1/admin/sources", json={}).status_code for _ in range(2)]
        assert statuses == [422, 429]
        r = admin.post("/v1/admin/sources", json={})
        assert r.status_code == 429 and r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("name", [" ", "   ", ""])
def test_a_key_name_needs_a_visible_character(admin: Admin, name: str) -> None:
    r = admin.post("/v1/admin/keys", json={"name": name, "role": "editor"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "name"]


class TestAuthenticatedBeforeTheBody:
    """Without a valid key an admin write is refused before its body is read: nobody without
    a key makes the service take in (or wait for) a body."""

    @pytest.mark.parametrize("key", [None, "skb_nope_nope"], ids=["none", "unknown"])
    def test_a_body_that_never_ends_is_refused_at_once(
        self, client: TestClient, key: str | None
    ) -> None:
        import asyncio

        headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
        headers += [(b"content-length", b"1000000")]
        if key:
            headers.append((b"authorization", f"Bearer {key}".encode()))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "POST", "scheme": "http", "path": "/v1/admin/import",
            "raw_path": b"/v1/admin/import", "query_string": b"", "root_path": "",
            "headers": headers, "client": ("127.0.0.1", 1), "server": ("testserver", 80),
        }  # fmt: skip
        read: list[bytes] = []
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if read:
                await asyncio.Event().wait()  # the rest never comes
            read.append(b"[")
            return {"type": "http.request", "body": b"[", "more_body": True}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=5))
        assert sent[0]["status"] == 401
        assert read == []

    def test_nul_in_a_body_without_a_key_is_401_not_422(self, client: TestClient) -> None:
        r = client.post("/v1/admin/sources", json={"title": "a\x00"})
        assert r.status_code == 401, r.text

"""What faces the internet: request ids, security headers, body limits, rate limits, hosts."""

import json
import logging
import os
import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from api.http.log import JsonFormatter
from api.http.protection import BodySizeLimitMiddleware, RefuseNulMiddleware, TrustedHostMiddleware
from api.http.rate_limit import RateLimitMiddleware
from api.http.request_context import RequestIds, milliseconds
from api.main import app
from models.audit import AuditEvent

PROBLEM = "application/problem+json"


async def echo_app(scope, receive, send):  # type: ignore[no-untyped-def]
    """A tiny ASGI app that reads the whole body and answers 200 with its length."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    status = 401 if scope["path"] == "/deny" else 200
    if scope["path"] == "/whoami":  # 200 for the one good key, 401 for anything else
        status = 200 if (b"authorization", b"Bearer good") in scope["headers"] else 401
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


class TestRequestContext:
    def test_security_headers_on_success_and_problem(self, client: TestClient) -> None:
        for response in (client.get("/v1/procedures"), client.get("/v1/procedures/nope")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "default-src 'none'" in response.headers["content-security-policy"]

    def test_request_ids_made_are_random(self, client: TestClient) -> None:
        made = [int(client.get("/healthz").headers["x-request-id"], 16) for _ in range(3)]
        assert all(abs(b - a) > 1_000_000 for a, b in zip(made, made[1:], strict=False))

    def test_request_ids_stay_unique_past_each_draw_and_in_a_forked_child(self) -> None:
        ids = RequestIds()
        made = [ids.new() for _ in range(3 * RequestIds.BATCH + 5)]  # three draws and a part
        assert all(re.fullmatch("[0-9a-f]{32}", made_id) for made_id in made)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: its next ids, to the parent
            os.write(write, "".join(ids.new() for _ in range(4)).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            child = re.findall("[0-9a-f]{32}", pipe.read())
        os.waitpid(pid, 0)
        parent = [ids.new() for _ in range(4)]  # the parent's own next ones, from its pool
        assert len(child) == 4
        assert len(set(made + child + parent)) == len(made) + 8

    def test_request_id_is_echoed_or_made(self, client: TestClient) -> None:
        assert (
            client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
            == "abc-123"
        )
        made = client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
        assert made != "bad id\n" and len(made) == 32

    def test_one_json_log_line_per_request(
        self, client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO, logger="skinkb.access"):
            client.get("/v1/sources", headers={"X-Request-ID": "trace-me"})
        record = next(
            r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "trace-me"
        )
        line = json.loads(JsonFormatter().format(record))
        assert line["status"] == 200 and line["path"] == "/v1/sources" and line["duration_ms"] >= 0
        assert "authorization" not in json.dumps(line).lower()

    @given(st.integers(min_value=0, max_value=10**13))
    def test_a_duration_is_in_milliseconds_rounded_half_up(self, nanoseconds: int) -> None:
        exact = Decimal(nanoseconds) / 1_000_000
        assert milliseconds(nanoseconds) == float(exact.quantize(Decimal("0.01"), ROUND_HALF_UP))
        assert milliseconds(1_234_565_000) == 1234.57 and milliseconds(4_999) == 0.0

    def test_the_log_line_names_the_key(
        self, client: TestClient, session: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        from api.kb.keys import create_key
        from models.api_key import KeyRole

        key = create_key(session, "logged-key", KeyRole.editor).key
        session.commit()
        with caplog.at_level(logging.INFO, logger="skinkb.access"):
            r = client.get(
                "/v1/admin/sources",
                headers={"Authorization": f"Bearer {key}", "X-Request-ID": "who-am-i"},
            )
        assert r.status_code == 200
        record = next(
            r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "who-am-i"
        )
        assert json.loads(JsonFormatter().format(record))["key_name"] == "logged-key"
        assert key not in caplog.text

    def test_a_warning_when_the_host_header_makes_the_urls(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        from api.config import settings
        from api.main import warn_if_host_makes_urls

        with caplog.at_level(logging.WARNING, logger="skinkb"):
            monkeypatch.setattr(settings, "public_base_url", "")
            monkeypatch.setattr(settings, "trusted_hosts", ["*"])
            warn_if_host_makes_urls()
            assert "SKINKB_PUBLIC_BASE_URL" in caplog.text
            caplog.clear()
            monkeypatch.setattr(settings, "public_base_url", "https://kb.example.org")
            warn_if_host_makes_urls()
            assert caplog.text == ""


class TestBodyLimit:
    @pytest.fixture
    def limited(self) -> TestClient:
        return TestClient(BodySizeLimitMiddleware(echo_app, max_bytes=10))  # type: ignore[arg-type]

    def test_declared_length_over_limit_is_413(self, limited: TestClient) -> None:
        r = limited.post("/", content=b"x" * 11)
        assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"

    def test_chunked_body_over_limit_is_413(self, limited: TestClient) -> None:
        def chunks() -> Iterator[bytes]:
            for _ in range(5):
                yield b"xxxx"

        r = limited.post("/", content=chunks())
        assert r.status_code == 413

    def test_within_limit_passes(self, limited: TestClient) -> None:
        assert limited.post("/", content=b"x" * 10).text == "10"


class TestRateLimit:
    def make(self, **kw) -> TestClient:  # type: ignore[no-untyped-def]
        limits = {
            "enabled": True,
            "public": (1.0, 3),
            "admin": (1.0, 2),
            "auth_failures_per_minute": 2,
        } | kw
        return TestClient(RateLimitMiddleware(echo_app, **limits))  # type: ignore[arg-type]

    def test_public_reads_per_address_then_429_with_retry_after(self) -> None:
        client = self.make()
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]
        r = client.get("/")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.headers["content-type"] == "application/problem+json"

    def test_writes_are_limited_per_key(self) -> None:
        client = self.make()
        a = {"Authorization": "Bearer key-a"}
        assert [client.post("/", headers=a).status_code for _ in range(3)] == [200, 200, 429]
        assert client.post("/", headers={"Authorization": "Bearer key-b"}).status_code == 200

    def test_failed_authentications_are_limited(self) -> None:
        client = self.make()
        bad = {"Authorization": "Bearer wrong"}
        assert [client.get("/deny", headers=bad).status_code for _ in range(2)] == [401, 401]
        r = client.get("/deny", headers=bad)
        assert r.status_code == 429 and r.json()["status"] == 429 and r.headers["retry-after"]

    def test_401s_without_a_credential_are_limited_too(self) -> None:
        client = self.make()
        assert [client.get("/deny").status_code for _ in range(3)] == [401, 401, 429]
        assert [client.post("/deny").status_code for _ in range(2)] == [429, 429]

    def test_a_valid_key_is_never_refused_after_others_failures(self) -> None:
        client = self.make(public=None, admin=(1.0, 100))
        for _ in range(5):
            client.get("/whoami", headers={"Authorization": "Bearer wrong"})
            client.post("/deny")
        good = {"Authorization": "Bearer good"}
        assert client.get("/whoami", headers=good).status_code == 200
        assert client.post("/whoami", headers=good).status_code == 200
        # A public read carrying a header that is no key is a read like any other.
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 200

    def test_public_reads_are_not_limited_unless_enabled(self) -> None:
        client = self.make(public=None)
        assert {client.get("/").status_code for _ in range(20)} == {200}

    def test_a_valid_key_reads_from_a_bucket_of_its_own(self) -> None:
        asked: list[str] = []

        def known(authorization: str) -> bool:
            asked.append(authorization)
            return authorization == "Bearer good"

        client = self.make(public_key_allowance=(1.0, 5), known_key=known)
        good, bad = {"Authorization": "Bearer good"}, {"Authorization": "Bearer bad"}
        assert [client.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]
        assert [client.get("/", headers=bad).status_code for _ in range(1)] == [429]
        assert [client.get("/", headers=good).status_code for _ in range(6)] == [200] * 5 + [429]
        assert asked == ["Bearer bad", "Bearer good"]  # each remembered a while

    def test_public_limits_key_on_the_address_the_proxy_names(self) -> None:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        limited = RateLimitMiddleware(
            echo_app,  # type: ignore[arg-type]
            enabled=True,
            public=(1.0, 2),
            admin=(1.0, 2),
            auth_failures_per_minute=2,
        )
        client = TestClient(ProxyHeadersMiddleware(limited, trusted_hosts="*"))  # type: ignore[arg-type]
        one, two = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
        assert [client.get("/", headers=one).status_code for _ in range(3)] == [200, 200, 429]
        assert client.get("/", headers=two).status_code == 200

    def test_disabled_lets_everything_through(self) -> None:
        client = self.make(enabled=False)
        assert {client.get("/").status_code for _ in range(10)} == {200}


class TestTrustedHosts:
    def test_unknown_host_is_400(self) -> None:
        client = TestClient(TrustedHostMiddleware(echo_app, ["api.example.org", "*.example.net"]))  # type: ignore[arg-type]
        assert client.get("http://api.example.org/").status_code == 200
        assert client.get("http://a.example.net/").status_code == 200
        r = client.get("http://evil.test/")
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"


_GETS = [
    (path, op.get("parameters", []))
    for path, ops in app.openapi()["paths"].items()
    for method, op in ops.items()
    if method == "get"
]


def _filled(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


class TestNul:
    """PostgreSQL cannot store NUL (U+0000); it is refused at the edge, on both databases alike."""

    @pytest.mark.parametrize("path", [p for p, params in _GETS if "{" in p], ids=lambda p: p)
    def test_a_path_holding_nul_names_nothing(
        self, client: TestClient, session: Session, path: str
    ) -> None:
        audited = session.scalar(select(func.count()).select_from(AuditEvent))
        r = client.get(_filled(path, "a%00b"), headers={"Authorization": "Bearer unknown"})
        assert r.status_code == 404 and r.headers["content-type"] == PROBLEM, r.text
        # Not even a failed authentication is written down with it.
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == audited

    @pytest.mark.parametrize(
        ("path", "name"),
        [(p, q["name"]) for p, params in _GETS for q in params if q["in"] == "query"],
        ids=lambda v: v,
    )
    def test_a_query_parameter_holding_nul_is_422_naming_it(
        self, client: TestClient, path: str, name: str
    ) -> None:
        r = client.get(_filled(path, "scalp-microneedling"), params={name: "x\x00"})
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, r.text
        assert r.json()["errors"] == [
            {"loc": ["query", name], "msg": r.json()["detail"], "type": "string_nul"}
        ]

    def test_an_escape_split_over_chunks_is_still_seen(self) -> None:
        client = TestClient(RefuseNulMiddleware(echo_app))
        body = [b'{"name": "a\\u00', b'00"}']
        r = client.post("/", content=iter(body), headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "name"]

    def test_a_body_without_nul_reaches_the_app_whole(self) -> None:
        client = TestClient(RefuseNulMiddleware(echo_app))
        body = [b'{"name": "a\\\\u0000",', b' "b": 1}']  # an escaped backslash, then text
        r = client.post("/", content=iter(body), headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.text == str(sum(map(len, body)))

    @pytest.mark.parametrize("nul", [True, False], ids=["nul", "plain"])
    @pytest.mark.parametrize("path", ["/v1/admin/procedures", "/v1/admin/import"])
    def test_a_deeply_nested_body_is_4xx_not_500(
        self, client: TestClient, path: str, nul: bool
    ) -> None:
        inner = b'"\\u0000"' if nul else b'"x"'
        body = b"[" * 5000 + inner + b"]" * 5000
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, r.text
        assert r.headers["content-type"] == PROBLEM

    def test_the_first_nul_in_document_order_is_named(self) -> None:
        client = TestClient(RefuseNulMiddleware(echo_app))
        body = b'{"a": [1, {"b": "\\u0000"}], "c": "\\u0000", "d": ' + b"[" * 500 + b"]" * 500
        r = client.post("/", content=body + b"}", headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "a", 1, "b"]


class TestServerErrors:
    def test_500_is_problem_without_trace(self, client: TestClient) -> None:
        @app.get("/boom-for-test", include_in_schema=False)
        def boom() -> None:
            raise RuntimeError("secret internals")

        try:
            r = client.get("/boom-for-test")
        finally:
            app.router.routes.pop()
        assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
        assert "secret internals" not in r.text and "Traceback" not in r.text


def test_readyz_reports_head(client: TestClient) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ready" and body["schema"]


class TestDatabaseUnavailable:
    def test_lost_database_is_503_problem_with_retry_after(self, client: TestClient) -> None:
        from sqlalchemy.exc import OperationalError

        @app.get("/db-gone-for-test", include_in_schema=False)
        def gone() -> None:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

        try:
            r = client.get("/db-gone-for-test")
        finally:
            app.router.routes.pop()
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.headers["content-type"] == "application/problem+json"
        assert "server closed" not in r.text


def test_405_names_every_method_of_the_path(client: TestClient) -> None:
    r = client.request("PUT", "/v1/admin/sources/some-source")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) >= {"GET", "PATCH", "DELETE"}

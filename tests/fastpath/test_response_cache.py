"""The in-process response cache, across real server processes on one committed database: an
edit made through the admin API of either process shows on the next read of both, and drafts
never reach the public answers (so never the cache)."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.servers import skinkb_server
from tests.test_cli import run

ROOT = Path(__file__).resolve().parents[1]
WATCHED = "/v1/side-effects/redness"


class Server:
    """A `skinkb serve` process with its response cache on, and an HTTP client to it."""

    def __init__(self, url: str, env: dict[str, str] | None = None) -> None:
        env = {"SKINKB_RESPONSE_CACHE": "true", **(env or {})}
        self.process = skinkb_server(url, env=env).start(60)
        self.http = httpx.Client(base_url=self.process.base, timeout=10)

    def stop(self) -> None:
        self.http.close()
        self.process.stop()


@pytest.fixture
def servers(empty_database_url: str) -> Iterator[tuple[Server, Server, dict[str, str]]]:
    assert run(["seed"], empty_database_url).returncode == 0
    made = run(
        ["keys", "create", "--name", "cache-test", "--role", "publisher"], empty_database_url
    )
    key = made.stdout.strip().split()[-1]
    a, b = Server(empty_database_url), Server(empty_database_url)
    yield a, b, {"Authorization": f"Bearer {key}"}
    a.stop()
    b.stop()


def edit_and_publish(server: Server, auth: dict[str, str], description: str) -> None:
    entry = "/v1/admin/side-effects/redness"
    etag = server.http.get(entry, headers=auth).headers["ETag"]
    patched = server.http.patch(
        entry, json={"description": description}, headers={**auth, "If-Match": etag}
    )
    assert patched.status_code == 200, patched.text
    published = server.http.post(
        f"{entry}/publish", headers={**auth, "If-Match": patched.headers["ETag"]}
    )
    assert published.status_code == 200, published.text


def test_an_edit_in_either_process_shows_on_the_next_read(servers) -> None:  # type: ignore[no-untyped-def]
    a, b, auth = servers
    first = a.http.get(WATCHED)
    assert first.status_code == 200
    assert a.http.get(WATCHED).content == first.content  # answered again, from memory

    edit_and_publish(b, auth, "Edited in the other process.")
    assert a.http.get(WATCHED).json()["description"] == "Edited in the other process."
    assert a.http.get(WATCHED).headers["ETag"] != first.headers["ETag"]

    edit_and_publish(a, auth, "Edited in this process.")
    assert a.http.get(WATCHED).json()["description"] == "Edited in this process."
    assert b.http.get(WATCHED).json()["description"] == "Edited in this process."


def test_a_pending_edit_or_a_draft_never_reaches_the_cache(servers) -> None:  # type: ignore[no-untyped-def]
    a, b, auth = servers
    before = a.http.get(WATCHED).json()
    a.http.get("/v1/side-effects?limit=100")

    # A draft edit of a published entry, and a new draft entry, made in the other process.
    entry = "/v1/admin/side-effects/redness"
    etag = b.http.get(entry, headers=auth).headers["ETag"]
    pending = b.http.patch(
        entry, json={"description": "Not yet published."}, headers={**auth, "If-Match": etag}
    )
    assert pending.status_code == 200, pending.text
    draft = {"slug": "draft-only-effect", "name": "Draft only", "procedures": []}
    assert b.http.post("/v1/admin/side-effects", json=draft, headers=auth).status_code == 201

    for server in (a, b):
        assert server.http.get(WATCHED).json() == before
        listed = server.http.get("/v1/side-effects?limit=100").json()["items"]
        assert "draft-only-effect" not in {i["slug"] for i in listed}
        assert server.http.get("/v1/side-effects/draft-only-effect").status_code == 404
    # A matching If-None-Match still gets 304 from memory.
    etag = a.http.get(WATCHED).headers["ETag"]
    assert a.http.get(WATCHED, headers={"If-None-Match": etag}).status_code == 304


def test_a_remembered_answer_carries_the_cors_headers_of_a_fresh_one(
    empty_database_url: str,
) -> None:
    assert run(["seed"], empty_database_url).returncode == 0
    server = Server(empty_database_url)
    try:
        cors = ("access-control-allow-origin", "access-control-expose-headers", "vary")
        seen = []
        for origin in ({"Origin": "https://example.org"}, {}):
            fresh, remembered = (server.http.get(WATCHED, headers=origin) for _ in range(2))
            assert fresh.status_code == remembered.status_code == 200
            assert remembered.headers["etag"] == fresh.headers["etag"]
            seen += [[r.headers.get(h) for h in cors] for r in (fresh, remembered)]
        # The same open CORS whatever the Origin: one remembered answer serves every client.
        assert seen == [["*", "ETag, Link", "Accept, Accept-Encoding"]] * 4
    finally:
        server.stop()


def test_remembered_answers_are_rate_limited_and_answer_head(empty_database_url: str) -> None:
    """The response cache answers before most layers, but inside the rate limiter and HEAD."""
    assert run(["seed"], empty_database_url).returncode == 0
    limits = {
        "SKINKB_RATE_LIMIT_ENABLED": "true",
        "SKINKB_RATE_LIMIT_PUBLIC_ENABLED": "true",
        "SKINKB_RATE_LIMIT_PUBLIC_PER_SECOND": "0.01",
        "SKINKB_RATE_LIMIT_PUBLIC_BURST": "5",
    }
    server = Server(empty_database_url, env=limits)
    try:
        get = server.http.get(WATCHED)
        head = server.http.head(WATCHED)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == get.headers["etag"]
        assert head.headers["content-length"] == get.headers["content-length"]
        # Within the burst of 5 (the readiness probe took some): then refused, remembered or not.
        statuses = [server.http.get(WATCHED).status_code for _ in range(6)]
        refused = statuses.index(429)
        assert set(statuses[:refused]) <= {200} and set(statuses[refused:]) == {429}
    finally:
        server.stop()

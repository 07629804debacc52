"""HEAD on every public GET: the GET's status and headers, no body."""

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.main import app

EXAMPLES = {"slug": "scalp-microneedling", "id": "1", "slug_or_id": "1"}


def public_get_paths() -> list[str]:
    paths = [c.path or "" for c in iter_route_contexts(app.routes) if "GET" in (c.methods or ())]
    return [p for p in paths if not p.startswith(("/v1/admin", "/docs"))]


@pytest.mark.parametrize("path", public_get_paths())
def test_head_answers_as_get_without_body(client: TestClient, path: str) -> None:
    url = path.format(**EXAMPLES)
    if "{" in url:
        url = path.replace("{slug}", "minoxidil")  # term collections
    got = client.get(url)
    head = client.head(url)
    assert head.status_code == got.status_code != 405
    assert head.content == b""
    for name in ("etag", "content-type", "content-length", "cache-control", "vary"):
        assert head.headers.get(name) == got.headers.get(name), name


def test_head_gets_304(client: TestClient) -> None:
    url = "/v1/procedures/scalp-microneedling"
    etag = client.get(url).headers["etag"]
    head = client.head(url, headers={"If-None-Match": etag})
    assert head.status_code == 304 and head.headers["etag"] == etag


def test_head_of_a_compressed_answer_tells_its_length(client: TestClient) -> None:
    url = "/v1/procedures/scalp-microneedling/side-effects"
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as r:
        length = len(b"".join(r.iter_raw()))
    head = client.head(url, headers={"Accept-Encoding": "gzip"})
    assert head.headers["content-encoding"] == "gzip"
    assert int(head.headers["content-length"]) == length

"""Compressed answers: gzip (and brotli) for 1 KB or more when asked, made once where the HTTP
cache layer makes a public answer, kept compressed by the response cache, one ETag per coding."""

import gzip

import brotli
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.config import settings
from api.fastpath import response_cache
from api.fastpath.kb_revision import RevisionProbe, current_revision
from api.http import compression
from api.http.asgi import Scope

DETAIL = (
    "/v1/procedures/scalp-microneedling"
    "?include=side_effects,contraindications,ingredients,conditions,quotes"
)
SMALL = "/v1/procedures?limit=1&fields=slug"


def raw(client: TestClient, url: str, coding: str, **headers: str) -> tuple[int, dict, bytes]:
    """Status, headers and the body as sent (not decoded)."""
    with client.stream("GET", url, headers={"Accept-Encoding": coding, **headers}) as r:
        return r.status_code, dict(r.headers), b"".join(r.iter_raw())


def scope_accepting(value: str) -> Scope:
    return {"headers": [(b"accept-encoding", value.encode())]}


class TestNegotiation:
    @pytest.mark.parametrize(
        ("accepted", "coding"),
        [
            ("", "identity"),
            ("gzip", "gzip"),
            ("gzip, deflate, br", "br"),
            ("br;q=0.5, gzip", "gzip"),
            ("gzip;q=0, br;q=0", "identity"),
            ("*", "br"),
            ("identity", "identity"),
            ("gzip;q=nonsense", "identity"),
        ],
    )
    def test_preferred_coding(self, accepted: str, coding: str) -> None:
        assert compression.chosen_coding(scope_accepting(accepted)) == coding


class TestPublicReads:
    @pytest.mark.parametrize(
        ("coding", "decode"), [("gzip", gzip.decompress), ("br", brotli.decompress)]
    )
    def test_large_answers_are_compressed(self, client: TestClient, coding: str, decode) -> None:  # type: ignore[no-untyped-def]
        plain = client.get(DETAIL, headers={"Accept-Encoding": "identity"})
        status, headers, body = raw(client, DETAIL, coding)
        assert status == 200
        assert headers["content-encoding"] == coding
        assert int(headers["content-length"]) == len(body) < len(plain.content)
        assert decode(body) == plain.content
        assert {"Accept", "Accept-Encoding"} <= set(headers["vary"].split(", "))
        assert headers["etag"] == plain.headers["etag"][:-1] + f'-{coding}"'

    def test_uncompressed_answers_vary_too(self, client: TestClient) -> None:
        for url, coding in ((DETAIL, "identity"), (SMALL, "gzip")):
            status, headers, body = raw(client, url, coding)
            assert status == 200 and "content-encoding" not in headers
            assert {"Accept", "Accept-Encoding"} <= set(headers["vary"].split(", "))
            assert int(headers["content-length"]) == len(body)
        assert len(body) < compression.MIN_SIZE

    @pytest.mark.parametrize("coding", ["gzip", "br", "identity"])
    def test_if_none_match_per_coding(self, client: TestClient, coding: str) -> None:
        _, headers, _ = raw(client, DETAIL, coding)
        status, again, body = raw(client, DETAIL, coding, **{"If-None-Match": headers["etag"]})
        assert status == 304 and body == b"" and again["etag"] == headers["etag"]
        assert "content-encoding" not in again and "Accept-Encoding" in again["vary"]
        other = "identity" if coding != "identity" else "gzip"
        status, _, _ = raw(client, DETAIL, other, **{"If-None-Match": headers["etag"]})
        assert status == 200

    def test_the_response_cache_keeps_and_resends_compressed_bytes(
        self, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(settings, "fastpath", True)  # the response cache is a bypass
        monkeypatch.setattr(settings, "response_cache", True)
        revision = current_revision(session)
        monkeypatch.setattr(RevisionProbe, "revision", lambda self: revision)
        _, first, sent = raw(client, DETAIL, "gzip")

        def no_second_compression(body: bytes, coding: str) -> bytes:
            raise AssertionError("compressed again")

        monkeypatch.setattr(compression, "compress", no_second_compression)
        status, again, resent = raw(client, DETAIL, "gzip")
        assert status == 200 and resent == sent and again["etag"] == first["etag"]
        assert again["content-encoding"] == "gzip"
        assert any(a.body == sent for _, a in response_cache.memo._entries.values())

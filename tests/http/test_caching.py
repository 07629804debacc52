"""HTTP caching of public reads: ETags that follow what a response shows, 304s, CORS."""

from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from api.fastpath.kb_revision import current_revision
from models import Expert, Procedure, ProcedureSideEffect, SideEffect, Source

SIDE_EFFECTS = "/v1/procedures/scalp-microneedling/side-effects"


def etag_of(client: TestClient, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200
    return r.headers["etag"]


class TestHeaders:
    def test_public_reads_send_a_strong_etag_and_cache_control(self, client: TestClient) -> None:
        for url in (
            "/v1/procedures",
            "/v1/procedures/scalp-microneedling",
            SIDE_EFFECTS,
            "/v1/search?q=minoxidil",
            "/v1/quotes/1",
        ):
            r = client.get(url)
            assert r.status_code == 200
            assert r.headers["etag"].startswith('"') and not r.headers["etag"].startswith("W/")
            assert r.headers["cache-control"] == "public, max-age=60, stale-while-revalidate=300"
            assert "Accept" in r.headers["vary"]

    def test_problems_carry_no_etag(self, client: TestClient) -> None:
        r = client.get("/v1/procedures/nope")
        assert r.status_code == 404 and "etag" not in r.headers

    def test_health_is_not_cached(self, client: TestClient) -> None:
        assert "etag" not in client.get("/healthz").headers

    def test_cors_is_open_for_reads_without_credentials(self, client: TestClient) -> None:
        r = client.get("/v1/procedures", headers={"Origin": "https://example.org"})
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
        assert "etag" in r.headers["access-control-expose-headers"].lower()
        preflight = client.options(
            "/v1/procedures",
            headers={
                "Origin": "https://example.org",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "if-none-match",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"


class TestConditionalGet:
    def test_if_none_match_round_trip_is_304_without_body(self, client: TestClient) -> None:
        etag = etag_of(client, SIDE_EFFECTS)
        r = client.get(SIDE_EFFECTS, headers={"If-None-Match": etag})
        assert r.status_code == 304
        assert r.content == b""
        assert r.headers["etag"] == etag
        assert r.headers["cache-control"].startswith("public")

    def test_a_list_of_tags_and_weak_forms_match(self, client: TestClient) -> None:
        etag = etag_of(client, "/v1/sources")
        r = client.get("/v1/sources", headers={"If-None-Match": f'"other", W/{etag}'})
        assert r.status_code == 304

    def test_another_tag_gets_the_body(self, client: TestClient) -> None:
        r = client.get(SIDE_EFFECTS, headers={"If-None-Match": '"stale"'})
        assert r.status_code == 200 and r.json()["items"]

    def test_a_repeat_304_costs_one_revision_read(
        self, client: TestClient, count_statements: list[str]
    ) -> None:
        etag = etag_of(client, SIDE_EFFECTS)
        count_statements.clear()
        assert client.get(SIDE_EFFECTS, headers={"If-None-Match": etag}).status_code == 304
        assert len(count_statements) == 1 and "kb_revision" in count_statements[0]

    def test_the_query_string_is_part_of_the_resource(self, client: TestClient) -> None:
        assert etag_of(client, "/v1/procedures?limit=2") != etag_of(client, "/v1/procedures")

    def test_same_content_same_etag_across_processes(self, client: TestClient) -> None:
        """The tag is a function of the body, so another process computes the same one."""
        from api.fastpath.response_cache import memo

        first = etag_of(client, SIDE_EFFECTS)
        memo.clear()  # as a fresh process would be
        assert etag_of(client, SIDE_EFFECTS) == first


class TestEtagFollowsTheData:
    def test_an_edit_of_a_linked_entity_changes_the_etag(
        self, client: TestClient, session: Session
    ) -> None:
        etag = etag_of(client, SIDE_EFFECTS)
        session.execute(
            update(SideEffect).where(col(SideEffect.slug) == "redness").values(name="Rash")
        )
        r = client.get(SIDE_EFFECTS, headers={"If-None-Match": etag})
        assert r.status_code == 200
        assert r.headers["etag"] != etag
        assert "Rash" in {i["name"] for i in r.json()["items"]}

    def test_removing_a_link_changes_the_etag(self, client: TestClient, session: Session) -> None:
        etag = etag_of(client, SIDE_EFFECTS)
        session.execute(
            delete(ProcedureSideEffect).where(col(ProcedureSideEffect.id) == _redness_link(session))
        )
        r = client.get(SIDE_EFFECTS, headers={"If-None-Match": etag})
        assert r.status_code == 200 and r.headers["etag"] != etag
        assert "redness" not in {i["slug"] for i in r.json()["items"]}

    def test_an_unrelated_edit_keeps_the_etag(self, client: TestClient, session: Session) -> None:
        etag = etag_of(client, SIDE_EFFECTS)
        before = current_revision(session)
        session.execute(
            update(Expert).where(col(Expert.slug) == "bertha-baum").values(location="X")
        )
        assert current_revision(session) > before
        r = client.get(SIDE_EFFECTS, headers={"If-None-Match": etag})
        assert r.status_code == 304

    def test_every_write_bumps_the_revision_in_its_transaction(self, session: Session) -> None:
        seen = [current_revision(session)]
        session.execute(update(Source).where(col(Source.id) == 1).values(publisher="x"))
        seen.append(current_revision(session))
        session.execute(
            delete(ProcedureSideEffect).where(col(ProcedureSideEffect.id) == _redness_link(session))
        )
        seen.append(current_revision(session))
        session.add(SideEffect(slug="new-one", name="New one", aliases=[]))
        session.flush()
        seen.append(current_revision(session))
        assert seen == sorted(set(seen))


def _redness_link(session: Session) -> int:
    """The id of the link listing redness for scalp microneedling."""
    return session.execute(
        select(col(ProcedureSideEffect.id))
        .join(SideEffect, col(SideEffect.id) == ProcedureSideEffect.side_effect_id)
        .join(Procedure, col(Procedure.id) == ProcedureSideEffect.procedure_id)
        .where(col(SideEffect.slug) == "redness", col(Procedure.slug) == "scalp-microneedling")
    ).scalar_one()


def test_the_memo_is_bounded_in_bytes() -> None:
    """Keys, headers and bodies count against the budget; one entry may take an eighth of it."""
    from api.fastpath.response_cache import ResponseMemo
    from api.http.caching import Answer as Remembered

    headers = ((b"etag", b'"0123"'),)  # 60 + 4 + 6 = 70 bytes as counted
    memo = ResponseMemo(size=1000, max_bytes=8 * 200)
    for n in range(20):
        memo.put(b"k%02d" % n, 1, Remembered(f'"{n}"', headers, b"x" * 127))  # 3 + 70 + 127
    kept = [n for n in range(20) if memo.get(b"k%02d" % n, 1) is not None]
    assert kept == list(range(12, 20))  # the most recent 1,600 bytes
    memo.put(b"big", 1, Remembered('"big"', headers, b"x" * 128))  # 3 + 70 + 128 > 200
    assert memo.get(b"big", 1) is None


def test_without_the_response_cache_only_etags_are_remembered(
    client: TestClient, session: Session
) -> None:
    """The suite runs with SKINKB_RESPONSE_CACHE=false: 304s still work, but no body is kept."""
    from api.config import settings
    from api.fastpath.response_cache import memo

    assert settings.response_cache is False
    first = client.get("/v1/side-effects/redness")
    kept = [memo.get(k, current_revision(session)) for k in memo.keys()]
    assert kept and all(entry is not None and entry.body == b"" for entry in kept)
    again = client.get("/v1/side-effects/redness", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304

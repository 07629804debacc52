"""The `total` of a list: counted once per knowledge-base revision (api.fastpath.counts), right
after any edit."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session, col

from api.fastpath.counts import CountMemo, count_total
from api.fastpath.counts import memo as count_memo
from api.fastpath.kb_revision import current_revision
from api.kb import keys as auth
from api.kb.queries import published
from models import SideEffect
from models.api_key import KeyRole
from tests.routes.admin.conftest import Admin
from tests.routes.test_paging import all_pages

LIST = "/v1/side-effects"
GENERAL = "scalp-microneedling"
ROLLER = "at-home-derma-roller"
NEW = "count-me"
ENTRY = f"/v1/admin/side-effects/{NEW}"
# A side effect listed for the general procedure, citing a line its source really has.
DOCUMENT = {
    "slug": NEW,
    "name": "Count me",
    "procedures": [
        {
            "procedure": GENERAL,
            "citations": [
                {
                    "source": "microneedling-for-hair-loss-in-office-and-at-home",
                    "excerpt": "Redness",
                }
            ],
        }
    ],
}


@pytest.fixture
def publisher(client: TestClient, session: Session) -> Admin:
    key = auth.create_key(session, "totals-publisher", KeyRole.publisher).key
    session.commit()
    return Admin(client, key)


def total(client: TestClient, url: str) -> int:
    r = client.get(url)
    assert r.status_code == 200, r.text
    return int(r.json()["total"])


def counts(statements: list[str]) -> list[str]:
    return [s for s in statements if "count(" in s.lower()]


class TestCountedOncePerRevision:
    def test_every_page_and_order_of_a_list_reuses_one_count(
        self, client: TestClient, count_statements: list[str]
    ) -> None:
        first = client.get(f"{LIST}?limit=3").json()
        assert len(counts(count_statements)) == 1
        count_statements.clear()
        deep = client.get(first["next"]).json()
        again = client.get(f"{LIST}?limit=3&sort=-name").json()
        assert counts(count_statements) == []
        assert first["total"] == deep["total"] == again["total"] == len(all_pages(client, LIST))

    def test_each_filter_has_its_own_total(
        self, client: TestClient, count_statements: list[str]
    ) -> None:
        urls = [
            LIST,
            f"{LIST}?procedure={GENERAL}",
            f"{LIST}?procedure={ROLLER}",
            f"{LIST}?procedure={ROLLER}&inherited=false",
            f"{LIST}?procedure={ROLLER}&source=microneedling-of-the-scalp",
        ]
        expected = {url: len(all_pages(client, url)) for url in urls}
        assert len(set(expected.values())) == len(urls)
        count_statements.clear()
        for url in [*urls, *reversed(urls)]:
            assert total(client, url) == expected[url], url
        assert counts(count_statements) == []

    def test_an_edit_counts_again(
        self, client: TestClient, session: Session, count_statements: list[str]
    ) -> None:
        before = total(client, LIST)
        session.add(SideEffect(slug="zz-direct", name="Zz direct", aliases=[]))
        session.flush()
        count_statements.clear()
        assert total(client, LIST) == before + 1
        assert len(counts(count_statements)) == 1

    def test_admin_lists_count_every_time(
        self, client: TestClient, publisher: Admin, count_statements: list[str]
    ) -> None:
        # A writing transaction may count rows a rollback takes back: admin lists keep nothing.
        publisher.get("/v1/admin/side-effects?status=draft")
        count_statements.clear()
        publisher.get("/v1/admin/side-effects?status=draft")
        assert len(counts(count_statements)) == 1


class TestTotalsFollowEdits:
    def test_create_publish_delete(self, client: TestClient, publisher: Admin) -> None:
        filtered = f"{LIST}?procedure={GENERAL}"
        other = f"{LIST}?procedure={ROLLER}&inherited=false"
        start = {url: total(client, url) for url in (LIST, filtered, other)}

        r = publisher.post("/v1/admin/side-effects", json=DOCUMENT)
        assert r.status_code == 201, r.text
        # A draft is not public: no total moves.
        assert {url: total(client, url) for url in start} == start

        r = publisher.post(ENTRY + "/publish", headers={"If-Match": publisher.etag(ENTRY)})
        assert r.status_code == 200, r.text
        assert total(client, LIST) == start[LIST] + 1
        assert total(client, filtered) == start[filtered] + 1
        assert total(client, other) == start[other]

        r = publisher.patch(ENTRY, json={"name": "Renamed"}, headers={"If-Match": '"2"'})
        assert r.status_code == 200, r.text
        # A pending edit of a published entry leaves the public list as it was.
        assert total(client, LIST) == start[LIST] + 1

        r = publisher.delete(ENTRY, headers={"If-Match": publisher.etag(ENTRY)})
        assert r.status_code == 200, r.text
        assert {url: total(client, url) for url in start} == start

    def test_unpublishing_a_seed_entry(self, client: TestClient, publisher: Admin) -> None:
        url = f"{LIST}?procedure={GENERAL}"
        before = total(client, url)
        entry = "/v1/admin/side-effects/itching"
        r = publisher.post(entry + "/unpublish", headers={"If-Match": publisher.etag(entry)})
        assert r.status_code == 200, r.text
        assert total(client, url) == before - 1 == len(all_pages(client, url))


class TestMemo:
    def test_a_count_is_filed_only_at_the_revision_it_was_made_at(self, session: Session) -> None:
        count_memo.clear()
        stmt = select(col(SideEffect.slug)).where(published(SideEffect))
        now = current_revision(session)
        # The revision moved after the request read it: what is counted now is newer.
        assert count_total(session, stmt, now - 1) > 0
        assert len(count_memo) == 0
        assert count_total(session, stmt, now) == count_total(session, stmt, now)
        assert len(count_memo) == 1
        assert count_total(session, stmt, None) > 0
        assert len(count_memo) == 1

    def test_bounded_least_recently_used_first(self) -> None:
        memo = CountMemo(size=2)
        memo.put(("a",), 1, 10)
        memo.put(("b",), 1, 20)
        assert memo.get(("a",), 1) == 10
        memo.put(("c",), 1, 30)
        assert memo.get(("b",), 1) is None
        assert memo.get(("a",), 1) == 10 and memo.get(("c",), 1) == 30
        assert memo.get(("a",), 2) is None

    def test_a_structure_is_held_once_and_its_number_never_reused(self) -> None:
        memo = CountMemo(shapes=2)
        first, second = memo.shape(("select", 1)), memo.shape(("select", 2))
        assert memo.shape(("select", 1)) == first != second
        # A third structure starts the table over; the numbers it hands out are new ones.
        third = memo.shape(("select", 3))
        assert memo.shape(("select", 1)) not in (first, second, third)

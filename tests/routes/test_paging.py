"""Sorting and keyset paging shared by every list: `sort`, `cursor`, `next` and `Link`."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from models import SideEffect


def all_pages(client: TestClient, url: str) -> list[dict]:
    items: list[dict] = []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        if body["next"]:
            assert r.headers["link"] == f'<{body["next"]}>; rel="next"'
        else:
            assert "link" not in r.headers
        url = body["next"]
    return items


class TestSort:
    @pytest.mark.parametrize(
        "collection", ["side-effects", "ingredients", "conditions", "procedures", "experts"]
    )
    def test_by_name_both_ways_across_pages(self, client: TestClient, collection: str) -> None:
        up = all_pages(client, f"/v1/{collection}?sort=name&limit=3")
        down = all_pages(client, f"/v1/{collection}?sort=-name&limit=3")
        total = client.get(f"/v1/{collection}").json()["total"]
        assert len(up) == total and len({i["slug"] for i in up}) == total
        assert [i["slug"] for i in down] == [i["slug"] for i in reversed(up)]

    def test_by_name_is_alphabetical(self, client: TestClient) -> None:
        names = [i["name"] for i in all_pages(client, "/v1/side-effects?sort=name&limit=4")]
        assert names == sorted(names, key=str.casefold) or names == sorted(names)

    def test_sources_sort_by_title_as_name(self, client: TestClient) -> None:
        titles = [i["title"] for i in all_pages(client, "/v1/sources?sort=-name&limit=2")]
        assert len(titles) == 5 and titles[0] >= titles[-1]

    def test_reverse_slug(self, client: TestClient) -> None:
        slugs = [i["slug"] for i in all_pages(client, "/v1/quotes?sort=-slug&limit=5")]
        assert slugs == sorted(slugs, reverse=True) and len(slugs) == 23

    def test_unknown_sort_is_422_naming_it(self, client: TestClient) -> None:
        r = client.get("/v1/quotes", params={"sort": "name"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "sort"]
        r = client.get("/v1/procedures", params={"sort": "Name;drop"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "sort"]

    def test_a_cursor_of_another_order_is_422(self, client: TestClient) -> None:
        nxt = client.get("/v1/side-effects?sort=name&limit=2").json()["next"]
        cursor = nxt.split("cursor=")[1]
        r = client.get("/v1/side-effects", params={"sort": "-name", "cursor": cursor})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


class TestKeysetStability:
    def test_rows_inserted_before_the_cursor_shift_nothing(
        self, client: TestClient, session: Session
    ) -> None:
        everything = [i["slug"] for i in all_pages(client, "/v1/side-effects?sort=name&limit=100")]
        first = client.get("/v1/side-effects?sort=name&limit=5").json()
        assert [i["slug"] for i in first["items"]] == everything[:5]
        # A new row that sorts first: an OFFSET page would now repeat the fifth row.
        session.add(SideEffect(slug="aaa-first", name="AAA first", aliases=[]))
        session.flush()
        second = client.get(first["next"]).json()
        assert [i["slug"] for i in second["items"]] == everything[5:10]
        assert second["total"] == len(everything) + 1

    def test_rows_inserted_after_the_cursor_are_reached(
        self, client: TestClient, session: Session
    ) -> None:
        first = client.get("/v1/side-effects?limit=5").json()
        session.add(SideEffect(slug="zzz-last", name="Zzz last", aliases=[]))
        session.flush()
        rest = all_pages(client, first["next"])
        assert rest[-1]["slug"] == "zzz-last"
        assert not {i["slug"] for i in first["items"]} & {i["slug"] for i in rest}

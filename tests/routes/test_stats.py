"""/v1/stats: counts for dashboards, over published data only."""

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col

from models import Quote, SideEffect


class TestStats:
    def test_totals_match_the_collections(self, client: TestClient) -> None:
        totals = client.get("/v1/stats").json()["totals"]
        for collection in ("procedures", "side-effects", "quotes", "sources", "experts"):
            listed = client.get(f"/v1/{collection}").json()["total"]
            assert totals[collection.replace("-", "_")] == listed, collection

    def test_side_effects_by_how_many_sources_list_them(self, client: TestClient) -> None:
        rows = client.get("/v1/stats").json()["side_effects"]
        assert [r["sources"] for r in rows] == sorted((r["sources"] for r in rows), reverse=True)
        redness = next(r for r in rows if r["slug"] == "redness")
        detail = client.get("/v1/side-effects/redness").json()
        cited = {c["source"] for p in detail["procedures"] for c in p["citations"]} | {
            c["source"] for i in detail["ingredients"] for c in i["citations"]
        }
        assert redness["sources"] == len(cited) > 1
        assert redness["procedures"] == len({p["procedure"] for p in detail["procedures"]})

    def test_experts_by_how_often_they_are_quoted(self, client: TestClient) -> None:
        rows = client.get("/v1/stats").json()["experts"]
        assert [r["quotes"] for r in rows] == sorted((r["quotes"] for r in rows), reverse=True)
        for row in rows:
            quotes = client.get(f"/v1/experts/{row['slug']}/quotes").json()["total"]
            assert row["quotes"] == quotes

    def test_drafts_are_not_counted(self, client: TestClient, session: Session) -> None:
        before = client.get("/v1/stats").json()
        top = before["experts"][0]
        one_quote = client.get(f"/v1/experts/{top['slug']}/quotes").json()["items"][0]["id"]
        session.execute(update(Quote).where(Quote.id == one_quote).values(status="draft"))
        session.execute(
            update(SideEffect).where(col(SideEffect.slug) == "redness").values(status="draft")
        )
        after = client.get("/v1/stats").json()
        quoted = {e["slug"]: e["quotes"] for e in after["experts"]}
        assert quoted[top["slug"]] == top["quotes"] - 1
        assert "redness" not in {r["slug"] for r in after["side_effects"]}
        assert after["totals"]["side_effects"] == before["totals"]["side_effects"] - 1
        assert after["totals"]["quotes"] == before["totals"]["quotes"] - 1

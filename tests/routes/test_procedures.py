"""/v1/procedures and the relation queries hanging off a procedure."""

from collections.abc import Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from api.kb.documents import read_citations
from api.routes.procedures import Detail
from models import NeedleLength, Procedure, Step

ROLLER = "at-home-derma-roller"
PEN = "in-office-microneedling-pen"
DOCTORS_ROLLER = "in-office-derma-roller"
GENERAL = "scalp-microneedling"


class TestListProcedures:
    def test_lists_the_hierarchy(self, client: TestClient) -> None:
        body = client.get("/v1/procedures").json()
        assert body["total"] == 10
        by_slug = {p["slug"]: p for p in body["items"]}
        assert by_slug[GENERAL]["parent"] is None
        assert by_slug[ROLLER]["parent"] == GENERAL
        assert by_slug["microneedling-with-prp"]["kind"] == "combination"

    def test_needle_lengths_per_source(self, client: TestClient) -> None:
        by_slug = {p["slug"]: p for p in client.get("/v1/procedures").json()["items"]}
        assert (
            by_slug[ROLLER]["needle_length_min_mm"],
            by_slug[ROLLER]["needle_length_max_mm"],
        ) == (0.1, 0.1)
        assert by_slug[PEN]["needle_length_min_mm"] == 0.5
        assert by_slug[PEN]["needle_length_max_mm"] == 1.5
        assert by_slug[DOCTORS_ROLLER]["needle_length_min_mm"] == 0.25
        assert by_slug[DOCTORS_ROLLER]["needle_length_max_mm"] == 3.0

    def test_filter_by_setting(self, client: TestClient) -> None:
        items = client.get("/v1/procedures", params={"setting": "at-home"}).json()["items"]
        assert {p["slug"] for p in items} >= {ROLLER, "at-home-dermapen"}
        assert all(p["setting"] == "at-home" for p in items)

    def test_filter_by_parent_and_kind(self, client: TestClient) -> None:
        items = client.get("/v1/procedures", params={"parent": GENERAL, "kind": "variant"}).json()[
            "items"
        ]
        assert {p["slug"] for p in items} == {ROLLER, PEN, DOCTORS_ROLLER, "at-home-dermapen"}

    def test_filter_by_source(self, client: TestClient) -> None:
        items = client.get(
            "/v1/procedures", params={"source": "microneedling-of-the-scalp"}
        ).json()["items"]
        assert "microneedling-before-low-level-laser-therapy" in {p["slug"] for p in items}
        assert ROLLER not in {p["slug"] for p in items}

    def test_bad_setting_is_422_naming_it(self, client: TestClient) -> None:
        r = client.get("/v1/procedures", params={"setting": "spa"})
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["loc"] == ["query", "setting"]

    def test_unknown_parent_is_422_naming_it(self, client: TestClient) -> None:
        r = client.get("/v1/procedures", params={"parent": "nope"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "parent"]

    def test_pages_follow_next_links_to_the_end(self, client: TestClient) -> None:
        seen, url = [], "/v1/procedures?limit=2"
        while url:
            body = client.get(url).json()
            assert len(body["items"]) <= 2 and body["total"] == 10
            seen += [p["slug"] for p in body["items"]]
            url = body["next"]
        assert len(seen) == 10 and seen == sorted(seen)

    def test_forged_cursor_is_422(self, client: TestClient) -> None:
        r = client.get("/v1/procedures", params={"cursor": "%%%"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["query", "cursor"]


class TestGetProcedure:
    def test_protocol_steps_in_order_each_cited(self, client: TestClient) -> None:
        body = client.get(f"/v1/procedures/{PEN}").json()
        protocol = [s for s in body["steps"] if s["kind"] == "protocol"]
        assert len(protocol) == 6
        assert [s["position"] for s in body["steps"]] == sorted(
            s["position"] for s in body["steps"]
        )
        assert all(s["citations"] for s in body["steps"])
        assert "anesthetic" in protocol[0]["text"].lower()

    def test_lineage_variants_and_citations(self, client: TestClient) -> None:
        general = client.get(f"/v1/procedures/{GENERAL}").json()
        assert {ROLLER, PEN, "microneedling-with-minoxidil"} <= set(general["variants"])
        roller = client.get(f"/v1/procedures/{ROLLER}").json()
        assert roller["lineage"] == [GENERAL]
        assert roller["needle_lengths"][0]["citations"][0]["excerpt"].startswith(
            "At-home rollers are only 0.1"
        )
        assert {c["about"] for c in roller["citations"]} >= {"setting", "frequency"}

    def test_children_are_the_published_ones_in_their_order_with_their_citations(
        self, client: TestClient, session: Session
    ) -> None:
        """Variants by slug, needle lengths by id, steps by position (read in one union),
        against the ORM's own reading of the tables; one step and one variant unpublished.
        Each cited subject's citations (read from `citation_list`) as the citation table has
        them, in their stored order."""

        def cited(
            subject_type: str, subjects: Sequence[Procedure | NeedleLength | Step]
        ) -> list[list[dict[str, str | None]]]:
            ids = [subject.id for subject in subjects if subject.id is not None]
            stored = read_citations(session, subject_type, ids)
            return [[{"about": None} | c for c in stored[i]] for i in ids]

        general = session.exec(select(Procedure).where(Procedure.slug == GENERAL)).one()
        session.exec(update(Procedure).where(col(Procedure.slug) == ROLLER).values(status="draft"))
        first_step = session.exec(
            select(Step).where(Step.procedure_id == general.id).order_by(col(Step.position))
        ).first()
        assert first_step is not None
        first_step.status = "draft"
        session.add(first_step)
        session.flush()

        cited_subjects: list[dict[str, Any]] = []
        for procedure in session.exec(select(Procedure).where(Procedure.status == "published")):
            body = client.get(f"/v1/procedures/{procedure.slug}", params={"cb": "1"}).json()
            children = session.exec(
                select(Procedure).where(
                    Procedure.parent_id == procedure.id, Procedure.status == "published"
                )
            ).all()
            lengths = session.exec(
                select(NeedleLength)
                .where(
                    NeedleLength.procedure_id == procedure.id, NeedleLength.status == "published"
                )
                .order_by(col(NeedleLength.id))
            ).all()
            steps = session.exec(
                select(Step)
                .where(Step.procedure_id == procedure.id, Step.status == "published")
                .order_by(col(Step.position))
            ).all()
            assert body["variants"] == sorted(c.slug for c in children)
            assert [(n["min_mm"], n["max_mm"]) for n in body["needle_lengths"]] == [
                (n.min_mm, n.max_mm) for n in lengths
            ]
            assert [(s["kind"], s["position"], s["text"]) for s in body["steps"]] == [
                (s.kind, s.position, s.text) for s in steps
            ]
            assert [body["citations"]] == cited("procedure", [procedure])
            assert [n["citations"] for n in body["needle_lengths"]] == cited(
                "needle_length", lengths
            )
            assert [s["citations"] for s in body["steps"]] == cited("step", steps)
            cited_subjects += [body, *body["needle_lengths"], *body["steps"]]
        assert sum(bool(subject["citations"]) for subject in cited_subjects) > 20
        assert ROLLER not in client.get(f"/v1/procedures/{GENERAL}").json()["variants"]
        assert first_step.text not in [
            s["text"] for s in client.get(f"/v1/procedures/{GENERAL}").json()["steps"]
        ]

    def test_every_detail_is_its_response_models_rendering(self, client: TestClient) -> None:
        """The detail is sent as read (`Prevalidated`): byte for byte what validating it against
        its response model and rendering that would give."""
        slugs = [p["slug"] for p in client.get("/v1/procedures?limit=100").json()["items"]]
        assert len(slugs) == 10
        for slug in slugs:
            body = client.get(f"/v1/procedures/{slug}").content
            assert body == Detail.model_validate_json(body).model_dump_json(by_alias=True).encode()
        shaped = client.get(f"/v1/procedures/{ROLLER}", params={"fields": "slug,citations"})
        assert list(shaped.json()) == ["slug", "citations"]
        assert all("about" in c for c in shaped.json()["citations"])

    def test_reads_the_procedure_and_its_children_with_citations_and_the_lineage_once(
        self, client: TestClient, count_statements: list[str]
    ) -> None:
        def queries() -> list[str]:
            return [s for s in count_statements if "kb_revision" not in s]

        assert client.get(f"/v1/procedures/{PEN}").json()["steps"][0]["citations"]
        first = queries()
        assert not any("FROM citation " in s or "JOIN citation " in s for s in first)
        assert sum("citation_list" in s for s in first) == 2
        count_statements.clear()
        assert client.get(f"/v1/procedures/{PEN}", params={"cb": "1"}).status_code == 200
        # the procedure, its children, each with its citations: the lineage remembered
        assert len(queries()) == len(first) - 1 == 2

    def test_unknown_slug_is_404_problem(self, client: TestClient) -> None:
        r = client.get("/v1/procedures/no-such-thing")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["status"] == 404


class TestProcedureSideEffects:
    def test_includes_inherited(self, client: TestClient) -> None:
        body = client.get(f"/v1/procedures/{ROLLER}/side-effects").json()
        rows = body["items"]
        direct = {r["slug"] for r in rows if r["inherited_from"] is None}
        inherited = {r["slug"] for r in rows if r["inherited_from"] == GENERAL}
        assert "redness" in direct
        assert {"bleeding", "swollen-lymph-nodes", "pigment-changes"} <= inherited
        assert body["total"] == len(rows)
        assert all(r["citations"] and r["citations"][0]["excerpt"] for r in rows)
        # direct rows come first
        kinds = [r["inherited_from"] is None for r in rows]
        assert kinds == sorted(kinds, reverse=True)

    def test_inherited_false_leaves_them_out(self, client: TestClient) -> None:
        rows = client.get(
            f"/v1/procedures/{ROLLER}/side-effects", params={"inherited": "false"}
        ).json()["items"]
        assert rows and all(r["inherited_from"] is None and r["procedure"] == ROLLER for r in rows)

    def test_general_procedure_has_nothing_inherited(self, client: TestClient) -> None:
        rows = client.get(f"/v1/procedures/{GENERAL}/side-effects").json()["items"]
        assert len(rows) >= 12 and all(r["inherited_from"] is None for r in rows)

    def test_costs_a_fixed_number_of_statements(
        self, client: TestClient, count_statements: list[str]
    ) -> None:
        def queries() -> list[str]:
            # Besides the one-row revision read every public GET makes for HTTP caching.
            return [s for s in count_statements if "kb_revision" not in s]

        client.get(f"/v1/procedures/{GENERAL}/side-effects")
        many = len(queries())
        count_statements.clear()
        client.get("/v1/procedures/at-home-dermapen/side-effects?inherited=false")
        assert len(queries()) == many <= 3

    def test_the_lineage_is_read_once_a_revision(
        self, client: TestClient, session: Session, count_statements: list[str]
    ) -> None:
        def lineage_reads() -> int:
            return sum("parent_id" in s for s in count_statements)

        url = f"/v1/procedures/{ROLLER}/side-effects"
        assert client.get(url).json()["items"][-1]["inherited_from"] == GENERAL
        assert lineage_reads() == 1
        assert client.get(url, params={"cb": "1"}).status_code == 200
        assert lineage_reads() == 1
        # An edit of the hierarchy (its trigger moves the revision): read again, and it shows.
        session.execute(
            text("UPDATE procedure SET parent_id = NULL WHERE slug = :s"), {"s": ROLLER}
        )
        count_statements.clear()
        rows = client.get(url, params={"cb": "2"}).json()["items"]
        assert lineage_reads() == 1
        assert rows and all(r["inherited_from"] is None for r in rows)

    def test_unknown_slug_is_404(self, client: TestClient) -> None:
        assert client.get("/v1/procedures/nope/side-effects").status_code == 404


class TestDistinctRelations:
    RELATIONS = ("side-effects", "contraindications", "ingredients", "conditions")

    def test_one_row_per_term_on_the_roller(self, client: TestClient) -> None:
        url = f"/v1/procedures/{ROLLER}/side-effects"
        rows = client.get(url).json()["items"]
        body = client.get(url, params={"distinct": "true"}).json()
        merged = body["items"]
        assert len(rows) > len(merged) == body["total"] == len({r["slug"] for r in rows})
        assert [m["slug"] for m in merged] == list(dict.fromkeys(r["slug"] for r in rows))
        for row in merged:
            listings = [r for r in rows if r["slug"] == row["slug"]]
            assert row["listed_for"] == [r["procedure"] for r in listings]
            assert row["inherited_from"] == (None if ROLLER in row["listed_for"] else GENERAL)
            assert row["citations"] == [
                {**c, "procedure": r["procedure"]} for r in listings for c in r["citations"]
            ]
        both = next(m for m in merged if len(m["listed_for"]) == 2)
        assert both["listed_for"] == [ROLLER, GENERAL] and both["inherited_from"] is None

    @pytest.mark.parametrize("relation", RELATIONS)
    def test_every_relation_without_repeats(self, client: TestClient, relation: str) -> None:
        url = f"/v1/procedures/{ROLLER}/{relation}"
        merged = client.get(url, params={"distinct": "true"}).json()["items"]
        keys = [(m["slug"], m.get("level"), m.get("role")) for m in merged]
        assert len(keys) == len(set(keys))
        assert all(c["procedure"] in m["listed_for"] for m in merged for c in m["citations"])

    def test_filters_apply_before_merging(self, client: TestClient) -> None:
        url = f"/v1/procedures/{ROLLER}/contraindications"
        merged = client.get(url, params={"distinct": "true", "level": "avoid"}).json()["items"]
        assert merged and all(m["level"] == "avoid" for m in merged)

    def test_bad_value_is_422(self, client: TestClient) -> None:
        r = client.get(f"/v1/procedures/{ROLLER}/side-effects", params={"distinct": "perhaps"})
        assert r.status_code == 422


class TestProcedureContraindications:
    def test_levels_distinguish_avoid_and_consult(self, client: TestClient) -> None:
        rows = client.get(f"/v1/procedures/{ROLLER}/contraindications").json()["items"]
        assert {r["level"] for r in rows} == {"avoid", "consult"}
        avoid = client.get(f"/v1/procedures/{ROLLER}/contraindications?level=avoid").json()["items"]
        assert avoid and all(r["level"] == "avoid" for r in avoid)
        assert "pregnancy-or-breastfeeding" in {r["slug"] for r in avoid}


class TestProcedureIngredients:
    def test_pen_protocol_ingredients_with_roles(self, client: TestClient) -> None:
        rows = client.get(f"/v1/procedures/{PEN}/ingredients").json()["items"]
        roles = {(r["slug"], r["role"]) for r in rows}
        assert ("povidone-iodine", "skin-antisepsis") in roles
        assert any(role == "numbing" for _, role in roles)
        assert any(role == "infection-prevention" for _, role in roles)

    def test_role_filter(self, client: TestClient) -> None:
        rows = client.get(f"/v1/procedures/{GENERAL}/ingredients?role=avoid-afterwards").json()[
            "items"
        ]
        assert {"retinols", "glycolic-acid"} <= {r["slug"] for r in rows}


class TestProcedureQuotesAndConditions:
    def test_roller_quotes_include_inherited(self, client: TestClient) -> None:
        rows = client.get(f"/v1/procedures/{ROLLER}/quotes").json()["items"]
        assert "goldstein-at-home-roller-depth" in {
            q["slug"] for q in rows if q["inherited_from"] is None
        }
        assert any(q["inherited_from"] == GENERAL for q in rows)
        assert all(q["citations"][0]["excerpt"] == q["text"] for q in rows)

    def test_conditions_of_general(self, client: TestClient) -> None:
        rows = client.get(f"/v1/procedures/{GENERAL}/conditions").json()["items"]
        assert {"androgenetic-alopecia", "alopecia-areata"} <= {r["slug"] for r in rows}

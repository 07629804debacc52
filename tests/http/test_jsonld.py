"""`Accept: application/ld+json`: schema.org markup that parses as JSON-LD, statements cited."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld
from sqlalchemy import update
from sqlmodel import Session, col

from models import Expert

SCHEMA = "https://schema.org/"
LD = {"Accept": "application/ld+json"}


def schema_org_loader(url: str, options: Any = None) -> dict[str, Any]:
    """schema.org's context, served locally (the tests run offline): its vocabulary."""
    assert url.rstrip("/") == "https://schema.org", url
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": {"@context": {"@vocab": SCHEMA}},
    }


def graph_of(client: TestClient, url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The raw document and its flattened JSON-LD graph (every node, with absolute IRIs)."""
    r = client.get(url, headers=LD)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/ld+json")
    doc = r.json()
    flat = jsonld.flatten(doc, None, {"documentLoader": schema_org_loader})
    return doc, flat


def types_in(flat: list[dict[str, Any]]) -> set[str]:
    return {t.removeprefix(SCHEMA) for node in flat for t in node.get("@type", [])}


def node(flat: list[dict[str, Any]], id_: str) -> dict[str, Any]:
    return next(n for n in flat if n["@id"] == id_)


class TestJsonLd:
    def test_procedure_is_a_medical_therapy_with_outcomes_and_contraindications(
        self, client: TestClient
    ) -> None:
        # MedicalTherapy: the MedicalProcedure subtype whose domain holds adverseOutcome and
        # contraindication (MedicalProcedure itself has neither). The at-home roller has
        # preparation, protocol and aftercare steps of its own.
        doc, flat = graph_of(client, "/v1/procedures/at-home-derma-roller")
        assert doc["@context"] == "https://schema.org"
        me = node(flat, doc["@id"])
        assert me["@type"] == [SCHEMA + "MedicalTherapy"]
        for prop in (
            "adverseOutcome",
            "contraindication",
            "howPerformed",
            "preparation",
            "followup",
        ):
            assert me.get(SCHEMA + prop), prop
        assert {"MedicalEntity", "MedicalContraindication", "CreativeWork", "Article"} <= (
            types_in(flat)
        )
        redness = node(flat, "http://testserver/v1/side-effects/redness")
        assert redness[SCHEMA + "subjectOf"]

    def test_every_statement_cites_a_source_article(self, client: TestClient) -> None:
        doc, flat = graph_of(client, "/v1/procedures/scalp-microneedling")
        for outcome in doc["adverseOutcome"] + doc["contraindication"]:
            assert outcome["subjectOf"], outcome["name"]
            for excerpt in outcome["subjectOf"]:
                assert excerpt["isPartOf"]["@type"] == "Article"
                assert excerpt["isPartOf"]["@id"].startswith("http://testserver/v1/sources/")
                assert excerpt["text"]

    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("/v1/ingredients/minoxidil", "Drug"),
            ("/v1/ingredients/platelet-rich-plasma", "MedicalTherapy"),
            ("/v1/conditions/androgenetic-alopecia", "MedicalCondition"),
            ("/v1/experts/bertha-baum", "Person"),
            ("/v1/quotes/baum-scalp-health-role", "Quotation"),
        ],
    )
    def test_each_kind_has_its_schema_org_type(
        self, client: TestClient, url: str, expected: str
    ) -> None:
        _, flat = graph_of(client, url)
        assert node(flat, "http://testserver" + url)["@type"] == [SCHEMA + expected]

    def test_a_quotation_names_speaker_and_source(self, client: TestClient) -> None:
        doc, flat = graph_of(client, "/v1/quotes/baum-scalp-health-role")
        me = node(flat, doc["@id"])
        speaker = node(flat, me[SCHEMA + "spokenByCharacter"][0]["@id"])
        assert speaker["@type"] == [SCHEMA + "Person"]
        source = node(flat, me[SCHEMA + "isBasedOn"][0]["@id"])
        assert source["@type"] == [SCHEMA + "Article"]
        assert me[SCHEMA + "text"][0]["@value"].startswith("Scalp health plays a crucial role")

    def test_a_drugs_side_effects_are_those_of_a_therapy_with_it(self, client: TestClient) -> None:
        # schema.org gives a Drug no adverseOutcome: the therapy with the drug has them.
        doc, flat = graph_of(client, "/v1/ingredients/minoxidil")
        drug, therapy = doc["@graph"]
        assert drug["@type"] == "Drug" and "Rogaine" in drug["alternateName"]
        assert "adverseOutcome" not in drug
        assert therapy["@type"] == "MedicalTherapy"
        assert therapy["drug"] == {"@id": drug["@id"]}
        assert therapy["adverseOutcome"]
        assert all(o["subjectOf"] for o in therapy["adverseOutcome"])
        assert node(flat, therapy["@id"])[SCHEMA + "drug"] == [{"@id": drug["@id"]}]

    def test_an_ingredients_uses_are_excerpts_about_the_procedure(self, client: TestClient) -> None:
        doc, _ = graph_of(client, "/v1/ingredients/platelet-rich-plasma")
        assert "relevantProcedure" not in doc
        assert doc["adverseOutcome"] is not None
        uses = [e for e in doc["subjectOf"] if "about" in e]
        assert uses
        for excerpt in uses:
            assert excerpt["text"] and excerpt["isPartOf"]["@type"] == "Article"
            assert excerpt["about"]["@type"] == "MedicalTherapy"
            assert excerpt["about"]["@id"].startswith("http://testserver/v1/procedures/")

    def test_a_conditions_treatments_are_therapies(self, client: TestClient) -> None:
        doc, _ = graph_of(client, "/v1/conditions/androgenetic-alopecia")
        assert doc["possibleTreatment"]
        for treatment in doc["possibleTreatment"]:
            assert treatment["@type"] == "MedicalTherapy"
            assert treatment["subjectOf"]

    def test_plain_json_stays_the_default(self, client: TestClient) -> None:
        r = client.get("/v1/procedures/scalp-microneedling")
        assert r.headers["content-type"] == "application/json"
        assert "@context" not in r.json()

    def test_json_and_json_ld_have_different_etags(self, client: TestClient) -> None:
        url = "/v1/experts/bertha-baum"
        plain = client.get(url).headers["etag"]
        ld = client.get(url, headers=LD)
        assert ld.headers["etag"] != plain
        again = client.get(url, headers={**LD, "If-None-Match": ld.headers["etag"]})
        assert again.status_code == 304
        assert client.get(url, headers={"If-None-Match": ld.headers["etag"]}).status_code == 200

    def test_unknown_slug_is_still_problem_json(self, client: TestClient) -> None:
        r = client.get("/v1/procedures/nope", headers=LD)
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"

    def test_stored_text_cannot_close_the_script_element(
        self, client: TestClient, session: Session
    ) -> None:
        """A site pastes the answer into <script type="application/ld+json">: no text in it may
        end that element or a JavaScript line, and the JSON parses to the same value."""
        name = "</script><script>alert(1)</script> & <!-- \u2028\u2029"
        session.execute(update(Expert).where(col(Expert.slug) == "bertha-baum").values(name=name))
        r = client.get("/v1/experts/bertha-baum", headers=LD)
        assert r.status_code == 200
        assert not set(r.text) & set("<>&\u2028\u2029"), r.text
        assert "\\u003c/script\\u003e" in r.text
        assert r.json()["name"] == name

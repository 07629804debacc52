"""The OpenAPI document as client generators read it: names, problems, headers, content types."""

import re
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.kb.include import RELATIONS
from api.main import app

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
DETAILS = {
    "/v1/procedures/{slug}": "procedure",
    "/v1/ingredients/{slug}": "ingredient",
    "/v1/conditions/{slug}": "condition",
    "/v1/experts/{slug}": "expert",
    "/v1/quotes/{slug_or_id}": "quote",
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]


def schema_of(document: dict[str, Any], ref: str) -> dict[str, Any]:
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


class TestNames:
    def test_operation_ids_are_readable_and_unique(self, document: dict[str, Any]) -> None:
        ids = [op["operationId"] for _, _, op in operations(document)]
        assert [i for i, n in Counter(ids).items() if n > 1] == []
        assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", i) for i in ids), ids
        by_route = {(m, p): op["operationId"] for p, m, op in operations(document)}
        assert by_route["get", "/v1/procedures"] == "procedures_list"
        assert by_route["get", "/v1/procedures/{slug}"] == "procedures_get"
        assert by_route["get", "/v1/procedures/{slug}/side-effects"] == "procedures_side_effects"
        assert by_route["post", "/v1/admin/procedures"] == "admin_procedures_create"
        assert by_route["patch", "/v1/admin/side-effects/{slug}"] == "admin_side_effects_update"
        assert (
            by_route["post", "/v1/admin/procedures/{slug}/contraindications"]
            == "admin_procedures_contraindications_add"
        )

    def test_schema_names_carry_no_module_path(self, document: dict[str, Any]) -> None:
        names = list(document["components"]["schemas"])
        assert [n for n in names if "__" in n] == []

    def test_summaries_take_the_right_article(self, document: dict[str, Any]) -> None:
        summaries = [op.get("summary", "") for _, _, op in operations(document)]
        assert "Create an expert (as a draft)" in summaries
        assert "Create a side effect (as a draft)" in summaries
        assert [s for s in summaries if re.search(r"\ba [aeiou]", s)] == []


class TestProblems:
    def test_every_error_answer_is_a_problem(self, document: dict[str, Any]) -> None:
        for path, method, op in operations(document):
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert response["content"] == PROBLEM, (method, path, status)
        assert "HTTPValidationError" not in document["components"]["schemas"]
        assert document["components"]["schemas"]["Problem"]["required"] == ["title", "status"]


class TestHeaders:
    def test_public_reads_declare_etag_cache_control_link_and_304(
        self, document: dict[str, Any]
    ) -> None:
        listing = document["paths"]["/v1/procedures"]["get"]
        assert set(listing["responses"]["200"]["headers"]) == {"ETag", "Cache-Control", "Link"}
        assert set(listing["responses"]["304"]["headers"]) == {"ETag", "Cache-Control"}
        assert listing["responses"]["200"]["headers"]["ETag"]["required"] is True
        assert "If-None-Match" in [p["name"] for p in listing["parameters"]]
        detail = document["paths"]["/v1/procedures/{slug}"]["get"]["responses"]
        assert set(detail["200"]["headers"]) == {"ETag", "Cache-Control"}

    def test_retry_after_on_429_and_503(self, document: dict[str, Any]) -> None:
        for _, _, op in operations(document):
            for status in ("429", "503"):
                assert "Retry-After" in op["responses"][status]["headers"]

    def test_admin_answers_declare_no_store_and_entries_their_etag(
        self, document: dict[str, Any]
    ) -> None:
        get = document["paths"]["/v1/admin/procedures/{slug}"]["get"]["responses"]
        assert set(get["200"]["headers"]) == {"Cache-Control", "ETag"}
        assert "304" not in get
        assert "Cache-Control" in get["404"]["headers"]

    def test_declared_headers_are_sent(self, client: TestClient) -> None:
        r = client.get("/v1/procedures", params={"limit": 1})
        assert {"etag", "cache-control", "link"} <= set(r.headers)
        again = client.get(
            "/v1/procedures", params={"limit": 1}, headers={"If-None-Match": r.headers["etag"]}
        )
        assert again.status_code == 304
        assert {"etag", "cache-control"} <= set(again.headers)


class TestContent:
    @pytest.mark.parametrize("path", sorted(DETAILS))
    def test_json_ld_is_its_own_content_type(self, document: dict[str, Any], path: str) -> None:
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["application/ld+json"]["schema"] == {"$ref": "#/components/schemas/JsonLd"}
        json_schema = schema_of(document, content["application/json"]["schema"]["$ref"])
        assert "name" in json_schema["required"] or "text" in json_schema["required"]

    def test_full_types_keep_their_required_fields(self, document: dict[str, Any]) -> None:
        schemas = document["components"]["schemas"]
        assert {"slug", "name", "steps", "citations"} <= set(schemas["ProcedureDetail"]["required"])
        assert {"slug", "name", "setting"} <= set(schemas["ProcedureSummary"]["required"])
        for name in ("Page_ProcedureSummary_", "AdminPage"):
            assert schemas[name]["required"] == ["items", "total", "next"], name
        fields = next(
            p
            for p in document["paths"]["/v1/procedures"]["get"]["parameters"]
            if p["name"] == "fields"
        )
        assert "required or not" in fields["description"]

    @pytest.mark.parametrize("kind", sorted(RELATIONS))
    def test_included_lists_each_relation(self, document: dict[str, Any], kind: str) -> None:
        noun = "".join(w.title() for w in kind.split("_"))
        schemas = document["components"]["schemas"]
        included = schemas[f"{noun}Included"]
        assert set(included["properties"]) == set(RELATIONS[kind])
        assert "included" in schemas[f"{noun}Detail"]["properties"]
        assert "included" not in schemas[f"{noun}Detail"]["required"]

    def test_included_is_absent_unless_asked_for(self, client: TestClient) -> None:
        plain = client.get("/v1/procedures/scalp-microneedling").json()
        assert "included" not in plain
        asked = client.get("/v1/procedures/scalp-microneedling?include=side_effects").json()
        assert asked["included"]["side_effects"]

"""If-Match as the schema declares it: required where 428 answers its absence, one ETag, quoted
or bare; a malformed header is a 400 saying how to send it, never a 412 about the version."""

import pytest
from fastapi.testclient import TestClient

from api.main import app
from tests.routes.admin.conftest import Admin

ENTRY = "/v1/admin/conditions/alopecia-areata"


def if_match_parameters() -> list[tuple[str, str, dict]]:
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"] == "If-Match":
                    found.append((method, path, parameter))
    return found


def test_required_wherever_its_absence_is_428(client: TestClient, editor: Admin) -> None:
    declared = if_match_parameters()
    required = {(m, p) for m, p, parameter in declared if parameter["required"]}
    assert ("patch", "/v1/admin/conditions/{slug}") in required
    assert ("post", "/v1/admin/conditions/{slug}/revisions/{number}/restore") in required
    for method, path, _ in declared:
        if (method, path) not in required:
            assert method == "post" and not path.endswith(("/publish", "/unpublish", "/restore"))
    assert len(required) > 40
    r = editor.patch(ENTRY, json={"name": "Scarring"})
    assert r.status_code == 428
    assert r.headers["content-type"] == "application/problem+json"
    assert 'If-Match: "3"' in r.json()["detail"]


def test_a_missing_if_match_beside_a_bad_body_is_still_428(editor: Admin) -> None:
    assert editor.patch(ENTRY, json={"name": ""}).status_code == 428


@pytest.mark.parametrize("value", ['"1"', "1", ' "1" ', "1 "])
def test_the_version_quoted_or_bare(editor: Admin, value: str) -> None:
    r = editor.patch(ENTRY, json={"name": "Scarring"}, headers={"If-Match": value})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'


@pytest.mark.parametrize("value", ["v1", "*", '"1", "2"', '"1', "1.0", "", "W/1"])
def test_a_malformed_header_is_400_saying_how(editor: Admin, value: str) -> None:
    r = editor.patch(ENTRY, json={"name": "Scarring"}, headers={"If-Match": value})
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["errors"][0]["loc"] == ["header", "If-Match"]
    assert 'If-Match: "3"' in problem["detail"]


@pytest.mark.parametrize("value", ['"9"', 'W/"1"', '"abc"', "9"])
def test_a_well_formed_tag_of_another_version_is_412(editor: Admin, value: str) -> None:
    r = editor.patch(ENTRY, json={"name": "Scarring"}, headers={"If-Match": value})
    assert r.status_code == 412
    assert r.json()["current_version"] == 1


def test_optional_if_match_is_parsed_alike(editor: Admin) -> None:
    body = {"side_effect": "redness", "citations": []}
    r = editor.post(
        "/v1/admin/procedures/at-home-derma-roller/side-effects",
        json=body,
        headers={"If-Match": "nonsense"},
    )
    assert r.status_code == 400

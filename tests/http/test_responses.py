"""Routes that render their own JSON (api.responses.Prevalidated) answer exactly what their
response model would have produced: same fields, same values, nothing more, nothing less."""

import pytest
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from api.http.responses import Prevalidated
from api.kb import include as embed
from api.routes import procedures

PREVALIDATED = [
    r
    for r in procedures.router.routes
    if isinstance(r, APIRoute) and r.endpoint.__annotations__.get("return") is Prevalidated
]


def test_the_relation_routes_render_their_own_json() -> None:
    paths = {r.path for r in PREVALIDATED}
    assert {
        f"/procedures/{{slug}}/{n}"
        for n in ("side-effects", "contraindications", "ingredients", "conditions")
    } <= paths


@pytest.mark.parametrize("route", PREVALIDATED, ids=lambda r: r.path)
@pytest.mark.parametrize("inherited", ["true", "false"])
def test_answer_is_what_the_response_model_gives(
    client: TestClient, route: APIRoute, inherited: str
) -> None:
    model = TypeAdapter(route.response_model)
    slugs = [p["slug"] for p in client.get("/v1/procedures?limit=100").json()["items"]]
    rows = 0
    for slug in slugs:
        answer = client.get("/v1" + route.path.format(slug=slug), params={"inherited": inherited})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body == model.dump_python(model.validate_python(body), mode="json")
        assert model.validate_json(answer.content) == model.validate_python(body)
        rows += len(body["items"])
    assert rows > 0


COLLECTION_OF = {
    "procedure": "procedures",
    "side_effect": "side-effects",
    "contraindication": "contraindications",
    "condition": "conditions",
    "ingredient": "ingredients",
    "expert": "experts",
    "source": "sources",
}


@pytest.mark.parametrize("kind", COLLECTION_OF)
def test_included_answers_are_the_json_they_always_were(client: TestClient, kind: str) -> None:
    """`?include=` renders with orjson what `jsonable_encoder` + JSONResponse rendered: the same
    bytes, for every path an entity of each kind takes, on every entity of the first page."""
    collection = COLLECTION_OF[kind]
    slugs = [i["slug"] for i in client.get(f"/v1/{collection}?limit=100").json()["items"]]
    include = ",".join(embed.paths(kind))
    compared = 0
    for slug in slugs:
        answer = client.get(f"/v1/{collection}/{slug}", params={"include": include})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        as_before = JSONResponse(jsonable_encoder(answer.json())).body
        assert answer.content == as_before
        compared += bool(answer.json()["included"])
    assert compared > 0

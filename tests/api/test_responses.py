"""Routes that render their own JSON (api.responses.Prevalidated) answer exactly what their
response model would have produced: same fields, same values, nothing more, nothing less."""

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from api.responses import Prevalidated
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

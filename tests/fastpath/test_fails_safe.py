"""The fast path fails safe and stays optional: a bypass that breaks (what a renamed framework
internal does) hands the request to the ordinary path, never a 500; and with every bypass off
the public answers are byte for byte the same."""

import pytest
from fastapi.testclient import TestClient

from api.config import Settings, settings
from api.fastpath import BYPASSES, counts, direct, prepared
from tests.fastpath.test_direct import direct_reads

PUBLIC_URLS = [
    "/v1/procedures",
    "/v1/procedures?sort=-name&limit=3",
    "/v1/procedures/at-home-derma-roller",
    "/v1/procedures/at-home-derma-roller?include=side_effects,quotes.expert,variants",
    "/v1/procedures/at-home-derma-roller?fields=name,setting",
    "/v1/procedures/at-home-derma-roller/side-effects",
    "/v1/procedures/at-home-derma-roller/side-effects?inherited=false",
    "/v1/procedures/scalp-microneedling/contraindications?level=avoid",
    "/v1/procedures/scalp-microneedling/ingredients?role=aftercare",
    "/v1/procedures/scalp-microneedling/conditions",
    "/v1/procedures/scalp-microneedling/quotes",
    "/v1/side-effects?procedure=at-home-derma-roller&limit=5",
    "/v1/side-effects/redness?include=procedures",
    "/v1/contraindications?level=consult",
    "/v1/ingredients/minoxidil?include=side_effects",
    "/v1/conditions/androgenetic-alopecia",
    "/v1/experts?sort=name",
    "/v1/experts/natasha-jay?include=quotes",
    "/v1/experts/natasha-jay/quotes",
    "/v1/quotes?limit=4",
    "/v1/sources",
    "/v1/sources/microneedling-of-the-scalp",
    "/v1/search?q=itching",
    "/v1/search?q=minoxdil&type=ingredient",
    "/v1/stats",
    "/v1/procedures/no-such-thing/side-effects",
    "/healthz",
    "/readyz",
]
JSONLD = ["/v1/procedures/at-home-derma-roller", "/v1/experts/natasha-jay"]


def answers(client: TestClient) -> dict[str, tuple[int, bytes]]:
    out = {}
    for url in PUBLIC_URLS:
        r = client.get(url)
        out[url] = (r.status_code, r.content)
    for url in JSONLD:
        r = client.get(url, headers={"Accept": "application/ld+json"})
        out[f"{url} (JSON-LD)"] = (r.status_code, r.content)
    return out


def test_every_bypass_off_answers_the_same(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_fast_path = answers(client)
    assert all(status in (200, 404) for status, _ in with_fast_path.values())
    monkeypatch.setattr(settings, "fastpath", False)
    assert answers(client) == with_fast_path


@pytest.mark.parametrize("bypass", BYPASSES)
def test_each_bypass_has_its_setting_on_by_default(bypass: str) -> None:
    assert Settings.model_fields[bypass].default is True


def test_direct_reads_that_cannot_be_prepared_leave_every_route_to_fastapi(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = answers(client)
    layer = direct_reads()

    def renamed(*_args: object, **_kwargs: object) -> None:
        raise AttributeError("'RouteContext' object has no attribute 'dependant'")

    monkeypatch.setattr(direct.DirectRoute, "of", renamed)
    monkeypatch.setattr(layer, "routes", None)  # prepared again at the next request
    assert answers(client) == expected
    assert layer.routes == []


def test_prepared_statements_that_fail_run_the_ordinary_way(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = answers(client)

    def renamed(*_args: object, **_kwargs: object) -> None:
        raise AttributeError("'SQLCompiler' object has no attribute 'construct_expanded_state'")

    monkeypatch.setattr(prepared.Prepared, "_bound", renamed)
    assert answers(client) == expected


def test_a_count_memo_that_fails_counts_every_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = answers(client)

    def renamed(*_args: object, **_kwargs: object) -> None:
        raise AttributeError("'Select' object has no attribute '_generate_cache_key'")

    monkeypatch.setattr(counts, "statement_key", renamed)
    counts.memo.clear()
    assert answers(client) == expected

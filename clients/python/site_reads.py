"""A site's usual reads through the client openapi-python-client generates from SkinKB's OpenAPI,
against a live server: fails (non-zero) if an answer does not parse into its generated model.

Usage: python site_reads.py http://127.0.0.1:8000 (with the generated `skinkb_client` importable).
"""

import sys

from skinkb_client import Client
from skinkb_client.api.procedures import (
    procedures_contraindications,
    procedures_get,
    procedures_list,
)
from skinkb_client.api.search import search
from skinkb_client.models import (
    Level,
    PageProcedureContraindicationPublic,
    PageProcedureSummary,
    PageSearchHit,
    Problem,
    ProcedureDetail,
    ProcedureIncluded,
)


def main(base_url: str) -> int:
    client = Client(base_url=base_url, raise_on_unexpected_status=True)

    page = procedures_list.sync(
        client=client, limit=5, sort=procedures_list.ProceduresListSort.NAME
    )
    assert isinstance(page, PageProcedureSummary), page
    assert page.items and page.total >= len(page.items)
    print(f"{page.total} procedures, first: {page.items[0].name} ({page.items[0].setting})")

    slug = "scalp-microneedling"
    detail = procedures_get.sync(slug, client=client, include="side_effects,quotes.expert")
    assert isinstance(detail, ProcedureDetail), detail
    assert isinstance(detail.included, ProcedureIncluded), detail.included
    effects = detail.included.side_effects
    assert isinstance(effects, list) and effects, effects
    print(f"{detail.name}: {len(detail.citations)} citations, side effects: {effects[0].name}, ...")

    avoid = procedures_contraindications.sync(slug, client=client, level=Level.AVOID)
    assert isinstance(avoid, PageProcedureContraindicationPublic), avoid
    assert all(c.level == Level.AVOID for c in avoid.items)
    print(f"avoid when: {', '.join(c.name for c in avoid.items)}")

    hits = search.sync(client=client, q="redness")
    assert isinstance(hits, PageSearchHit), hits
    assert hits.items, "no hit for 'redness'"
    print(f"search 'redness': {hits.items[0].type_} {hits.items[0].slug}")

    missing = procedures_get.sync("no-such-procedure", client=client)
    assert isinstance(missing, Problem) and missing.status == 404, missing
    print(f"unknown slug: {missing.status} {missing.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

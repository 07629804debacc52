"""The changes feed: what was published, updated, unpublished or deleted after a revision."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PageDep, SessionDep, off_the_loop
from api.errors import InvalidParameter
from api.http.paging import link_next, next_url
from api.http.problems import problem_responses
from api.kb import changes
from models.change import ChangesPage

router = APIRouter(prefix="/changes", tags=["changes"])
REVISION_MAX = 2**63 - 1
Since = Annotated[
    int,
    Query(
        ge=0,
        le=REVISION_MAX,
        description="The knowledge-base revision the app last saw (the `revision` of the "
        "last page of its previous answer); 0: from the oldest change kept.",
    ),
]


def _after(key: list[str] | None) -> tuple[int, int] | None:
    if key is None:
        return None
    if len(key) != 2 or not all(k.isdigit() and int(k) <= REVISION_MAX for k in key):
        raise InvalidParameter("cursor", "cursor is not one this API handed out")
    return int(key[0]), int(key[1])


@router.get("", response_model=ChangesPage, responses=problem_responses(410, 422))
@off_the_loop
def list_changes(session: SessionDep, page: PageDep, since: Since = 0) -> dict:
    """Changes after revision `since`, oldest first, and the current `revision`: follow `next`
    to the last page, keep its `revision`, and ask with it next time. Deletions and
    withdrawals are kept for SKINKB_CHANGES_RETENTION_DAYS; an older `since` answers 410: resync.
    """
    feed = changes.changes_since(session, since, page.limit, _after(page.after))
    url = None
    if feed.next_key is not None:
        url = next_url(page.request.url, [str(k) for k in feed.next_key])
        page.response.headers["Link"] = link_next(url)
    return {"items": feed.items, "next": url, "revision": feed.revision}

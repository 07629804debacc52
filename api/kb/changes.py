"""The changes feed: what the public could see change, in the order it committed.

Every publish, update of a published entry, unpublish and deletion of a published entry is
recorded in the transaction of the change, at the knowledge-base revision it commits at, and
its webhook events are put in the outbox there too (api.kb.webhooks). An app syncs by asking
for the changes after the last revision it saw. Changes older than the retention period are
pruned as new ones come; the horizon says which `since` can still be answered completely.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlmodel import Session, col

from api.config import settings
from api.errors import Gone
from api.kb import webhooks
from models import Change, ChangeHorizon, Status
from models.base import utcnow
from models.search import kb_revision

PUBLISHED = Status.published.value


def public_action(
    action: str, status_before: str | None, status_now: str, existed: bool
) -> str | None:
    """What an editing action (`record`'s) did to what the public sees, or None if nothing."""
    if action == "publish":
        return "updated" if status_before == PUBLISHED else "published"
    if action == "unpublish":
        return "unpublished"
    if action == "delete":
        return "deleted" if status_now == PUBLISHED else None
    if action in ("cascade", "import") and status_now == PUBLISHED:
        return "updated" if existed else "published"
    return None


def entry_url(collection: str, slug: str) -> str:
    """Where the public reads the entry (relative unless SKINKB_PUBLIC_BASE_URL is set)."""
    return f"{settings.public_base_url.rstrip('/')}/v1/{collection}/{slug}"


def current_revision(session: Session) -> int:
    return int(session.scalar(select(kb_revision.c.revision).where(kb_revision.c.id == 1)) or 0)


def record_change(session: Session, type_: str, collection: str, slug: str, action: str) -> None:
    """A change the public can see, at the revision the transaction is at after its writes
    (reading it flushes them), with its webhook events; old changes are pruned meanwhile."""
    revision = current_revision(session)
    change = Change(revision=revision, type=type_, collection=collection, slug=slug, action=action)
    session.add(change)
    webhooks.enqueue(session, change, entry_url(collection, slug))
    _prune(session)


def _prune(session: Session) -> None:
    cutoff = utcnow() - timedelta(days=settings.changes_retention_days)
    last = session.scalar(select(func.max(Change.revision)).where(col(Change.at) < cutoff))
    if last is None:
        return
    session.execute(delete(Change).where(col(Change.revision) <= last))
    session.execute(
        update(ChangeHorizon)
        .where(col(ChangeHorizon.id) == 1, col(ChangeHorizon.revision) < last)
        .values(revision=last)
    )


def horizon(session: Session) -> int:
    return int(
        session.scalar(select(col(ChangeHorizon.revision)).where(col(ChangeHorizon.id) == 1)) or 0
    )


@dataclass
class Feed:
    items: list[dict[str, Any]]
    next_key: tuple[int, int] | None
    revision: int


def changes_since(
    session: Session, since: int, limit: int, after: tuple[int, int] | None = None
) -> Feed:
    """Changes committed after revision `since`, oldest first, up to the current revision;
    `after` is the (revision, id) of the last one of the previous page. 410 when changes after
    `since` may have been pruned. The feed's revision is that of the newest public change (or
    `since`, if later): what to ask with next time."""
    revision = current_revision(session)
    kept_from = horizon(session)
    if since < kept_from:
        raise Gone(
            f"Changes at or before revision {kept_from} are no longer kept (they are kept "
            f"{settings.changes_retention_days} days): resync from the collections, then ask "
            f"for the changes since the revision of this answer.",
            revision=revision,
            oldest_since=kept_from,
        )
    stmt = select(Change).where(col(Change.revision) > since, col(Change.revision) <= revision)
    if after is not None:
        stmt = stmt.where(
            (col(Change.revision) > after[0])
            | ((col(Change.revision) == after[0]) & (col(Change.id) > after[1]))
        )
    rows = session.scalars(
        stmt.order_by(col(Change.revision), col(Change.id)).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "type": r.type,
            "slug": r.slug,
            "action": r.action,
            "revision": r.revision,
            "url": entry_url(r.collection, r.slug),
        }
        for r in rows
    ]
    next_key = (rows[-1].revision, rows[-1].id) if more else None
    # Not the counter itself: drafts bump it too, and the public must not see them come and go.
    # The newest public change is as good a `since` for the next ask: later ones come after it.
    last = session.scalar(select(func.max(Change.revision)).where(col(Change.revision) <= revision))
    return Feed(items, next_key, max(since, last or 0))  # type: ignore[arg-type]

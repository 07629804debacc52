"""What cites a source, and whether a new text of it still holds every excerpt cited from it.

A citation is only worth its excerpt if the source says it verbatim, so a source's text may change
only while every citation of it (stored, of any status, or waiting in a pending edit; quote texts
included) still matches the new text.
"""

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, SQLModel, col

from api.kb.citations import is_verbatim
from api.kb.documents import KIND_BY_FILE, KINDS, TABLES, Kind
from models import Citation, NeedleLength, PendingEdit, Quote, Source, Step

# Whose citations a subject type holds: (kind, subject type, the child row cited, its owner column);
# no child when the entity itself is cited.
_OWNERS: list[tuple[str, str, type[SQLModel] | None, str | None]] = [
    ("expert", "expert", None, None),
    ("procedure", "procedure", None, None),
    ("procedure", "step", Step, "procedure_id"),
    ("procedure", "needle_length", NeedleLength, "procedure_id"),
    *((k.name, lk.subject_type, lk.table, lk.owner_column) for k in KINDS for lk in k.links),
]


def entry_name(kind: Kind, slug: str) -> str:
    return f"{kind.file.replace('_', '-')}/{slug}"


def excerpts_of(kind: Kind, document: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, excerpt) of every citation in a document, a quote's own text included."""
    found = [(c["source"], c["excerpt"]) for c in document.get("citations", [])]
    for key in ("needle_lengths", "steps", *(link.key for link in kind.links)):
        for item in document.get(key, []):
            found += [(c["source"], c["excerpt"]) for c in item.get("citations", [])]
    if kind.name == "quote":
        found.append((document["source"], document["text"]))
    return found


def _stored(session: Session, source_id: int) -> list[tuple[str, str, str]]:
    """(kind, entry slug, excerpt) of the stored citations of a source, quotes included."""
    found: list[tuple[str, str, str]] = []
    for kind_name, subject_type, child, owner_column in _OWNERS:
        owner: Any = TABLES[kind_name]
        stmt = select(owner.slug, col(Citation.excerpt))
        if child is None:
            stmt = stmt.join(owner, owner.id == Citation.subject_id)
        else:
            cited: Any = child
            stmt = stmt.join(cited, cited.id == Citation.subject_id).join(
                owner, owner.id == getattr(cited, owner_column or "")
            )
        stmt = stmt.where(
            col(Citation.subject_type) == subject_type, col(Citation.source_id) == source_id
        )
        found += [(kind_name, slug, excerpt) for slug, excerpt in session.execute(stmt).all()]
    quotes = session.execute(
        select(col(Quote.slug), col(Quote.text)).where(col(Quote.source_id) == source_id)
    ).all()
    return found + [("quote", slug, text) for slug, text in quotes]


def _pending(session: Session, source: str) -> list[tuple[str, str, str]]:
    """(kind, entry slug, excerpt) of the citations of a source in pending edits."""
    found: list[tuple[str, str, str]] = []
    for pending in session.scalars(select(PendingEdit).order_by(col(PendingEdit.id))).all():
        kind = KIND_BY_FILE[pending.collection]
        table: Any = kind.table
        slug = str(session.scalar(select(table.slug).where(table.id == pending.entity_id)))
        found += [
            (kind.name, slug, excerpt)
            for cited, excerpt in excerpts_of(kind, pending.document)
            if cited == source
        ]
    return found


def unmatched(
    session: Session, source: str, text: str, rewritten: Collection[tuple[str, str]] = ()
) -> list[dict[str, Any]]:
    """Citations of the source that `text` would no longer hold verbatim: {entry, excerpt,
    pending_edit}. Stored citations of the (kind, slug) entries in `rewritten` are left out: the
    same change replaces them (an import carrying the fixed documents)."""
    source_id = session.scalar(select(col(Source.id)).where(col(Source.slug) == source))
    if source_id is None:
        return []
    kinds = {k.name: k for k in KINDS}
    stored = [(k, s, e, False) for k, s, e in _stored(session, source_id)]
    pending = [(k, s, e, True) for k, s, e in _pending(session, source)]
    out: list[dict[str, Any]] = []
    for kind_name, slug, excerpt, in_pending in stored + pending:
        if not in_pending and (kind_name, slug) in rewritten:
            continue
        if not is_verbatim(excerpt, text):
            item: dict[str, Any] = {"entry": entry_name(kinds[kind_name], slug), "excerpt": excerpt}
            if in_pending:
                item["pending_edit"] = True
            if item not in out:
                out.append(item)
    return out


def describe(source: str, broken: list[dict[str, Any]]) -> str:
    """A sentence naming the citations a new text of the source would leave unmatched."""
    listed = "; ".join(
        f"{b['entry']}{' (pending edit)' if b.get('pending_edit') else ''}: {b['excerpt'][:80]!r}"
        for b in broken
    )
    return (
        f"The new text of sources/{source} no longer holds {len(broken)} excerpt(s) cited from "
        f"it: {listed}. Change those citations first."
    )

"""Editing the knowledge base: drafts, pending edits of published entries, publishing, deletion,
links, restores and imports.

Every admin write goes through here, and every entity is written by `api.kb.documents`. Each change
claims the entity's next version atomically and records a revision and an audit event in the
same transaction; the route commits.

An entry that is published is never changed in place by an edit: the edited document waits in
`pending_edit` and replaces the published rows only when it is published, so public reads (which
see only published rows) need to know nothing about editing.
"""

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from api.errors import Conflict, NotFound, PreconditionFailed, Unprocessable
from api.kb import changes as feed
from api.kb import citing
from api.kb.audit import audit
from api.kb.bulk import LoadReport, cycle_problems, load
from api.kb.documents import (
    KIND_BY_NAME,
    KINDS,
    DocumentError,
    Kind,
    LinkKind,
    Refs,
    claim_version,
    delete_entity,
    document_references,
    read_document,
    reference_issues,
    without_reference,
    write_document,
)
from api.kb.queries import Paged, Window, page_of
from models import ApiKey, PendingEdit, Revision, Status
from models.base import utcnow

COLLECTIONS: dict[str, Kind] = {k.file.replace("_", "-"): k for k in KINDS}
PUBLISHED = Status.published.value

# Which kinds' documents may point at an entity of a kind (to find what a deletion would break).
REFERRED_BY: dict[str, tuple[str, ...]] = {
    "source": tuple(k.name for k in KINDS if k.name != "source"),
    "expert": ("quote", "position"),
    "procedure": (
        "procedure",
        "ingredient",
        "side_effect",
        "contraindication",
        "condition",
        "quote",
        "topic",
        "position",
    ),
    "ingredient": ("side_effect",),
    "topic": ("position",),
}


def collection(kind: Kind) -> str:
    return kind.file.replace("_", "-")


def entry_name(kind: Kind, slug: str) -> str:
    return f"{collection(kind)}/{slug}"


# --- reading -----------------------------------------------------------------------------------


def get_row(session: Session, kind: Kind, slug: str) -> Any:
    row = session.scalars(select(kind.table).where(kind.table.slug == slug)).first()  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(f"No {kind.name.replace('_', ' ')} with slug {slug!r}.")
    return row


def pending_of(session: Session, kind: Kind, row: Any) -> PendingEdit | None:
    return session.scalars(
        select(PendingEdit).where(
            col(PendingEdit.collection) == kind.file,
            col(PendingEdit.entity_id) == row.id,
        )
    ).first()


def working_document(
    session: Session, kind: Kind, row: Any
) -> tuple[dict[str, Any], PendingEdit | None]:
    """The document the next edit starts from: the pending edit, else what is stored."""
    pending = pending_of(session, kind, row)
    if pending is not None:
        return dict(pending.document), pending
    return read_document(session, kind, row), None


def _label(row: Any) -> str:
    for name in ("name", "title", "text"):
        value = getattr(row, name, None)
        if value:
            return str(value)[:120]
    return str(row.slug)


def summary(row: Any, pending: bool) -> dict[str, Any]:
    return {
        "slug": row.slug,
        "label": _label(row),
        "status": row.status,
        "version": row.version,
        "pending_edit": pending,
        "updated_at": row.updated_at,
    }


def admin_entry(session: Session, kind: Kind, row: Any) -> dict[str, Any]:
    """An entry as editors see it: status, version, working document, and the public one."""
    document, pending = working_document(session, kind, row)
    return {
        **summary(row, pending is not None),
        "collection": collection(kind),
        "document": document,
        "published_document": read_document(session, kind, row) if pending else None,
    }


def admin_page(session: Session, kind: Kind, page: Window, status: Status | None) -> Paged:
    table: Any = kind.table  # its columns depend on the kind
    stmt = select(table.slug)
    if status is not None:
        stmt = stmt.where(table.status == status.value)
    paged = page_of(session, stmt, table.slug, page)
    slugs = [r.slug for r in paged.rows]
    by_slug = {r.slug: r for r in session.scalars(select(table).where(table.slug.in_(slugs))).all()}
    pending = set(
        session.scalars(
            select(col(PendingEdit.entity_id)).where(
                col(PendingEdit.collection) == kind.file,
                col(PendingEdit.entity_id).in_([r.id for r in by_slug.values()]),
            )
        )
    )
    items = [summary(by_slug[s], by_slug[s].id in pending) for s in slugs]
    return paged._replace(rows=items)


def revisions(session: Session, kind: Kind, slug: str) -> list[Revision]:
    found = session.scalars(
        select(Revision)
        .where(col(Revision.collection) == kind.file, col(Revision.slug) == slug)
        .order_by(col(Revision.number))
    ).all()
    if not found:
        get_row(session, kind, slug)
    return list(found)


# --- validation --------------------------------------------------------------------------------


def _field_errors(issues: list[tuple[tuple[Any, ...], str]]) -> list[dict[str, Any]]:
    return [{"loc": ["body", *loc], "msg": msg, "type": "value_error"} for loc, msg in issues]


def validate(session: Session, kind: Kind, raw: dict[str, Any]) -> tuple[Any, Refs]:
    """The document as its `...Create` model, checked against what is stored; 422 naming fields."""
    try:
        doc: Any = kind.create.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        raise Unprocessable(_detail(errors), errors=errors) from None
    refs = Refs.load(session)
    issues = reference_issues(kind, doc, refs)
    issues += _repeated_links(kind, doc)
    if kind.name == "procedure" and cycle_problems(session, [doc]):
        issues.append((("parent",), f"the parent chain through {doc.parent!r} loops back"))
    if issues:
        errors = _field_errors(issues)
        raise Unprocessable(_detail(errors), errors=errors)
    return doc, refs


def _repeated_links(kind: Kind, doc: Any) -> list[tuple[tuple[Any, ...], str]]:
    issues: list[tuple[tuple[Any, ...], str]] = []
    for link in kind.links:
        seen = set()
        for i, item in enumerate(getattr(doc, link.key)):
            key = (getattr(item, link.target), *(getattr(item, n) for n in link.extra))
            if key in seen:
                issues.append(((link.key, i), f"lists {link.target} {key[0]!r} twice"))
            seen.add(key)
    return issues


def _detail(errors: list[dict[str, Any]]) -> str:
    return "Invalid input: " + "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors
    )


# --- history -----------------------------------------------------------------------------------


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    """Field by field: what each changed top-level field was and became."""
    before, after = before or {}, after or {}
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def record(
    session: Session,
    kind: Kind,
    row: Any,
    action: str,
    actor: ApiKey,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    status_before: str | None = None,
) -> Revision:
    """A revision of the entry and an audit event, in the transaction of the change; and, if
    the public sees the change, an entry of the changes feed and its webhook events."""
    changes = diff(before, after)
    if status_before is not None and status_before != row.status:
        changes["status"] = {"from": status_before, "to": row.status}
    last = session.scalar(
        select(func.max(Revision.number)).where(
            col(Revision.collection) == kind.file, col(Revision.slug) == row.slug
        )
    )
    revision = Revision(
        collection=kind.file,
        slug=row.slug,
        number=(last or 0) + 1,
        action=action,
        author=actor.name,
        version=row.version,
        status=row.status,
        document=after,
        diff=changes,
    )
    session.add(revision)
    audit(
        session,
        actor.name,
        action,
        entry_name(kind, row.slug),
        version=row.version,
        revision=revision.number,
        fields=sorted(changes),
    )
    public = feed.public_action(action, status_before, row.status, before is not None)
    if public is not None:
        feed.record_change(session, kind.name, collection(kind), row.slug, public)
    return revision


# --- the version check -------------------------------------------------------------------------


def expect_version(row: Any, expected: int) -> None:
    if row.version != expected:
        raise _stale(row.version)


def _stale(current: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"The entry has changed: it is at version {current}, not the one in If-Match.",
        headers={"ETag": f'"{current}"'},
        current_version=current,
    )


def claim(session: Session, kind: Kind, row: Any, expected: int) -> None:
    """Take the entry's next version if it is still at `expected`, atomically; else 412."""
    if not claim_version(session, kind, row.id, expected):
        session.rollback()
        current = session.scalar(select(kind.table.version).where(kind.table.id == row.id))  # type: ignore[attr-defined]
        if current is None:
            raise NotFound("The entry was deleted meanwhile.")
        raise _stale(current)
    session.refresh(row)


# --- writes ------------------------------------------------------------------------------------


def create(session: Session, kind: Kind, payload: dict[str, Any], actor: ApiKey) -> Any:
    """A new entry, as a draft; 409 if the slug is taken."""
    doc, refs = validate(session, kind, payload)
    if session.scalar(select(kind.table.id).where(kind.table.slug == doc.slug)) is not None:  # type: ignore[attr-defined]
        raise Conflict(f"{entry_name(kind, doc.slug)} exists already.")
    try:
        row = write_document(session, kind, doc, refs, status=Status.draft.value)
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{entry_name(kind, doc.slug)} exists already.") from None
    record(session, kind, row, "create", actor, None, doc.model_dump(mode="json"))
    return row


def _put_working(
    session: Session,
    kind: Kind,
    row: Any,
    doc: Any,
    refs: Refs,
    pending: PendingEdit | None,
    actor: ApiKey,
) -> None:
    """Store the new working document: pending for a published entry, in place otherwise."""
    if row.status != PUBLISHED:
        write_document(session, kind, doc, refs, row, bump_version=False)
        return
    document = doc.model_dump(mode="json")
    if document == read_document(session, kind, row):
        if pending is not None:
            session.delete(pending)
        return
    if pending is None:
        pending = PendingEdit(collection=kind.file, entity_id=row.id, document=document, author="")
    pending.document, pending.author, pending.updated_at = document, actor.name, utcnow()
    session.add(pending)


def update(
    session: Session,
    kind: Kind,
    row: Any,
    changes: dict[str, Any],
    expected: int,
    actor: ApiKey,
    action: str = "update",
) -> Any:
    """Apply changed fields to the entry's working document (PATCH semantics)."""
    expect_version(row, expected)
    if "slug" in changes and changes["slug"] != row.slug:
        errors = [{"loc": ["body", "slug"], "msg": "slugs cannot change", "type": "value_error"}]
        raise Unprocessable(_detail(errors), errors=errors)
    before, pending = working_document(session, kind, row)
    doc, refs = validate(session, kind, before | changes)
    if row.status != PUBLISHED:
        _keep_verbatim(session, kind, row, doc)
    claim(session, kind, row, expected)
    _put_working(session, kind, row, doc, refs, pending, actor)
    record(session, kind, row, action, actor, before, doc.model_dump(mode="json"))
    return row


def restore(
    session: Session, kind: Kind, row: Any, number: int, expected: int, actor: ApiKey
) -> Any:
    """Bring back the document of an earlier revision, as a new change."""
    revision = session.scalars(
        select(Revision).where(
            col(Revision.collection) == kind.file,
            col(Revision.slug) == row.slug,
            col(Revision.number) == number,
        )
    ).first()
    if revision is None:
        raise NotFound(f"{entry_name(kind, row.slug)} has no revision {number}.")
    if revision.document is None:
        raise Conflict(f"Revision {number} records a deletion; there is no document to restore.")
    return update(session, kind, row, revision.document, expected, actor, action="restore")


def _keep_verbatim(session: Session, kind: Kind, row: Any, doc: Any) -> None:
    """409 if the document would change a source's text so that a citation of it (of any status,
    stored or pending) no longer matches: the verbatim guarantee outranks the edit."""
    if kind.name != "source" or doc.text == row.text:
        return
    broken = citing.unmatched(session, row.slug, doc.text)
    if broken:
        raise Conflict(citing.describe(row.slug, broken), unmatched=broken)


def _unpublished_references(session: Session, kind: Kind, document: dict[str, Any]) -> list[str]:
    out = []
    for target, slug in sorted(document_references(kind, document)):
        table = KIND_BY_NAME[target].table
        status = session.scalar(select(table.status).where(table.slug == slug))  # type: ignore[attr-defined]
        if status != PUBLISHED:
            out.append(entry_name(KIND_BY_NAME[target], slug))
    return out


def publish(session: Session, kind: Kind, row: Any, expected: int, actor: ApiKey) -> Any:
    """Make the entry (or its pending edit) what the public sees; 409 if it points at drafts."""
    expect_version(row, expected)
    live = read_document(session, kind, row)
    document, pending = working_document(session, kind, row)
    if row.status == PUBLISHED and pending is None:
        raise Conflict(f"{entry_name(kind, row.slug)} is published and has no pending edit.")
    unpublished = _unpublished_references(session, kind, document)
    if unpublished:
        raise Conflict(
            f"{entry_name(kind, row.slug)} points at entries that are not published: "
            + ", ".join(unpublished)
            + ". Publish them first.",
            unpublished=unpublished,
        )
    doc, refs = validate(session, kind, document)
    _keep_verbatim(session, kind, row, doc)
    claim(session, kind, row, expected)
    status_before = row.status
    if pending is not None:
        write_document(session, kind, doc, refs, row, bump_version=False, status=PUBLISHED)
        session.delete(pending)
    else:
        row.status = PUBLISHED
        session.add(row)
    record(session, kind, row, "publish", actor, live, document, status_before)
    return row


def unpublish(session: Session, kind: Kind, row: Any, expected: int, actor: ApiKey) -> Any:
    """Withdraw the entry from the public (status `archived`); a pending edit becomes the entry.

    A source that published entries cite stays published (409): the citations would show it.
    """
    expect_version(row, expected)
    if row.status != PUBLISHED:
        raise Conflict(f"{entry_name(kind, row.slug)} is not published.")
    if kind.name == "source":
        citing = [
            name for name, published in _referrers_named(session, kind, row.slug) if published
        ]
        if citing:
            raise Conflict(
                f"Published entries cite {entry_name(kind, row.slug)}: {', '.join(citing)}.",
                referenced_by=citing,
            )
    live = read_document(session, kind, row)
    document, pending = working_document(session, kind, row)
    if pending is not None:
        doc, refs = validate(session, kind, document)
        _keep_verbatim(session, kind, row, doc)
    claim(session, kind, row, expected)
    if pending is not None:
        write_document(session, kind, doc, refs, row, bump_version=False)
        session.delete(pending)
    row.status = Status.archived.value
    session.add(row)
    record(session, kind, row, "unpublish", actor, live, document, PUBLISHED)
    return row


# --- deletion ----------------------------------------------------------------------------------


def _referrers(
    session: Session, kind: Kind, slug: str
) -> list[tuple[Kind, Any, PendingEdit | None]]:
    """Entries whose stored document (pending None) or pending edit points at (kind, slug)."""
    found: list[tuple[Kind, Any, PendingEdit | None]] = []
    for name in REFERRED_BY.get(kind.name, ()):
        other = KIND_BY_NAME[name]
        pendings = {
            p.entity_id: p
            for p in session.scalars(
                select(PendingEdit).where(col(PendingEdit.collection) == other.file)
            ).all()
        }
        table: Any = other.table  # its columns depend on the kind
        for row in session.scalars(select(table).order_by(table.slug)).all():
            if row.slug == slug and other is kind:
                continue
            if (kind.name, slug) in document_references(other, read_document(session, other, row)):
                found.append((other, row, None))
            pending = pendings.get(row.id)
            if pending is not None and (kind.name, slug) in document_references(
                other, pending.document
            ):
                found.append((other, row, pending))
    return found


def _referrers_named(session: Session, kind: Kind, slug: str) -> list[tuple[str, bool]]:
    """(entry, published) of what points at the entry; a pending edit counts as a draft."""
    return sorted(
        {
            (entry_name(k, row.slug), row.status == PUBLISHED and pending is None)
            for k, row, pending in _referrers(session, kind, slug)
        }
    )


def delete(
    session: Session, kind: Kind, row: Any, expected: int, actor: ApiKey, cascade: bool
) -> dict[str, list[str]]:
    """Delete the entry; 409 naming what points at it, unless `cascade`: then those references
    are taken out of the entries that have them (and entries that cannot stand without go too)."""
    expect_version(row, expected)
    referrers = _referrers(session, kind, row.slug)
    if referrers and not cascade:
        names = sorted({entry_name(k, r.slug) for k, r, _ in referrers})
        raise Conflict(
            f"{entry_name(kind, row.slug)} is referenced by {', '.join(names)}; "
            "remove those references first, or delete with ?cascade=true.",
            referenced_by=names,
        )
    claim(session, kind, row, expected)
    report: dict[str, list[str]] = {"deleted": [], "changed": []}
    _delete(session, kind, row, actor, report)
    report["changed"] = sorted(set(report["changed"]) - set(report["deleted"]))
    return report


def _delete(
    session: Session, kind: Kind, row: Any, actor: ApiKey, report: dict[str, list[str]]
) -> None:
    name = entry_name(kind, row.slug)
    if name in report["deleted"]:
        return
    report["deleted"].append(name)
    for other, other_row, pending in _referrers(session, kind, row.slug):
        if entry_name(other, other_row.slug) in report["deleted"]:
            continue
        # Read again: an earlier step of the cascade may have changed it.
        if pending is not None:
            stripped = without_reference(other, dict(pending.document), kind.name, row.slug)
            if stripped is None:
                session.delete(pending)
            else:
                pending.document = stripped
                session.add(pending)
            continue
        document = read_document(session, other, other_row)
        stripped = without_reference(other, document, kind.name, row.slug)
        if stripped is None:
            _delete(session, other, other_row, actor, report)
            continue
        if stripped == document:
            continue
        doc = other.create.model_validate(stripped)
        write_document(session, other, doc, Refs.load(session), other_row)
        record(session, other, other_row, "cascade", actor, document, stripped)
        report["changed"].append(entry_name(other, other_row.slug))
    before, pending = working_document(session, kind, row)
    if pending is not None:
        session.delete(pending)
    record(session, kind, row, "delete", actor, before, None)
    delete_entity(session, kind, row)


# --- links and tags ----------------------------------------------------------------------------


def link_kind(term: Kind, key: str) -> LinkKind:
    return next(link for link in term.links if link.key == key)


def add_link(
    session: Session,
    term: Kind,
    key: str,
    target_slug: str,
    body: dict[str, Any],
    expected: int | None,
    actor: ApiKey,
) -> Any:
    """List a term for a procedure (or an ingredient), citing sources: a change of the term."""
    link = link_kind(term, key)
    get_row(session, KIND_BY_NAME[link.target], target_slug)
    term_slug = body.pop(term.name)
    table: Any = term.table  # its columns depend on the kind
    row = session.scalars(select(table).where(table.slug == term_slug)).first()
    if row is None:
        message = f"names unknown {term.name.replace('_', ' ')} {term_slug!r}"
        errors = [{"loc": ["body", term.name], "msg": message, "type": "value_error"}]
        raise Unprocessable(_detail(errors), errors=errors)
    document, _ = working_document(session, term, row)
    item = {link.target: target_slug, **body}
    same = {link.target: target_slug, **{n: body[n] for n in link.extra}}
    if any(all(existing.get(k) == v for k, v in same.items()) for existing in document[link.key]):
        raise Conflict(f"{entry_name(term, term_slug)} is listed for {target_slug!r} already.")
    changes = {link.key: [*document[link.key], item]}
    version = row.version if expected is None else expected
    try:
        return update(session, term, row, changes, version, actor, action="link")
    except Unprocessable as exc:
        # Name the fields of the request body, not of the term's document it was put into.
        raise _relocated(exc, ["body", link.key, len(document[link.key])], ["body"]) from None


def _relocated(exc: Unprocessable, old: list[Any], new: list[Any]) -> Unprocessable:
    errors = [
        {**e, "loc": new + e["loc"][len(old) :]} if e["loc"][: len(old)] == old else e
        for e in exc.errors or []
    ]
    return Unprocessable(_detail(errors), errors=errors)


def remove_link(
    session: Session,
    term: Kind,
    key: str,
    target_slug: str,
    term_slug: str,
    extra: dict[str, str | None],
    expected: int,
    actor: ApiKey,
) -> Any:
    link = link_kind(term, key)
    row = get_row(session, term, term_slug)
    document, _ = working_document(session, term, row)

    def matches(item: dict[str, Any]) -> bool:
        wanted = {link.target: target_slug} | {k: v for k, v in extra.items() if v is not None}
        return all(item.get(k) == v for k, v in wanted.items())

    kept = [item for item in document[link.key] if not matches(item)]
    if len(kept) == len(document[link.key]):
        raise NotFound(f"{entry_name(term, term_slug)} is not listed for {target_slug!r}.")
    return update(session, term, row, {link.key: kept}, expected, actor, action="unlink")


def tag_quote(
    session: Session,
    row: Any,
    procedure: str,
    add: bool,
    expected: int | None,
    actor: ApiKey,
) -> Any:
    quote = KIND_BY_NAME["quote"]
    document, _ = working_document(session, quote, row)
    tags = list(document["procedures"])
    if add:
        if procedure in tags:
            raise Conflict(f"{entry_name(quote, row.slug)} is tagged {procedure!r} already.")
        tags.append(procedure)
    else:
        if procedure not in tags:
            raise NotFound(f"{entry_name(quote, row.slug)} is not tagged {procedure!r}.")
        tags.remove(procedure)
    version = row.version if expected is None else expected
    action = "tag" if add else "untag"
    return update(session, quote, row, {"procedures": tags}, version, actor, action=action)


# --- bulk --------------------------------------------------------------------------------------


def import_documents(
    session: Session, data: dict[str, Any], dry_run: bool, actor: ApiKey
) -> LoadReport:
    """Documents in the export format, validated as a whole and written in one transaction.

    Imported entries are written as they are (new ones published, like the seed data), each
    with a revision; a refused import writes nothing and answers 422 listing every problem, or
    409 when the documents are valid but would publish what points at drafts or leave a
    citation unmatched by its source's new text.
    """

    def on_write(
        kind: Kind, row: Any, before: dict[str, Any] | None, after: dict[str, Any]
    ) -> None:
        record(session, kind, row, "import", actor, before, after)

    try:
        report = load(session, data, dry_run=dry_run, on_write=on_write, commit=False)
    except DocumentError as exc:
        errors = [{"loc": ["body"], "msg": p, "type": "value_error"} for p in exc.problems]
        refused = Conflict if exc.conflict else Unprocessable
        raise refused(
            f"The import was refused and nothing was written: {len(errors)} problem(s): "
            + "; ".join(exc.problems[:5]),
            errors=errors,
        ) from None
    if not dry_run:
        counts = {k: len(v) for k, v in report.created.items() if v}
        changed = {k: len(v) for k, v in report.changed.items() if v}
        audit(session, actor.name, "import", "import", created=counts, changed=changed)
    return report

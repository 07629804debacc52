"""Documents in the export format, many at once: loaded all or nothing (the seed data, imports)
and exported back. Upserts by slug: a document equal to what is stored changes nothing, so
loading twice is a no-op."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from api.kb import citing
from api.kb.citing import entry_name
from api.kb.documents import (
    KIND_BY_NAME,
    KINDS,
    DocumentError,
    Kind,
    Refs,
    document_references,
    parents_first,
    parse_documents,
    read_document,
    reference_problems,
    without_reference,
    write_document,
)
from models import Procedure, Status

PUBLISHED = Status.published.value


@dataclass
class LoadReport:
    created: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    @property
    def is_noop(self) -> bool:
        return not any(self.created.values()) and not any(self.changed.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "refused": self.refused,
        }


def _announce(refs: Refs, kind: Kind, docs: list[Any]) -> None:
    """Make the batch's own slugs (and source texts) known before any of it is written."""
    for doc in docs:
        refs.announce(kind.name, doc)


def cycle_problems(session: Session, docs: list[Any]) -> list[str]:
    parent_of: dict[str, str | None] = {}
    rows = session.execute(
        select(col(Procedure.slug), col(Procedure.parent_id), col(Procedure.id))
    ).all()
    slug_of = {id_: slug for slug, _, id_ in rows}
    parent_of = {slug: slug_of.get(parent_id) for slug, parent_id, _ in rows}
    parent_of |= {d.slug: d.parent for d in docs}
    problems = []
    for doc in docs:
        seen, slug = set(), doc.slug
        while slug is not None and slug not in seen:
            seen.add(slug)
            slug = parent_of.get(slug)
        if slug is not None:
            problems.append(f"procedures {doc.slug!r}: parent chain loops through {slug!r}")
    return problems


# Called for every entity written: kind, row, the document before (None if new), and after.
OnWrite = Callable[[Kind, Any, dict[str, Any] | None, dict[str, Any]], None]


def load(
    session: Session,
    data: dict[str, list[Any]],
    *,
    dry_run: bool = False,
    on_write: OnWrite | None = None,
    commit: bool = True,
) -> LoadReport:
    """Validate every document, then write them in one transaction; DocumentError if any is bad.

    New entries are published, so a document that would be published must point only at what
    is (or the batch makes) published, as publishing it would require; a source's text may
    change only if every citation of it still matches (the batch may carry the fixed citing
    documents). Those are conflicts (`DocumentError.conflict`) rather than invalid documents.
    A dry run writes nothing and reports what would be created and changed, and what is refused.
    """
    unknown = sorted(set(data) - {k.file for k in KINDS})
    problems = [f"unknown collection {name!r}" for name in unknown]
    parsed: dict[str, list[Any]] = {}
    for kind in KINDS:
        docs, kind_problems = parse_documents(kind, data.get(kind.file, []))
        parsed[kind.name] = parents_first(docs) if kind.name == "procedure" else docs
        problems += kind_problems
    refs = Refs.load(session)
    stored_texts = dict(refs.source_texts)
    for kind in KINDS:
        _announce(refs, kind, parsed[kind.name])
    refused: set[tuple[str, str]] = set()
    for kind in KINDS:
        for doc in parsed[kind.name]:
            doc_problems = reference_problems(kind, doc, refs)
            if doc_problems:
                refused.add((kind.name, doc.slug))
            problems += doc_problems
    problems += cycle_problems(session, parsed["procedure"])

    plan = _plan(session, parsed)
    conflicts = _unpublished_references(session, plan) + _unmatched_citations(
        session, plan, stored_texts
    )
    refused |= {(kind, slug) for kind, slug, _ in conflicts}
    if (problems or conflicts) and not dry_run:
        raise DocumentError(problems + [c for _, _, c in conflicts], conflict=not problems)

    report = LoadReport(refused=problems + [c for _, _, c in conflicts])
    for kind in KINDS:
        created: list[str] = []
        changed: list[str] = []
        unchanged = 0
        for doc, row, before, after in plan[kind.name]:
            if (kind.name, doc.slug) in refused:
                continue
            if before == after:
                unchanged += 1
                continue
            (created if row is None else changed).append(doc.slug)
            if dry_run:
                continue
            row = write_document(session, kind, doc, refs, row)
            if on_write is not None:
                on_write(kind, row, before, after)
        report.created[kind.file], report.changed[kind.file] = created, changed
        report.unchanged[kind.file] = unchanged
    if commit and not dry_run:
        session.commit()
    return report


# Per kind: each document with its stored row (None if new), its stored document, and itself.
Plan = dict[str, list[tuple[Any, Any, dict[str, Any] | None, dict[str, Any]]]]


def _plan(session: Session, parsed: dict[str, list[Any]]) -> Plan:
    plan: Plan = {}
    for kind in KINDS:
        plan[kind.name] = []
        for doc in parsed[kind.name]:
            row = session.scalars(select(kind.table).where(kind.table.slug == doc.slug)).first()  # type: ignore[attr-defined]
            before = None if row is None else read_document(session, kind, row)
            plan[kind.name].append((doc, row, before, doc.model_dump(mode="json")))
    return plan


def _unpublished_references(session: Session, plan: Plan) -> list[tuple[str, str, str]]:
    """(kind, slug, problem) for each written document that would be published while pointing
    at entries that are not: new entries are published, stored ones keep their status."""
    status: dict[tuple[str, str], str] = {}
    for kind in KINDS:
        table: Any = kind.table
        rows = session.execute(select(table.slug, table.status)).all()
        status |= {(kind.name, slug): value for slug, value in rows}
    for kind in KINDS:
        for doc, _, _, _ in plan[kind.name]:
            status.setdefault((kind.name, doc.slug), PUBLISHED)
    conflicts = []
    for kind in KINDS:
        for doc, _, before, after in plan[kind.name]:
            if before == after or status[(kind.name, doc.slug)] != PUBLISHED:
                continue
            unpublished = sorted(
                entry_name(KIND_BY_NAME[target], slug)
                for target, slug in document_references(kind, after)
                if status.get((target, slug), PUBLISHED) != PUBLISHED
            )
            if unpublished:
                conflicts.append(
                    (
                        kind.name,
                        doc.slug,
                        f"{kind.file} {doc.slug!r}: would be published pointing at entries that "
                        f"are not published: {', '.join(unpublished)}",
                    )
                )
    return conflicts


def _unmatched_citations(
    session: Session, plan: Plan, stored_texts: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(kind, slug, problem) for each source whose new text leaves a citation of it unmatched;
    the stored citations of documents in the batch are replaced by theirs, checked already."""
    rewritten = {(kind.name, doc.slug) for kind in KINDS for doc, _, _, _ in plan[kind.name]}
    conflicts = []
    for doc, _, _, _ in plan["source"]:
        old = stored_texts.get(doc.slug)
        if old is None or old == doc.text:
            continue
        for broken in citing.unmatched(session, doc.slug, doc.text, rewritten):
            pending = " (pending edit)" if broken.get("pending_edit") else ""
            conflicts.append(
                (
                    "source",
                    doc.slug,
                    f"sources {doc.slug!r}: the new text no longer holds an excerpt that "
                    f"{broken['entry']}{pending} cites: {broken['excerpt'][:80]!r}",
                )
            )
    return conflicts


def export(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Every entity as documents in the seed format, ordered by slug."""
    out: dict[str, list[dict[str, Any]]] = {}
    for kind in KINDS:
        rows = session.scalars(select(kind.table).order_by(kind.table.slug)).all()  # type: ignore[attr-defined]
        out[kind.file] = [read_document(session, kind, row) for row in rows]
    return out


def export_published(session: Session) -> dict[str, list[dict[str, Any]]]:
    """What the public sees, in the export format: published entities as published (a pending
    edit never shows), without their mentions of entries that are not published; an entity
    that cannot stand without them (a quote of an archived expert) is left out, as it is from
    the public reads."""
    out: dict[str, list[dict[str, Any]]] = {}
    for kind in KINDS:
        rows = session.scalars(
            select(kind.table)
            .where(kind.table.status == PUBLISHED)  # type: ignore[attr-defined]
            .order_by(kind.table.slug)  # type: ignore[attr-defined]
        ).all()
        out[kind.file] = [read_document(session, kind, row) for row in rows]
    while True:  # leaving an entity out may leave others pointing at it
        shown = {(k.name, doc["slug"]) for k in KINDS for doc in out[k.file]}
        changed = False
        for kind in KINDS:
            kept = []
            for doc in out[kind.file]:
                kept_doc: dict[str, Any] | None = doc
                for target, slug in sorted(document_references(kind, doc) - shown):
                    if kept_doc is not None:
                        kept_doc = without_reference(kind, kept_doc, target, slug)
                changed |= kept_doc != doc
                if kept_doc is not None:
                    kept.append(kept_doc)
            out[kind.file] = kept
        if not changed:
            return out

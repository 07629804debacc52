"""Whole entities in the document format of `seed_data/`: written, read back, validated.

One place turns a document (a `...Create` model) into rows with their links and citations, and
rows back into the same document; editing, the seed loader, export and imports all go through it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import bindparam, delete, select, update
from sqlmodel import Session, SQLModel, col

from api.fastpath.prepared import Prepared
from api.fastpath.read_connection import Reads
from api.kb.citations import is_verbatim
from models import (
    Citation,
    Condition,
    Contraindication,
    Expert,
    Ingredient,
    IngredientSideEffect,
    NeedleLength,
    Position,
    Procedure,
    ProcedureCondition,
    ProcedureContraindication,
    ProcedureIngredient,
    ProcedureSideEffect,
    Quote,
    QuoteProcedure,
    SideEffect,
    Source,
    Step,
    Topic,
    TopicProcedure,
)
from models.base import CitationIn, utcnow
from models.condition import ConditionCreate
from models.contraindication import ContraindicationCreate
from models.expert import ExpertCreate
from models.ingredient import IngredientCreate
from models.procedure import ProcedureCreate
from models.quote import QuoteCreate
from models.side_effect import SideEffectCreate
from models.source import SourceCreate, content_hash
from models.topic import AnswerType, PositionCreate, TopicCreate


class DocumentError(Exception):
    """One or more documents are invalid; `problems` names each entry and what is wrong.

    `conflict`: every document is valid, but writing them would conflict with what is stored.
    """

    def __init__(self, problems: list[str], conflict: bool = False):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.conflict = conflict


@dataclass
class Refs:
    """Slug to id maps of the entities documents may point at, filled as documents are written."""

    ids: dict[str, dict[str, int]] = field(default_factory=dict)
    source_texts: dict[str, str] = field(default_factory=dict)
    # What a position's answer must fit: its topic's answer type, unit and procedures.
    topics: dict[str, tuple[str, str | None, frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> "Refs":
        refs = cls()
        for kind in ("expert", "procedure", "ingredient"):
            table = TABLES[kind]
            refs.ids[kind] = dict(session.execute(select(table.slug, table.id)).all())  # type: ignore[attr-defined]
        rows = session.execute(select(col(Source.slug), col(Source.id), col(Source.text))).all()
        refs.ids["source"] = {slug: id_ for slug, id_, _ in rows}
        refs.source_texts = {slug: text for slug, _, text in rows}
        topics = session.execute(
            select(col(Topic.slug), col(Topic.id), col(Topic.answer_type), col(Topic.unit))
        ).all()
        refs.ids["topic"] = {slug: id_ for slug, id_, _, _ in topics}
        concerned: dict[int, set[str]] = {id_: set() for _, id_, _, _ in topics}
        for topic_id, procedure in session.execute(
            select(col(TopicProcedure.topic_id), col(Procedure.slug)).join(
                Procedure, col(Procedure.id) == TopicProcedure.procedure_id
            )
        ):
            concerned[topic_id].add(procedure)
        refs.topics = {
            slug: (answer_type, unit, frozenset(concerned[id_]))
            for slug, id_, answer_type, unit in topics
        }
        return refs

    def announce(self, kind: str, doc: Any) -> None:
        """Make a document's slug (and what others check against it) known before it is written."""
        self.ids.setdefault(kind, {}).setdefault(doc.slug, -1)
        if kind == "source":
            self.source_texts[doc.slug] = doc.text
        if kind == "topic":
            self.topics[doc.slug] = (doc.answer_type, doc.unit, frozenset(doc.procedures))


TABLES: dict[str, type[SQLModel]] = {
    "source": Source,
    "expert": Expert,
    "procedure": Procedure,
    "ingredient": Ingredient,
    "side_effect": SideEffect,
    "contraindication": Contraindication,
    "condition": Condition,
    "quote": Quote,
    "topic": Topic,
    "position": Position,
}


# --- citations ---------------------------------------------------------------------------


# An issue names the field of a document it is about (a pydantic-style location) and what is wrong.
Issue = tuple[tuple[str | int, ...], str]


def citation_issues(
    loc: tuple[str | int, ...], citations: Iterable[CitationIn], refs: Refs
) -> list[Issue]:
    issues: list[Issue] = []
    for i, c in enumerate(citations):
        text = refs.source_texts.get(c.source)
        if text is None:
            issues.append(((*loc, i, "source"), f"names unknown source {c.source!r}"))
        elif not is_verbatim(c.excerpt, text):
            issues.append(
                (
                    (*loc, i, "excerpt"),
                    f"excerpt is not found verbatim in source {c.source!r}: {c.excerpt[:80]!r}",
                )
            )
    return issues


def write_citations(
    session: Session,
    subject_type: str,
    subject_id: int,
    citations: Iterable[CitationIn],
    refs: Refs,
) -> None:
    for position, c in enumerate(citations):
        session.add(
            Citation(
                subject_type=subject_type,
                subject_id=subject_id,
                source_id=refs.ids["source"][c.source],
                excerpt=c.excerpt,
                about=c.about,
                position=position,
            )
        )


def drop_citations(session: Session, subject_type: str, subject_ids: list[int]) -> None:
    if subject_ids:
        session.execute(
            delete(Citation).where(
                col(Citation.subject_type) == subject_type,
                col(Citation.subject_id).in_(subject_ids),
            )
        )


@cache
def _citations_statement() -> Prepared:
    """Built once: citations of subjects (bound `subject_type`, `ids`) with their source slugs."""
    return Prepared(
        select(
            col(Citation.subject_id), col(Source.slug), col(Citation.excerpt), col(Citation.about)
        )
        .join(Source, col(Source.id) == Citation.source_id)
        .where(
            col(Citation.subject_type) == bindparam("subject_type"),
            col(Citation.subject_id).in_(bindparam("ids", expanding=True)),
        )
        .order_by(col(Citation.subject_id), col(Citation.position), col(Citation.id))
    )


def read_citations(
    session: Reads, subject_type: str, subject_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """Citations of many subjects in one statement, in their stored order, as the documents
    store them (no `about` when there is none)."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in subject_ids}
    if not subject_ids:
        return out
    rows = _citations_statement().rows(session, {"subject_type": subject_type, "ids": subject_ids})
    for subject_id, source, excerpt, about in rows:
        item: dict[str, Any] = {"source": source, "excerpt": excerpt}
        if about is not None:
            item["about"] = about
        out[subject_id].append(item)
    return out


# --- one kind of document ----------------------------------------------------------------


@dataclass(frozen=True)
class LinkKind:
    """A link table from a procedure (or ingredient) to a term, as nested in the term's document."""

    key: str  # the key in the term's document ("procedures", "ingredients")
    table: type[SQLModel]
    subject_type: str
    owner_column: str  # the term's column on the link ("side_effect_id")
    target: str  # the kind the link points at ("procedure", "ingredient")
    target_column: str
    extra: tuple[str, ...] = ()  # further columns of the link ("level", "role")


@dataclass(frozen=True)
class Kind:
    name: str  # "side_effect"
    file: str  # "side_effects"
    table: type[SQLModel]
    create: type[BaseModel]
    columns: tuple[str, ...]  # document keys stored as columns of the same name
    links: tuple[LinkKind, ...] = ()
    # columns computed from the document before the row is stored (hashes, foreign keys)
    derive: Callable[[Any, Refs], dict[str, Any]] = lambda doc, refs: {}
    # children written or read after the row has its id (citations, steps, tags)
    write_extra: Callable[[Session, Any, Any, Refs], None] | None = None
    read_extra: Callable[[Session, Any, dict[str, Any]], None] | None = None


def _link_issues(kind: Kind, doc: Any, refs: Refs) -> list[Issue]:
    issues: list[Issue] = []
    for link in kind.links:
        for i, item in enumerate(getattr(doc, link.key)):
            target = getattr(item, link.target)
            if target not in refs.ids[link.target]:
                issues.append(
                    ((link.key, i, link.target), f"names unknown {link.target} {target!r}")
                )
            issues += citation_issues((link.key, i, "citations"), item.citations, refs)
    return issues


def _write_links(session: Session, kind: Kind, row: Any, doc: Any, refs: Refs) -> None:
    for link in kind.links:
        owner = getattr(link.table, link.owner_column)
        old = list(session.scalars(select(link.table.id).where(owner == row.id)).all())  # type: ignore[attr-defined]
        drop_citations(session, link.subject_type, old)
        session.execute(delete(link.table).where(owner == row.id))
        for item in getattr(doc, link.key):
            values = {name: getattr(item, name) for name in link.extra}
            link_row = link.table(
                **{
                    link.owner_column: row.id,
                    link.target_column: refs.ids[link.target][getattr(item, link.target)],
                },
                note=item.note,
                **values,
            )
            session.add(link_row)
            session.flush()
            write_citations(session, link.subject_type, link_row.id, item.citations, refs)  # type: ignore[attr-defined]


def _read_links(session: Session, kind: Kind, row: Any, doc: dict[str, Any]) -> None:
    for link in kind.links:
        target_table = TABLES[link.target]
        rows = session.execute(
            select(link.table, target_table.slug)  # type: ignore[attr-defined]
            .join(target_table, target_table.id == getattr(link.table, link.target_column))  # type: ignore[attr-defined]
            .where(getattr(link.table, link.owner_column) == row.id)
            .order_by(link.table.id)  # type: ignore[attr-defined]
        ).all()
        cites = read_citations(session, link.subject_type, [r.id for r, _ in rows])
        doc[link.key] = [
            {
                link.target: slug,
                **{n: getattr(r, n) for n in link.extra},
                "note": r.note,
                "citations": cites[r.id],
            }
            for r, slug in rows
        ]


# --- kind-specific parts ---------------------------------------------------------------


def _write_expert(session: Session, row: Any, doc: Any, refs: Refs) -> None:
    drop_citations(session, "expert", [row.id])
    write_citations(session, "expert", row.id, doc.citations, refs)


def _read_expert(session: Session, row: Any, doc: dict[str, Any]) -> None:
    doc["citations"] = read_citations(session, "expert", [row.id])[row.id]


def _write_procedure(session: Session, row: Any, doc: Any, refs: Refs) -> None:
    drop_citations(session, "procedure", [row.id])
    write_citations(session, "procedure", row.id, doc.citations, refs)
    for table, subject_type, items in (
        (NeedleLength, "needle_length", doc.needle_lengths),
        (Step, "step", doc.steps),
    ):
        old = list(
            session.scalars(select(col(table.id)).where(col(table.procedure_id) == row.id)).all()
        )
        drop_citations(session, subject_type, old)  # type: ignore[arg-type]  # ids are not None
        session.execute(delete(table).where(col(table.procedure_id) == row.id))
        for position, item in enumerate(items, 1):
            values = item.model_dump(exclude={"citations"})
            child = (
                Step(procedure_id=row.id, position=position, **values)
                if table is Step
                else NeedleLength(procedure_id=row.id, **values)
            )
            session.add(child)
            session.flush()
            write_citations(session, subject_type, child.id, item.citations, refs)  # type: ignore[arg-type]


def _read_procedure(session: Session, row: Any, doc: dict[str, Any]) -> None:
    parent = session.get(Procedure, row.parent_id) if row.parent_id else None
    doc["parent"] = parent.slug if parent else None
    doc["citations"] = read_citations(session, "procedure", [row.id])[row.id]
    lengths = session.scalars(
        select(NeedleLength)
        .where(col(NeedleLength.procedure_id) == row.id)
        .order_by(col(NeedleLength.id))
    ).all()
    cites = read_citations(session, "needle_length", [n.id for n in lengths])  # type: ignore[misc]
    doc["needle_lengths"] = [
        {"min_mm": n.min_mm, "max_mm": n.max_mm, "citations": cites[n.id]}  # type: ignore[index]
        for n in lengths
    ]
    steps = session.scalars(
        select(Step).where(col(Step.procedure_id) == row.id).order_by(col(Step.position))
    ).all()
    cites = read_citations(session, "step", [s.id for s in steps])  # type: ignore[misc]
    doc["steps"] = [{"kind": s.kind, "text": s.text, "citations": cites[s.id]} for s in steps]  # type: ignore[index]


def _procedure_issues(doc: Any, refs: Refs) -> list[Issue]:
    issues = citation_issues(("citations",), doc.citations, refs)
    for key in ("needle_lengths", "steps"):
        for i, item in enumerate(getattr(doc, key)):
            issues += citation_issues((key, i, "citations"), item.citations, refs)
    if doc.parent is not None and doc.parent not in refs.ids["procedure"]:
        issues.append((("parent",), f"names unknown procedure {doc.parent!r}"))
    if doc.parent == doc.slug:
        issues.append((("parent",), "a procedure cannot be its own parent"))
    return issues


def tagged_procedures(session: Session, table: Any, owner: str, owner_id: int) -> list[str]:
    """The slugs of the procedures an entry is tagged with through `table` (a quote's, a
    topic's), in slug order as documents hold them."""
    return list(
        session.scalars(
            select(col(Procedure.slug))
            .join(table, table.procedure_id == Procedure.id)
            .where(getattr(table, owner) == owner_id)
            .order_by(col(Procedure.slug))
        ).all()
    )


def unknown_procedures(slugs: list[str], refs: Refs) -> list[Issue]:
    """An issue for each tagged procedure slug that names nothing."""
    return [
        (("procedures", i), f"names unknown procedure {p!r}")
        for i, p in enumerate(slugs)
        if p not in refs.ids["procedure"]
    ]


def _write_quote(session: Session, row: Any, doc: Any, refs: Refs) -> None:
    session.execute(delete(QuoteProcedure).where(col(QuoteProcedure.quote_id) == row.id))
    for slug in dict.fromkeys(doc.procedures):
        session.add(QuoteProcedure(quote_id=row.id, procedure_id=refs.ids["procedure"][slug]))


def _read_quote(session: Session, row: Any, doc: dict[str, Any]) -> None:
    doc["expert"] = session.get(Expert, row.expert_id).slug  # type: ignore[union-attr]
    doc["source"] = session.get(Source, row.source_id).slug  # type: ignore[union-attr]
    doc["procedures"] = tagged_procedures(session, QuoteProcedure, "quote_id", row.id)


def _quote_issues(doc: Any, refs: Refs) -> list[Issue]:
    issues: list[Issue] = []
    if doc.expert not in refs.ids["expert"]:
        issues.append((("expert",), f"names unknown expert {doc.expert!r}"))
    text = refs.source_texts.get(doc.source)
    if text is None:
        issues.append((("source",), f"names unknown source {doc.source!r}"))
    elif not is_verbatim(doc.text, text):
        issues.append((("text",), f"quote text is not found verbatim in source {doc.source!r}"))
    return issues + unknown_procedures(doc.procedures, refs)


def _write_topic(session: Session, row: Any, doc: Any, refs: Refs) -> None:
    session.execute(delete(TopicProcedure).where(col(TopicProcedure.topic_id) == row.id))
    for slug in dict.fromkeys(doc.procedures):
        session.add(TopicProcedure(topic_id=row.id, procedure_id=refs.ids["procedure"][slug]))


def _read_topic(session: Session, row: Any, doc: dict[str, Any]) -> None:
    doc["procedures"] = tagged_procedures(session, TopicProcedure, "topic_id", row.id)


def _topic_issues(doc: Any, refs: Refs) -> list[Issue]:
    return unknown_procedures(doc.procedures, refs)


def _position_columns(doc: Any, refs: Refs) -> dict[str, Any]:
    value, interest = doc.value, doc.commercial_interest
    return {
        "topic_id": refs.ids["topic"][doc.topic],
        "source_id": refs.ids["source"][doc.source],
        "expert_id": refs.ids["expert"][doc.expert] if doc.expert else None,
        "procedure_id": refs.ids["procedure"][doc.procedure] if doc.procedure else None,
        "value_min": value.min if value else None,
        "value_max": value.max if value else None,
        "value_unit": value.unit if value else None,
        "commercial_interest": interest.statement if interest else None,
    }


def _write_position(session: Session, row: Any, doc: Any, refs: Refs) -> None:
    drop_citations(session, "position", [row.id])
    drop_citations(session, "position_interest", [row.id])
    write_citations(session, "position", row.id, doc.citations, refs)
    if doc.commercial_interest is not None:
        write_citations(
            session, "position_interest", row.id, doc.commercial_interest.citations, refs
        )


def _slug_of(session: Session, table: Any, id_: int | None) -> str | None:
    return None if id_ is None else session.get(table, id_).slug  # type: ignore[union-attr]  # ids of stored rows


def _read_position(session: Session, row: Any, doc: dict[str, Any]) -> None:
    doc["topic"] = _slug_of(session, Topic, row.topic_id)
    doc["source"] = _slug_of(session, Source, row.source_id)
    doc["expert"] = _slug_of(session, Expert, row.expert_id)
    doc["procedure"] = _slug_of(session, Procedure, row.procedure_id)
    doc["value"] = (
        None
        if row.value_min is None
        else {"min": row.value_min, "max": row.value_max, "unit": row.value_unit}
    )
    doc["citations"] = read_citations(session, "position", [row.id])[row.id]
    doc["commercial_interest"] = (
        None
        if row.commercial_interest is None
        else {
            "statement": row.commercial_interest,
            "citations": read_citations(session, "position_interest", [row.id])[row.id],
        }
    )


def own_source_issues(
    loc: tuple[str | int, ...], citations: Iterable[CitationIn], source: str
) -> list[Issue]:
    """A position speaks for one source: every citation of it quotes that source."""
    return [
        ((*loc, i, "source"), f"quotes {c.source!r}, not the position's own source {source!r}")
        for i, c in enumerate(citations)
        if c.source != source
    ]


def _position_issues(doc: Any, refs: Refs) -> list[Issue]:
    issues: list[Issue] = []
    for key, kind in (("topic", "topic"), ("source", "source"), ("expert", "expert")):
        slug = getattr(doc, key)
        if slug is not None and slug not in refs.ids[kind]:
            issues.append(((key,), f"names unknown {kind} {slug!r}"))
    issues += citation_issues(("citations",), doc.citations, refs)
    issues += own_source_issues(("citations",), doc.citations, doc.source)
    if doc.commercial_interest is not None:
        loc = ("commercial_interest", "citations")
        issues += citation_issues(loc, doc.commercial_interest.citations, refs)
        issues += own_source_issues(loc, doc.commercial_interest.citations, doc.source)
    topic = refs.topics.get(doc.topic)
    if doc.procedure is not None:
        if doc.procedure not in refs.ids["procedure"]:
            issues.append((("procedure",), f"names unknown procedure {doc.procedure!r}"))
        elif topic is not None and doc.procedure not in topic[2]:
            issues.append(
                (("procedure",), f"{doc.procedure!r} is not among topic {doc.topic!r}'s procedures")
            )
    if topic is not None:
        answer_type, unit, _ = topic
        if answer_type == AnswerType.numeric and doc.answer is not None:
            issues.append((("answer",), "a numeric topic's position has a value, not an answer"))
        if answer_type == AnswerType.text and doc.value is not None:
            issues.append((("value",), "a text topic's position has an answer, not a value"))
        if doc.value is not None and answer_type == AnswerType.numeric and doc.value.unit != unit:
            issues.append(
                (("value", "unit"), f"unit {doc.value.unit!r} is not the topic's unit {unit!r}")
            )
    return issues


_TERM = ("slug", "name", "aliases", "description")


def _procedure_link(table: type[SQLModel], subject_type: str, owner: str, *extra: str) -> LinkKind:
    return LinkKind("procedures", table, subject_type, owner, "procedure", "procedure_id", extra)


KINDS: tuple[Kind, ...] = (
    Kind(
        "source",
        "sources",
        Source,
        SourceCreate,
        ("slug", "title", "publisher", "url", "text"),
        derive=lambda doc, refs: {"content_hash": content_hash(doc.text)},
    ),
    Kind(
        "expert",
        "experts",
        Expert,
        ExpertCreate,
        ("slug", "name", "credentials", "role", "affiliation", "location", "specialty"),
        write_extra=_write_expert,
        read_extra=_read_expert,
    ),
    Kind(
        "procedure",
        "procedures",
        Procedure,
        ProcedureCreate,
        (
            "slug",
            "name",
            "aliases",
            "kind",
            "setting",
            "device",
            "summary",
            "session_duration",
            "frequency",
        ),
        derive=lambda doc, refs: {
            "parent_id": refs.ids["procedure"][doc.parent] if doc.parent else None
        },
        write_extra=_write_procedure,
        read_extra=_read_procedure,
    ),
    Kind(
        "ingredient",
        "ingredients",
        Ingredient,
        IngredientCreate,
        (*_TERM, "kind"),
        links=(
            _procedure_link(ProcedureIngredient, "procedure_ingredient", "ingredient_id", "role"),
        ),
    ),
    Kind(
        "side_effect",
        "side_effects",
        SideEffect,
        SideEffectCreate,
        _TERM,
        links=(
            _procedure_link(ProcedureSideEffect, "procedure_side_effect", "side_effect_id"),
            LinkKind(
                "ingredients",
                IngredientSideEffect,
                "ingredient_side_effect",
                "side_effect_id",
                "ingredient",
                "ingredient_id",
            ),
        ),
    ),
    Kind(
        "contraindication",
        "contraindications",
        Contraindication,
        ContraindicationCreate,
        _TERM,
        links=(
            _procedure_link(
                ProcedureContraindication,
                "procedure_contraindication",
                "contraindication_id",
                "level",
            ),
        ),
    ),
    Kind(
        "condition",
        "conditions",
        Condition,
        ConditionCreate,
        _TERM,
        links=(_procedure_link(ProcedureCondition, "procedure_condition", "condition_id"),),
    ),
    Kind(
        "quote",
        "quotes",
        Quote,
        QuoteCreate,
        ("slug", "text", "topics"),
        derive=lambda doc, refs: {
            "expert_id": refs.ids["expert"][doc.expert],
            "source_id": refs.ids["source"][doc.source],
        },
        write_extra=_write_quote,
        read_extra=_read_quote,
    ),
    Kind(
        "topic",
        "topics",
        Topic,
        TopicCreate,
        ("slug", "name", "question", "answer_type", "unit", "agreement", "agreement_note"),
        write_extra=_write_topic,
        read_extra=_read_topic,
    ),
    Kind(
        "position",
        "positions",
        Position,
        PositionCreate,
        ("slug", "statement", "answer", "evidence"),
        derive=_position_columns,
        write_extra=_write_position,
        read_extra=_read_position,
    ),
)
KIND_BY_FILE = {k.file: k for k in KINDS}
KIND_BY_NAME = {k.name: k for k in KINDS}

_EXTRA_ISSUES: dict[str, Callable[[Any, Refs], list[Issue]]] = {
    "expert": lambda doc, refs: citation_issues(("citations",), doc.citations, refs),
    "procedure": _procedure_issues,
    "quote": _quote_issues,
    "topic": _topic_issues,
    "position": _position_issues,
}


# --- whole documents ----------------------------------------------------------------------


def read_document(session: Session, kind: Kind, row: Any) -> dict[str, Any]:
    """The document of one stored entity, in the same format as its seed file."""
    doc = {name: getattr(row, name) for name in kind.columns}
    if kind.read_extra:
        kind.read_extra(session, row, doc)
    _read_links(session, kind, row, doc)
    return kind.create.model_validate(doc).model_dump(mode="json")


def write_document(
    session: Session,
    kind: Kind,
    doc: Any,
    refs: Refs,
    row: Any = None,
    *,
    bump_version: bool = True,
    status: str | None = None,
) -> Any:
    """Create or overwrite one entity with its links and citations; the caller commits.

    `bump_version=False` when the caller has already claimed the next version (`claim_version`).
    """
    values = {name: getattr(doc, name) for name in kind.columns} | kind.derive(doc, refs)
    if status is not None:
        values["status"] = status
    if row is None:
        row = kind.table(**values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        if bump_version:
            row.version += 1
        row.updated_at = utcnow()
    session.add(row)
    session.flush()
    refs.announce(kind.name, doc)
    refs.ids[kind.name][row.slug] = row.id
    if kind.write_extra:
        kind.write_extra(session, row, doc, refs)
    _write_links(session, kind, row, doc, refs)
    return row


def parse_documents(kind: Kind, raw: list[Any]) -> tuple[list[Any], list[str]]:
    """Validate raw documents against the kind's `...Create` model; problems name each entry."""
    docs, problems = [], []
    seen: set[str] = set()
    for i, item in enumerate(raw, 1):
        label = item.get("slug") if isinstance(item, dict) else None
        where = f"{kind.file}[{i}]" + (f" {label!r}" if label else "")
        try:
            doc: Any = kind.create.model_validate(item)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"])
                problems.append(f"{where}: {loc}: {err['msg']}")
            continue
        if doc.slug in seen:
            problems.append(f"{where}: duplicate slug {doc.slug!r}")
        seen.add(doc.slug)
        docs.append(doc)
    return docs, problems


def reference_issues(kind: Kind, doc: Any, refs: Refs) -> list[Issue]:
    """What in a valid document points at nothing, or cites what its source does not say."""
    issues = _link_issues(kind, doc, refs)
    if kind.name in _EXTRA_ISSUES:
        issues += _EXTRA_ISSUES[kind.name](doc, refs)
    return issues


def reference_problems(kind: Kind, doc: Any, refs: Refs) -> list[str]:
    where = f"{kind.file} {doc.slug!r}"
    return [
        f"{where}: {'.'.join(str(p) for p in loc)}: {msg}"
        for loc, msg in reference_issues(kind, doc, refs)
    ]


def parents_first(docs: list[Any]) -> list[Any]:
    """Procedures ordered so that each parent in the batch comes before its variants."""
    by_slug = {d.slug: d for d in docs}
    ordered: list[Any] = []
    placed: set[str] = set()

    def place(doc: Any, trail: tuple[str, ...]) -> None:
        if doc.slug in placed or doc.slug in trail:
            return
        parent = by_slug.get(doc.parent) if doc.parent else None
        if parent is not None:
            place(parent, (*trail, doc.slug))
        placed.add(doc.slug)
        ordered.append(doc)

    for doc in docs:
        place(doc, ())
    return ordered


# --- versions, references, deletion -----------------------------------------------------------


def claim_version(session: Session, kind: Kind, row_id: int, expected: int) -> bool:
    """Move the entity to its next version if it is still at `expected`, in one statement.

    Concurrent writers with the same expectation cannot both succeed: the UPDATE takes the row
    (PostgreSQL) or the database (SQLite) for the rest of the transaction, and re-checks.
    """
    table = kind.table
    result = session.execute(
        update(table)
        .where(table.id == row_id, table.version == expected)  # type: ignore[attr-defined]
        .values(version=table.version + 1, updated_at=utcnow())  # type: ignore[attr-defined]
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def document_references(kind: Kind, doc: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (kind, slug) a document points at: link targets, parent, expert, cited sources."""
    refs: set[tuple[str, str]] = set()

    def cite(citations: list[dict[str, Any]]) -> None:
        refs.update(("source", c["source"]) for c in citations)

    cite(doc.get("citations", []))
    for key in ("needle_lengths", "steps"):
        for item in doc.get(key, []):
            cite(item["citations"])
    for link in kind.links:
        for item in doc.get(link.key, []):
            refs.add((link.target, item[link.target]))
            cite(item["citations"])
    if kind.name == "procedure" and doc.get("parent"):
        refs.add(("procedure", doc["parent"]))
    if kind.name == "quote":
        refs |= {("expert", doc["expert"]), ("source", doc["source"])}
        refs |= {("procedure", p) for p in doc["procedures"]}
    if kind.name == "topic":
        refs |= {("procedure", p) for p in doc["procedures"]}
    if kind.name == "position":
        refs |= {(key, doc[key]) for key in ("topic", "source", "expert", "procedure") if doc[key]}
        if doc["commercial_interest"]:
            cite(doc["commercial_interest"]["citations"])
    return refs


def without_reference(
    kind: Kind, doc: dict[str, Any], target: str, slug: str
) -> dict[str, Any] | None:
    """The document with every mention of (target, slug) taken out, or None if it cannot stand
    without it (a quote of a deleted expert, an entry whose every own citation goes)."""

    def kept(citations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [c for c in citations if not (target == "source" and c["source"] == slug)]

    out = dict(doc)
    if kind.name == "quote":
        if (target, slug) in {("expert", doc["expert"]), ("source", doc["source"])}:
            return None
        if target == "procedure":
            out["procedures"] = [p for p in doc["procedures"] if p != slug]
    if kind.name == "topic" and target == "procedure":
        out["procedures"] = [p for p in doc["procedures"] if p != slug]
        if not out["procedures"]:
            return None
    if kind.name == "position":
        if target in ("topic", "source", "expert") and doc[target] == slug:
            return None
        if target == "procedure" and doc["procedure"] == slug:
            out["procedure"] = None
    if kind.name == "procedure" and target == "procedure" and doc.get("parent") == slug:
        out["parent"] = None
    if "citations" in doc:
        out["citations"] = kept(doc["citations"])
        if not out["citations"]:
            return None
    for key in ("needle_lengths", "steps"):
        if key in doc:
            items = [{**item, "citations": kept(item["citations"])} for item in doc[key]]
            out[key] = [item for item in items if item["citations"]]
    for link in kind.links:
        items = [
            {**item, "citations": kept(item["citations"])}
            for item in doc.get(link.key, [])
            if not (link.target == target and item[link.target] == slug)
        ]
        out[link.key] = [item for item in items if item["citations"]]
    return out


def delete_entity(session: Session, kind: Kind, row: Any) -> None:
    """Delete one entity with what it owns: its links, children and their citations.

    Links of other entities that point at it must be gone first (the caller checks).
    """
    for link in kind.links:
        owner = getattr(link.table, link.owner_column)
        ids = list(session.scalars(select(link.table.id).where(owner == row.id)).all())  # type: ignore[attr-defined]
        drop_citations(session, link.subject_type, ids)
        session.execute(delete(link.table).where(owner == row.id))
    if kind.name in ("expert", "procedure", "position"):
        drop_citations(session, kind.name, [row.id])
    if kind.name == "position":
        drop_citations(session, "position_interest", [row.id])
    if kind.name in ("topic", "procedure"):
        column = TopicProcedure.topic_id if kind.name == "topic" else TopicProcedure.procedure_id
        session.execute(delete(TopicProcedure).where(col(column) == row.id))
    if kind.name == "procedure":
        for table, subject_type in ((NeedleLength, "needle_length"), (Step, "step")):
            ids = list(
                session.scalars(
                    select(col(table.id)).where(col(table.procedure_id) == row.id)
                ).all()
            )
            drop_citations(session, subject_type, ids)
            session.execute(delete(table).where(col(table.procedure_id) == row.id))
    if kind.name in ("quote", "procedure"):
        column = QuoteProcedure.quote_id if kind.name == "quote" else QuoteProcedure.procedure_id
        session.execute(delete(QuoteProcedure).where(col(column) == row.id))
    session.delete(row)
    session.flush()

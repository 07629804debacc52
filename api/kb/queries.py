"""Read queries several routes share: published lookups, keyset pages, lineage, listed terms.

Public reads see only published rows; every query here filters on that in one place.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Float,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from api.errors import InvalidParameter, NotFound
from api.fastpath.counts import count_total
from api.fastpath.memo import RevisionMemo
from api.fastpath.prepared import Prepared
from api.fastpath.read_connection import Reads, database_of
from api.kb.documents import KINDS, LinkKind, read_citations
from models import (
    Citation,
    Expert,
    Ingredient,
    IngredientSideEffect,
    NeedleLength,
    Procedure,
    Quote,
    QuoteProcedure,
    SideEffect,
    Source,
    Status,
    Step,
)
from models.search import citation_list

KIND = {k.name: k for k in KINDS}
PUBLISHED = Status.published.value


def published(table: Any) -> ColumnElement[bool]:
    return table.status == PUBLISHED  # type: ignore[no-any-return]


def get_published(session: Session, table: Any, slug: str, noun: str) -> Any:
    """The published row with this slug, or 404."""
    row = session.scalars(select(table).where(table.slug == slug, published(table))).first()
    if row is None:
        raise NotFound(f"No {noun} with slug {slug!r}.")
    return row


def filter_id(session: Session, table: Any, slug: str, parameter: str) -> int:
    """The id a filter parameter names by slug; 422 naming the parameter if none is published."""
    found = session.scalar(select(table.id).where(table.slug == slug, published(table)))
    if found is None:
        raise InvalidParameter(parameter, f"{parameter}={slug!r} names nothing published.")
    return int(found)


class Window(NamedTuple):
    """Which page of a list: `limit` rows after the row whose sort key is `after`; `revision`
    is the knowledge-base revision the request read first (None: a transaction that writes)."""

    limit: int
    after: list[str] | None = None
    revision: int | None = None


class Paged(NamedTuple):
    rows: list[Any]
    total: int
    next_key: list[str] | None  # the sort key of the last row, when more rows follow


def page_of(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    key: Any,
    page: Window,
    sortable: dict[str, Any] | None = None,
    sort: str = "slug",
) -> Paged:
    """One keyset page of `stmt`, its total, and the key the next page starts after.

    Rows come in the order `sort` names (`slug`, or a column of `sortable`; `-` reverses),
    ties broken by `key`, a unique column; the key carries the last row's sort key, so every
    page is one index range scan however deep it is. The total is counted once per
    knowledge-base revision (api.fastpath.counts), at the revision the request read first.
    """
    total = count_total(session, stmt, page.revision)
    field, descending = sort.removeprefix("-"), sort.startswith("-")
    columns = {"slug": key, **(sortable or {})}
    if field not in columns:
        names = ", ".join(sorted(columns))
        raise InvalidParameter("sort", f"sort={sort!r}: this list sorts by {names}.")
    order = [key] if field == "slug" else [columns[field], key]
    if page.after is not None:
        values = page.after if sort == "slug" else page.after[1:]
        if len(values) != len(order) or (sort != "slug" and page.after[0] != sort):
            raise InvalidParameter("cursor", "cursor belongs to another sort order")
        left = tuple_(*order) if len(order) > 1 else order[0]
        right = tuple_(*values) if len(values) > 1 else values[0]
        stmt = stmt.where(left < right if descending else left > right)
    ordered = stmt.order_by(*(c.desc() if descending else c for c in order))
    rows = list(session.execute(ordered.limit(page.limit + 1)).all())
    next_key = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = [str(rows[-1]._mapping[c.key]) for c in order]
        next_key = last if sort == "slug" else [sort, *last]
    return Paged(rows, total, next_key)


LINEAGE_LEVELS = 4


@cache
def _lineage_statement() -> Prepared:
    """Built once: a procedure (bound `slug`) and its next ancestors, one primary-key join a level
    (rather than a recursive CTE, whose cost on SQLite grows with the procedure table)."""
    levels = [aliased(Procedure) for _ in range(LINEAGE_LEVELS)]
    stmt = select(
        *[col(c) for level in levels for c in (level.id, level.slug, level.status)],
        col(levels[-1].parent_id),
    ).where(col(levels[0].slug) == bindparam("slug"))
    for child, parent in zip(levels, levels[1:], strict=False):
        stmt = stmt.outerjoin(parent, col(parent.id) == child.parent_id)
    return Prepared(stmt)


class Lineages(RevisionMemo[tuple[str, str], tuple[tuple[int, str], ...]]):
    """Lineages by database and slug, each valid at the revision its read saw first: the
    procedures' hierarchy changes seldom, and every relation read of a procedure needs it."""


lineages = Lineages(4096)


def lineage(session: Reads, slug: str, revision: int | None = None) -> list[tuple[int, str]]:
    """The published procedure and its published ancestors, nearest first: [(id, slug), ...];
    remembered at `revision`, the revision the read saw first (None: read every time)."""
    if revision is None:
        return _read_lineage(session, slug)
    key = (database_of(session), slug)
    found = lineages.get(key, revision)
    if found is not None:
        return list(found)
    chain = _read_lineage(session, slug)
    lineages.put(key, revision, tuple(chain))
    return chain


def _read_lineage(session: Reads, slug: str) -> list[tuple[int, str]]:
    chain: list[tuple[int, str]] = []
    while True:
        rows = _lineage_statement().rows(session, {"slug": slug})
        if not rows:
            break
        values = list(rows[0])
        more = values.pop()  # the parent of the last level, when the chain goes on
        for i in range(LINEAGE_LEVELS):
            id_, level_slug, status = values[3 * i : 3 * i + 3]
            if id_ is None or status != PUBLISHED:
                more = None
                break
            if not chain or chain[-1][0] != id_:
                chain.append((id_, level_slug))
        if more is None or any(id_ == more for id_, _ in chain):
            break
        slug = chain[-1][1]  # deeper than the levels of one statement: go on from the last
    if not chain:
        raise NotFound(f"No procedure with slug {slug!r}.")
    return chain


def procedure_ids(
    session: Reads, slug: str, inherited: bool, revision: int | None = None
) -> tuple[list[int], dict[int, str]]:
    """Ids a relation query covers (the procedure, and its ancestors unless `inherited` is off)."""
    chain = lineage(session, slug, revision)
    if not inherited:
        chain = chain[:1]
    return [id_ for id_, _ in chain], dict(chain)


def filter_procedure_ids(
    session: Session, slug: str, inherited: bool, parameter: str = "procedure"
) -> tuple[list[int], dict[int, str]]:
    """As `procedure_ids`, for a filter parameter: an unknown slug is a 422 naming it."""
    try:
        return procedure_ids(session, slug, inherited)
    except NotFound:
        raise InvalidParameter(
            parameter, f"{parameter}={slug!r} names nothing published."
        ) from None


def _term_columns(kind_name: str) -> list[Any]:
    kind = KIND[kind_name]
    return [getattr(kind.table, c) for c in kind.columns if c != "slug"]


@cache
def _listed_terms_statement(kind_name: str) -> Prepared:
    """Built once per kind: published terms with their published links to procedures `ids`,
    each link's citations as the JSON array the triggers keep (`citation_list`, migration 0006)."""
    kind = KIND[kind_name]
    link = kind.links[0]
    term = kind.table
    cited = (citation_list.c.subject_type == link.subject_type) & (
        citation_list.c.subject_id == link.table.id  # type: ignore[attr-defined]
    )
    return Prepared(
        select(
            term.slug,  # type: ignore[attr-defined]
            *_term_columns(kind_name),
            link.table.note,  # type: ignore[attr-defined]
            *[getattr(link.table, c) for c in link.extra],
            link.table.procedure_id,  # type: ignore[attr-defined]
            citation_list.c.citations,  # (listed_terms reads these two by position)
        )
        .join(link.table, getattr(link.table, link.owner_column) == term.id)  # type: ignore[attr-defined]
        .outerjoin(citation_list, cited)
        .where(
            link.table.procedure_id.in_(bindparam("ids", expanding=True)),  # type: ignore[attr-defined]
            published(term),
            published(link.table),
        )
        .order_by(term.name, link.table.id)  # type: ignore[attr-defined]
    )


def listed_terms(
    session: Reads,
    kind_name: str,
    procedure: str,
    inherited: bool,
    rendered: bool = False,
    revision: int | None = None,
) -> list[dict[str, Any]]:
    """Terms of one kind listed for a procedure, one row per link; inherited rows are marked.

    Two statements whatever the number of rows: lineage, then links with terms and citations.
    Each link's citations are a list of dicts, or with `rendered` its stored JSON as an
    `orjson.Fragment`, for a route that renders these rows with orjson as they are. The
    lineage is remembered at `revision` (`lineage`).
    """
    ids, slug_of = procedure_ids(session, procedure, inherited, revision)
    statement = _listed_terms_statement(kind_name)
    shown = statement.keys[:-2]  # the row as it is shown; then its procedure and citations
    rows = statement.rows(session, {"ids": ids})
    if len(ids) > 1:
        depth = {id_: i for i, id_ in enumerate(ids)}
        rows.sort(key=lambda row: depth[row[-2]])
    items = []
    for row in rows:
        item = dict(zip(shown, row, strict=False))
        procedure_id = row[-2]
        item["procedure"] = slug_of[procedure_id]
        item["inherited_from"] = None if procedure_id == ids[0] else slug_of[procedure_id]
        item["citations"] = cited_list(row[-1], rendered)
        items.append(item)
    return items


def merged_listings(kind_name: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of `listed_terms` (citations as dicts), one per term and link attributes (a
    contraindication's level, an ingredient's role): the nearest listing's row, with every
    listing's citations, each naming the procedure it is listed for, and `listed_for`."""
    extra = KIND[kind_name].links[0].extra
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        cited = [{**c, "procedure": row["procedure"]} for c in row["citations"]]
        key = (row["slug"], *(row[name] for name in extra))
        first = merged.get(key)
        if first is None:
            merged[key] = {**row, "citations": cited, "listed_for": [row["procedure"]]}
        else:
            first["citations"] += cited
            first["listed_for"].append(row["procedure"])
    return list(merged.values())


def with_citations(
    session: Session, subject_type: str, rows: Sequence[Any]
) -> list[dict[str, Any]]:
    """Link rows (with a `link_id` column) as dicts, each with its link's citations in place of
    the id: one more statement for them all."""
    cites = read_citations(session, subject_type, [r.link_id for r in rows])
    out = []
    for r in rows:
        item = dict(r._mapping)
        item["citations"] = cites[item.pop("link_id")]
        out.append(item)
    return out


def listings(session: Session, link: LinkKind, owner_id: int) -> list[dict[str, Any]]:
    """The published links of a term to procedures (or ingredients), with citations."""
    target = KIND[link.target].table
    rows = session.execute(
        select(
            target.slug.label(link.target),  # type: ignore[attr-defined]
            target.name.label(f"{link.target}_name"),  # type: ignore[attr-defined]
            link.table.id.label("link_id"),  # type: ignore[attr-defined]
            link.table.note,  # type: ignore[attr-defined]
            *[getattr(link.table, c) for c in link.extra],
        )
        .join(link.table, getattr(link.table, link.target_column) == target.id)  # type: ignore[attr-defined]
        .where(getattr(link.table, link.owner_column) == owner_id)
        .where(published(target), published(link.table))
        .order_by(target.slug, link.table.id)  # type: ignore[attr-defined]
    ).all()
    return with_citations(session, link.subject_type, rows)


def term_detail(session: Session, kind_name: str, slug: str, noun: str) -> dict[str, Any]:
    """A term with every published link it has, each with citations."""
    kind = KIND[kind_name]
    row = get_published(session, kind.table, slug, noun)
    out = {c: getattr(row, c) for c in kind.columns}
    for link in kind.links:
        out[link.key] = listings(session, link, row.id)
    return out


def procedure_filter(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    link: LinkKind,
    owner: Any,
    procedure: str,
    inherited: bool,
) -> Select[*tuple[Any, ...]]:
    """Narrow a term list to terms listed for a procedure (and, when inherited, its ancestors)."""
    ids, _ = filter_procedure_ids(session, procedure, inherited)
    listed = select(getattr(link.table, link.owner_column)).where(
        link.table.procedure_id.in_(ids),  # type: ignore[attr-defined]
        published(link.table),
    )
    return stmt.where(owner.id.in_(listed))


def source_filter(
    session: Session, stmt: Select[*tuple[Any, ...]], kind_name: str, source: str
) -> Select[*tuple[Any, ...]]:
    """Narrow a term list to terms with at least one link citing the source."""
    source_id = filter_id(session, Source, source, "source")
    kind = KIND[kind_name]
    cited = [
        select(getattr(link.table, link.owner_column))
        .join(Citation, col(Citation.subject_id) == link.table.id)  # type: ignore[attr-defined]
        .where(
            col(Citation.subject_type) == link.subject_type, col(Citation.source_id) == source_id
        )
        for link in kind.links
    ]
    if not cited:
        return stmt
    owner_ids = cited[0].union(*cited[1:]) if len(cited) > 1 else cited[0]
    return stmt.where(kind.table.id.in_(owner_ids))  # type: ignore[attr-defined]


def quote_select(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """Published quotes matching `where`, with their expert and source."""
    return (
        select(
            col(Quote.id),
            col(Quote.slug),
            col(Quote.text),
            col(Quote.topics),
            col(Expert.slug).label("expert"),
            col(Expert.name).label("expert_name"),
            col(Source.slug).label("source"),
        )
        .join(Expert, col(Expert.id) == Quote.expert_id)
        .join(Source, col(Source.id) == Quote.source_id)
        .where(published(Quote), published(Expert), published(Source), *where)
    )


@cache
def _quote_tags_statement() -> Prepared:
    """Built once: the published procedures each of the quotes `ids` is tagged with."""
    return Prepared(
        select(col(QuoteProcedure.quote_id), col(Procedure.id), col(Procedure.slug))
        .join(Procedure, col(Procedure.id) == QuoteProcedure.procedure_id)
        .where(
            col(QuoteProcedure.quote_id).in_(bindparam("ids", expanding=True)),
            published(Procedure),
        )
        .order_by(col(Procedure.slug))
    )


def with_tags(
    session: Reads,
    rows: Sequence[Any],
    chain: list[int] | None = None,
    slug_of: dict[int, str] | None = None,
) -> list[dict[str, Any]]:
    """Quote rows (of `quote_select`, as rows or dicts) with their procedure tags and citation
    (the quote itself) in one more statement.

    Given a procedure `chain` (nearest first), marks quotes reached through an ancestor.
    """
    items = [dict(r) if isinstance(r, dict) else dict(r._mapping) for r in rows]
    tags: dict[int, list[tuple[int, str]]] = {item["id"]: [] for item in items}
    if tags:
        for quote_id, procedure_id, procedure_slug in _quote_tags_statement().rows(
            session, {"ids": list(tags)}
        ):
            tags[quote_id].append((procedure_id, procedure_slug))
    for item in items:
        tagged = tags[item["id"]]
        item["procedures"] = [slug for _, slug in tagged]
        item["citations"] = [{"source": item["source"], "excerpt": item["text"]}]
        if chain is not None and slug_of is not None:
            nearest = min(chain.index(pid) for pid, _ in tagged if pid in chain)
            item["inherited_from"] = slug_of[chain[nearest]] if nearest else None
    if chain is not None:
        items.sort(key=lambda q: q["inherited_from"] is not None)
    return items


@cache
def _quotes_on_statement() -> Prepared:
    """Built once: published quotes tagged with any of the procedures `ids`."""
    tagged = select(col(QuoteProcedure.quote_id)).where(
        col(QuoteProcedure.procedure_id).in_(bindparam("ids", expanding=True))
    )
    return Prepared(quote_select(col(Quote.id).in_(tagged)).order_by(col(Quote.id)))


def quotes_on(session: Reads, procedure: str, inherited: bool) -> list[dict[str, Any]]:
    """Quotes tagged with a procedure (and its ancestors): three statements."""
    ids, slug_of = procedure_ids(session, procedure, inherited)
    rows = _quotes_on_statement().mappings(session, {"ids": ids})
    return with_tags(session, rows, ids, slug_of)


def term_page(
    session: Session,
    kind_name: str,
    page: Window,
    *,
    procedure: str | None = None,
    inherited: bool = True,
    source: str | None = None,
    where: tuple[ColumnElement[bool], ...] = (),
    sort: str = "slug",
) -> Paged:
    """One page of a term collection, narrowed by the filters every term collection offers."""
    kind = KIND[kind_name]
    term = kind.table
    stmt = select(term.slug, *_term_columns(kind_name)).where(published(term), *where)  # type: ignore[attr-defined]
    if procedure is not None:
        stmt = procedure_filter(session, stmt, kind.links[0], term, procedure, inherited)
    if source is not None:
        stmt = source_filter(session, stmt, kind_name, source)
    paged = page_of(session, stmt, term.slug, page, {"name": term.name}, sort)  # type: ignore[attr-defined]
    return paged._replace(rows=[dict(r._mapping) for r in paged.rows])


def linked_to(
    session: Session, kind_name: str, link_key: str, slug: str, parameter: str
) -> ColumnElement[bool]:
    """Condition: the term has a published link (under `link_key`) to the entity with this slug."""
    kind = KIND[kind_name]
    link = next(x for x in kind.links if x.key == link_key)
    target_id = filter_id(session, KIND[link.target].table, slug, parameter)
    owners = select(getattr(link.table, link.owner_column)).where(
        getattr(link.table, link.target_column) == target_id, published(link.table)
    )
    return kind.table.id.in_(owners)  # type: ignore[attr-defined,no-any-return]


def link_attribute(kind_name: str, column: str, value: str) -> ColumnElement[bool]:
    """Condition: the term has a published procedure link whose `column` equals `value`."""
    link = KIND[kind_name].links[0]
    owners = select(getattr(link.table, link.owner_column)).where(
        getattr(link.table, column) == value, published(link.table)
    )
    return KIND[kind_name].table.id.in_(owners)  # type: ignore[attr-defined,no-any-return]


def side_effects_of_ingredient(session: Session, ingredient: str) -> list[dict[str, Any]]:
    """Published side effects named for an ingredient, each with note and citations."""
    rows = session.execute(
        select(
            col(SideEffect.slug),
            *_term_columns("side_effect"),
            col(IngredientSideEffect.id).label("link_id"),
            col(IngredientSideEffect.note),
        )
        .join(IngredientSideEffect, col(IngredientSideEffect.side_effect_id) == SideEffect.id)
        .join(Ingredient, col(Ingredient.id) == IngredientSideEffect.ingredient_id)
        .where(
            col(Ingredient.slug) == ingredient,
            published(SideEffect),
            published(IngredientSideEffect),
        )
        .order_by(col(SideEffect.slug))
    ).all()
    return with_citations(session, "ingredient_side_effect", rows)


@cache
def procedure_summary_select() -> Select[*tuple[Any, ...]]:
    """Published procedures with parent slug and the overall needle length range.

    Built once (selects are immutable: each caller's `.where()` makes its own copy)."""
    parent = aliased(Procedure)
    lengths = (
        select(
            col(NeedleLength.procedure_id),
            func.min(NeedleLength.min_mm).label("needle_length_min_mm"),
            func.max(NeedleLength.max_mm).label("needle_length_max_mm"),
        )
        .where(published(NeedleLength))
        .group_by(col(NeedleLength.procedure_id))
        .subquery()
    )
    return (
        select(
            col(Procedure.id),
            col(Procedure.slug),
            col(Procedure.name),
            col(Procedure.aliases),
            col(parent.slug).label("parent"),
            col(Procedure.kind),
            col(Procedure.setting),
            col(Procedure.device),
            lengths.c.needle_length_min_mm,
            lengths.c.needle_length_max_mm,
            col(Procedure.session_duration),
            col(Procedure.frequency),
            col(Procedure.summary),
        )
        .outerjoin(
            parent, (col(parent.id) == Procedure.parent_id) & (col(parent.status) == PUBLISHED)
        )
        .outerjoin(lengths, lengths.c.procedure_id == Procedure.id)
        .where(published(Procedure))
    )


class _DetailStatements(NamedTuple):
    procedure: Prepared  # by slug, with its citations
    children: Prepared  # by the procedure's id: variants, needle lengths and steps, cited


# What `_DetailStatements.children` gives in its `part` column, in this order.
VARIANT, NEEDLE_LENGTH, STEP = 0, 1, 2


def _part(
    part: int,
    id_: Any = None,
    word: Any = None,
    position: Any = None,
    text: Any = None,
    min_mm: Any = None,
    max_mm: Any = None,
    citations: Any = None,
) -> tuple[ColumnElement[Any], ...]:
    """The columns of one part of the children's union, typed NULL where it has none."""

    def typed(value: Any, type_: Any, name: str) -> ColumnElement[Any]:
        return (cast(null(), type_) if value is None else value).label(name)

    return (
        literal_column(str(part), Integer).label("part"),
        typed(id_, Integer, "id"),
        typed(word, String, "word"),
        typed(position, Integer, "position"),
        typed(text, Text, "text"),
        typed(min_mm, Float, "min_mm"),
        typed(max_mm, Float, "max_mm"),
        typed(citations, Text, "citations"),
    )


def _cited_by(subject_type: str, subject_id: Any) -> ColumnElement[bool]:
    """Join condition: the subject's row of `citation_list` (none when it cites nothing)."""
    return (citation_list.c.subject_type == subject_type) & (
        citation_list.c.subject_id == subject_id
    )


def cited_list(citations: str | None, rendered: bool) -> Any:
    """A subject's `citation_list` array: its stored JSON as an `orjson.Fragment` for a route
    that renders it with orjson as it is (`rendered`), else as a list of dicts."""
    citations = citations or "[]"
    return orjson.Fragment(citations) if rendered else orjson.loads(citations)


@cache
def _detail_statements() -> _DetailStatements:
    """Built once: what `procedure_detail` reads besides lineage. The children come in one
    statement: variants by slug, needle lengths by id, steps by position; each cited subject
    with its citations as `citation_list` keeps them (migration 0006)."""
    of_procedure: BindParameter[int] = bindparam("id")
    lists = citation_list.c.citations
    children = union_all(
        select(*_part(VARIANT, word=col(Procedure.slug))).where(
            col(Procedure.parent_id) == of_procedure, published(Procedure)
        ),
        select(
            *_part(
                NEEDLE_LENGTH,
                col(NeedleLength.id),
                min_mm=col(NeedleLength.min_mm),
                max_mm=col(NeedleLength.max_mm),
                citations=lists,
            )
        )
        .outerjoin(citation_list, _cited_by("needle_length", NeedleLength.id))
        .where(col(NeedleLength.procedure_id) == of_procedure, published(NeedleLength)),
        select(
            *_part(
                STEP,
                col(Step.id),
                col(Step.kind),
                col(Step.position),
                col(Step.text),
                citations=lists,
            )
        )
        .outerjoin(citation_list, _cited_by("step", Step.id))
        .where(col(Step.procedure_id) == of_procedure, published(Step)),
    )
    c = children.selected_columns
    return _DetailStatements(
        procedure=Prepared(
            procedure_summary_select()
            .add_columns(lists)
            .outerjoin(citation_list, _cited_by("procedure", Procedure.id))
            .where(col(Procedure.slug) == bindparam("slug"))
        ),
        children=Prepared(children.order_by(c.part, c.position, c.word, c.id)),
    )


def procedure_detail(
    session: Reads, slug: str, revision: int | None = None, rendered: bool = False
) -> dict[str, Any]:
    """A procedure with lineage (remembered at `revision`), variants, needle lengths, steps and
    citations, in the shape and order of `ProcedurePublic`: the procedure in one statement and
    its children in another, each with its citations. Citations as `cited_list` gives them."""
    statements = _detail_statements()
    found = statements.procedure.mappings(session, {"slug": slug})
    if not found:
        raise NotFound(f"No procedure with slug {slug!r}.")
    out = found[0]
    procedure_id = out.pop("id")
    citations = out.pop("citations")
    out["lineage"] = [s for _, s in lineage(session, slug, revision)[1:]]
    children = statements.children.rows(session, {"id": procedure_id})
    out["variants"] = [row[2] for row in children if row[0] == VARIANT]
    out["needle_lengths"] = [
        {"min_mm": row[5], "max_mm": row[6], "citations": cited_list(row[7], rendered)}
        for row in children
        if row[0] == NEEDLE_LENGTH
    ]
    out["steps"] = [
        {
            "kind": row[2],
            "position": row[3],
            "text": row[4],
            "citations": cited_list(row[7], rendered),
        }
        for row in children
        if row[0] == STEP
    ]
    out["citations"] = cited_list(citations, rendered)
    return out


def procedures_citing(session: Session, source: str) -> ColumnElement[bool]:
    """Condition: the procedure, one of its steps or needle lengths cites the source."""
    source_id = filter_id(session, Source, source, "source")

    def cited(subject_type: str, table: Any) -> Select[*tuple[Any, ...]]:
        return (
            select(table.procedure_id)
            .join(Citation, col(Citation.subject_id) == table.id)
            .where(col(Citation.subject_type) == subject_type, col(Citation.source_id) == source_id)
        )

    own = select(col(Citation.subject_id)).where(
        col(Citation.subject_type) == "procedure", col(Citation.source_id) == source_id
    )
    return col(Procedure.id).in_(
        own.union(cited("step", Step), cited("needle_length", NeedleLength))
    )


def experts_featured_in(source_id: int) -> Select[*tuple[Any, ...]]:
    """Ids of the experts whose description cites the source."""
    return select(col(Citation.subject_id)).where(
        col(Citation.subject_type) == "expert", col(Citation.source_id) == source_id
    )


def _public_quotes(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """Quotes the public sees (`quote_select`'s rule: quote, expert and source published)."""
    return (
        select(col(Quote.id), col(Quote.expert_id), col(Quote.source_id))
        .join(Expert, col(Expert.id) == Quote.expert_id)
        .join(Source, col(Source.id) == Quote.source_id)
        .where(published(Quote), published(Expert), published(Source), *where)
    )


def _count(session: Session, stmt: Select[*tuple[Any, ...]]) -> int:
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


def sources_quoting(session: Session, expert_id: int) -> set[str]:
    quoted = _public_quotes(col(Quote.expert_id) == expert_id).subquery()
    rows = session.scalars(
        select(col(Source.slug)).where(col(Source.id).in_(select(quoted.c.source_id)))
    )
    return set(rows)


def source_detail(session: Session, slug: str) -> dict[str, Any]:
    """A published source with its text, the published experts it quotes (in quotes the public
    sees) or features, and how many of those quotes it holds; 404 if not published."""
    source = get_published(session, Source, slug, "source")
    out = source.model_dump(include={"slug", "title", "publisher", "url", "content_hash", "text"})
    quotes = _public_quotes(col(Quote.source_id) == source.id)
    quoted = select(quotes.subquery().c.expert_id)
    out["experts"] = sorted(
        session.scalars(
            select(col(Expert.slug)).where(
                published(Expert),
                col(Expert.id).in_(quoted.union(experts_featured_in(source.id))),
            )
        )
    )
    out["quote_count"] = _count(session, quotes)
    return out


EXPERT_SUMMARY = (
    "slug",
    "name",
    "credentials",
    "role",
    "affiliation",
    "location",
    "specialty",
)


def expert_detail(session: Session, slug: str) -> dict[str, Any]:
    """A published expert with their citations, the sources they appear in, and how many quotes
    the public sees of theirs; 404 if not published."""
    expert = get_published(session, Expert, slug, "expert")
    out = {name: getattr(expert, name) for name in EXPERT_SUMMARY}
    out["citations"] = read_citations(session, "expert", [expert.id])[expert.id]
    out["sources"] = sorted(
        {c["source"] for c in out["citations"]} | sources_quoting(session, expert.id)
    )
    out["quote_count"] = _count(session, _public_quotes(col(Quote.expert_id) == expert.id))
    return out


def sources_of_expert(expert_id: int) -> CompoundSelect[int]:
    """Ids of the sources that quote the expert (in quotes the public sees) or describe them."""
    quoted = select(_public_quotes(col(Quote.expert_id) == expert_id).subquery().c.source_id)
    described = select(col(Citation.source_id)).where(
        col(Citation.subject_type) == "expert", col(Citation.subject_id) == expert_id
    )
    return quoted.union(described)


def side_effect_counts(session: Session) -> list[dict[str, Any]]:
    """Per published side effect: how many sources and procedures list it, most cited first."""
    cited_by: list[Select[*tuple[Any, ...]]] = []
    for link in KIND["side_effect"].links:
        target = KIND[link.target].table
        cited_by.append(
            select(
                getattr(link.table, link.owner_column).label("side_effect_id"),
                col(Citation.source_id),
                link.table.procedure_id.label("procedure_id")  # type: ignore[attr-defined]
                if link.target == "procedure"
                else literal(None).label("procedure_id"),
            )
            .join(Citation, col(Citation.subject_id) == link.table.id)  # type: ignore[attr-defined]
            .join(Source, col(Source.id) == Citation.source_id)
            .join(target, target.id == getattr(link.table, link.target_column))  # type: ignore[attr-defined]
            .where(
                col(Citation.subject_type) == link.subject_type,
                published(link.table),
                published(Source),
                published(target),
            )
        )
    listed = cited_by[0].union_all(*cited_by[1:]).subquery()
    rows = session.execute(
        select(
            col(SideEffect.slug),
            col(SideEffect.name),
            func.count(listed.c.source_id.distinct()).label("sources"),
            func.count(listed.c.procedure_id.distinct()).label("procedures"),
        )
        .join(listed, listed.c.side_effect_id == SideEffect.id)
        .where(published(SideEffect))
        .group_by(col(SideEffect.id), col(SideEffect.slug), col(SideEffect.name))
        .order_by(func.count(listed.c.source_id.distinct()).desc(), col(SideEffect.slug))
    ).all()
    return [dict(r._mapping) for r in rows]


def experts_by_quotes(session: Session) -> list[dict[str, Any]]:
    """Published experts with how many published quotes each has, most quoted first."""
    quotes = func.count(col(Quote.id))
    rows = session.execute(
        select(col(Expert.slug), col(Expert.name), quotes.label("quotes"))
        .join(Quote, (col(Quote.expert_id) == Expert.id) & (col(Quote.status) == PUBLISHED))
        .join(Source, (col(Source.id) == Quote.source_id) & (col(Source.status) == PUBLISHED))
        .where(published(Expert))
        .group_by(col(Expert.id), col(Expert.slug), col(Expert.name))
        .order_by(quotes.desc(), col(Expert.slug))
    ).all()
    return [dict(r._mapping) for r in rows]


def collection_totals(session: Session) -> dict[str, int]:
    """How many published entities each collection holds, in one statement."""
    counts = [
        select(func.count()).select_from(kind.table).where(published(kind.table)).scalar_subquery()
        for kind in KINDS
    ]
    row = session.execute(select(*counts)).one()
    return {kind.file: int(n) for kind, n in zip(KINDS, row, strict=True)}


def source_articles(session: Session) -> dict[str, dict[str, Any]]:
    """Published sources by slug, with what markup says of an article: title, url, publisher."""
    rows = session.execute(
        select(col(Source.slug), col(Source.title), col(Source.url), col(Source.publisher)).where(
            published(Source)
        )
    ).all()
    return {r.slug: {"title": r.title, "url": r.url, "publisher": r.publisher} for r in rows}


def quotes_of_expert(session: Session, slug: str) -> list[dict[str, Any]]:
    """Published quotes of a published expert, with their tags, in source order; 404."""
    expert = get_published(session, Expert, slug, "expert")
    rows = session.execute(quote_select(col(Quote.expert_id) == expert.id).order_by(col(Quote.id)))
    return with_tags(session, list(rows))


def source_page(
    session: Session, page: Window, sort: str, expert: str | None, publisher: str | None
) -> Paged:
    """A page of published sources, of those that quote or feature `expert`, by `publisher`."""
    stmt = select(
        col(Source.slug),
        col(Source.title),
        col(Source.publisher),
        col(Source.url),
        col(Source.content_hash),
    ).where(published(Source))
    if expert is not None:
        expert_id = filter_id(session, Expert, expert, "expert")
        stmt = stmt.where(col(Source.id).in_(sources_of_expert(expert_id)))
    if publisher is not None:
        stmt = stmt.where(col(Source.publisher) == publisher)
    return page_of(session, stmt, Source.slug, page, {"name": Source.title}, sort)


def expert_page(
    session: Session,
    page: Window,
    sort: str,
    source: str | None,
    role: str | None,
    procedure: str | None,
) -> Paged:
    """A page of published experts: of those a source quotes or features, with a role, or
    quoted about a procedure."""
    stmt = select(*(getattr(Expert, name) for name in EXPERT_SUMMARY)).where(published(Expert))
    if source is not None:
        source_id = filter_id(session, Source, source, "source")
        quoted_in = _public_quotes(col(Quote.source_id) == source_id).subquery()
        featured = experts_featured_in(source_id)
        stmt = stmt.where(col(Expert.id).in_(select(quoted_in.c.expert_id).union(featured)))
    if role is not None:
        stmt = stmt.where(col(Expert.role) == role)
    if procedure is not None:
        ids, _ = filter_procedure_ids(session, procedure, inherited=False)
        tagged = _public_quotes(col(QuoteProcedure.procedure_id).in_(ids)).join(
            QuoteProcedure, col(QuoteProcedure.quote_id) == Quote.id
        )
        stmt = stmt.where(col(Expert.id).in_(select(tagged.subquery().c.expert_id)))
    return page_of(session, stmt, Expert.slug, page, {"name": Expert.name}, sort)


def published_slugs(session: Session) -> dict[str, list[str]]:
    """The slugs of every published entity, by collection file name, in slug order."""
    return {
        kind.file: list(
            session.scalars(
                select(kind.table.slug).where(published(kind.table)).order_by(kind.table.slug)  # type: ignore[attr-defined]
            )
        )
        for kind in KINDS
    }

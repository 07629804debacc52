"""Public reads of topics and positions: which sources answer what, and whether they agree.

A position is public when it, its topic and its source are published (and its expert, when it
names one); a topic's agreement is derived from its public positions (`api.kb.agreement`).
"""

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from api.errors import NotFound
from api.kb.agreement import Stance, agreement
from api.kb.documents import read_citations
from api.kb.queries import PUBLISHED, Paged, Window, page_of, procedure_ids, published
from models import Expert, Position, Procedure, Source, Topic, TopicProcedure


def _public_positions(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    """Public positions with the slugs and names they show."""
    procedure = aliased(Procedure)
    return (
        select(
            col(Position.id),
            col(Position.slug),
            col(Position.topic_id),
            col(Topic.slug).label("topic"),
            col(Source.slug).label("source"),
            col(Expert.slug).label("expert"),
            col(Expert.name).label("expert_name"),
            col(Position.statement),
            col(Position.value_min),
            col(Position.value_max),
            col(Position.value_unit),
            col(Position.answer),
            col(procedure.slug).label("procedure"),
            col(Position.evidence),
            col(Position.commercial_interest),
        )
        .join(Topic, col(Topic.id) == Position.topic_id)
        .join(Source, col(Source.id) == Position.source_id)
        .outerjoin(Expert, col(Expert.id) == Position.expert_id)
        .outerjoin(
            procedure,
            and_(col(procedure.id) == Position.procedure_id, col(procedure.status) == PUBLISHED),
        )
        .where(
            published(Position),
            published(Topic),
            published(Source),
            or_(col(Position.expert_id).is_(None), col(Expert.status) == PUBLISHED),
            *where,
        )
    )


def _stance(row: Any) -> Stance:
    return Stance(row.source, row.procedure, row.value_min, row.value_max, row.answer)


class Standing:
    """Per published topic id: its agreement (and whether derived), sources and evidence kinds."""

    def __init__(self, session: Session, topic_ids: list[int] | None = None) -> None:
        where = [] if topic_ids is None else [col(Position.topic_id).in_(topic_ids)]
        stances: dict[int, list[Stance]] = defaultdict(list)
        self.evidence: dict[int, set[str]] = defaultdict(set)
        for row in session.execute(_public_positions(*where)):
            stances[row.topic_id].append(_stance(row))
            self.evidence[row.topic_id].add(row.evidence)
        topics = select(col(Topic.id), col(Topic.answer_type), col(Topic.agreement)).where(
            published(Topic)
        )
        if topic_ids is not None:
            topics = topics.where(col(Topic.id).in_(topic_ids))
        self.agreement: dict[int, tuple[str | None, bool]] = {
            id_: agreement(answer_type, editors, stances[id_])
            for id_, answer_type, editors in session.execute(topics)
        }
        self.sources = {id_: len({s.source for s in stances[id_]}) for id_ in self.agreement}

    def ids(self, disputed: bool | None, evidence: str | None) -> list[int]:
        return [
            id_
            for id_, (found, _) in self.agreement.items()
            if (disputed is None or (found != "agree") == disputed)
            and (evidence is None or evidence in self.evidence[id_])
        ]

    def summary(self, row: Any) -> dict[str, Any]:
        item = {k: v for k, v in row._mapping.items() if k != "id"}
        item["agreement"] = self.agreement[row.id][0]
        item["sources"] = self.sources[row.id]
        return item


def _topic_select(*where: ColumnElement[bool]) -> Select[*tuple[Any, ...]]:
    return select(
        col(Topic.id),
        col(Topic.slug),
        col(Topic.name),
        col(Topic.question),
        col(Topic.answer_type),
        col(Topic.unit),
    ).where(published(Topic), *where)


def topic_page(
    session: Session,
    page: Window,
    *,
    procedure: list[int] | None = None,
    disputed: bool | None = None,
    evidence: str | None = None,
    sort: str = "slug",
) -> Paged:
    """One page of published topics, narrowed to procedures' topics, disputed ones, or those
    with a position resting on one kind of evidence."""
    standing = Standing(session)
    stmt = _topic_select()
    if procedure is not None:
        stmt = stmt.where(col(Topic.id).in_(_concerning(procedure)))
    if disputed is not None or evidence is not None:
        stmt = stmt.where(col(Topic.id).in_(standing.ids(disputed, evidence)))
    paged = page_of(session, stmt, Topic.slug, page, {"name": Topic.name}, sort)
    return paged._replace(rows=[standing.summary(r) for r in paged.rows])


def _concerning(procedure_ids_: list[int]) -> Select[*tuple[Any, ...]]:
    return select(col(TopicProcedure.topic_id)).where(
        col(TopicProcedure.procedure_id).in_(procedure_ids_)
    )


def positions(session: Session, *where: ColumnElement[bool]) -> list[dict[str, Any]]:
    """Public positions with their citations and commercial interest, in slug order."""
    rows = session.execute(_public_positions(*where).order_by(col(Position.slug))).all()
    ids = [r.id for r in rows]
    cited = read_citations(session, "position", ids)
    interest_cited = read_citations(session, "position_interest", ids)
    out = []
    for r in rows:
        out.append(
            {
                "slug": r.slug,
                "topic": r.topic,
                "source": r.source,
                "expert": r.expert,
                "expert_name": r.expert_name,
                "statement": r.statement,
                "value": None
                if r.value_min is None
                else {"min": r.value_min, "max": r.value_max, "unit": r.value_unit},
                "answer": r.answer,
                "procedure": r.procedure,
                "evidence": r.evidence,
                "commercial_interest": None
                if r.commercial_interest is None
                else {"statement": r.commercial_interest, "citations": interest_cited[r.id]},
                "citations": cited[r.id],
            }
        )
    return out


def position_detail(session: Session, slug: str) -> dict[str, Any]:
    found = positions(session, col(Position.slug) == slug)
    if not found:
        raise NotFound(f"No position with slug {slug!r}.")
    return found[0]


def topic_detail(session: Session, slug: str) -> dict[str, Any]:
    """A published topic with its public positions, the procedures it concerns, its agreement."""
    row = session.execute(
        _topic_select(col(Topic.slug) == slug).add_columns(col(Topic.agreement_note))
    ).first()
    if row is None:
        raise NotFound(f"No topic with slug {slug!r}.")
    standing = Standing(session, [row.id])
    item = standing.summary(row)
    item["agreement_derived"] = standing.agreement[row.id][1]
    if item["agreement_derived"]:
        item["agreement_note"] = None
    item["procedures"] = list(
        session.scalars(
            select(col(Procedure.slug))
            .join(TopicProcedure, col(TopicProcedure.procedure_id) == Procedure.id)
            .where(col(TopicProcedure.topic_id) == row.id, published(Procedure))
            .order_by(col(Procedure.slug))
        )
    )
    item["positions"] = positions(session, col(Position.topic_id) == row.id)
    return item


def topics_of_procedure(session: Session, slug: str, inherited: bool) -> list[dict[str, Any]]:
    """Topics that concern the procedure (and, when inherited, its ancestors; those marked)."""
    ids, slug_of = procedure_ids(session, slug, inherited)
    depth = {id_: i for i, id_ in enumerate(ids)}
    nearest: dict[int, int] = {}
    for topic_id, procedure_id in session.execute(
        select(col(TopicProcedure.topic_id), col(TopicProcedure.procedure_id)).where(
            col(TopicProcedure.procedure_id).in_(ids)
        )
    ):
        if topic_id not in nearest or depth[procedure_id] < depth[nearest[topic_id]]:
            nearest[topic_id] = procedure_id
    standing = Standing(session, list(nearest))
    rows = session.execute(
        _topic_select(col(Topic.id).in_(list(nearest))).order_by(col(Topic.slug))
    ).all()
    items = []
    for r in rows:
        item = standing.summary(r)
        via = nearest[r.id]
        item["inherited_from"] = None if via == ids[0] else slug_of[via]
        items.append(item)
    items.sort(key=lambda t: t["inherited_from"] is not None)
    return items


def topic_counts(session: Session) -> dict[str, int]:
    """Published topics by agreement ("undecided" when neither the data nor the editor says)."""
    found = Counter(a or "undecided" for a, _ in Standing(session).agreement.values())
    return dict(sorted(found.items()))


def position_counts(session: Session) -> dict[str, int]:
    """Public positions by the kind of evidence behind them."""
    found = Counter(r.evidence for r in session.execute(_public_positions()))
    return dict(sorted(found.items()))

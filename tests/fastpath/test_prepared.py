"""api.fastpath.prepared runs a select on the DB-API cursor: same rows as SQLAlchemy's own
execution, whatever the IN-list lengths, with column types applied, events fired and errors
wrapped."""

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from api.fastpath.prepared import Prepared
from models import Citation, SideEffect

CITED = (
    select(col(Citation.subject_id), col(Citation.excerpt), col(Citation.about))
    .where(
        col(Citation.subject_type) == bindparam("subject_type"),
        col(Citation.subject_id).in_(bindparam("ids", expanding=True)),
    )
    .order_by(col(Citation.subject_id), col(Citation.position), col(Citation.id))
)


def test_same_rows_as_sqlalchemy_for_every_in_list_length(session: Session) -> None:
    prepared = Prepared(CITED)
    all_ids = sorted(
        session.scalars(
            select(col(Citation.subject_id)).where(
                col(Citation.subject_type) == "procedure_side_effect"
            )
        ).unique()
    )[:7]
    for ids in ([], all_ids[:1], all_ids[:3], all_ids[:7], all_ids[:3], all_ids[2:5]):
        params = {"subject_type": "procedure_side_effect", "ids": ids}
        expected = [tuple(r) for r in session.execute(CITED, params).all()]
        assert prepared.rows(session, params) == expected
        assert (len(expected) > 0) == (len(ids) > 0)


def test_column_types_apply(session: Session) -> None:
    """JSON columns come back decoded (text on SQLite), as through the ORM."""
    stmt = select(col(SideEffect.slug), col(SideEffect.aliases)).order_by(col(SideEffect.slug))
    assert Prepared(stmt).mappings(session) == [
        {"slug": slug, "aliases": aliases} for slug, aliases in session.execute(stmt).all()
    ]
    assert any(row["aliases"] for row in Prepared(stmt).mappings(session))


def test_statements_are_seen_by_cursor_events(
    count_statements: list[str], session: Session
) -> None:
    Prepared(CITED).rows(session, {"subject_type": "x", "ids": [1, 2]})
    assert [s for s in count_statements if "citation" in s] != []


def test_driver_errors_are_sqlalchemy_errors(session: Session) -> None:
    broken = Prepared(select(col(Citation.id)).where(col(Citation.id) == bindparam("id")))
    with pytest.raises(DBAPIError):
        broken.rows(session, {"id": object()})


def test_the_statements_own_values_stay_and_given_ones_change(session: Session) -> None:
    """Values the statement binds itself (`status = 'published'`) are taken once per layout;
    the caller's values are new at every call."""
    stmt = (
        select(col(SideEffect.slug))
        .where(col(SideEffect.status) == "published", col(SideEffect.name) != bindparam("not"))
        .where(col(SideEffect.slug).in_(bindparam("slugs", expanding=True)))
        .order_by(col(SideEffect.slug))
    )
    slugs = sorted(session.scalars(select(col(SideEffect.slug))).all())[:4]
    prepared = Prepared(stmt)
    for not_named in ("", "Redness", "Infection"):
        for some in (slugs[:2], slugs[1:3], slugs):
            params = {"not": not_named, "slugs": some}
            expected = [tuple(r) for r in session.execute(stmt, params).all()]
            assert prepared.rows(session, params) == expected
            assert expected

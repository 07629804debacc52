"""Totals of public lists, counted once per knowledge-base revision (a bypass: `SKINKB_COUNT_MEMO`).

A keyset page is one index range scan however deep it is, but its `total` counts the whole
filtered list. Every edit bumps the knowledge-base revision in its own transaction, so a count
made at a revision holds until the revision changes: it is remembered per count statement (its
structure and bound values) with that revision. Only public reads use the memo: they never
write, so what they count is committed.
"""

import itertools
from collections.abc import Hashable
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session

from api.fastpath import enabled, fell_back
from api.fastpath.kb_revision import current_revision
from api.fastpath.memo import RevisionMemo
from api.fastpath.read_connection import database_of

Key = tuple[Hashable, ...]


class CountMemo(RevisionMemo[Key, int]):
    """Counts by statement key, each with the revision it was made at; least recently used go
    first past `size` entries.

    A statement's structure (its SQLAlchemy cache key) is large, and one list has a few
    structures but many filter values: keys name a structure by a number from `shape`, never
    reused, even after the table of structures (at most `shapes`) starts over.
    """

    def __init__(self, size: int = 4096, shapes: int = 1024) -> None:
        super().__init__(size)
        self._max_shapes = shapes
        self._shapes: dict[Hashable, int] = {}
        self._numbers = itertools.count()

    def shape(self, structure: Hashable) -> int:
        with self._lock:
            number = self._shapes.get(structure)
            if number is None:
                if len(self._shapes) >= self._max_shapes:
                    self._shapes.clear()
                number = self._shapes[structure] = next(self._numbers)
            return number

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self._shapes.clear()


memo = CountMemo()


def _frozen(value: Any) -> Hashable:
    """A bound value as part of a key: lists (IN lists) as tuples, anything else as is."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value  # type: ignore[no-any-return]


def statement_key(session: Session, stmt: Select[*tuple[Any, ...]]) -> Key | None:
    """What a count depends on besides the data: the database, the statement's structure and its
    bound values in order; None if the statement has no cache key or a value is unhashable.

    The structure is SQLAlchemy's cache key (private: `_generate_cache_key`), the one its
    compiled-SQL cache is keyed by: two statements with the same one compile to the same SQL.
    """
    cache_key = stmt._generate_cache_key()
    if cache_key is None:
        return None
    values = tuple(_frozen(b.effective_value) for b in cache_key.bindparams)
    try:
        hash(values)
    except TypeError:
        return None
    return (database_of(session), memo.shape(cache_key.key), values)


def count_total(session: Session, stmt: Select[*tuple[Any, ...]], revision: int | None) -> int:
    """How many rows `stmt` selects: remembered at `revision`, the revision this session's
    transaction read first (None: count every time).

    A count made now is filed only if the revision is still the one read first: on PostgreSQL each
    statement sees what is committed when it starts, so an edit committed in between would make
    the count newer than its revision.
    """
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    key = None
    if revision is not None and enabled("count_memo"):
        try:
            key = statement_key(session, count)
        except Exception as error:  # noqa: BLE001 (SQLAlchemy's cache key changed: count it)
            fell_back("count_memo", error)
    if key is None or revision is None:
        return session.scalar(count) or 0
    found = memo.get(key, revision)
    if found is not None:
        return found
    total = session.scalar(count) or 0
    if current_revision(session) == revision:
        memo.put(key, revision, total)
    return total

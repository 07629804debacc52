"""Totals of public lists, counted once per knowledge-base revision.

A keyset page is one index range scan however deep it is, but its `total` counts the whole
filtered list, which costs more as the tables grow. The knowledge base is read-mostly and every
edit of any of its tables bumps `kb_revision` in the same transaction, so a count made at a
revision holds until the revision changes: remember it per count statement (its structure and
bound values) with that revision, and reuse it only when a request reads the same revision.

Only public reads use the memo: they never write, so what they count is committed. A transaction
that writes could count rows of its own that a rollback takes back while their revision number
is reused by the next writer. The store is api.memo's, as for the response memo of api.caching.
"""

import itertools
from collections.abc import Hashable
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import Session

from api.caching import current_revision
from api.memo import RevisionMemo

Key = tuple[Hashable, ...]


class CountMemo(RevisionMemo[Key, int]):
    """Counts by statement key, each with the revision it was made at; least recently used go
    first past `size` entries.

    A statement's structure (its SQLAlchemy cache key) is tens of kilobytes of tuples, and one
    list has a few structures but many filter values: keys name a structure by a number from
    `shape`, so each structure is held once. Numbers are never reused, even after the table of
    structures (at most `shapes`) starts over.
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

    The structure is SQLAlchemy's cache key, the one its compiled-SQL cache is keyed by: two
    statements with the same one compile to the same SQL. Executing the statement computes it
    anyway (it is memoised on the statement); compiling the SQL string instead would cost more
    than the count itself on a small table. Values stay values: nothing is rendered into SQL.
    """
    cache_key = stmt._generate_cache_key()
    if cache_key is None:
        return None
    values = tuple(_frozen(b.effective_value) for b in cache_key.bindparams)
    try:
        hash(values)
    except TypeError:
        return None
    return (str(session.get_bind().engine.url), memo.shape(cache_key.key), values)


def count_total(session: Session, stmt: Select[*tuple[Any, ...]], revision: int | None) -> int:
    """How many rows `stmt` selects: remembered at `revision`, the revision this session's
    transaction read first (None: count every time).

    A count made now is filed only if the revision is still the one read first: on PostgreSQL each
    statement sees what is committed when it starts, so an edit committed in between would make
    the count newer than its revision.
    """
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    key = statement_key(session, count) if revision is not None else None
    if key is None or revision is None:
        return session.scalar(count) or 0
    found = memo.get(key, revision)
    if found is not None:
        return found
    total = session.scalar(count) or 0
    if current_revision(session) == revision:
        memo.put(key, revision, total)
    return total

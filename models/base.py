"""Shared pieces of every table: naming convention, publication status, versioning, citations."""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, DateTime, Index, MetaData, String, Text
from sqlmodel import Field, SQLModel

# Stable constraint names on SQLite and PostgreSQL alike, so migrations can name what they drop.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_MAX = 120
NAME_MAX = 300
TEXT_MAX = 5_000
# Ids and revision numbers are 32-bit on PostgreSQL: a larger number names nothing.
ID_MAX = 2**31 - 1
# A short name in a list (an alias, a credential), and a kebab-case tag (a quote's topic).
ShortName = Annotated[str, pydantic.StringConstraints(min_length=1, max_length=NAME_MAX)]
Tag = Annotated[str, pydantic.StringConstraints(max_length=60, pattern=SLUG_PATTERN)]


class Status(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# A stored time as answered: in UTC with its offset (SQLite hands times back without one).
UtcDateTime = Annotated[datetime, pydantic.AfterValidator(_as_utc)]


class Tracked(SQLModel):
    """Columns every stored row has: publication status, optimistic-lock version, timestamps."""

    # No index: two or three values, which misleads SQLite's planner away from the selective ones.
    status: str = Field(default=Status.published, sa_type=String(16))
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class Citation(SQLModel, table=True):
    """A verbatim excerpt of a source that backs one fact (a row of `subject_type`)."""

    __tablename__ = "citation"
    # In the order citations are read (migration 0005).
    __table_args__ = (Index("ix_citation_subject", "subject_type", "subject_id", "position", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    subject_type: str = Field(sa_type=String(40))
    subject_id: int
    source_id: int = Field(foreign_key="source.id", index=True, ondelete="RESTRICT")
    excerpt: str = Field(sa_type=Text)
    about: str | None = Field(default=None, sa_type=String(40))
    position: int = 0


class CitationIn(BaseModel):
    """A citation as written in seed files and admin requests."""

    model_config = ConfigDict(extra="forbid")

    source: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    excerpt: str = pydantic.Field(min_length=3, max_length=TEXT_MAX)
    about: str | None = pydantic.Field(default=None, max_length=40)


class CitationPublic(BaseModel):
    source: str
    excerpt: str
    about: str | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a collection, with the URL of the next page when there is one."""

    # `next` is always sent (null on the last page): required in the answer's schema.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[T]
    total: int
    next: str | None = None


class Term(Tracked):
    """Columns shared by the named things the articles list: side effects, ingredients, ..."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(SLUG_MAX), unique=True, index=True)
    name: str = Field(sa_type=String(NAME_MAX))
    aliases: list[str] = Field(default_factory=list, sa_type=JSON)
    description: str | None = Field(default=None, sa_type=Text)


class TermIn(BaseModel):
    """What an editor or a seed file gives for a term."""

    model_config = ConfigDict(extra="forbid")

    slug: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    name: str = pydantic.Field(min_length=1, max_length=NAME_MAX)
    aliases: list[ShortName] = pydantic.Field(default_factory=list, max_length=20)
    description: str | None = pydantic.Field(default=None, max_length=TEXT_MAX)


class TermSummary(BaseModel):
    slug: str
    name: str
    aliases: list[str]
    description: str | None


class ProcedureLink(Tracked):
    """Columns of every link from a procedure to a term; its citations back the link."""

    id: int | None = Field(default=None, primary_key=True)
    procedure_id: int = Field(foreign_key="procedure.id", index=True, ondelete="CASCADE")
    note: str | None = Field(default=None, sa_type=Text)


class ProcedureLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    note: str | None = pydantic.Field(default=None, max_length=TEXT_MAX)
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=20)


class ListedFor(BaseModel):
    """A procedure a term is listed for, with what the link says and cites."""

    procedure: str
    procedure_name: str
    note: str | None
    citations: list[CitationPublic]


class ListedTerm(TermSummary):
    """A term as listed for a procedure: one row per link, inherited rows marked."""

    procedure: str
    inherited_from: str | None
    note: str | None
    citations: list[CitationPublic]


class ListingCitation(CitationPublic):
    """A citation of a merged listing, with the procedure whose listing it backs."""

    procedure: str


class MergedListing(ListedTerm):
    """`?distinct=true`: one row per term, its own and inherited listings merged. `procedure`,
    `inherited_from` and `note` are the nearest listing's; `listed_for` names every procedure of
    the lineage that lists the term, nearest first."""

    listed_for: list[str]
    citations: list[ListingCitation]  # type: ignore[assignment]


def update_model(create: type[BaseModel]) -> type[BaseModel]:
    """`FooUpdate` for `FooCreate`: every field optional, the slug left out (it never changes).

    Only the fields sent are applied (PATCH); the whole document is then validated by `create`.
    """
    # pydantic types a field's annotation Optional; the fields of a built model always have one
    fields: dict[str, Any] = {
        name: (info.annotation | None, pydantic.Field(default=None, description=info.description))  # type: ignore[operator]
        for name, info in create.model_fields.items()
        if name != "slug"
    }
    return pydantic.create_model(  # type: ignore[no-any-return,call-overload]
        create.__name__.removesuffix("Create") + "Update",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Fields of {create.__name__} to change; the others stay as they are.",
        **fields,
    )

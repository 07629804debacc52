"""Procedures: scalp microneedling, its variants and the combinations the articles name."""

from enum import StrEnum

import pydantic
from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, String, Text
from sqlmodel import Field

from models.base import (
    NAME_MAX,
    SLUG_MAX,
    SLUG_PATTERN,
    TEXT_MAX,
    CitationIn,
    CitationPublic,
    ShortName,
    Tracked,
)


class Kind(StrEnum):
    general = "general"
    variant = "variant"
    combination = "combination"


class Setting(StrEnum):
    any = "any"
    in_office = "in-office"
    at_home = "at-home"


class StepKind(StrEnum):
    preparation = "preparation"
    protocol = "protocol"
    aftercare = "aftercare"
    benefit = "benefit"


class Procedure(Tracked, table=True):
    __tablename__ = "procedure"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(SLUG_MAX), unique=True, index=True)
    name: str = Field(sa_type=String(NAME_MAX))
    aliases: list[str] = Field(default_factory=list, sa_type=JSON)
    parent_id: int | None = Field(
        default=None, foreign_key="procedure.id", index=True, ondelete="RESTRICT"
    )
    kind: str = Field(sa_type=String(16))
    setting: str = Field(sa_type=String(16), index=True)
    device: str | None = Field(default=None, sa_type=String(NAME_MAX))
    summary: str | None = Field(default=None, sa_type=Text)
    session_duration: str | None = Field(default=None, sa_type=String(NAME_MAX))
    frequency: str | None = Field(default=None, sa_type=Text)


class NeedleLength(Tracked, table=True):
    """A needle length range one source gives for a procedure, in millimetres."""

    __tablename__ = "procedure_needle_length"

    id: int | None = Field(default=None, primary_key=True)
    procedure_id: int = Field(foreign_key="procedure.id", index=True, ondelete="CASCADE")
    min_mm: float
    max_mm: float


class Step(Tracked, table=True):
    """One step of the protocol, or one preparation or aftercare instruction, in order."""

    __tablename__ = "procedure_step"

    id: int | None = Field(default=None, primary_key=True)
    procedure_id: int = Field(foreign_key="procedure.id", index=True, ondelete="CASCADE")
    kind: str = Field(sa_type=String(16))
    position: int
    text: str = Field(sa_type=Text)


class NeedleLengthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_mm: float = pydantic.Field(gt=0, le=10)
    max_mm: float = pydantic.Field(gt=0, le=10)
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=20)

    @pydantic.model_validator(mode="after")
    def _ordered(self) -> "NeedleLengthIn":
        if self.min_mm > self.max_mm:
            raise ValueError("min_mm must not exceed max_mm")
        return self


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: StepKind
    text: str = pydantic.Field(min_length=1, max_length=TEXT_MAX)
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=20)


class ProcedureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    name: str = pydantic.Field(min_length=1, max_length=NAME_MAX)
    aliases: list[ShortName] = pydantic.Field(default_factory=list, max_length=20)
    parent: str | None = pydantic.Field(default=None, max_length=SLUG_MAX, pattern=SLUG_PATTERN)
    kind: Kind
    setting: Setting
    device: str | None = pydantic.Field(default=None, max_length=NAME_MAX)
    summary: str | None = pydantic.Field(default=None, max_length=TEXT_MAX)
    session_duration: str | None = pydantic.Field(default=None, max_length=NAME_MAX)
    frequency: str | None = pydantic.Field(default=None, max_length=TEXT_MAX)
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=50)
    needle_lengths: list[NeedleLengthIn] = pydantic.Field(default_factory=list, max_length=20)
    steps: list[StepIn] = pydantic.Field(default_factory=list, max_length=100)


class NeedleLengthPublic(BaseModel):
    min_mm: float
    max_mm: float
    citations: list[CitationPublic]


class StepPublic(BaseModel):
    kind: StepKind
    position: int
    text: str
    citations: list[CitationPublic]


class ProcedureSummary(BaseModel):
    slug: str
    name: str
    aliases: list[str]
    parent: str | None
    kind: Kind
    setting: Setting
    device: str | None
    needle_length_min_mm: float | None
    needle_length_max_mm: float | None
    session_duration: str | None
    frequency: str | None


class ProcedurePublic(ProcedureSummary):
    summary: str | None
    lineage: list[str]
    variants: list[str]
    needle_lengths: list[NeedleLengthPublic]
    steps: list[StepPublic]
    citations: list[CitationPublic]

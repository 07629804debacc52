"""Bodies of the admin requests that add one link (with its citations) or one quote tag."""

import pydantic
from pydantic import BaseModel, ConfigDict

from models.base import SLUG_MAX, SLUG_PATTERN, TEXT_MAX, CitationIn
from models.contraindication import Level
from models.ingredient import Role

Slug = pydantic.Field(max_length=SLUG_MAX, pattern=SLUG_PATTERN)


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = pydantic.Field(default=None, max_length=TEXT_MAX)
    citations: list[CitationIn] = pydantic.Field(min_length=1, max_length=20)


class SideEffectLinkIn(LinkIn):
    side_effect: str = Slug


class ContraindicationLinkIn(LinkIn):
    contraindication: str = Slug
    level: Level


class IngredientLinkIn(LinkIn):
    ingredient: str = Slug
    role: Role


class ConditionLinkIn(LinkIn):
    condition: str = Slug


class QuoteTagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure: str = Slug

"""What the admin API answers with: entries as editors see them, deletions, imports."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.base import UtcDateTime


class AdminEntrySummary(BaseModel):
    slug: str
    label: str
    status: str
    version: int
    pending_edit: bool
    updated_at: UtcDateTime


class AdminEntry(AdminEntrySummary):
    collection: str
    # What the next edit starts from: the pending edit if there is one, else what is stored.
    document: dict[str, Any]
    # What the public sees meanwhile, when a published entry has an edit pending.
    published_document: dict[str, Any] | None = None


class AdminPage(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    items: list[AdminEntrySummary]
    total: int
    next: str | None = None


class DeleteReport(BaseModel):
    deleted: list[str]
    changed: list[str]


Documents = list[dict[str, Any]]


class ImportDocuments(BaseModel):
    """As `skinkb export` writes it: the documents of each collection (any may be left out).

    Each document is checked against its collection's `...Create` model when imported, so a refusal
    names the entry and the field.
    """

    model_config = ConfigDict(extra="forbid")

    sources: Documents = Field(default_factory=list)
    experts: Documents = Field(default_factory=list)
    procedures: Documents = Field(default_factory=list)
    ingredients: Documents = Field(default_factory=list)
    side_effects: Documents = Field(default_factory=list)
    contraindications: Documents = Field(default_factory=list)
    conditions: Documents = Field(default_factory=list)
    quotes: Documents = Field(default_factory=list)
    topics: Documents = Field(default_factory=list)
    positions: Documents = Field(default_factory=list)


class ImportReport(BaseModel):
    dry_run: bool
    created: dict[str, list[str]]
    changed: dict[str, list[str]]
    unchanged: dict[str, int]
    refused: list[str]

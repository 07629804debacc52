"""What the admin API answers with: entries as editors see them, deletions, imports."""

from typing import Any

from pydantic import BaseModel

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
    items: list[AdminEntrySummary]
    total: int
    next: str | None = None


class DeleteReport(BaseModel):
    deleted: list[str]
    changed: list[str]


class ImportReport(BaseModel):
    dry_run: bool
    created: dict[str, list[str]]
    changed: dict[str, list[str]]
    unchanged: dict[str, int]
    refused: list[str]

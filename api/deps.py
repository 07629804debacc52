"""Shared dependencies of the routes: the database session and paging parameters."""

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response
from sqlmodel import Session

from api.config import settings
from api.db import get_session
from api.errors import InvalidParameter
from models.base import SLUG_PATTERN

SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def encode_cursor(key: str, *more: str) -> str:
    """An opaque cursor: the last slug, or (other orders) the order and the row's sort key."""
    raw = json.dumps([key, *more], ensure_ascii=False) if more else key
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[str]:
    """What `encode_cursor` was given; 422 naming `cursor` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
        values = json.loads(raw) if raw.startswith("[") else [raw]
    except (binascii.Error, UnicodeDecodeError, ValueError):
        values = None
    valid = (
        isinstance(values, list)
        and 1 <= len(values) <= 4
        and all(isinstance(v, str) and len(v) <= 400 for v in values)
        and (len(values) > 1 or re.fullmatch(SLUG_PATTERN, values[0]) is not None)
    )
    if not valid:
        raise InvalidParameter("cursor", "cursor is not one this API handed out")
    return values  # type: ignore[return-value]


@dataclass
class PageParams:
    """Keyset paging: `limit` rows after the key encoded in `cursor`."""

    request: Request
    response: Response
    limit: int
    after: list[str] | None

    def next_url(self, *last_key: str) -> str:
        url = self.request.url.include_query_params(cursor=encode_cursor(*last_key))
        base = settings.public_base_url.rstrip("/")
        return f"{base}{url.path}?{url.query}" if base else str(url)


async def page_params(
    request: Request,
    response: Response,
    limit: Annotated[
        int, Query(ge=1, le=settings.page_size_max, description="Items per page (at most 100).")
    ] = settings.page_size_default,
    cursor: Annotated[
        str | None, Query(max_length=1200, description="The `next` cursor of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(request, response, limit, decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageParams, Depends(page_params)]
NameSort = Annotated[
    Literal["slug", "-slug", "name", "-name"],
    Query(description="Order of the list (default `slug`); `-` first reverses it."),
]
SlugSort = Annotated[
    Literal["slug", "-slug"], Query(description="Order of the list; `-slug` reverses it.")
]

"""Shared dependencies of the routes: the database session and paging parameters."""

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlmodel import Session

from api.config import settings
from api.db import get_session
from api.errors import InvalidParameter
from models.base import SLUG_PATTERN

SessionDep = Annotated[Session, Depends(get_session)]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if not re.fullmatch(SLUG_PATTERN, key):
        raise InvalidParameter("cursor", "cursor is not one this API handed out")
    return key


@dataclass
class PageParams:
    """Keyset paging: `limit` rows after the slug encoded in `cursor`."""

    request: Request
    limit: int
    after: str | None

    def next_url(self, last_key: str) -> str:
        url = self.request.url.include_query_params(cursor=encode_cursor(last_key))
        base = settings.public_base_url.rstrip("/")
        return f"{base}{url.path}?{url.query}" if base else str(url)


def page_params(
    request: Request,
    limit: Annotated[
        int, Query(ge=1, le=settings.page_size_max, description="Items per page (at most 100).")
    ] = settings.page_size_default,
    cursor: Annotated[
        str | None, Query(max_length=400, description="The `next` cursor of the previous page.")
    ] = None,
) -> PageParams:
    return PageParams(request, limit, decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageParams, Depends(page_params)]

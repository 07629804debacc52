"""Keyset paging over HTTP: opaque cursors, and the `next` URL (also sent as a `Link` header)."""

import base64
import binascii
import json
import re

from starlette.datastructures import URL

from api.config import settings
from api.errors import InvalidParameter
from models.base import SLUG_PATTERN


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
        # A value is bound in SQL: NUL is refused here as in any other text (RefuseNulMiddleware).
        and all(isinstance(v, str) and len(v) <= 400 and "\x00" not in v for v in values)
        and (len(values) > 1 or re.fullmatch(SLUG_PATTERN, values[0]) is not None)
    )
    if not valid:
        raise InvalidParameter("cursor", "cursor is not one this API handed out")
    return values  # type: ignore[return-value]


def next_url(url: URL, key: list[str]) -> str:
    """The URL of the page after the row with this key: the request's, with its cursor."""
    url = url.include_query_params(cursor=encode_cursor(*key))
    base = settings.public_base_url.rstrip("/")
    return f"{base}{url.path}?{url.query}" if base else str(url)


def link_next(url: str) -> str:
    return f'<{url}>; rel="next"'

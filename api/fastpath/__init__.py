"""The fast path: every bypass of the ordinary FastAPI/SQLAlchemy path, fenced here.

Only this package may use a framework's internals (FastAPI's route contexts, SQLAlchemy's
compiler state, uvicorn's protocol class, SQLite's WAL-index file). Each bypass has its setting
(`SKINKB_FASTPATH=false` turns them all off), falls back to the ordinary path on any error
(logged once), and answers byte for byte what the ordinary path answers.
"""

import logging

from api.config import settings

log = logging.getLogger("skinkb.fastpath")
_reported: set[str] = set()

BYPASSES = (
    "direct_reads",
    "response_cache",
    "prepared_statements",
    "count_memo",
    "wal_index_probe",
    "fast_protocol",
)


def enabled(bypass: str) -> bool:
    """True when the bypass is on (its own setting, and the fast path as a whole)."""
    return settings.fastpath and bool(getattr(settings, bypass))


def fell_back(bypass: str, error: BaseException) -> None:
    """Log, once per bypass and process, that it failed and the ordinary path answered."""
    if bypass not in _reported:
        _reported.add(bypass)
        log.warning("fast path %s failed, ordinary path used: %r", bypass, error)

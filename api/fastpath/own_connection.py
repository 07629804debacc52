"""A DB-API connection a worker keeps for itself, outside the pool.

The worker's read connection and the knowledge-base revision probe each hold one: taken from
the engine's pool once and detached (the pool neither counts it nor hands it out), made ready by
its user, retried no sooner than `retry_seconds` after a failed connect (a caller must not block
on a database that is down: the ordinary path answers 503 meanwhile), dropped at any error.
"""

import logging
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Engine

log = logging.getLogger("skinkb.fastpath")


class Closable(Protocol):
    def close(self) -> None: ...


Held = TypeVar("Held", bound=Closable)


class OwnConnection(Generic[Held]):
    """Opens on demand what `make(driver_connection, engine)` builds on a detached connection."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        make: Callable[[Any, Engine], Held],
        retry_seconds: float = 1.0,
    ) -> None:
        self._engine = engine
        self._make = make
        self.retry_seconds = retry_seconds
        self.held: Held | None = None
        self._retry_at = 0.0

    def open(self) -> Held | None:
        """What is held, opened now if need be; None while the database cannot be reached."""
        if self.held is not None:
            return self.held
        if time.monotonic() < self._retry_at:
            return None
        try:
            engine = self._engine()
            pooled = engine.raw_connection()
            driver: Any = pooled.driver_connection  # the sqlite3 or psycopg connection
            pooled.detach()
            try:
                self.held = self._make(driver, engine)
            except Exception:
                driver.close()
                raise
        except Exception as error:  # noqa: BLE001 (unreachable: the ordinary path answers)
            log.debug("own connection not opened: %r", error)
            self._retry_at = time.monotonic() + self.retry_seconds
            return None
        self._retry_at = 0.0
        return self.held

    def close(self) -> None:
        held, self.held = self.held, None
        if held is not None:
            try:
                held.close()
            except Exception:  # noqa: BLE001 (closing what is already broken)
                pass

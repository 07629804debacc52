"""The audit log: every write, every refused key and every refused role, appended in the
transaction of what it records (the database refuses to change or delete an event).

What a client chose (a path, a value) is kept to its first 512 characters, and the failed
authentications of one address within a minute make one event with their count, so that a
flood of bad requests grows the log by a bounded amount.
"""

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from models import AuditEvent

TEXT_MAX = 512
FAILURE_WINDOW_SECONDS = 60.0
# Addresses remembered at most; beyond, the oldest window is written out early.
FAILURE_ADDRESSES_MAX = 10_000


def clipped(value: Any) -> Any:
    """A text cut to TEXT_MAX characters (marked with `…`); anything else as it is."""
    if isinstance(value, str) and len(value) > TEXT_MAX:
        return value[: TEXT_MAX - 1] + "…"
    return value


def audit(session: Session, actor: str | None, action: str, target: str, **detail: Any) -> None:
    detail = {name: clipped(value) for name, value in detail.items()}
    session.add(AuditEvent(actor=actor, action=action, target=clipped(target), detail=detail))


@dataclass
class _Window:
    """The failures of one address since its last event: how many, and the last of them."""

    opened: float
    count: int = 0
    target: str = ""
    reason: str = ""


class FailureCounter:
    """Failed authentications per address: the first of a minute written at once, the next
    ones counted in memory and written as one event (with `count`) once the minute is over, at
    the next failure from any address. Per process; nothing written is ever updated."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.windows: OrderedDict[str, _Window] = OrderedDict()

    def forget(self) -> None:
        self.windows.clear()

    def record(self, session: Session, target: str, client: str | None, reason: str) -> None:
        now = self.clock()
        address = client or "unknown"
        due = self._closed(now)
        window = self.windows.get(address)
        if window is None:
            self.windows[address] = _Window(now)
            due.append((address, _Window(now, 1, target, reason)))
        else:
            window.count, window.target, window.reason = window.count + 1, target, reason
        if not due:
            return
        session.rollback()  # nothing of the refused request is kept, only the events
        for who, closed in due:
            audit(
                session,
                None,
                "auth.failed",
                closed.target,
                reason=closed.reason,
                client=None if who == "unknown" else who,
                count=closed.count,
            )
        session.commit()

    def _closed(self, now: float) -> list[tuple[str, _Window]]:
        """The windows over (oldest first), removed; those that counted failures, returned."""
        closed = []
        while self.windows:
            address, window = next(iter(self.windows.items()))
            full = len(self.windows) > FAILURE_ADDRESSES_MAX
            if not full and now - window.opened < FAILURE_WINDOW_SECONDS:
                break
            del self.windows[address]
            if window.count:
                closed.append((address, window))
        return closed


failures = FailureCounter()


def failed_authentication(
    session: Session, method: str, path: str, client: str | None, reason: str
) -> None:
    """Record a refused key (never the key itself), committed on its own when written."""
    failures.record(session, f"{method} {path}", client, reason)


def forbidden(session: Session, actor: str, method: str, path: str, needed: str) -> None:
    """Record a valid key refused for its role, committed on its own."""
    session.rollback()
    audit(session, actor, "auth.forbidden", f"{method} {path}", needed=needed)
    session.commit()

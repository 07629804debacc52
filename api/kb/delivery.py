"""The deliverer: sends the outbox's due webhook events over HTTP, signed, and records each
attempt. It runs as a background task of every `skinkb serve` worker and as
`skinkb webhooks deliver`; events are claimed in the database, so any number may run.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session

from api.config import settings
from api.db.engine import get_read_engine, get_write_engine
from api.kb import webhooks
from models.base import utcnow

log = logging.getLogger("skinkb.webhooks")
Sessions = Callable[[], Session]


def _sessions() -> Session:
    return Session(get_write_engine())


def _reads() -> Session:
    return Session(get_read_engine())


async def _refusal(url: str) -> str | None:
    """Checked after resolving, as late as can be: a name may point elsewhere by now."""
    if settings.webhook_allow_private:
        return None
    return await asyncio.to_thread(webhooks.refused_target, url)


async def send(client: httpx.AsyncClient, event: webhooks.Claimed) -> tuple[int | None, str | None]:
    """Post the event; (status code, error), one of them None."""
    refusal = await _refusal(event.url)
    if refusal is not None:
        return None, f"refused: {refusal}"
    timestamp = int(time.time())
    try:
        answer = await client.post(
            event.url,
            content=event.body.encode(),
            headers=webhooks.headers(event.secret, event.message_id, timestamp, event.body),
        )
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
    return answer.status_code, None


async def _deliver(
    client: httpx.AsyncClient, sessions: Sessions, token: str, event: webhooks.Claimed
) -> None:
    started = time.perf_counter()
    status, error = await send(client, event)
    duration_ms = int((time.perf_counter() - started) * 1000)
    host = urlsplit(event.url).hostname
    log.info("webhook %s to %s: %s", event.message_id, host, status or error)

    def record() -> None:
        with sessions() as session:
            webhooks.record_attempt(session, event.id, token, utcnow(), status, error, duration_ms)

    await asyncio.to_thread(record)


async def deliver_due(
    client: httpx.AsyncClient, sessions: Sessions = _sessions, reads: Sessions | None = None
) -> int:
    """Claim what is due, send it all at once, record the outcomes; how many were sent."""
    hold = settings.webhook_timeout_seconds + webhooks.CLAIM_MARGIN_SECONDS
    reads = reads or (_reads if sessions is _sessions else sessions)

    def claim() -> tuple[str, list[webhooks.Claimed]]:
        with reads() as session:
            if not webhooks.any_due(session, utcnow()):
                return "", []
        with sessions() as session:
            return webhooks.claim_due(session, utcnow(), hold)

    token, claimed = await asyncio.to_thread(claim)
    await asyncio.gather(*(_deliver(client, sessions, token, e) for e in claimed))
    return len(claimed)


def client() -> httpx.AsyncClient:
    """Redirects are not followed: a 3xx is a failed delivery, never a hop elsewhere."""
    return httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds,
        follow_redirects=False,
        headers={"user-agent": "skinkb-webhooks"},
    )


async def run(stop: asyncio.Event, sessions: Sessions = _sessions) -> None:
    """Deliver until `stop` is set: at once while there is more, else every poll interval."""
    async with client() as http:
        while not stop.is_set():
            try:
                sent = await deliver_due(http, sessions)
            except Exception:  # noqa: BLE001 (the database is away: try again next time)
                log.exception("webhook delivery failed")
                sent = 0
            if sent:
                continue
            try:
                await asyncio.wait_for(stop.wait(), settings.webhook_poll_seconds)
            except TimeoutError:
                pass

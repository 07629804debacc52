"""A crash between a publish and its webhook delivery loses nothing: `skinkb serve` is killed
(SIGKILL) after acknowledging a publish and before delivering it; restarted, it delivers the
event, once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlmodel import Session

from api.db.engine import make_engine
from bench.servers import free_port, skinkb_server
from models import WebhookDelivery
from tests.routes.admin.documents import DOCUMENTS, SOURCE
from tests.routes.admin.receiver import Receiver

ROOT = Path(__file__).resolve().parents[3]
SERVER_ENV = {
    "SKINKB_WEBHOOKS_ENABLED": "true",
    "SKINKB_WEBHOOK_ALLOW_PRIVATE": "true",
    "SKINKB_WEBHOOK_POLL_SECONDS": "0.1",
    "SKINKB_WEBHOOK_BACKOFF_SECONDS": "0.2",
    "SKINKB_WEBHOOK_BACKOFF_MAX_SECONDS": "0.5",
}


def admin_key(url: str) -> str:
    made = subprocess.run(
        [sys.executable, "-m", "api.cli", "keys", "create", "--name", "crash", "--role", "admin"],
        env={**os.environ, "SKINKB_DATABASE_URL": url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def outbox(url: str) -> list[WebhookDelivery]:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(WebhookDelivery)))
    finally:
        engine.dispose()


def test_killed_before_delivery_delivers_after_restart(empty_database_url: str) -> None:
    url = empty_database_url
    port = free_port()  # the receiver's, down at first
    server = skinkb_server(url, env=SERVER_ENV, name="webhooks-crash").start()
    try:
        auth = {"Authorization": f"Bearer {admin_key(url)}"}
        with httpx.Client(base_url=server.base, headers=auth, timeout=30) as http:
            hook = {"url": f"http://127.0.0.1:{port}/hook", "events": ["entry.published"]}
            assert http.post("/v1/admin/webhooks", json=hook).status_code == 201
            assert http.post("/v1/admin/sources", json=DOCUMENTS["sources"]).status_code == 201
            published = http.post(
                f"/v1/admin/sources/{SOURCE}/publish", headers={"If-Match": '"1"'}
            )
            assert published.status_code == 200, published.text
        server.kill(signal.SIGKILL)

        (event,) = outbox(url)
        assert event.state == "pending" and event.delivered_at is None

        with Receiver(port=port) as receiver:
            server.start()
            deadline = time.monotonic() + 60
            while not receiver.received and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.5)  # time enough for a second delivery, if there were one
            assert receiver.ids() == [event.message_id]
        (event,) = outbox(url)
        assert event.state == "delivered"
    finally:
        server.stop()

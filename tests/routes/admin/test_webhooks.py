"""Webhooks: the admin API, the outbox written with each change, and the deliverer: Standard
Webhooks signatures, retries with backoff, disabling, and one delivery per event however many
deliverers run."""

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlmodel import Session, col

from api.config import settings
from api.db.engine import writer
from api.kb import changes, delivery, webhooks
from models import Webhook, WebhookAttempt, WebhookDelivery
from models.base import utcnow
from tests.conftest import database_of_its_own
from tests.routes.admin.conftest import Admin
from tests.routes.admin.documents import DOCUMENTS, SOURCE
from tests.routes.admin.receiver import Receiver

EVENTS = ["entry.published", "entry.updated", "entry.unpublished", "entry.deleted"]


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The Standard Webhooks check, as a receiver writes it from the specification."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s[:3] == "v1,"]
    return any(hmac.compare_digest(expected, s) for s in given)


class TestAdminApi:
    def test_create_shows_the_secret_once(self, admin: Admin) -> None:
        r = admin.post(
            "/v1/admin/webhooks", json={"url": "https://example.org/h", "events": EVENTS}
        )
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["secret"].startswith("whsec_")
        assert len(base64.b64decode(made["secret"][6:])) >= 24
        assert made["enabled"] and made["collections"] is None
        got = admin.get(f"/v1/admin/webhooks/{made['id']}").json()
        assert "secret" not in got and got["url"] == "https://example.org/h"
        assert [w["id"] for w in admin.get("/v1/admin/webhooks").json()] == [made["id"]]

    def test_update_and_delete(self, admin: Admin) -> None:
        body = {"url": "https://example.org/h", "events": ["entry.published"]}
        made = admin.post("/v1/admin/webhooks", json=body).json()
        path = f"/v1/admin/webhooks/{made['id']}"
        r = admin.patch(path, json={"collections": ["sources"], "enabled": False})
        assert r.status_code == 200, r.text
        assert r.json()["collections"] == ["sources"] and not r.json()["enabled"]
        assert admin.delete(path).status_code == 200
        assert admin.get(path).status_code == 404
        assert admin.delete(path).status_code == 404

    def test_needs_the_admin_role(self, publisher: Admin) -> None:
        body = {"url": "https://example.org/h", "events": EVENTS}
        assert publisher.post("/v1/admin/webhooks", json=body).status_code == 403
        assert publisher.get("/v1/admin/webhooks").status_code == 403

    @pytest.mark.parametrize(
        "body",
        [
            {"url": "not a url", "events": EVENTS},
            {"url": "ftp://example.org/", "events": EVENTS},
            {"url": "https://example.org/", "events": ["entry.created"]},
            {"url": "https://example.org/", "events": []},
            {"url": "https://example.org/", "events": EVENTS, "collections": ["spells"]},
            {"url": "https://example.org/" + "a" * 2000, "events": EVENTS},
        ],
    )
    def test_refuses_bad_input(self, admin: Admin, body: dict) -> None:
        r = admin.post("/v1/admin/webhooks", json=body)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:8000/h",
            "http://localhost/h",
            "http://10.1.2.3/h",
            "http://192.168.0.1/h",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/h",
            "http://[::ffff:127.0.0.1]/h",
            "http://0.0.0.0/h",
        ],
    )
    def test_refuses_targets_that_are_not_public(
        self, admin: Admin, monkeypatch: pytest.MonkeyPatch, url: str
    ) -> None:
        monkeypatch.setattr(settings, "webhook_allow_private", False)
        r = admin.post("/v1/admin/webhooks", json={"url": url, "events": EVENTS})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", "url"]

    def test_unknown_ids_are_404_or_422(self, admin: Admin) -> None:
        assert admin.get("/v1/admin/webhooks/999999").status_code == 404
        assert admin.get(f"/v1/admin/webhooks/{2**40}").status_code == 422
        assert admin.post("/v1/admin/webhooks/1/deliveries/999/redeliver").status_code == 404


class TestOutbox:
    def test_each_public_change_puts_one_event_per_webhook(
        self, session: Session, admin: Admin, editor: Admin, publisher: Admin
    ) -> None:
        all_of_them = {"url": "https://example.org/all", "events": EVENTS}
        sources_published = {
            "url": "https://example.org/sources",
            "events": ["entry.published"],
            "collections": ["sources"],
        }
        procedures = {
            "url": "https://example.org/p",
            "events": EVENTS,
            "collections": ["procedures"],
        }
        ids = [
            admin.post("/v1/admin/webhooks", json=b).json()["id"]
            for b in (all_of_them, sources_published, procedures)
        ]
        url = f"/v1/admin/sources/{SOURCE}"
        assert editor.post("/v1/admin/sources", json=DOCUMENTS["sources"]).status_code == 201
        assert session.scalars(select(WebhookDelivery)).all() == []  # a draft is no event
        assert publisher.post(url + "/publish", headers={"If-Match": '"1"'}).status_code == 200
        assert publisher.post(url + "/unpublish", headers={"If-Match": '"2"'}).status_code == 200
        events = [
            (d.webhook_id, d.type)
            for d in session.scalars(select(WebhookDelivery).order_by(col(WebhookDelivery.id)))
        ]
        assert events == [
            (ids[0], "entry.published"),
            (ids[1], "entry.published"),
            (ids[0], "entry.unpublished"),
        ]
        body = json.loads(session.scalars(select(WebhookDelivery)).first().body)  # type: ignore[union-attr]
        assert body["type"] == "entry.published" and body["timestamp"]
        assert body["data"]["collection"] == "sources" and body["data"]["slug"] == SOURCE
        assert body["data"]["url"] == f"/v1/sources/{SOURCE}"
        assert isinstance(body["data"]["revision"], int)
        seen = admin.get(f"/v1/admin/webhooks/{ids[0]}/deliveries").json()
        assert [d["type"] for d in seen] == ["entry.unpublished", "entry.published"]
        assert seen[0]["state"] == "pending" and seen[0]["attempts"] == []

    def test_writing_webhooks_bumps_no_revision(self, session: Session, admin: Admin) -> None:
        before = changes.current_revision(session)
        made = admin.post(
            "/v1/admin/webhooks", json={"url": "https://example.org/", "events": EVENTS}
        )
        admin.patch(f"/v1/admin/webhooks/{made.json()['id']}", json={"enabled": False})
        admin.delete(f"/v1/admin/webhooks/{made.json()['id']}")
        assert changes.current_revision(session) == before


# --- delivering, on a database of its own (deliverers commit) ----------------------------------


@pytest.fixture(scope="module")
def own_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from database_of_its_own(tmp_path_factory, "webhooks", "hook-test", "Hook test")


@pytest.fixture
def db(own_engine: Engine) -> Iterator[Engine]:
    engine = writer(own_engine)
    yield engine
    with Session(engine) as session:
        for table in (WebhookAttempt, WebhookDelivery, Webhook):
            session.execute(delete(table))
        session.commit()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def add_webhook(engine: Engine, url: str) -> Webhook:
    with Session(engine) as session:
        row = webhooks.create_webhook(session, {"url": url, "events": EVENTS}, {"sources"})
        session.commit()
        session.refresh(row)
        return row


def publish_events(engine: Engine, count: int) -> None:
    with Session(engine) as session:
        for i in range(count):
            changes.record_change(session, "source", "sources", f"s-{i}", "published")
        session.commit()


def deliver(engine: Engine) -> int:
    async def once() -> int:
        async with delivery.client() as http:
            return await delivery.deliver_due(http, lambda: Session(engine))

    return asyncio.run(once())


def outbox(engine: Engine) -> list[WebhookDelivery]:
    with Session(engine) as session:
        return list(session.scalars(select(WebhookDelivery).order_by(col(WebhookDelivery.id))))


def make_due(engine: Engine) -> None:
    with Session(engine) as session:
        session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
        session.commit()


class TestDelivery:
    def test_signed_as_standard_webhooks_says(self, db: Engine, receiver: Receiver) -> None:
        hook = add_webhook(db, receiver.url)
        publish_events(db, 1)
        assert deliver(db) == 1
        ((headers, body),) = receiver.received
        assert verify(hook.secret, headers, body)
        assert not verify(webhooks.new_secret(), headers, body)
        assert not verify(hook.secret, headers, body + b" ")
        assert headers["webhook-id"] == outbox(db)[0].message_id
        assert abs(int(headers["webhook-timestamp"]) - utcnow().timestamp()) < 60
        assert json.loads(body)["data"]["slug"] == "s-0"
        (sent,) = outbox(db)
        assert sent.state == "delivered" and sent.attempts == 1
        assert deliver(db) == 0 and len(receiver.received) == 1

    def test_failures_are_retried_with_exponential_backoff(
        self, db: Engine, receiver: Receiver
    ) -> None:
        add_webhook(db, receiver.url)
        publish_events(db, 1)
        receiver.status = 500
        waits = []
        for _ in range(4):
            assert deliver(db) == 1
            assert deliver(db) == 0  # not due yet
            (event,) = outbox(db)
            with Session(db) as session:
                last = session.scalars(
                    select(WebhookAttempt).order_by(col(WebhookAttempt.id).desc())
                ).first()
            assert last is not None
            waits.append((event.next_attempt_at - last.at).total_seconds())
            make_due(db)
        assert waits == [5, 10, 20, 40]
        receiver.status = 200
        assert deliver(db) == 1
        (event,) = outbox(db)
        assert event.state == "delivered" and event.attempts == 5
        assert len(set(receiver.ids())) == 1 and len(receiver.ids()) == 5

    def test_attempts_are_shown_and_redelivered(
        self, db: Engine, receiver: Receiver, own_engine: Engine
    ) -> None:
        hook = add_webhook(db, receiver.url)
        publish_events(db, 1)
        receiver.status = 503
        deliver(db)
        with Session(db) as session:
            (shown,) = webhooks.deliveries(session, hook.id, 10)  # type: ignore[arg-type]
            (attempt,) = shown["attempts"]
            assert attempt["status_code"] == 503 and "503" in attempt["error"]
            assert attempt["duration_ms"] >= 0 and attempt["at"]
        receiver.status = 204
        make_due(db)
        deliver(db)
        with Session(db) as session:
            again = webhooks.redeliver(session, hook.id, shown["id"])  # type: ignore[arg-type]
            session.commit()
        assert again["state"] == "pending"
        assert deliver(db) == 1
        assert receiver.ids()[1:] == [shown["message_id"]] * 2

    def test_given_up_after_a_day_and_the_webhook_disabled(
        self, db: Engine, receiver: Receiver
    ) -> None:
        hook = add_webhook(db, receiver.url)
        publish_events(db, 2)
        receiver.status = 500
        with Session(db) as session:
            session.execute(
                update(WebhookDelivery).values(created_at=utcnow() - timedelta(hours=25))
            )
            session.commit()
        assert deliver(db) == 2
        assert [e.state for e in outbox(db)] == ["failed", "failed"]
        with Session(db) as session:
            row = session.get(Webhook, hook.id)
            assert row is not None and not row.enabled and "failed" in (row.disabled_reason or "")
        # Disabled, it is sent nothing (the changes feed tells what it missed) until enabled.
        publish_events(db, 1)
        assert deliver(db) == 0 and len(outbox(db)) == 2
        receiver.status = 204
        with Session(db) as session:
            webhooks.update_webhook(session, hook.id, {"enabled": True}, {"sources"})  # type: ignore[arg-type]
            session.commit()
        publish_events(db, 1)
        assert deliver(db) == 1

    def test_refuses_private_targets_when_sending(
        self, db: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        add_webhook(db, receiver.url)
        publish_events(db, 1)
        monkeypatch.setattr(settings, "webhook_allow_private", False)
        assert deliver(db) == 1
        assert receiver.received == []
        with Session(db) as session:
            (attempt,) = session.scalars(select(WebhookAttempt)).all()
            assert attempt.status_code is None and "127.0.0.1" in (attempt.error or "")

    def test_two_deliverers_never_send_an_event_twice(self, db: Engine, receiver: Receiver) -> None:
        add_webhook(db, receiver.url)
        add_webhook(db, receiver.url)
        publish_events(db, 60)
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def deliverer() -> None:
            try:
                start.wait()
                while deliver(db):
                    pass
            except BaseException as exc:  # noqa: BLE001 (reported below)
                errors.append(exc)

        threads = [threading.Thread(target=deliverer) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        ids = receiver.ids()
        assert len(ids) == 120 and len(set(ids)) == 120
        assert {e.state for e in outbox(db)} == {"delivered"}

"""Many editors PATCH the same entry at once with the same If-Match: exactly one wins.

Real threads, each with its own client and its own database session, against a database that
commits (not the rolled-back session of the other tests).
"""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.db import migrations
from api.db.engine import READ_METHODS, make_engine, writer
from api.deps import get_session
from api.kb import keys as auth
from api.main import app
from models.api_key import KeyRole
from seed_data.loader import load_seed
from tests.routes.admin.documents import DOCUMENTS

EDITORS = 12


@pytest.fixture
def committed(empty_database_url: str) -> Iterator[tuple[Engine, str]]:
    """A migrated, seeded database whose sessions really commit, and an editor's key."""
    migrations.upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    with Session(engine) as session:
        load_seed(session)
        key = auth.create_key(session, "racer", KeyRole.publisher).key
        session.commit()

    def real_session(request: Request) -> Iterator[Session]:
        """As the app's own: requests that may write get a writer session."""
        with Session(engine if request.method in READ_METHODS else writer(engine)) as session:
            yield session

    app.dependency_overrides[get_session] = real_session
    yield engine, key
    app.dependency_overrides.clear()
    engine.dispose()


def race(key: str, url: str, tag: str, bodies: list[dict[str, Any]]) -> list[Any]:
    """Send one PATCH per body from its own thread, all released together."""
    start = threading.Barrier(len(bodies))
    answers: list[Any] = [None] * len(bodies)

    def send(i: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            start.wait()
            answers[i] = client.patch(
                url,
                json=bodies[i],
                headers={"Authorization": f"Bearer {key}", "If-Match": tag},
            )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.mark.parametrize("state", ["published", "draft"])
def test_concurrent_patches_with_one_if_match_let_exactly_one_through(
    committed: tuple[Engine, str], state: str
) -> None:
    _, key = committed
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(app) as client:
        if state == "draft":
            for collection in ("sources", "conditions"):
                r = client.post(
                    f"/v1/admin/{collection}", json=DOCUMENTS[collection], headers=headers
                )
                assert r.status_code == 201, r.text
            url = f"/v1/admin/conditions/{DOCUMENTS['conditions']['slug']}"
        else:
            url = "/v1/admin/side-effects/redness"
        tag = client.get(url, headers=headers).headers["ETag"]

    bodies = [{"description": f"Edit number {i}."} for i in range(EDITORS)]
    answers = race(key, url, tag, bodies)

    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [412] * (EDITORS - 1), [a.text for a in answers if a.status_code >= 500]
    winner = next(i for i, a in enumerate(answers) if a.status_code == 200)
    expected_version = int(tag.strip('"')) + 1
    assert all(
        a.json()["current_version"] == expected_version for a in answers if a.status_code == 412
    )

    with TestClient(app) as client:
        entry = client.get(url, headers=headers)
        revisions = client.get(url + "/revisions", headers=headers).json()
    assert entry.headers["ETag"] == f'"{expected_version}"'
    assert entry.json()["document"]["description"] == bodies[winner]["description"]
    assert [r["diff"]["description"]["to"] for r in revisions if r["action"] == "update"] == [
        bodies[winner]["description"]
    ]


def test_sequential_patches_each_on_the_last_version_lose_nothing(
    committed: tuple[Engine, str],
) -> None:
    _, key = committed
    headers = {"Authorization": f"Bearer {key}"}
    url = "/v1/admin/side-effects/redness"
    with TestClient(app) as client:
        aliases: list[str] = client.get(url, headers=headers).json()["document"]["aliases"]
        for i in range(5):
            current = client.get(url, headers=headers)
            aliases = [*current.json()["document"]["aliases"], f"alias {i}"]
            r = client.patch(
                url,
                json={"aliases": aliases},
                headers={**headers, "If-Match": current.headers["ETag"]},
            )
            assert r.status_code == 200, r.text
        assert client.get(url, headers=headers).json()["document"]["aliases"] == aliases


def test_concurrent_editors_retrying_on_412_lose_no_update(committed: tuple[Engine, str]) -> None:
    """Each editor adds one alias, re-reading and retrying when told its version is stale."""
    _, key = committed
    headers = {"Authorization": f"Bearer {key}"}
    url = "/v1/admin/conditions/alopecia-areata"
    start = threading.Barrier(EDITORS)
    outcomes: list[list[int]] = [[] for _ in range(EDITORS)]

    def add_alias(i: int) -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            start.wait()
            for _ in range(10 * EDITORS):
                current = client.get(url, headers=headers)
                aliases = [*current.json()["document"]["aliases"], f"alias {i}"]
                r = client.patch(
                    url,
                    json={"aliases": aliases},
                    headers={**headers, "If-Match": current.headers["ETag"]},
                )
                outcomes[i].append(r.status_code)
                if r.status_code != 412:
                    return

    threads = [threading.Thread(target=add_alias, args=(i,)) for i in range(EDITORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert all(codes[-1] == 200 and set(codes[:-1]) <= {412} for codes in outcomes), outcomes
    with TestClient(app) as client:
        entry = client.get(url, headers=headers)
    aliases = entry.json()["document"]["aliases"]
    assert sorted(a for a in aliases if a.startswith("alias ")) == sorted(
        f"alias {i}" for i in range(EDITORS)
    )
    assert entry.headers["ETag"] == f'"{1 + EDITORS}"'

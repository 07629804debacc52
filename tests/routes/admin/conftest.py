"""Admin fixtures: an API key of each role, and clients that send one."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.kb import keys as auth
from models.api_key import KeyRole


@pytest.fixture
def keys(session: Session) -> dict[str, str]:
    """A live API key of each role, by role name."""
    made = {role.value: auth.create_key(session, f"{role.value}-key", role).key for role in KeyRole}
    session.commit()
    return made


class Admin:
    """A TestClient sending one API key; `.etag(path)` reads an entry's current ETag."""

    def __init__(self, client: TestClient, key: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def request(self, method: str, url: str, **kwargs):  # type: ignore[no-untyped-def]
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.request("DELETE", url, **kwargs)

    def etag(self, url: str) -> str:
        r = self.get(url)
        assert r.status_code == 200, r.text
        return r.headers["ETag"]


@pytest.fixture
def editor(client: TestClient, keys: dict[str, str]) -> Iterator[Admin]:
    yield Admin(client, keys["editor"])


@pytest.fixture
def publisher(client: TestClient, keys: dict[str, str]) -> Iterator[Admin]:
    yield Admin(client, keys["publisher"])


@pytest.fixture
def admin(client: TestClient, keys: dict[str, str]) -> Iterator[Admin]:
    yield Admin(client, keys["admin"])

"""Admin answers are compressed too (never cached): per request, when asked."""

from tests.routes.admin.conftest import Admin


def test_admin_answers_are_compressed(admin: Admin) -> None:
    r = admin.request("GET", "/v1/admin/procedures", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["vary"]
    assert r.headers["cache-control"] == "no-store"
    assert r.json()["items"]

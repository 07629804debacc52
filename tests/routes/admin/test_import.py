"""POST /v1/admin/import and `skinkb import`: the export format, all or nothing, dry runs."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session, col

from api.kb.bulk import export
from api.kb.documents import KINDS
from models import Revision, Source
from models.admin import ImportDocuments
from tests.routes.admin.conftest import Admin
from tests.routes.admin.documents import DOCUMENTS, SOURCE

ROOT = Path(__file__).resolve().parents[2]


def changed_nothing(report: dict) -> bool:
    return not any(report["created"].values()) and not any(report["changed"].values())


class TestImport:
    def test_export_then_import_is_a_no_op(self, publisher: Admin, session: Session) -> None:
        r = publisher.post("/v1/admin/import", json=export(session))
        assert r.status_code == 200, r.text
        assert changed_nothing(r.json()) and r.json()["unchanged"]["quotes"] == 23
        assert session.scalar(select(func.count()).select_from(Revision)) == 0

    def test_creates_and_changes_with_revisions(self, publisher: Admin, session: Session) -> None:
        data = export(session)
        data["sources"].append(DOCUMENTS["sources"])
        data["conditions"][0]["description"] = "Changed by an import."
        slug = data["conditions"][0]["slug"]
        r = publisher.post("/v1/admin/import", json=data)
        assert r.json()["created"]["sources"] == [SOURCE]
        assert r.json()["changed"]["conditions"] == [slug]
        history = publisher.get(f"/v1/admin/conditions/{slug}/revisions").json()
        assert [(h["action"], h["author"]) for h in history] == [("import", "publisher-key")]
        assert publisher.get(f"/v1/admin/sources/{SOURCE}").json()["status"] == "published"

    def test_dry_run_reports_and_writes_nothing(self, publisher: Admin, session: Session) -> None:
        data = {"sources": [DOCUMENTS["sources"]], "conditions": export(session)["conditions"]}
        data["conditions"][1]["name"] = "Renamed"
        r = publisher.post("/v1/admin/import", params={"dry_run": "true"}, json=data)
        assert r.status_code == 200
        assert r.json()["created"]["sources"] == [SOURCE]
        assert r.json()["changed"]["conditions"] == [data["conditions"][1]["slug"]]
        assert publisher.get(f"/v1/admin/sources/{SOURCE}").status_code == 404

    def test_one_bad_entry_changes_nothing(self, publisher: Admin, session: Session) -> None:
        data = copy.deepcopy(export(session))
        data["sources"].append(DOCUMENTS["sources"])
        data["conditions"][0]["description"] = "Changed by an import."
        data["quotes"][3]["text"] = "Words nobody said."
        before = export(session)
        r = publisher.post("/v1/admin/import", json=data)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert any(data["quotes"][3]["slug"] in e["msg"] for e in r.json()["errors"])
        session.expire_all()
        assert export(session) == before
        assert session.scalar(select(col(Source.id)).where(col(Source.slug) == SOURCE)) is None

    def test_dry_run_lists_what_it_would_refuse(self, publisher: Admin, session: Session) -> None:
        data = {"quotes": copy.deepcopy(export(session)["quotes"][:2])}
        data["quotes"][0]["expert"] = "nobody-at-all"
        r = publisher.post("/v1/admin/import?dry_run=true", json=data)
        assert r.status_code == 200
        assert len(r.json()["refused"]) == 1 and "nobody-at-all" in r.json()["refused"][0]

    def test_an_unknown_collection_is_422_naming_it(self, publisher: Admin) -> None:
        r = publisher.post("/v1/admin/import", json={"widgets": []})
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "widgets"]

    def test_the_body_knows_every_collection(self) -> None:
        assert list(ImportDocuments.model_fields) == [k.file for k in KINDS]

    def test_editors_cannot_import(self, editor: Admin) -> None:
        assert editor.post("/v1/admin/import", json={}).status_code == 403


def skinkb(args: list[str], url: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKINKB_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_imports_what_it_exports(empty_database_url: str, tmp_path: Path) -> None:
    assert skinkb(["seed"], empty_database_url).returncode == 0
    exported = skinkb(["export"], empty_database_url).stdout
    again = skinkb(["import", "-"], empty_database_url, stdin=exported)
    assert again.returncode == 0, again.stderr
    assert changed_nothing(json.loads(again.stdout))

    data = json.loads(exported)
    data["experts"][0]["citations"][0]["excerpt"] = "Never written anywhere."
    data["sources"].append(DOCUMENTS["sources"])
    (tmp_path / "bad.json").write_text(json.dumps(data), encoding="utf-8")
    refused = skinkb(["import", str(tmp_path / "bad.json")], empty_database_url)
    assert refused.returncode == 1 and data["experts"][0]["slug"] in refused.stderr
    assert json.loads(skinkb(["export"], empty_database_url).stdout) == json.loads(exported)


def test_the_command_line_makes_lists_and_revokes_keys(empty_database_url: str) -> None:
    assert skinkb(["db", "upgrade"], empty_database_url).returncode == 0
    made = skinkb(["keys", "create", "--name", "alice", "--role", "editor"], empty_database_url)
    key = made.stdout.strip()
    assert made.returncode == 0 and key.startswith("skb_")
    listed = skinkb(["keys", "list"], empty_database_url).stdout
    assert "alice\teditor" in listed and key not in listed and "live" in listed
    assert skinkb(["keys", "revoke", "alice"], empty_database_url).returncode == 0
    assert "revoked" in skinkb(["keys", "list"], empty_database_url).stdout

"""The `skinkb` command as a newcomer runs it: serve on an empty database, seed, export."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.servers import skinkb_server
from seed_data.loader import read_seed_files

SKINKB = [sys.executable, "-m", "api.cli"]
ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SKINKB_DATABASE_URL": url}
    return subprocess.run(
        [*SKINKB, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_serve_migrates_and_seeds_an_empty_database(empty_database_url: str) -> None:
    with skinkb_server(empty_database_url, env={"SKINKB_REQUEST_LOG": "true"}) as server:
        answer = httpx.get(f"{server.base}/v1/procedures/at-home-derma-roller/side-effects")
        assert any(r["slug"] == "redness" for r in answer.json()["items"])
        assert "server" not in answer.headers and answer.headers["date"]  # no software named
        lines = server.log.read_text().splitlines()
        # JSON log lines on stdout (written by the log's thread within 100 ms)
        assert any(line.startswith("{") and json.loads(line)["level"] == "info" for line in lines)


def test_seed_twice_then_export_round_trips(empty_database_url: str, tmp_path: Path) -> None:
    first = run(["seed"], empty_database_url)
    assert first.returncode == 0, first.stderr
    assert len(json.loads(first.stdout)["created"]["quotes"]) == 23
    again = run(["seed"], empty_database_url)
    report = json.loads(again.stdout)
    assert not any(report["created"].values()) and not any(report["changed"].values())

    exported = run(["export", "--directory", str(tmp_path)], empty_database_url)
    assert exported.returncode == 0, exported.stderr
    for name, docs in read_seed_files().items():
        written = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        assert sorted(d["slug"] for d in written) == sorted(d["slug"] for d in docs)
    assert run(["seed", "--directory", str(tmp_path)], empty_database_url).returncode == 0


def test_seed_refuses_bad_data_and_says_which_entry(
    empty_database_url: str, tmp_path: Path
) -> None:
    data = read_seed_files()
    data["quotes"][0]["text"] = "Words nobody said."
    for name, docs in data.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(docs), encoding="utf-8")
    refused = run(["seed", "--directory", str(tmp_path)], empty_database_url)
    assert refused.returncode == 1
    assert data["quotes"][0]["slug"] in refused.stderr and "verbatim" in refused.stderr
    exported = json.loads(run(["export"], empty_database_url).stdout)
    assert all(docs == [] for docs in exported.values())


def test_db_upgrade(empty_database_url: str) -> None:
    assert run(["db", "upgrade"], empty_database_url).returncode == 0
    assert run(["db", "downgrade"], empty_database_url).returncode == 0


def test_serve_runs_the_configured_event_loop() -> None:
    """asyncio by default (fair under overload), uvloop when SKINKB_SERVER_LOOP asks for it."""
    probe = "from api.cli import parser; print(parser().parse_args(['serve']).loop)"
    for wanted, env in (("asyncio", {}), ("uvloop", {"SKINKB_SERVER_LOOP": "uvloop"})):
        clean = {k: v for k, v in os.environ.items() if k != "SKINKB_SERVER_LOOP"}
        out = subprocess.run(
            [sys.executable, "-c", probe],
            env={**clean, **env},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.stdout.strip() == wanted, out.stderr


def test_import_of_what_is_not_an_export_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli import parser

    for text, said in (("not json {", "is not JSON"), ("[1, 2]", "holds a JSON list")):
        path = tmp_path / "documents.json"
        path.write_text(text, encoding="utf-8")
        args = parser().parse_args(["import", str(path)])
        assert args.func(args) == 1
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err


def test_serve_believes_forwarded_addresses_only_from_the_configured_proxies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    from api import cli
    from api.config import settings

    seen: dict[str, object] = {}
    monkeypatch.setattr(cli, "prepare_database", lambda: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(settings, "forwarded_allow_ips", "10.0.0.0/8")
    args = cli.parser().parse_args(["serve"])
    assert args.func(args) == 0
    assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == "10.0.0.0/8"

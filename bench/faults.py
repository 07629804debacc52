"""Fault and load runs of issue 6, against the real server on loopback, bounded in time.

    python -m bench.faults crash [--writes 1000] [--kills 10] [--database sqlite|postgresql]
    python -m bench.faults pg-restart [--seconds 20]
    python -m bench.faults load [--clients 64] [--seconds 60] [--database sqlite|postgresql]

Each prints a JSON summary (and writes it under bench/results/) and exits non-zero when what it
checks does not hold: every acknowledged write present after SIGKILLs, integrity ok, schema at
head; the service back by itself after a PostgreSQL restart; no errors under load.
"""

import argparse
import asyncio
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.servers import skinkb_server

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def cli(args: list[str], database_url: str) -> str:
    env = {**os.environ, "SKINKB_DATABASE_URL": database_url}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout


def admin_key(database_url: str, name: str) -> str:
    """A new admin key, read from what `skinkb keys create` prints once."""
    out = cli(["keys", "create", "--name", name, "--role", "admin"], database_url)
    match = re.search(r"\bskb_[A-Za-z0-9_-]+", out)
    if not match:
        raise RuntimeError(f"no key in: {out!r}")
    return match.group(0)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def save(name: str, summary: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"faults-{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def new_source(n: int, tag: str) -> dict[str, Any]:
    return {
        "slug": f"crash-{tag}-{n:05d}",
        "title": f"Crash test write {n}",
        "publisher": None,
        "url": None,
        "text": f"Write number {n} of the crash test {tag}.",
    }


# --- crash: SIGKILL at random moments while writes are sent ------------------------------


def crash(writes: int, kills: int, seed: int, database: str = "sqlite") -> bool:
    rng = random.Random(seed)
    url = (
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='skinkb-crash-')) / 'crash.db'}"
        if database == "sqlite"
        else _fresh_pg_database("skinkb_crash")
    )
    started = time.monotonic()
    cli(["db", "upgrade"], url)
    key = admin_key(url, "crash-test")
    headers = {"Authorization": f"Bearer {key}"}
    server = skinkb_server(url).start(timeout=60)
    acknowledged: list[str] = []
    failed = 0
    kill_at = sorted(rng.sample(range(1, writes), kills))
    n = 0
    tag = f"{seed}"
    with httpx.Client(base_url=server.base, headers=headers, timeout=10) as client:
        while n < writes:
            # Kill partway through a burst of writes sent from a thread, at a random moment.
            if kill_at and n >= kill_at[0]:
                kill_at.pop(0)
                threading.Timer(rng.uniform(0.0, 0.05), server.kill).start()
            doc = new_source(n, tag)
            try:
                response = client.post("/v1/admin/sources", json=doc)
                if 200 <= response.status_code < 300:
                    acknowledged.append(doc["slug"])
                else:
                    failed += 1
            except httpx.TransportError:
                failed += 1
                server.kill()
                server.start()
            n += 1
        server.stop()
    present, integrity, revision = _state_after_crashes(url)
    from api.db.migrations import head_revision

    lost = [slug for slug in acknowledged if slug not in present]
    at_head = revision == head_revision()
    summary = {
        "database": database,
        "seconds": round(time.monotonic() - started, 1),
        "writes_sent": writes,
        "kills": kills,
        "acknowledged": len(acknowledged),
        "not_acknowledged": failed,
        "acknowledged_found_after": len(acknowledged) - len(lost),
        "lost": lost[:20],
        "integrity_check": integrity,
        "schema_at_head": at_head,
    }
    save("crash" if database == "sqlite" else f"crash-{database}", summary)
    return not lost and integrity == "ok" and at_head


def _state_after_crashes(url: str) -> tuple[set[str], str, str]:
    """The sources' slugs, the integrity check's verdict and the schema revision. PostgreSQL
    has no whole-database check: the B-tree indexes of `source` and `search_entry` are checked
    with amcheck (`bt_index_check`, every heap tuple indexed), which raises on corruption."""
    if url.startswith("sqlite"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            present = {row[0] for row in db.execute("SELECT slug FROM source")}
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            revision = db.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        return present, integrity, revision
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        present = set(conn.execute(text("SELECT slug FROM source")).scalars())
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
        indexes = conn.execute(
            text(
                "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' "
                "AND i.indrelid IN ('source'::regclass, 'search_entry'::regclass)"
            )
        ).scalars()
        for oid in list(indexes):
            conn.execute(text("SELECT bt_index_check(:oid, true)"), {"oid": oid})
    engine.dispose()
    return present, "ok", revision


# --- load: many clients on the public API with a share of admin writes ---------------------


async def _load(
    base: str, key: str, clients: int, seconds: float, write_share: float
) -> dict[str, Any]:
    reads = [
        "/v1/procedures/at-home-derma-roller/side-effects",
        "/v1/procedures",
        "/v1/side-effects?limit=50",
        "/v1/procedures/in-office-microneedling-pen",
        "/v1/experts/natasha-jay/quotes",
        "/v1/quotes?topic=sanitation",
    ]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    written: list[str] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(i: int, client: httpx.AsyncClient) -> None:
        rng = random.Random(i)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            started = time.perf_counter()
            try:
                if rng.random() < write_share:
                    doc = new_source(n, f"load-{i}")
                    r = await client.post(
                        "/v1/admin/sources", json=doc, headers={"Authorization": f"Bearer {key}"}
                    )
                    if r.status_code < 300:
                        written.append(doc["slug"])
                else:
                    r = await client.get(rng.choice(reads))
                if r.status_code >= 400:
                    errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            latencies.append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:
        await asyncio.gather(*(client_loop(i, client) for i in range(clients)))
    return {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "writes_acknowledged": len(written),
        "written": written,
    }


def _database(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix='skinkb-load-')) / 'load.db'}"
    return _fresh_pg_database("skinkb_faults")


def _fresh_pg_database(name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def load(clients: int, seconds: float, database: str) -> bool:
    url = _database(database)
    cli(["db", "upgrade"], url)
    key = admin_key(url, "load-test")
    server = skinkb_server(url).start(timeout=60)
    try:
        result = asyncio.run(_load(server.base, key, clients, seconds, write_share=0.05))
        with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {key}"}) as c:
            missing = [
                s for s in result["written"] if c.get(f"/v1/admin/sources/{s}").status_code != 200
            ]
    finally:
        server.stop()
    result.pop("written")
    summary = {
        "database": database,
        "clients": clients,
        "seconds": seconds,
        **result,
        "lost_writes": len(missing),
    }
    save(f"load-{database}", summary)
    return not result["errors"] and not missing


# --- pg-restart: PostgreSQL restarted under load ------------------------------------------


def pg_restart(seconds: float) -> bool:
    url = _fresh_pg_database("skinkb_faults")
    cli(["db", "upgrade"], url)
    server = skinkb_server(url).start(timeout=60)
    statuses: dict[str, int] = {}
    timeline: list[tuple[float, bool]] = []
    stop = time.monotonic() + seconds

    async def hammer() -> None:
        async with httpx.AsyncClient(base_url=server.base, timeout=5) as client:

            async def loop() -> None:
                while time.monotonic() < stop:
                    try:
                        r = await client.get("/v1/procedures/at-home-derma-roller/side-effects")
                        key = str(r.status_code)
                        ok = r.status_code == 200
                        if r.status_code >= 500:
                            assert r.headers["content-type"] == "application/problem+json"
                    except httpx.HTTPError as exc:
                        key, ok = type(exc).__name__, False
                    statuses[key] = statuses.get(key, 0) + 1
                    timeline.append((time.monotonic(), ok))
                    await asyncio.sleep(0.01)

            await asyncio.gather(*(loop() for _ in range(8)))

    def restart() -> tuple[float, float]:
        time.sleep(seconds / 4)
        cluster = os.listdir("/etc/postgresql")[0]
        began = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"], check=True
        )
        return began, time.monotonic()

    async def main() -> tuple[float, float]:
        restarting = asyncio.get_running_loop().run_in_executor(None, restart)
        await hammer()
        return await restarting

    try:
        began, restarted = asyncio.run(main())
    finally:
        server.stop()
    failures = [t for t, ok in timeline if not ok and t >= began]
    recovered = next((t for t, ok in timeline if ok and t > max(failures, default=began)), None)
    summary = {
        "statuses": statuses,
        "restart_took_s": round(restarted - began, 2),
        "recovered_s_after_restart_done": None
        if recovered is None
        else round(max(0.0, recovered - restarted), 2),
        "recovered_s_after_restart_began": None
        if recovered is None
        else round(recovered - began, 2),
        "non_problem_errors": sum(v for k, v in statuses.items() if not k.isdigit()),
    }
    save("pg-restart", summary)
    return recovered is not None and set(statuses) <= {"200", "503"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.faults")
    sub = p.add_subparsers(dest="run", required=True)
    c = sub.add_parser("crash")
    c.add_argument("--writes", type=int, default=1000)
    c.add_argument("--kills", type=int, default=10)
    c.add_argument("--seed", type=int, default=7)
    c.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    r = sub.add_parser("pg-restart")
    r.add_argument("--seconds", type=float, default=20)
    lo = sub.add_parser("load")
    lo.add_argument("--clients", type=int, default=64)
    lo.add_argument("--seconds", type=float, default=60)
    lo.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = p.parse_args(argv)
    if args.run == "crash":
        ok = crash(args.writes, args.kills, args.seed, args.database)
    elif args.run == "pg-restart":
        ok = pg_restart(args.seconds)
    else:
        ok = load(args.clients, args.seconds, args.database)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Several `skinkb serve` processes on one PostgreSQL and its streaming replica, as on several
hosts: an edit published through one shows through every one, with the same ETag everywhere.

    python -m bench.scaleout [--edits 100] [--processes 3] [--no-replica]

Each edit adds an alias to a side effect through the first process's admin API and publishes
it; the time from the publish's answer until every process answers the public read with the
alias is that edit's propagation time. Prints (and writes under bench/results/) p50, p99 and the
largest, and exits non-zero when an edit took more than a second or two processes gave the same
answer different ETags. Before that, with the replica's replay paused, it checks that public
reads come from the replica (the edit does not show) while admin reads see the primary.
"""

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench import replica
from bench.faults import _fresh_pg_database, admin_key, cli, percentile, save
from bench.servers import Server, skinkb_server

ENTRY = "/v1/admin/side-effects/itching"
PUBLIC = "/v1/side-effects/itching"
LIMIT = 1.0  # seconds an edit may take to show everywhere (p99)


def replica_url(url: str, port: int = replica.PORT) -> str:
    return url.replace("127.0.0.1:5432", f"127.0.0.1:{port}")


def wait_for_replay(primary: str, standby: str, timeout: float = 60) -> None:
    """Until the replica has replayed what the primary had committed when this was called."""
    with create_engine(primary).connect() as conn:
        lsn = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar()
    engine = create_engine(standby.rsplit("/", 1)[0] + "/postgres")
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                behind = conn.execute(
                    text("SELECT pg_wal_lsn_diff(:lsn, pg_last_wal_replay_lsn()) > 0"),
                    {"lsn": lsn},
                ).scalar()
            if not behind:
                return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise TimeoutError("the replica did not catch up within a minute")


def replay(paused: bool) -> None:
    """Pause or resume the replica's replay of the primary's WAL."""
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(replica.PORT), "-U", "postgres", "-At", "-c"]
        + [f"SELECT pg_wal_replay_{'pause' if paused else 'resume'}()"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr)


class Editor:
    """Publishes alias edits of one side effect through one process's admin API."""

    def __init__(self, base: str, key: str) -> None:
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"})

    def publish_alias(self, alias: str) -> None:
        tag = self.client.get(ENTRY).headers["ETag"]
        edited = self.client.patch(ENTRY, json={"aliases": [alias]}, headers={"If-Match": tag})
        assert edited.status_code == 200, edited.text
        tag = edited.headers["ETag"]
        published = self.client.post(ENTRY + "/publish", headers={"If-Match": tag})
        assert published.status_code == 200, published.text

    def admin_aliases(self) -> list[str]:
        return list(self.client.get(ENTRY).json()["document"].get("aliases", []))


def public(client: httpx.Client) -> tuple[list[str], str]:
    r = client.get(PUBLIC)
    assert r.status_code == 200, r.text
    return r.json().get("aliases", []), r.headers["ETag"]


@contextmanager
def cluster(processes: int, use_replica: bool) -> Iterator[tuple[list[Server], str, bool]]:
    """`processes` servers on a fresh database (and the replica, started if need be)."""
    url = _fresh_pg_database("skinkb_scaleout")
    cli(["db", "upgrade"], url)
    cli(["seed"], url)
    key = admin_key(url, "scaleout")
    env = {"SKINKB_RESPONSE_CACHE": "true"}
    if use_replica:
        replica.start()
        wait_for_replay(url, replica_url(url))
        env["SKINKB_READ_DATABASE_URLS"] = json.dumps([replica_url(url)])
    with ExitStack() as stack:
        servers = []
        for n in range(processes):
            server = skinkb_server(url, env=env, name=f"skinkb-{n}").start(timeout=120)
            stack.callback(server.stop)
            servers.append(server)
        yield servers, key, use_replica


def reads_come_from_the_replica(servers: list[Server], key: str) -> dict[str, Any]:
    """With replay paused an edit does not show in public reads (they are the replica's) but does
    in admin reads (the primary's); resumed, it shows everywhere."""
    editor = Editor(servers[0].base, key)
    clients = [httpx.Client(base_url=s.base) for s in servers]
    before = [public(c) for c in clients]
    replay(paused=True)
    try:
        editor.publish_alias("while-paused")
        time.sleep(0.5)
        during = [public(c) for c in clients]
        admin_sees = "while-paused" in editor.admin_aliases()
    finally:
        replay(paused=False)
    seen = wait_everywhere(clients, "while-paused", timeout=10)
    return {
        "public_reads_unchanged_while_paused": during == before,
        "admin_read_sees_the_edit": admin_sees,
        "shows_after_resume_s": round(seen, 3) if seen is not None else None,
    }


def wait_everywhere(clients: list[httpx.Client], alias: str, timeout: float) -> float | None:
    """Seconds until every client's public read lists `alias`; None past `timeout`."""
    started = time.perf_counter()
    waiting = list(clients)
    while waiting:
        if time.perf_counter() - started > timeout:
            return None
        waiting = [c for c in waiting if alias not in public(c)[0]]
        if waiting:
            time.sleep(0.002)
    return time.perf_counter() - started


def measure(edits: int, processes: int, use_replica: bool) -> dict[str, Any]:
    with cluster(processes, use_replica) as (servers, key, replicated):
        checks = reads_come_from_the_replica(servers, key) if replicated else {}
        editor = Editor(servers[0].base, key)
        clients = [httpx.Client(base_url=s.base) for s in servers]
        times, late, etags_differ = [], 0, 0
        for n in range(edits):
            editor.publish_alias(f"edit-{n}")
            took = wait_everywhere(clients, f"edit-{n}", timeout=10)
            if took is None:
                late += 1
                continue
            times.append(took)
            answers = [public(c) for c in clients]
            etags_differ += len({etag for _, etag in answers}) != 1
    return {
        "processes": processes,
        "replica": replicated,
        "edits": edits,
        "propagation_p50_ms": round(1000 * percentile(times, 50), 1),
        "propagation_p99_ms": round(1000 * percentile(times, 99), 1),
        "propagation_max_ms": round(1000 * max(times, default=0.0), 1),
        "not_shown_within_10_s": late,
        "edits_with_differing_etags": etags_differ,
        **checks,
    }


def held(summary: dict[str, Any]) -> bool:
    return (
        summary["not_shown_within_10_s"] == 0
        and summary["propagation_p99_ms"] <= 1000 * LIMIT
        and summary["edits_with_differing_etags"] == 0
        and summary.get("public_reads_unchanged_while_paused", True)
        and summary.get("admin_read_sees_the_edit", True)
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scaleout", description=__doc__)
    p.add_argument("--edits", type=int, default=100)
    p.add_argument("--processes", type=int, default=3)
    p.add_argument("--no-replica", action="store_true")
    p.add_argument("--stop-replica", action="store_true", help="stop the replica afterwards")
    args = p.parse_args(argv)
    try:
        summary = measure(args.edits, args.processes, not args.no_replica)
    except replica.NoReplica as reason:
        print(f"no replica: {reason}", file=sys.stderr)
        return 2
    finally:
        if args.stop_replica:
            replica.stop()
    save("scaleout" + ("" if not args.no_replica else "-no-replica"), summary)
    return 0 if held(summary) else 1


if __name__ == "__main__":
    sys.exit(main())

"""A streaming read replica of the local PostgreSQL 15 cluster, for tests and benchmarks.

`python -m bench.replica start` makes one on 127.0.0.1:5433 with `pg_basebackup -R` in a
directory of its own, run as the postgres user; `stop` stops it and removes the directory. The
primary needs a `replication` line in pg_hba.conf: `start` adds one for 127.0.0.1 (trust, as the
cluster's other lines are) and reloads the primary's configuration.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")
PRIMARY = ("127.0.0.1", 5432)
PORT = 5433
DIRECTORY = Path("/tmp/skinkb-replica-5433")
HBA_LINE = "host replication all 127.0.0.1/32 trust"
CONFIG = """port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '{directory}'
hot_standby = on
max_connections = 200
wal_receiver_status_interval = 1s
hba_file = '{directory}/pg_hba.conf'
ident_file = '{directory}/pg_ident.conf'
"""


class NoReplica(Exception):
    """Why a replica cannot be made here."""


def _as_postgres(*command: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _psql(sql: str) -> str:
    done = _as_postgres(
        str(BIN / "psql"), "-h", PRIMARY[0], "-p", str(PRIMARY[1]), "-At", "-c", sql, timeout=30
    )
    if done.returncode:
        raise NoReplica(f"psql on the primary failed: {done.stderr.strip()}")
    return done.stdout.strip()


def allow_replication() -> None:
    """The primary accepts replication connections from 127.0.0.1 (pg_hba.conf, reloaded)."""
    hba = Path(_psql("SHOW hba_file"))
    if HBA_LINE not in hba.read_text():
        with hba.open("a") as out:
            out.write(f"\n# skinkb bench.replica\n{HBA_LINE}\n")
        _psql("SELECT pg_reload_conf()")


def running(directory: Path = DIRECTORY) -> bool:
    return (directory / "postmaster.pid").exists()


def start(directory: Path = DIRECTORY, port: int = PORT) -> str:
    """Make and start the replica (or leave a running one be); its URL's host and port."""
    if not (BIN / "pg_basebackup").exists():
        raise NoReplica(f"no PostgreSQL 15 binaries in {BIN}")
    if shutil.which("runuser") is None:
        raise NoReplica("runuser is needed to run the replica as the postgres user")
    if running(directory):
        return f"127.0.0.1:{port}"
    if _psql("SHOW wal_level") not in ("replica", "logical"):
        raise NoReplica("the primary's wal_level is minimal: it cannot feed a replica")
    allow_replication()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(mode=0o700)
    shutil.chown(directory, "postgres", "postgres")
    backup = _as_postgres(
        str(BIN / "pg_basebackup"),
        *("-h", PRIMARY[0], "-p", str(PRIMARY[1]), "-U", "postgres"),
        *("-D", str(directory), "-R", "-X", "stream", "--checkpoint=fast"),
    )
    if backup.returncode:
        raise NoReplica(f"pg_basebackup failed: {backup.stderr.strip()}")
    for name, text in (
        ("postgresql.conf", CONFIG.format(port=port, directory=directory)),
        ("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n"),
        ("pg_ident.conf", ""),
    ):
        (directory / name).write_text(text)
        shutil.chown(directory / name, "postgres", "postgres")
    started = _as_postgres(
        str(BIN / "pg_ctl"), "-D", str(directory), "-l", str(directory / "log"), "-w", "start"
    )
    if started.returncode:
        log = directory / "log"
        raise NoReplica(f"the replica did not start: {log.read_text() if log.exists() else ''}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = subprocess.run(
            [str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
        )
        if ready.returncode == 0:
            return f"127.0.0.1:{port}"
        time.sleep(0.2)
    raise NoReplica("the replica did not accept connections within 60 s")


def stop(directory: Path = DIRECTORY) -> None:
    """Stop the replica and remove its directory."""
    if running(directory):
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(directory), "-m", "fast", "-w", "stop")
    shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replica", description=__doc__)
    parser.add_argument("action", choices=("start", "stop"))
    args = parser.parse_args(argv)
    if args.action == "stop":
        stop()
        return 0
    try:
        print(start())
    except NoReplica as reason:
        print(f"no replica: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

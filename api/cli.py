"""The `skinkb` command: serve the API, migrate, seed, export."""

import argparse
import json
import logging
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from api import migrations
from api.db import get_engine, get_write_engine
from api.middleware import configure_logging
from api.store import DocumentError

log = logging.getLogger("skinkb")


def _url() -> str:
    return get_engine().url.render_as_string(hide_password=False)


def prepare_database() -> None:
    """Migrate to head, and load the seed data when the knowledge base is empty."""
    from models import Source
    from seed_data.loader import load_seed

    engine = get_engine()
    if migrations.current_revision(engine) != migrations.head_revision():
        migrations.upgrade(_url())
    with Session(get_write_engine()) as session:
        if not session.scalar(select(func.count()).select_from(Source)):
            report = load_seed(session)
            log.info("loaded seed data: %s", {k: len(v) for k, v in report.created.items()})


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    prepare_database()
    uvicorn.run(
        "api.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_config=None,  # keep the JSON lines of configure_logging
    )
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    if args.action == "upgrade":
        migrations.upgrade(_url(), args.revision or "head")
    else:
        migrations.downgrade(_url(), args.revision or "base")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from seed_data.loader import SEED_DIR, load_seed

    migrations.upgrade(_url())
    with Session(get_write_engine()) as session:
        try:
            report = load_seed(session, Path(args.directory) if args.directory else SEED_DIR)
        except DocumentError as exc:
            print("seed refused, nothing loaded:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  - {problem}", file=sys.stderr)
            return 1
    print(json.dumps(report.as_dict(), indent=2))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from seed_data.loader import export

    with Session(get_engine()) as session:
        data = export(session)
    if args.directory:
        out = Path(args.directory)
        out.mkdir(parents=True, exist_ok=True)
        for name, docs in data.items():
            (out / f"{name}.json").write_text(
                json.dumps(docs, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
    else:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from bench.run import run

    return run(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skinkb", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (migrates and seeds an empty database)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="schema migrations")
    db.add_argument("action", choices=["upgrade", "downgrade"])
    db.add_argument("revision", nargs="?", help="target revision (default head / base)")
    db.set_defaults(func=cmd_db)

    seed = sub.add_parser("seed", help="load the curated seed data (idempotent)")
    seed.add_argument("--directory", help="a folder of <collection>.json files")
    seed.set_defaults(func=cmd_seed)

    exp = sub.add_parser("export", help="write every entity in the seed format")
    exp.add_argument("--directory", help="write one file per collection here (default: stdout)")
    exp.set_defaults(func=cmd_export)

    from bench.options import add_arguments as add_bench_arguments

    bench = sub.add_parser("bench", help="measure the API under load (needs the 'bench' extra)")
    add_bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The server logs to stdout; other commands keep stdout for what they print.
    configure_logging(sys.stdout if args.command == "serve" else sys.stderr)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

"""The `skinkb` command: serve the API, migrate, seed, export."""

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from sqlmodel import Session

from api.config import settings
from api.db import migrations, setup
from api.db.engine import get_engine, get_write_engine
from api.db.setup import database_url
from api.http.log import configure_logging
from api.kb.documents import DocumentError

log = logging.getLogger("skinkb")
_url = database_url


def seed_if_empty(session: Session) -> dict[str, int]:
    """What `prepare_database` runs on an empty knowledge base: the seed data, counted."""
    from seed_data.loader import load_seed

    return {k: len(v) for k, v in load_seed(session).created.items()}


def prepare_database() -> None:
    """Migrate to head, and load the seed data when the knowledge base is empty."""
    setup.prepare_database(seed_if_empty)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    prepare_database()
    uvicorn.run(
        "api.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop=args.loop,
        http=_http_protocol(),
        limit_concurrency=settings.max_connections,
        access_log=args.access_log,
        # The client address (rate limits, audit, log) from X-Forwarded-For, believed only
        # from these proxies.
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        log_config=None,  # keep the JSON lines of configure_logging
        server_header=False,  # which server software answers is nobody's business
    )
    return 0


def _http_protocol() -> str:
    """The fast path's protocol, or uvicorn's own when it is off or cannot be loaded."""
    try:
        from api.fastpath.serving import http_protocol

        return http_protocol()
    except Exception as error:  # noqa: BLE001 (uvicorn's internals moved: serve without it)
        log.warning("fast path fast_protocol failed, uvicorn's protocol used: %r", error)
        return "auto"


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
    from api.kb.bulk import export

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


def cmd_keys(args: argparse.Namespace) -> int:
    from api.errors import AppError
    from api.kb import keys
    from models.api_key import KeyRole

    with Session(get_engine()) as session:
        try:
            if args.action == "create":
                new = keys.create_key(session, args.name, KeyRole(args.role))
                session.commit()
                print(
                    f"Created {args.role} key {args.name!r}; it is shown this once:",
                    file=sys.stderr,
                )
                print(new.key)
            elif args.action == "revoke":
                keys.revoke_key(session, args.name)
                session.commit()
                print(f"Revoked {args.name!r}.", file=sys.stderr)
            else:
                for row in keys.list_keys(session):
                    state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "live"
                    print(f"{row.name}\t{row.role}\t{row.prefix}\t{state}")
        except AppError as exc:
            print(exc.detail, file=sys.stderr)
            return 1
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    import getpass

    from api.errors import Unprocessable
    from api.kb import editing
    from models import ApiKey

    documents = _read_documents(args.file)
    if documents is None:
        return 1
    actor = ApiKey(name=f"cli:{getpass.getuser()}", role="admin", prefix="", key_hash="")
    migrations.upgrade(_url())
    with Session(get_engine()) as session:
        try:
            report = editing.import_documents(session, documents, args.dry_run, actor)
        except Unprocessable as exc:
            print("import refused, nothing written:", file=sys.stderr)
            for error in exc.errors or []:
                print(f"  - {error['msg']}", file=sys.stderr)
            return 1
        if args.dry_run:
            session.rollback()
        else:
            session.commit()
    print(json.dumps({"dry_run": args.dry_run, **report.as_dict()}, indent=2))
    return 1 if report.refused else 0


def _read_documents(file: str) -> dict[str, Any] | None:
    """The JSON object of collections in `file` ('-': stdin); None, said why, if it is not one."""
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        documents = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"import refused, nothing written: {file} is not JSON: {exc}", file=sys.stderr)
        return None
    if not isinstance(documents, dict):
        print(
            f"import refused, nothing written: {file} holds a JSON {type(documents).__name__}, "
            "not an object of collections as `skinkb export` writes it",
            file=sys.stderr,
        )
        return None
    return documents


BENCH_HOWTO = (
    "skinkb bench: the benchmark is not part of the installed package.\n"
    "From a source checkout: pip install -e '.[bench]', then run it from the checkout\n"
    "(skinkb bench ... or python -m bench ...)."
)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run bench.run.main, imported only now: the benchmark lives in the source checkout, not in
    the wheel or the image. From a checkout's root it is found there even when the installed
    package does not map it."""
    import importlib

    for attempt in range(2):
        try:
            bench_run = importlib.import_module("bench.run")
        except ModuleNotFoundError as exc:
            if exc.name != "bench":
                print(f"{BENCH_HOWTO}\n(missing module: {exc.name})", file=sys.stderr)
                return 2
            here = Path.cwd()
            if attempt or not (here / "bench" / "__init__.py").is_file():
                print(BENCH_HOWTO, file=sys.stderr)
                return 2
            sys.path.insert(0, str(here))
        else:
            return int(bench_run.main(args.bench_args))
    return 2


def cmd_webhooks(args: argparse.Namespace) -> int:
    """Deliver webhook events apart from the server (which delivers too, unless disabled)."""
    import asyncio

    from api.kb import delivery

    if args.once:

        async def once() -> int:
            async with delivery.client() as http:
                return await delivery.deliver_due(http)

        print(f"{asyncio.run(once())} event(s) sent")
        return 0
    try:
        asyncio.run(delivery.run(asyncio.Event()))
    except KeyboardInterrupt:
        pass
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skinkb", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (migrates and seeds an empty database)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--loop",
        choices=["asyncio", "uvloop", "auto"],
        default=settings.server_loop,
        help="event loop (default SKINKB_SERVER_LOOP, asyncio: fair under overload)",
    )
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

    # Everything after `bench` goes to the benchmark's own parser (python -m bench --help):
    # no option prefix here, so argparse leaves --quick, --help and the rest to it.
    bench = sub.add_parser(
        "bench",
        help="measure the API under load (from a source checkout with the 'bench' extra)",
        add_help=False,
        prefix_chars="\0",
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)

    imp = sub.add_parser("import", help="import documents in the export format (all or nothing)")
    imp.add_argument("file", help="a JSON file as `skinkb export` writes it ('-' for stdin)")
    imp.add_argument("--dry-run", action="store_true", help="report, write nothing")
    imp.set_defaults(func=cmd_import)

    keys = sub.add_parser("keys", help="API keys of the admin API")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="make a key and print it (shown this once)")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=["editor", "publisher", "admin"])
    keys_sub.add_parser("list", help="name, role, prefix and state of every key")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    keys.set_defaults(func=cmd_keys)

    hooks = sub.add_parser("webhooks", help="webhook deliveries")
    hooks_sub = hooks.add_subparsers(dest="action", required=True)
    deliver = hooks_sub.add_parser("deliver", help="send due webhook events until stopped")
    deliver.add_argument("--once", action="store_true", help="send what is due now, then stop")
    hooks.set_defaults(func=cmd_webhooks)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The server logs to stdout; other commands keep stdout for what they print.
    configure_logging(sys.stdout if args.command == "serve" else sys.stderr)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())

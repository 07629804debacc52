"""Run the benchmark: build the scales, start each server, drive it, and write the results.

`python -m bench` (or `skinkb bench`) runs the full set; `--quick` runs small scales briefly.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select
from sqlmodel import col

from api.config import Settings, settings
from api.http.paging import encode_cursor
from bench import datasette_app, replica, report, scaleout, synth
from bench.load import Load, LoadResult, has_wrk, run_load
from bench.options import DEFAULT_PG_ADMIN, add_arguments
from bench.servers import (
    ROOT,
    SERVICE_ENV,
    Server,
    Watcher,
    free_port,
    skinkb_command,
    uvicorn_command,
)
from models import ProcedureCondition, ProcedureContraindication, ProcedureIngredient, SideEffect
from models import ProcedureSideEffect as PSE

SLUG = "at-home-derma-roller"  # a seed variant: its relation rows include inherited ones
RELATION = f"/v1/procedures/{SLUG}/side-effects"
SEARCH_QUERY = "itching"
GROWTH = ("relation", "deep-page")  # the endpoints whose p99 the growth target compares
# The relations embedded in the detail page, as ?include= spells them (the first one accepted).
INCLUDES = ("side_effects,contraindications,quotes", "side-effects,contraindications,quotes")
DETAIL = f"/v1/procedures/{SLUG}"
GZIP = {"Accept-Encoding": "gzip"}
# The parts of a run `--skip` can leave out (a quick run has no paired rounds and no PostgreSQL).
PARTS = ("standard", "paired", "default-config", "datasette", "postgres", "scaleout")
# Datasette's closest equivalent of each service endpoint, by the service endpoint's name.
DATASETTE_PAGES: dict[str, Callable[[Path], str]] = {
    "list": datasette_app.list_path,
    "detail": lambda db: datasette_app.row_path(db, SLUG),
    "detail+include": lambda db: datasette_app.row_path(db, SLUG),
    "search": lambda db: datasette_app.search_path(db, SEARCH_QUERY),
}


@dataclass
class Row:
    """One measured configuration."""

    scale: str
    links: int
    target: str  # service, limit, datasette
    endpoint: str
    cache: str  # cold (every URL different) or warm (one URL)
    workers: int
    connections: int
    database: str
    path: str
    status: int  # the status a probe request got
    body_bytes: int
    result: LoadResult
    peak_rss_mb: float
    peak_total_rss_mb: float
    cpu_ms_per_request: float | None
    note: str = ""
    run: str = "standard"  # or no-collapse (256 connections), one-client
    server_errors: int = 0  # error lines the server logged during the run
    recovery_seconds: float | None = 0.0  # until it answered again after the run; None: never
    ratio_to_limit: float | None = None
    ratio_to_datasette: float | None = None
    ratio_to_sqlite: float | None = None  # PostgreSQL's rate over SQLite's (run paired-postgres)
    round: int = 0  # of the paired runs (run == "paired"), from 1

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["result"]["error_total"] = self.result.error_total
        return out


@dataclass
class Plan:
    scales: list[str]
    seconds: int
    connections: int
    threads: int
    collapse_connections: int
    collapse_seconds: int
    seed: int
    postgres: str | None  # admin URL, or None to skip
    postgres_scale: str
    quick: bool
    use_wrk: bool
    cold_env: dict[str, str] = field(default_factory=dict)  # service settings for cold runs
    analyze: bool = False  # SQLite files with planner statistics
    paired_rounds: int = 0  # rounds of back-to-back runs for the ratio targets (`Bench.paired`)
    scaleout_edits: int = 100  # edits timed through three processes (bench.scaleout), per setup
    skip: list[str] = field(default_factory=list)  # of PARTS
    notes: list[str] = field(default_factory=list)


def save_bodies(server: Server, endpoint: str, path: str, bodies: Path) -> bool:
    """The server's answer to `path` as `<endpoint>.json` in `bodies`, for the limit to serve,
    and as `<endpoint>.json.gz` the bytes it sends when asked for gzip; whether it compressed."""
    (bodies / f"{endpoint}.json").write_bytes(httpx.get(server.base + path, timeout=30).content)
    with httpx.stream("GET", server.base + path, headers=GZIP, timeout=30) as response:
        raw = b"".join(response.iter_raw())
        if response.headers.get("content-encoding") != "gzip":
            return False
    (bodies / f"{endpoint}.json.gz").write_bytes(raw)
    return True


def default_config() -> dict[str, Any]:
    """The settings the default configuration runs with that bear on a read's cost."""
    names = ("request_log", "rate_limit_enabled", "rate_limit_public_enabled", "response_cache")
    return {name: Settings.model_fields[name].default for name in names}


def default_config_text() -> str:
    dotenv = " and the .env file of the checkout" if (ROOT / ".env").exists() else ""
    return f"only SKINKB_DATABASE_URL set{dotenv}; defaults: " + ", ".join(
        f"{k}={v}" for k, v in default_config().items()
    )


def link_rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sum(
                conn.scalar(select(func.count()).select_from(t)) or 0
                for t in (PSE, ProcedureContraindication, ProcedureIngredient, ProcedureCondition)
            )
    finally:
        engine.dispose()


def deep_cursor(url: str) -> str:
    """The cursor of a page 90% of the way through the side effects, sorted by slug."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(SideEffect)) or 1
            slug = conn.scalar(
                select(col(SideEffect.slug))
                .order_by(col(SideEffect.slug))
                .offset(total * 9 // 10)
                .limit(1)
            )
    finally:
        engine.dispose()
    return encode_cursor(slug or "a")


class Bench:
    def __init__(self, plan: Plan, checkpoint: Path | None = None):
        self.plan = plan
        self.rows: list[Row] = []
        self.skipped: list[str] = []
        self.databases: dict[str, tuple[Path, str, int]] = {}  # by scale: file, URL, links
        self.scaleouts: list[dict[str, Any]] = []  # bench.scaleout's summaries
        # Rows so far, rewritten after every run, so a run stopped midway still leaves figures.
        self.checkpoint = checkpoint

    def say(self, text: str) -> None:
        print(text, flush=True)

    # --- one measurement ---------------------------------------------------------------

    def measure(
        self,
        server: Server,
        *,
        scale: str,
        links: int,
        target: str,
        endpoint: str,
        path: str,
        cold: bool,
        workers: int = 1,
        database: str = "sqlite",
        headers: dict[str, str] | None = None,
        connections: int | None = None,
        threads: int | None = None,
        seconds: int | None = None,
        note: str = "",
        run: str = "standard",
        round_: int = 0,
        buster: str = "cb",
    ) -> Row:
        headers = headers or {}
        probe_path = path + ("&" if "?" in path else "?") + f"{buster}=probe" if cold else path
        # As the load asks: httpx alone would ask for compressed answers.
        probe_headers = {"Accept-Encoding": "identity", **headers}
        probe = httpx.get(server.base + probe_path, headers=probe_headers, timeout=30)
        load = Load(
            url=server.base + path,
            cold=cold,
            headers=headers,
            connections=connections or self.plan.connections,
            threads=threads or self.plan.threads,
            seconds=seconds or self.plan.seconds,
            buster=buster,
        )
        if probe.status_code >= 500:
            note = f"{note}; server error: {server.last_error()}".lstrip("; ")
        assert server.proc is not None
        errors_before = len(server.error_lines())
        with Watcher(server.proc.pid) as watcher:
            result = run_load(load, self.plan.use_wrk)
        usage = watcher.usage
        # wrk counts no timeout for a request that never gets an answer: ask the server itself.
        wait = 5.0 if self.plan.quick else 90.0
        recovery = server.recovery_seconds(wait)
        server_errors = server.error_lines()[errors_before:]
        if recovery is None or recovery > 1:
            stalled = (
                f"still did not answer {wait:.0f} s"
                if recovery is None
                else f"answered again only {recovery} s"
            )
            note = f"{note}; the server {stalled} after the run".lstrip("; ")
        if server_errors:
            note = (
                f"{note}; {len(server_errors)} errors logged by the server, last: "
                f"{server_errors[-1][:200]}"
            ).lstrip("; ")
        row = Row(
            scale=scale,
            links=links,
            target=target,
            endpoint=endpoint,
            cache="cold" if cold else "warm",
            workers=workers,
            connections=load.connections,
            database=database,
            path=path,
            status=probe.status_code,
            body_bytes=probe.num_bytes_downloaded,  # as sent: gzipped when asked for
            result=result,
            peak_rss_mb=usage.peak_rss_mb,
            peak_total_rss_mb=usage.peak_total_rss_mb,
            cpu_ms_per_request=round(usage.cpu_seconds / result.requests * 1000, 3)
            if result.requests
            else None,
            note=note,
            run=run,
            server_errors=len(server_errors),
            recovery_seconds=recovery,
            round=round_,
        )
        self.rows.append(row)
        if self.checkpoint is not None:
            self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
            self.checkpoint.write_text(
                json.dumps({"notes": self.skipped, "rows": [r.as_dict() for r in self.rows]})
            )
        self.say(
            f"  {target:9} {endpoint:15} {row.cache} w{workers} c{load.connections:<3} "
            f"{database:10} {result.rps:>9.1f} req/s  p50 {result.p50_ms:>7.2f} ms  "
            f"p99 {result.p99_ms:>8.2f} ms  errors {result.error_total:<5} "
            f"rss {usage.peak_rss_mb:>6.1f} MB  status {row.status} {row.body_bytes} B"
        )
        return row

    # --- servers -----------------------------------------------------------------------

    def service(self, url: str, workers: int = 1, cold: bool = False) -> Server:
        port = free_port()
        argv = [*skinkb_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--workers", str(workers)]
        env = {**SERVICE_ENV, "SKINKB_DATABASE_URL": url}
        if cold:
            env |= self.plan.cold_env
        return Server("skinkb", argv, env, port, "/healthz")

    def default_service(self, url: str) -> Server:
        """`skinkb serve` in its default configuration: the database URL is its only setting
        (SKINKB_ variables of the environment this runs in are not passed on)."""
        server = self.service(url)
        server.env = {k: v for k, v in server.env.items() if not k.startswith("SKINKB_")}
        server.env["SKINKB_DATABASE_URL"] = url
        return server

    def cold_then_warm(
        self, url: str, run: Callable[[Server, bool], None], workers: int = 1
    ) -> None:
        """`run(server, cold)` cold then warm: on one server, or on two when cold runs need the
        service's response cache switched off (`--cold-env`)."""
        if self.plan.cold_env:
            with self.service(url, workers, cold=True) as server:
                run(server, True)
            with self.service(url, workers) as server:
                run(server, False)
        else:
            with self.service(url, workers) as server:
                run(server, True)
                run(server, False)

    def limit(self, body: Path, workers: int = 1) -> Server:
        """The bare app answering the file `body`, or each `<name>.json` of the directory
        `body` at `/<name>`."""
        port = free_port()
        argv = uvicorn_command("bench.bare_app:app", port, workers)
        variable = "BENCH_BARE_BODIES" if body.is_dir() else "BENCH_BARE_BODY"
        ready = f"/{next(body.glob('*.json')).stem}" if body.is_dir() else "/"
        return Server("bare", argv, {variable: str(body)}, port, ready)

    def datasette(self, db: Path) -> Server:
        port = free_port()
        argv = uvicorn_command("bench.datasette_app:app", port, 1)
        return Server("datasette", argv, {"BENCH_DATASETTE_DB": str(db)}, port, "/-/versions.json")

    # --- what the service offers today -------------------------------------------------

    def endpoints(self, server: Server, cursor: str) -> list[tuple[str, str, dict[str, str]]]:
        out: list[tuple[str, str, dict[str, str]]] = [
            ("relation", RELATION, {}),
            ("list", "/v1/procedures?limit=20", {}),
            ("deep-page", f"/v1/side-effects?limit=20&cursor={cursor}", {}),
        ]
        try:
            spec = httpx.get(server.base + "/openapi.json", timeout=30).json()
        except (httpx.HTTPError, ValueError):
            spec = {"paths": {}}
        detail_params = spec["paths"].get("/v1/procedures/{slug}", {}).get("get", {})
        names = {p.get("name") for p in detail_params.get("parameters", [])}
        detail = f"/v1/procedures/{SLUG}"
        if "include" in names:
            accepted = [
                include
                for include in INCLUDES
                if httpx.get(f"{server.base}{detail}?include={include}", timeout=30).status_code
                == 200
            ]
            if accepted:
                out.append(("detail+include", f"{detail}?include={accepted[0]}", {}))
            else:
                self.skip(f"detail ?include= refused {' and '.join(INCLUDES)}; plain detail")
                out.append(("detail", detail, {}))
        else:
            self.skip("no ?include= on the procedure detail yet (issue 4): plain detail measured")
            out.append(("detail", detail, {}))
        search = httpx.get(server.base + f"/v1/search?q={SEARCH_QUERY}", timeout=30)
        if search.status_code == 404:
            self.skip("no /v1/search yet (issue 4): search not measured")
        else:
            out.append(("search", f"/v1/search?q={SEARCH_QUERY}", {}))
        # The ETag of the answer wrk gets (it asks for no encoding): httpx's would name its
        # compressed variant, which a request without Accept-Encoding does not match.
        plain = {"Accept-Encoding": "identity"}
        etag = httpx.get(server.base + RELATION, headers=plain, timeout=30).headers.get("etag")
        if etag:
            out.append(("revalidate-304", RELATION, {"If-None-Match": etag}))
        else:
            self.skip(
                "no ETag on the relation response yet (issue 4): 304 revalidation not measured"
            )
        return out

    def skip(self, note: str) -> None:
        if note not in self.skipped:
            self.skipped.append(note)
            self.say(f"  note: {note}")

    # --- the run -----------------------------------------------------------------------

    def run(self) -> None:
        plan = self.plan
        databases = {name: self.database(name) for name in plan.scales}
        body_dir = Path(tempfile.mkdtemp(prefix="bench-body-"))
        body = body_dir / "relation.json"
        limit_rps: dict[int, float] = {}
        largest = plan.scales[-1]
        try:
            if "standard" not in plan.skip:
                self.standard(databases, body, limit_rps)
            if "paired" not in plan.skip:
                self.paired(largest, *databases[largest])
            if "default-config" not in plan.skip:
                self.paired_default(largest, *databases[largest][1:])
            if "datasette" not in plan.skip:
                for name in dict.fromkeys((plan.scales[0], largest)):
                    self.paired_datasette(name, *databases[name])
            if "standard" not in plan.skip:
                self.at_largest(largest, *databases[largest][1:], body, limit_rps)
            if plan.postgres and "postgres" not in plan.skip:
                self.postgres(plan.postgres)
            if plan.postgres and "scaleout" not in plan.skip:
                self.scaleout()
        finally:
            shutil.rmtree(body_dir, ignore_errors=True)
        self.ratios(limit_rps)

    def database(self, name: str) -> tuple[Path, str, int]:
        """The SQLite file of a scale (built, or taken from the cache), its URL and link rows."""
        if name not in self.databases:
            started = time.monotonic()
            path, info = synth.sqlite_database(synth.SCALES[name], self.plan.seed)
            if self.plan.analyze:
                path = synth.analyzed_copy(path)
            url = f"sqlite:///{path}"
            self.databases[name] = (path, url, link_rows(url))
            self.say(
                f"scale {name}: {path.name}, {self.databases[name][2]} links "
                f"(built in {info.seconds} s; ready in {time.monotonic() - started:.1f} s)"
            )
        return self.databases[name]

    def standard(
        self, databases: dict[str, tuple[Path, str, int]], body: Path, limit_rps: dict[int, float]
    ) -> None:
        """The limit, then at each scale Datasette's relation and every service endpoint, cold and
        warm: one run each."""
        plan = self.plan
        first_path, first_url, first_links = databases[plan.scales[0]]
        with self.service(first_url) as server:
            body.write_bytes(httpx.get(server.base + RELATION).content)
        self.say(f"limit (a): bare Starlette, fixed JSON of {body.stat().st_size} bytes")
        with self.limit(body) as server:
            row = self.measure(
                server,
                scale="-",
                links=0,
                target="limit",
                endpoint="fixed-json",
                path="/",
                cold=False,
            )
            limit_rps[1] = row.result.rps

        for name in plan.scales:
            path, url, links = databases[name]
            self.say(f"scale {name} ({links} links)")
            with self.datasette(path) as server:
                ds_path = datasette_app.relation_path(path, SLUG)
                ds_rows = len(httpx.get(server.base + ds_path, timeout=30).json())
                # Datasette has no response cache: warm differs from cold only by URL.
                for cold in (True,) if plan.quick else (True, False):
                    self.measure(
                        server,
                        scale=name,
                        links=links,
                        target="datasette",
                        endpoint="relation",
                        path=ds_path,
                        cold=cold,
                        note=f"{ds_rows} rows",
                    )
            cursor = deep_cursor(url)

            def every_endpoint(
                server: Server,
                cold: bool,
                name: str = name,
                links: int = links,
                ds_rows: int = ds_rows,
                cursor: str = cursor,
            ) -> None:
                items = httpx.get(server.base + RELATION).json()
                if items.get("total") != ds_rows:
                    self.skip(
                        f"scale {name}: Datasette returned {ds_rows} rows, the service "
                        f"{items.get('total')}: not the same query"
                    )
                for endpoint, p, headers in self.endpoints(server, cursor):
                    # A quick run measures the rest at its largest scale only.
                    if plan.quick and name != plan.scales[-1] and endpoint not in GROWTH:
                        continue
                    self.measure(
                        server,
                        scale=name,
                        links=links,
                        target="service",
                        endpoint=endpoint,
                        path=p,
                        cold=cold,
                        headers=headers,
                    )

            self.cold_then_warm(url, every_endpoint)

    def at_largest(
        self, largest: str, url: str, links: int, body: Path, limit_rps: dict[int, float]
    ) -> None:
        """At the largest scale: two workers (the limit and the relation), search with one
        client, and no collapse under `collapse_connections` connections."""
        plan = self.plan
        self.say(f"workers 2 at scale {largest}")
        with self.limit(body, workers=2) as server:
            row = self.measure(
                server,
                scale="-",
                links=0,
                target="limit",
                endpoint="fixed-json",
                path="/",
                cold=False,
                workers=2,
            )
            limit_rps[2] = row.result.rps

        def two_workers(server: Server, cold: bool) -> None:
            self.measure(
                server,
                scale=largest,
                links=links,
                target="service",
                endpoint="relation",
                path=RELATION,
                cold=cold,
                workers=2,
            )

        self.cold_then_warm(url, two_workers, workers=2)
        with self.service(url, cold=True) as server:
            search = httpx.get(server.base + f"/v1/search?q={SEARCH_QUERY}", timeout=30)
            if search.status_code != 404:
                self.say(f"search with one client at scale {largest}")
                self.measure(
                    server,
                    scale=largest,
                    links=links,
                    target="service",
                    endpoint="search",
                    path=f"/v1/search?q={SEARCH_QUERY}",
                    cold=True,
                    connections=1,
                    threads=1,
                    run="one-client",
                )
            self.say(
                f"no collapse: {plan.collapse_connections} connections for "
                f"{plan.collapse_seconds} s on SQLite"
            )
            self.measure(
                server,
                scale=largest,
                links=links,
                target="service",
                endpoint="relation",
                path=RELATION,
                cold=True,
                connections=plan.collapse_connections,
                seconds=plan.collapse_seconds,
                run="no-collapse",
            )

    # --- paired rounds -------------------------------------------------------------------

    def one_round(self, run: str, scale: str, links: int, **fixed: Any) -> Callable[..., Row]:
        """`measure(server, target, endpoint, path, cold, n, ...)` for one run of a paired
        round: half the standard duration, with the run's name, scale and links fixed."""
        seconds = max(self.plan.seconds // 2, 1)

        def one(
            server: Server, target: str, endpoint: str, path: str, cold: bool, n: int, **kw: Any
        ) -> Row:
            return self.measure(
                server,
                scale=scale,
                links=links,
                target=target,
                endpoint=endpoint,
                path=path,
                cold=cold,
                seconds=seconds,
                run=run,
                round_=n,
                **fixed,
                **kw,
            )

        return one

    def paired(self, scale: str, path: Path, url: str, links: int) -> None:
        """The ratio targets measured back to back, `paired_rounds` times over.

        On a shared machine the speed drifts by tens of percent within a minute, so a ratio of
        two runs minutes apart says as much about the drift as about the servers. Here every
        server is up at once and each ratio comes from two runs one after the other: each warm
        endpoint against the limit serving that endpoint's own response (the same size), plain
        and gzipped (run `paired-compressed`), and the cold relation against Datasette. The
        report takes the median of the rounds.
        """
        rounds = self.plan.paired_rounds
        if not rounds:
            return
        self.say(f"paired: {rounds} rounds of back-to-back runs at scale {scale}")
        bodies = Path(tempfile.mkdtemp(prefix="bench-bodies-"))
        ds_path = datasette_app.relation_path(path, SLUG)
        one = self.one_round("paired", scale, links)
        # The same, asking for gzip: the response cache keeps the compressed bytes (issue 17).
        compressed = self.one_round("paired-compressed", scale, links, headers=GZIP)
        try:
            with (
                self.service(url) as warm,
                self.service(url, cold=True) as cold,
                self.datasette(path) as datasette,
            ):
                endpoints, gzipped = self.warm_bodies(warm, url, bodies)
                with self.limit(bodies) as limit:
                    for n in range(1, rounds + 1):
                        self.warm_round(limit, warm, endpoints, gzipped, (one, compressed), n)
                        d = one(datasette, "datasette", "relation", ds_path, True, n)
                        c = one(cold, "service", "relation", RELATION, True, n)
                        c.ratio_to_datasette = round(c.result.rps / max(d.result.rps, 1e-9), 2)
        finally:
            shutil.rmtree(bodies, ignore_errors=True)

    def paired_default(self, scale: str, url: str, links: int) -> None:
        """Warm reads of the service in its default configuration (request log on) against the
        limit serving the same bytes, back to back: plain (run `paired-log`), and gzipped (run
        `paired-gzip`: the load asks for gzip, the limit sends the service's gzipped bytes as
        they are, so neither compresses per request)."""
        rounds = self.plan.paired_rounds
        if not rounds:
            return
        self.say(f"default configuration ({default_config_text()}): {rounds} rounds at {scale}")
        bodies = Path(tempfile.mkdtemp(prefix="bench-bodies-"))
        log = self.one_round("paired-log", scale, links)
        gzip = self.one_round("paired-gzip", scale, links, headers=GZIP)
        try:
            with self.default_service(url) as service:
                endpoints, gzipped = self.warm_bodies(service, url, bodies)
                with self.limit(bodies) as limit:
                    for n in range(1, rounds + 1):
                        self.warm_round(limit, service, endpoints, gzipped, (log, gzip), n)
        finally:
            shutil.rmtree(bodies, ignore_errors=True)

    def warm_bodies(
        self, service: Server, url: str, bodies: Path
    ) -> tuple[list[tuple[str, str]], dict[str, bool]]:
        """The endpoints the warm rounds compare, each answer saved in `bodies` for the limit
        (`save_bodies`), and whether each came gzipped. The 304 revalidation sends no body: no
        fixed JSON is "the same size"."""
        endpoints = [
            (e, p) for e, p, headers in self.endpoints(service, deep_cursor(url)) if not headers
        ]
        return endpoints, {e: save_bodies(service, e, p, bodies) for e, p in endpoints}

    def warm_round(
        self,
        limit: Server,
        service: Server,
        endpoints: list[tuple[str, str]],
        gzipped: dict[str, bool],
        runs: tuple[Callable[..., Row], Callable[..., Row]],
        n: int,
    ) -> None:
        """Round `n`: each endpoint right after the limit serving the same bytes, plain with the
        first of `runs`, then gzipped with the second (the limit sending the service's gzipped
        bytes, when it compressed them)."""
        plain, compressed = runs
        for e, p in endpoints:
            for run, same in (
                (plain, f"/{e}"),
                (compressed, f"/{e}.gz" if gzipped[e] else f"/{e}"),
            ):
                a = run(limit, "limit", e, same, False, n)
                b = run(service, "service", e, p, False, n)
                b.ratio_to_limit = round(b.result.rps / max(a.result.rps, 1e-9), 3)

    def paired_datasette(self, scale: str, path: Path, url: str, links: int) -> None:
        """Cold list, detail and search against Datasette's closest pages, back to back: its
        table page, row page and full-text search (`DATASETTE_PAGES`). Plain detail is the fair
        match of a row page; detail with ?include= is measured against the same row page too."""
        rounds = self.plan.paired_rounds
        if not rounds:
            return
        self.say(f"paired with Datasette's pages: {rounds} rounds at scale {scale}")
        one = self.one_round("paired-datasette", scale, links)
        with self.service(url, cold=True) as cold, self.datasette(path) as datasette:
            found = {e: p for e, p, headers in self.endpoints(cold, deep_cursor(url))}
            pairs = [
                (e, p, DATASETTE_PAGES[e](path))
                for e, p in {"detail": DETAIL, **found}.items()
                if e in DATASETTE_PAGES
            ]
            for n in range(1, rounds + 1):
                for endpoint, p, ds_path in pairs:
                    # `cb` would filter a Datasette table page by a column of that name.
                    d = one(datasette, "datasette", endpoint, ds_path, True, n, buster="_cb")
                    c = one(cold, "service", endpoint, p, True, n)
                    if d.result.requests:
                        c.ratio_to_datasette = round(c.result.rps / d.result.rps, 2)
                    else:  # no ratio to a server that answered nothing in time
                        c.note = "Datasette answered none of its requests within the timeout"

    # --- PostgreSQL ----------------------------------------------------------------------

    def postgres(self, admin_url: str) -> None:
        plan = self.plan
        try:
            url, info = synth.postgres_database(
                admin_url, synth.SCALES[plan.postgres_scale], plan.seed
            )
        except Exception as exc:  # noqa: BLE001 - any failure to reach PostgreSQL skips it
            self.skip(f"PostgreSQL not measured: {type(exc).__name__}: {str(exc)[:200]}")
            return
        links = link_rows(url)
        self.say(
            f"PostgreSQL, scale {plan.postgres_scale} ({links} links, built in {info.seconds} s)"
        )

        def on_postgres(server: Server, cold: bool) -> None:
            self.measure(
                server,
                scale=plan.postgres_scale,
                links=links,
                target="service",
                endpoint="relation",
                path=RELATION,
                cold=cold,
                database="postgresql",
            )

        if "standard" not in plan.skip:
            self.cold_then_warm(url, on_postgres)
        with self.service(url, cold=True) as server:
            self.say(f"no collapse: {plan.collapse_connections} connections on PostgreSQL")
            self.measure(
                server,
                scale=plan.postgres_scale,
                links=links,
                target="service",
                endpoint="relation",
                path=RELATION,
                cold=True,
                database="postgresql",
                connections=plan.collapse_connections,
                seconds=plan.collapse_seconds,
                run="no-collapse",
            )
        self.paired_postgres(url, links)

    def paired_postgres(self, url: str, links: int) -> None:
        """The cold relation on PostgreSQL against the same on SQLite at the same scale (its file
        built if that scale is not among the run's), back to back (run `paired-postgres`)."""
        rounds = self.plan.paired_rounds
        if not rounds:
            return
        scale = self.plan.postgres_scale
        path, sqlite_url, sqlite_links = self.database(scale)
        self.say(f"paired PostgreSQL and SQLite: {rounds} rounds at scale {scale}")
        on_sqlite = self.one_round("paired-postgres", scale, sqlite_links)
        on_pg = self.one_round("paired-postgres", scale, links, database="postgresql")
        with self.service(url, cold=True) as pg, self.service(sqlite_url, cold=True) as lite:
            for n in range(1, rounds + 1):
                a = on_sqlite(lite, "service", "relation", RELATION, True, n)
                b = on_pg(pg, "service", "relation", RELATION, True, n)
                b.ratio_to_sqlite = round(b.result.rps / max(a.result.rps, 1e-9), 2)

    def scaleout(self) -> None:
        """An edit's propagation through three `skinkb serve` processes on PostgreSQL, without
        and with a streaming replica behind them (bench.scaleout, which stops its servers). The
        replica is stopped afterwards unless it was running before."""
        edits = self.plan.scaleout_edits
        if not edits:
            return
        was_running = replica.running()
        try:
            for use_replica in (False, True):
                setup = "with a replica" if use_replica else "without a replica"
                self.say(f"scale-out: {edits} edits through 3 processes {setup}")
                try:
                    summary = scaleout.measure(edits, 3, use_replica)
                except replica.NoReplica as reason:
                    self.skip(f"scale-out {setup} not measured: {reason}")
                    continue
                except Exception as exc:  # noqa: BLE001 - a failed setup is a note, not a crash
                    self.skip(f"scale-out {setup} failed: {type(exc).__name__}: {str(exc)[:200]}")
                    continue
                self.scaleouts.append(summary)
                self.say(
                    f"  propagation p50 {summary['propagation_p50_ms']} ms, "
                    f"p99 {summary['propagation_p99_ms']} ms"
                )
        finally:
            if not was_running:
                replica.stop()

    def ratios(self, limit_rps: dict[int, float]) -> None:
        datasette = {
            r.scale: r.result.rps
            for r in self.rows
            if r.target == "datasette" and r.cache == "cold"
        }
        for r in self.rows:
            if r.target == "limit" or r.run != "standard":
                continue
            if limit_rps.get(r.workers):
                r.ratio_to_limit = round(r.result.rps / limit_rps[r.workers], 3)
            if r.database == "sqlite" and datasette.get(r.scale) and r.target != "datasette":
                r.ratio_to_datasette = round(r.result.rps / datasette[r.scale], 2)


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=10,
        )
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add_arguments(p)
    return p


def cold_env(given: list[str] | None) -> dict[str, str]:
    """Settings that switch the service's response cache off for cold runs: as given, or any
    boolean setting named like `response_cache_enabled` the service has."""
    if given:
        return dict(item.split("=", 1) for item in given)
    from api.config import Settings

    return {
        f"SKINKB_{name.upper()}": "false"
        for name, f in Settings.model_fields.items()
        if f.annotation is bool and "cache" in name and name.endswith(("cache", "enabled"))
    }


def make_plan(args: argparse.Namespace) -> Plan:
    quick = bool(args.quick)
    scales = (
        args.scales.split(",")
        if args.scales
        else (["seed", "1k"] if quick else ["seed", "10k", "100k"])
    )
    for s in scales:
        if s not in synth.SCALES:
            raise SystemExit(f"unknown scale {s!r}; known: {', '.join(synth.SCALES)}")
    postgres = args.postgres
    if postgres is None:
        postgres = None if quick else DEFAULT_PG_ADMIN
    elif postgres == "none":
        postgres = None
    use_wrk = has_wrk() and not args.python_load
    plan = Plan(
        scales=scales,
        seconds=args.seconds or (2 if quick else 10),
        connections=args.connections,
        threads=args.threads,
        collapse_connections=256,
        collapse_seconds=3 if quick else 30,
        seed=args.seed,
        postgres=postgres,
        postgres_scale="1k" if quick else args.postgres_scale,
        quick=quick,
        use_wrk=use_wrk,
    )
    plan.cold_env = cold_env(args.cold_env)
    plan.analyze = bool(args.analyze)
    plan.paired_rounds = (
        args.paired_rounds if args.paired_rounds is not None else (0 if quick else 3)
    )
    plan.scaleout_edits = args.scaleout_edits
    plan.skip = args.skip.split(",") if args.skip else []
    for part in plan.skip:
        if part not in PARTS:
            raise SystemExit(f"unknown part {part!r} to skip; known: {', '.join(PARTS)}")
    if plan.skip:
        plan.notes.append(f"parts left out (--skip): {', '.join(plan.skip)}")
    if postgres and postgres != DEFAULT_PG_ADMIN and "scaleout" not in plan.skip:
        plan.notes.append(
            f"the scale-out runs use bench.faults' PostgreSQL ({DEFAULT_PG_ADMIN}), not {postgres}"
        )
    if plan.analyze:
        plan.notes.append("SQLite files analyzed (ANALYZE) after they were built")
    if plan.cold_env:
        plan.notes.append(
            "cold runs: every URL different and the service started with "
            + " ".join(f"{k}={v}" for k, v in plan.cold_env.items())
        )
    if not use_wrk:
        plan.notes.append(
            "wrk not found (or --python-load): load from the bounded Python generator "
            "(asyncio + httpx, one process), which saturates long before the server does; "
            "install wrk (apt-get install wrk) for the real figures"
        )
    return plan


def main(argv: list[str] | None = None) -> int:
    return run(parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """The whole benchmark for parsed options; writes results and prints the table."""
    plan = make_plan(args)
    for note in plan.notes:
        print(f"note: {note}", flush=True)
    tool = "wrk" if plan.use_wrk else "python"
    print(
        f"load: {tool} -t{plan.threads} -c{plan.connections} -d{plan.seconds}s; scales "
        f"{', '.join(plan.scales)}; seed {plan.seed}",
        flush=True,
    )
    started = time.monotonic()
    stem = "quick" if plan.quick else "latest"
    checkpoint = args.out / f"{stem}.partial.json"
    bench = Bench(plan, checkpoint)
    bench.run()
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "load_tool": tool,
        "plan": asdict(plan),
        "service_env": SERVICE_ENV,
        "default_config": default_config_text(),
        "scaleout": bench.scaleouts,
        "loop": settings.server_loop,
        "notes": plan.notes + bench.skipped,
        "seconds": round(time.monotonic() - started, 1),
    }
    out = args.out
    files = report.write(out, stem, meta, [r.as_dict() for r in bench.rows])
    checkpoint.unlink(missing_ok=True)
    print(f"\nwrote {', '.join(str(f) for f in files)} in {meta['seconds']} s", flush=True)
    print((out / f"{stem}.md").read_text(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

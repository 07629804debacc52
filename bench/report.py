"""Write a run's figures: JSON, a markdown table with the issue's targets, a PNG of p99 by size."""

import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.load import Load

Rows = list[dict[str, Any]]

HEADER = (
    "| scale | links | target | endpoint | cache | workers | conns | db | req/s | p50 ms | p99 ms "
    "| errors | peak RSS MB | CPU ms/req | × limit (a) | × Datasette (b) | note |"
)


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _errors(r: dict[str, Any]) -> str:
    e = r["result"]["errors"]
    socket = e["connect"] + e["read"] + e["write"]
    total = r["result"]["error_total"]
    logged = r.get("server_errors", 0)
    out = (
        f"{total} (status {e['status']}, socket {socket}, timeout {e['timeout']})" if total else "0"
    )
    return f"{out} + {logged} logged by the server" if logged else out


def short(note: str, limit: int = 160) -> str:
    """A note fit for a table cell: a logged JSON line becomes its error text."""
    start = note.find('{"ts"')
    if start >= 0:
        end = note.find("}", start)
        logged = note[start : end + 1 if end >= 0 else len(note)]
        found = re.search(r'"error": "([^"]*)', logged) or re.search(r'"msg": "([^"]*)', logged)
        note = note[:start] + (found.group(1) if found else "") + note[start + len(logged) :]
    note = note.replace("|", "/").replace("\n", " ")
    return note if len(note) <= limit else note[: limit - 1] + "…"


def table(rows: Rows) -> list[str]:
    lines = [HEADER, _rule()]
    for r in rows:
        res = r["result"]
        note = r["note"]
        if r["status"] not in (200, 304):
            note = f"probe status {r['status']}; {note}".rstrip("; ")
        if r.get("ratio_to_sqlite") is not None:
            note = f"{r['ratio_to_sqlite']:.2f}× SQLite; {note}".rstrip("; ")
        if r.get("round"):
            note = f"{r['run']}, round {r['round']}; {note}".rstrip("; ")
        lines.append(
            "| "
            + " | ".join(
                [
                    r["scale"],
                    f"{r['links']:,}" if r["links"] else "",
                    r["target"],
                    r["endpoint"],
                    r["cache"],
                    str(r["workers"]),
                    str(r["connections"]),
                    r["database"],
                    _fmt(res["rps"], 0),
                    _fmt(res["p50_ms"]),
                    _fmt(res["p99_ms"]),
                    _errors(r),
                    _fmt(r["peak_rss_mb"], 0),
                    _fmt(r["cpu_ms_per_request"]),
                    _fmt(r["ratio_to_limit"]),
                    _fmt(r["ratio_to_datasette"]),
                    short(note),
                ]
            )
            + " |"
        )
    return lines


def _rule() -> str:
    return "|" + "---|" * (HEADER.count("|") - 1)


def _find(rows: Rows, **match: Any) -> list[dict[str, Any]]:
    return [r for r in rows if all(r.get(k) == v for k, v in match.items())]


def _medians(rows: Rows, cache: str, ratio: str) -> dict[str, tuple[float, float, float]]:
    """Per endpoint, the median, lowest and highest of a ratio over the paired rounds."""
    found: dict[str, list[float]] = {}
    for r in rows:
        if r["cache"] == cache and r[ratio] is not None:
            found.setdefault(r["endpoint"], []).append(r[ratio])
    return {e: (statistics.median(values), min(values), max(values)) for e, values in found.items()}


def _spread(value: tuple[float, float, float], spec: str, unit: str = "") -> str:
    """`median (lowest–highest)`."""
    median, low, high = value
    return f"{median:{spec}}{unit} ({low:{spec}}–{high:{spec}}{unit})"


def _rounds(rows: Rows) -> int:
    return max((r.get("round", 0) for r in rows), default=0)


def targets(rows: Rows, scales: list[str]) -> list[str]:
    """Each target of the issue against this run's figures: met, not met, or not measured."""
    out = []

    def line(name: str, verdict: str | None, detail: str) -> None:
        mark = {True: "met", False: "**not met**", None: "not measured"}[
            None if verdict is None else verdict == "met"
        ]
        out.append(f"| {name} | {mark} | {detail} |")

    base = {"target": "service", "database": "sqlite", "run": "standard"}
    paired = _find(rows, target="service", database="sqlite", run="paired")
    warm = [r for r in _find(rows, cache="warm", **base) if r["ratio_to_limit"] is not None]
    single = (
        f"lowest: {(low := min(warm, key=lambda r: r['ratio_to_limit']))['endpoint']} at "
        f"{low['scale']}, w{low['workers']}: {low['ratio_to_limit']:.1%} against the "
        f"relation-sized limit; best: {max(r['ratio_to_limit'] for r in warm):.1%}"
        if warm
        else ""
    )
    by_endpoint = _medians(paired, "warm", "ratio_to_limit")
    if by_endpoint:
        worst_endpoint = min(by_endpoint, key=lambda e: by_endpoint[e][0])
        line(
            "warm reads ≥ 80% of the limit (a)",
            "met" if by_endpoint[worst_endpoint][0] >= 0.8 else "no",
            f"paired, each endpoint against the limit at its own size, median of "
            f"{_rounds(paired)} rounds: "
            + ", ".join(f"{e} {_spread(v, '.0%')}" for e, v in by_endpoint.items())
            + (f". Single runs: {single}" if single else ""),
        )
    elif warm:
        worst = min(warm, key=lambda r: r["ratio_to_limit"])
        line(
            "warm reads ≥ 80% of the limit (a)",
            "met" if worst["ratio_to_limit"] >= 0.8 else "no",
            single,
        )
    else:
        line("warm reads ≥ 80% of the limit (a)", None, "")
    compressed = _find(rows, target="service", database="sqlite", run="paired-compressed")
    by_endpoint = _medians(compressed, "warm", "ratio_to_limit")
    if by_endpoint:
        line(
            "warm reads with gzip ≥ 80% of the limit (a) serving the same gzipped bytes",
            "met" if min(v[0] for v in by_endpoint.values()) >= 0.8 else "no",
            f"paired, median of {_rounds(compressed)} rounds: "
            + ", ".join(f"{e} {_spread(v, '.0%')}" for e, v in by_endpoint.items()),
        )
    cold = [
        r
        for r in _find(rows, endpoint="relation", cache="cold", workers=1, **base)
        if r["ratio_to_datasette"] is not None
    ]
    singles = ", ".join(f"{r['scale']}: {r['ratio_to_datasette']:.2f}×" for r in cold)
    cold_paired = _medians(paired, "cold", "ratio_to_datasette")
    if "relation" in cold_paired:
        median = cold_paired["relation"]
        line(
            "cold relation ≥ 4× Datasette (b)",
            "met" if median[0] >= 4 else "no",
            f"paired, median of {_rounds(paired)} rounds at {paired[0]['scale']}: "
            f"{_spread(median, '.2f', '×')}" + (f". Single runs: {singles}" if singles else ""),
        )
    elif cold:
        worst = min(cold, key=lambda r: r["ratio_to_datasette"])
        line(
            "cold relation ≥ 4× Datasette (b)",
            "met" if worst["ratio_to_datasette"] >= 4 else "no",
            singles,
        )
    else:
        line("cold relation ≥ 4× Datasette (b)", None, "")
    for endpoint in ("relation", "deep-page"):
        found = {
            r["scale"]: r
            for r in _find(rows, endpoint=endpoint, cache="cold", workers=1, **base)
            if r["connections"] > 1
        }
        small, big = scales[0], scales[-1]
        if small in found and big in found and small != big:
            ratio = found[big]["result"]["p99_ms"] / max(found[small]["result"]["p99_ms"], 1e-6)
            line(
                f"growth: {endpoint} p99 at {big} ≤ 1.5× {small}",
                "met" if ratio <= 1.5 else "no",
                f"{found[small]['result']['p99_ms']:.1f} → {found[big]['result']['p99_ms']:.1f} ms "
                f"({ratio:.2f}×, cold, {found[big]['connections']} connections)",
            )
        else:
            line(f"growth: {endpoint} p99", None, "needs two scales")
    search = _find(rows, endpoint="search", run="one-client")
    if search:
        p99 = search[0]["result"]["p99_ms"]
        line(
            f"search p99 < 50 ms with one client at {search[0]['scale']}",
            "met" if p99 < 50 else "no",
            f"{p99:.1f} ms",
        )
    else:
        line("search p99 < 50 ms with one client", None, "no /v1/search yet")
    at_largest = [r for r in rows if r["target"] == "service" and r["scale"] == scales[-1]]
    if at_largest:
        peak = max(r["peak_rss_mb"] for r in at_largest)
        line(
            f"peak RSS of one worker < 150 MB at {scales[-1]}",
            "met" if peak < 150 else "no",
            f"{peak:.0f} MB (largest over every run at that scale)",
        )
    for db in ("sqlite", "postgresql"):
        runs = _find(rows, run="no-collapse", database=db)
        if runs:
            r = runs[0]
            # A collapsed server stops answering; a saturated one still has its queue to serve
            # when the load stops: at most one request per connection, at the rate it served.
            rate = r["result"]["rps"] or 1.0
            drain = 1 + r["connections"] / rate
            ok = (
                r["result"]["error_total"] == 0
                and r["result"]["requests"] > 0
                and r["server_errors"] == 0
                and r["recovery_seconds"] is not None
                and r["recovery_seconds"] <= drain
            )
            line(
                f"no collapse: {r['connections']} connections, {r['result']['seconds']:.0f} s, "
                f"{db} at {r['scale']}",
                "met" if ok else "no",
                f"{r['result']['requests']:,} responses, errors {_errors(r)}, "
                f"{r['server_errors']} server errors logged, p99 {r['result']['p99_ms']:.0f} ms"
                + (f"; {short(r['note'], 400)}" if r["note"] else "")
                + f" (its queue drains in {drain:.1f} s at that rate)",
            )
        else:
            line(f"no collapse on {db}", None, "")
    for target in ("limit", "service"):
        w = {
            r["workers"]: r
            for r in rows
            if r["target"] == target
            and r["endpoint"] in ("fixed-json", "relation")
            and r["cache"] == ("warm" if target == "limit" else "cold")
            and r["scale"] in ("-", scales[-1])
            and r["database"] == "sqlite"
            and r["run"] == "standard"
        }
        if 1 in w and 2 in w:
            ratio = w[2]["result"]["rps"] / max(w[1]["result"]["rps"], 1e-6)
            line(
                f"--workers 2 vs 1 ({target}{'' if target == 'limit' else ' relation, cold'})",
                "met" if ratio >= 1.5 else "no",
                f"{w[1]['result']['rps']:,.0f} → {w[2]['result']['rps']:,.0f} req/s "
                f"({ratio:.2f}×; ≥ 1.5× taken as scaling on 2 cores shared with wrk)",
            )
    return ["| target | verdict | figures |", "|---|---|---|", *out]


def _line(name: str, met: bool | None, detail: str) -> str:
    mark = {True: "met", False: "**not met**", None: "not measured"}[met]
    return f"| {name} | {mark} | {detail} |"


def _median_rps(rows: Rows) -> str:
    return f"{statistics.median(r['result']['rps'] for r in rows):,.0f}" if rows else "?"


def _postgres_targets(rows: Rows) -> list[str]:
    """PostgreSQL's cold relation against SQLite's, paired; and 256 connections on it."""
    pg = _find(rows, run="paired-postgres", database="postgresql")
    ratios = [r["ratio_to_sqlite"] for r in pg if r.get("ratio_to_sqlite") is not None]
    name = "PostgreSQL cold relation ≥ 0.6× SQLite at the same scale"
    if ratios:
        spread = (statistics.median(ratios), min(ratios), max(ratios))
        lite = _find(rows, run="paired-postgres", database="sqlite")
        out = [
            _line(
                name,
                spread[0] >= 0.6,
                f"paired, median of {len(ratios)} rounds at {pg[0]['scale']}: "
                f"{_spread(spread, '.2f', '×')} (median {_median_rps(pg)} req/s on PostgreSQL, "
                f"{_median_rps(lite)} on SQLite; cold, {pg[0]['connections']} connections)",
            )
        ]
    else:
        out = [_line(name, None, "no paired PostgreSQL rounds")]
    name = "PostgreSQL at 256 connections for 30 s: 0 errors, p99 ≤ 150 ms"
    runs = _find(rows, run="no-collapse", database="postgresql")
    if not runs:
        return [*out, _line(name, None, "")]
    r = runs[0]
    ok = (
        r["result"]["error_total"] == 0
        and r.get("server_errors", 0) == 0
        and r["result"]["requests"] > 0
        and r["result"]["p99_ms"] <= 150
    )
    detail = (
        f"{r['connections']} connections, {r['result']['seconds']:.0f} s, cold relation at "
        f"{r['scale']}: {r['result']['requests']:,} responses, errors {_errors(r)}, "
        f"p99 {r['result']['p99_ms']:.0f} ms (p50 {r['result']['p50_ms']:.0f} ms)"
    )
    return [*out, _line(name, ok, detail)]


def _default_config_targets(rows: Rows, meta: dict[str, Any]) -> list[str]:
    """Warm reads of the default configuration against the limit at the same bytes, paired:
    plain with the request log on, and gzipped."""
    out = []
    for run, what in (("paired-log", "request log on"), ("paired-gzip", "request log on, gzip")):
        paired = _find(rows, target="service", run=run)
        by_endpoint = _medians(paired, "warm", "ratio_to_limit")
        name = f"warm reads, default configuration ({what}) ≥ 0.8× the limit"
        if not by_endpoint:
            out.append(_line(name, None, ""))
            continue
        worst = min(v[0] for v in by_endpoint.values())
        same = (
            "the same gzipped bytes (Content-Encoding: gzip)" if "gzip" in run else "the same bytes"
        )
        out.append(
            _line(
                name,
                worst >= 0.8,
                f"paired, each endpoint against the limit serving {same}, median of "
                f"{_rounds(paired)} rounds at {paired[0]['scale']}: "
                + ", ".join(f"{e} {_spread(v, '.0%')}" for e, v in by_endpoint.items())
                + (f". Service: {meta['default_config']}" if "gzip" not in run else ""),
            )
        )
    return out


DATASETTE_PAGES = {
    "list": "table page",
    "detail": "row page",
    "search": "full-text search",
}


def _datasette_targets(rows: Rows) -> list[str]:
    """Cold list, detail and search against Datasette's closest pages, paired, per scale."""
    paired = _find(rows, target="service", run="paired-datasette")
    name = "cold list, detail and search ≥ 1.5× Datasette"
    if not paired:
        return [_line(name, None, "no paired rounds against Datasette's pages")]
    out = []
    for scale in dict.fromkeys(r["scale"] for r in paired):
        at = [r for r in paired if r["scale"] == scale]
        found = _medians(at, "cold", "ratio_to_datasette")
        judged = {e: v for e, v in found.items() if e in DATASETTE_PAGES}
        extra = {e: v for e, v in found.items() if e not in DATASETTE_PAGES}
        detail = f"paired, median of {_rounds(at)} rounds: " + ", ".join(
            f"{e} against its {DATASETTE_PAGES[e]} {_spread(v, '.2f', '×')}"
            for e, v in judged.items()
        )
        if extra:
            detail += "; not judged: " + ", ".join(
                f"{e} against the row page {_spread(v, '.2f', '×')}" for e, v in extra.items()
            )
        # Datasette answered none of these within wrk's timeout: no ratio, but no match either.
        silent = {
            r["endpoint"]: r
            for r in _find(rows, target="datasette", run="paired-datasette", scale=scale)
            if not r["result"]["requests"] and r["endpoint"] not in judged
        }
        for e in silent:
            served = [r["result"]["rps"] for r in at if r["endpoint"] == e]
            detail += (
                f"; {e}: Datasette's {DATASETTE_PAGES.get(e, 'page')} answered none of its "
                f"requests within the timeout ({Load(url='').timeout:g} s), the service "
                f"{statistics.median(served):,.0f} req/s"
            )
        missing = [e for e in DATASETTE_PAGES if e not in judged and e not in silent]
        if missing:
            detail += f"; not measured: {', '.join(missing)}"
        met = all(v[0] >= 1.5 for v in judged.values()) if judged or silent else None
        out.append(_line(f"{name} at {scale}", met, detail))
    return out


def _search_target(rows: Rows, connections: int) -> str:
    name = f"search at 100k, cold, {connections} connections ≥ 200 req/s"
    found = {
        r["scale"]: r
        for r in _find(rows, endpoint="search", cache="cold", workers=1, target="service")
        if r["run"] == "standard" and r["database"] == "sqlite" and r["connections"] == connections
    }
    if "100k" not in found:
        figures = ", ".join(f"{s}: {r['result']['rps']:,.0f} req/s" for s, r in found.items())
        return _line(name, None, f"needs the 100k scale{'; ' + figures if figures else ''}")
    r = found["100k"]
    return _line(
        name,
        r["result"]["rps"] >= 200,
        f"{r['result']['rps']:,.0f} req/s, p99 {r['result']['p99_ms']:.0f} ms, errors {_errors(r)}",
    )


def _scaleout_targets(summaries: list[dict[str, Any]]) -> list[str]:
    """An edit's propagation through three processes (bench.scaleout), without and with a
    replica."""
    out = []
    for replicated in (False, True):
        setup = "with a replica" if replicated else "without a replica"
        name = f"an edit visible through three processes {setup} within 1 s (p99)"
        found = [s for s in summaries if s["replica"] == replicated]
        if not found:
            out.append(_line(name, None, ""))
            continue
        s = found[0]
        checks = "".join(
            f", {key.replace('_', ' ')}: {s[key]}"
            for key in ("public_reads_unchanged_while_paused", "admin_read_sees_the_edit")
            if key in s
        )
        ok = (
            s["propagation_p99_ms"] <= 1000
            and s["not_shown_within_10_s"] == 0
            and s["edits_with_differing_etags"] == 0
        )
        out.append(
            _line(
                name.replace("three", str(s["processes"])),
                ok,
                f"{s['edits']} edits: p50 {s['propagation_p50_ms']:.0f} ms, "
                f"p99 {s['propagation_p99_ms']:.0f} ms, largest {s['propagation_max_ms']:.0f} ms; "
                f"not shown within 10 s: {s['not_shown_within_10_s']}; edits whose processes "
                f"gave different ETags: {s['edits_with_differing_etags']}{checks}",
            )
        )
    return out


def targets_18(rows: Rows, meta: dict[str, Any]) -> list[str]:
    """Each target of issue 18 against this run's figures: met, not met, or not measured."""
    return [
        "| target | verdict | figures |",
        "|---|---|---|",
        *_postgres_targets(rows),
        *_default_config_targets(rows, meta),
        *_datasette_targets(rows),
        _search_target(rows, meta["plan"]["connections"]),
        *_scaleout_targets(meta.get("scaleout", [])),
    ]


def markdown(meta: dict[str, Any], rows: Rows) -> str:
    plan = meta["plan"]
    lines = [
        f"# SkinKB benchmark ({'quick' if plan['quick'] else 'full'} run)",
        "",
        f"{meta['date']}, commit {meta['commit']}; {meta['machine']}; Python {meta['python']}; "
        f"load from {meta['load_tool']} -t{plan['threads']} -c{plan['connections']} "
        f"-d{plan['seconds']}s on loopback (timeout 5 s); synthetic data seed {plan['seed']}; "
        f"{meta['seconds']:.0f} s in all.",
        "",
        "Relation: `/v1/procedures/at-home-derma-roller/side-effects` (a seed variant; synthetic "
        "rows never link to it, so its response is the same size at every scale). Cold: every "
        "request a different URL (`cb=<n>`); warm: one URL. The limit (a) is a bare Starlette app "
        "returning that response as a fixed body; Datasette (b) runs the same relation query as a "
        "canned query on the same SQLite file. Both run on the service's uvicorn settings "
        f"(event loop: {meta.get('loop', 'default')}). "
        "Service environment (but in the default configuration's runs of issue 18): "
        f"`{' '.join(f'{k}={v}' for k, v in meta['service_env'].items())}`. "
        "Errors: non-2xx/3xx, socket errors and timeouts.",
        "",
        "## Targets of issue 5",
        "",
        *targets(rows, plan["scales"]),
        "",
        "## Targets of issue 18",
        "",
        "Paired as issue 5's ratios are (`--paired-rounds`): each ratio from two runs back to "
        "back, the median of the rounds with the lowest and highest beside it. PostgreSQL: the "
        "cold relation on PostgreSQL at `--postgres-scale` right after the same on the SQLite "
        "file of that scale. Default configuration: the service with no setting but its "
        "database URL ("
        f"{meta.get('default_config', 'not recorded')}"
        "), warm, against the limit serving the same bytes, plain and with `Accept-Encoding: "
        "gzip` (the limit sending the service's gzipped bytes). Datasette's pages: the cold "
        "list (`/v1/procedures?limit=20`) against Datasette's table page of published "
        "procedures by slug (20 rows), the plain detail against its row page, search against "
        "its full-text search of `search_entry` through the service's FTS5 table `search_fts` "
        "(Datasette orders those matches by rowid, not by rank); Datasette's cold URLs differ "
        "by `_cb=<n>`. Scale-out: `bench.scaleout`, edits through the first of three `skinkb "
        "serve` on PostgreSQL until every one shows them.",
        "",
        *targets_18(rows, meta),
        "",
        "## Every configuration",
        "",
        *table(rows),
        "",
    ]
    if meta["notes"]:
        lines += ["## Notes", "", *[f"- {n}" for n in meta["notes"]], ""]
    return "\n".join(lines)


def plot(path: Path, rows: Rows, connections: int = 32) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    series: dict[str, list[tuple[int, float]]] = {}
    for r in rows:
        if (
            r["scale"] == "-"
            or r["workers"] != 1
            or r["run"] != "standard"
            or r["database"] != "sqlite"
        ):
            continue
        key = f"{r['target']} {r['endpoint']} ({r['cache']})"
        series.setdefault(key, []).append((max(r["links"], 1), r["result"]["p99_ms"]))
    series |= _paired_series(rows, "paired-datasette")
    colors = plt.get_cmap("tab20").colors  # type: ignore[attr-defined]
    for i, (key, points) in enumerate(sorted(series.items())):
        points.sort()
        style = "--" if "(warm)" in key else ":" if "paired" in key else "-"
        ax.plot(*zip(*points, strict=True), style, marker="o", label=key, color=colors[i % 20])
    for r in rows:  # the single run's limit; the paired rounds' limits, one per size, stay out
        if r["target"] == "limit" and r["workers"] == 1 and r["run"] == "standard":
            ax.axhline(r["result"]["p99_ms"], color="grey", linestyle=":", label="limit (a)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("link rows in the knowledge base")
    ax.set_ylabel(f"p99 latency, ms ({connections} connections)")
    ax.set_title("p99 latency against data size")
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _paired_series(rows: Rows, run: str) -> dict[str, list[tuple[int, float]]]:
    """Per target and endpoint of a paired run, the median p99 of its rounds at each scale."""
    p99s: dict[tuple[str, int], list[float]] = {}
    for r in _find(rows, run=run):
        key = f"{r['target']} {r['endpoint']} ({r['cache']}, {run})"
        p99s.setdefault((key, max(r["links"], 1)), []).append(r["result"]["p99_ms"])
    series: dict[str, list[tuple[int, float]]] = {}
    for (key, links), values in p99s.items():
        series.setdefault(key, []).append((links, statistics.median(values)))
    return series


def write(out: Path, stem: str, meta: dict[str, Any], rows: Rows) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = [out / f"{stem}.json", out / f"{stem}.md", out / f"{stem}.png"]
    files[0].write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    files[1].write_text(markdown(meta, rows))
    plot(files[2], rows, meta["plan"]["connections"])
    return files


def main() -> None:
    """`python -m bench.report RESULTS.json`: write its markdown and plot again beside it."""
    path = Path(sys.argv[1])
    data = json.loads(path.read_text())
    write(path.parent, path.stem, data["meta"], data["rows"])


if __name__ == "__main__":
    main()

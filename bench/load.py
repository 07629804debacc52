"""Drive a server from a separate process: wrk when installed, else a bounded Python generator.

Cold runs make every request a different URL (a harmless `cb=<thread>-<n>` query parameter, or
another name where `cb` would mean something, as on Datasette's table pages), so no URL-keyed
cache can answer; warm runs repeat one URL.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MARK = "BENCHJSON "

WRK_SCRIPT = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  sep = string.find(wrk.path, "?", 1, true) and "&" or "?"
  counter = 0
end
%(request)s
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, ' ..
    '"write": %%d, "status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, ' ..
    '"max_us": %%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
"""
COLD_REQUEST = r"""
function request()
  counter = counter + 1
  return wrk.format(nil, wrk.path .. sep .. "BUSTER=" .. tid .. "-" .. counter)
end
"""


@dataclass
class Load:
    url: str
    cold: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    connections: int = 32
    threads: int = 2
    seconds: float = 10.0
    timeout: float = 5.0
    buster: str = "cb"  # the query parameter that makes each cold request's URL different


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]

    @property
    def error_total(self) -> int:
        return sum(self.errors.values())


def has_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_load(load: Load, use_wrk: bool | None = None) -> LoadResult:
    """One bounded load run against `load.url`."""
    if use_wrk is None:
        use_wrk = has_wrk()
    return _run_wrk(load) if use_wrk else _run_python(load)


def _result(tool: str, raw: dict[str, Any]) -> LoadResult:
    seconds = raw["duration_us"] / 1e6
    return LoadResult(
        tool=tool,
        requests=raw["requests"],
        seconds=round(seconds, 2),
        rps=round(raw["requests"] / seconds, 1) if seconds else 0.0,
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p90_ms=round(raw["p90_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        max_ms=round(raw["max_us"] / 1000, 2),
        errors={k: int(raw[k]) for k in ("connect", "read", "write", "status", "timeout")},
    )


def _parse(tool: str, out: str, err: str) -> LoadResult:
    for line in out.splitlines():
        if line.startswith(MARK):
            return _result(tool, json.loads(line[len(MARK) :]))
    raise RuntimeError(f"{tool} printed no result:\n{out[-2000:]}\n{err[-2000:]}")


def _run_wrk(load: Load) -> LoadResult:
    request = COLD_REQUEST.replace("BUSTER", load.buster) if load.cold else ""
    script = WRK_SCRIPT % {"request": request, "mark": MARK}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        argv = [
            "wrk",
            f"-t{min(load.threads, load.connections)}",
            f"-c{load.connections}",
            f"-d{load.seconds:g}s",
            f"--timeout={load.timeout:g}s",
            "-s",
            f.name,
        ]
        for name, value in load.headers.items():
            argv += ["-H", f"{name}: {value}"]
        argv.append(load.url)
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=load.seconds + load.timeout + 30
        )
    finally:
        Path(f.name).unlink(missing_ok=True)
    return _parse("wrk", proc.stdout, proc.stderr)


def _run_python(load: Load) -> LoadResult:
    proc = subprocess.run(
        [sys.executable, "-m", "bench.pyload", json.dumps(asdict(load))],
        capture_output=True,
        text=True,
        timeout=load.seconds + load.timeout + 60,
    )
    return _parse("python", proc.stdout, proc.stderr)

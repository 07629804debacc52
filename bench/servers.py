"""Start and stop the servers under test, and watch their memory and CPU while they are driven.

The one place that starts `skinkb serve` (and the other servers) on loopback: the benchmark,
the fault runs (bench.faults) and the tests that need a real server process use it.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

try:
    import psutil  # the bench extra's: the tests use the rest of this module without it
except ImportError:  # pragma: no cover
    psutil = None

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"

# What the service runs with under the benchmark: one client address on loopback would be
# rate-limited at once, and the per-request log line costs what uvicorn's access log does.
SERVICE_ENV = {"SKINKB_RATE_LIMIT_ENABLED": "false", "SKINKB_REQUEST_LOG": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def skinkb_command() -> list[str]:
    script = Path(sys.executable).with_name("skinkb")
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def uvicorn_command(app: str, port: int, workers: int) -> list[str]:
    """uvicorn as `skinkb serve` runs it: its event loop (SKINKB_SERVER_LOOP), its HTTP protocol
    (httptools with TCP_NODELAY, api.fastpath.serving), no access log."""
    from api.config import settings
    from api.fastpath.serving import HTTP_PROTOCOL

    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        settings.server_loop,
        "--http",
        HTTP_PROTOCOL,
        "--no-access-log",
        "--log-level",
        "warning",
    ]


class Server:
    """A server process group on loopback, up once `ready_path` answers 200, stopped on exit.

    Its stdout and stderr go to a file, never a pipe: with the request log on, a server writes a
    line per request, and a pipe nobody reads would fill and block it.
    """

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, ready_path: str):
        self.name, self.argv, self.port, self.ready_path = name, argv, port, ready_path
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        self.log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None
        self._killing = threading.Lock()
        self._read_to = 0  # how far error_lines has read the log
        self._errors: list[str] = []

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> "Server":
        return self.start()

    def start(self, timeout: float = 120) -> "Server":
        """Start (or start again) and wait until `ready_path` answers 200."""
        self._read_to, self._errors = 0, []
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.base + self.ready_path, timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"{self.name} did not come up on {self.base}:\n{tail}")

    def error_lines(self) -> list[str]:
        """The error lines the server has logged so far. The log is read on from where the last
        call stopped: with a line per request it grows by megabytes a run."""
        with self.log.open("rb") as log:
            log.seek(self._read_to)
            chunk = log.read()
        complete = chunk.rfind(b"\n") + 1  # a line being written is read next time
        self._read_to += complete
        self._errors += [
            line
            for line in chunk[:complete].decode(errors="replace").splitlines()
            if '"level": "error"' in line or line.startswith(("ERROR", "Traceback", "sqlalchemy"))
        ]
        return list(self._errors)

    def last_error(self) -> str:
        """The last error line the server logged, for a note when a probe got a 5xx."""
        lines = self.error_lines()
        return lines[-1][:300] if lines else ""

    def responds(self, timeout: float = 5.0) -> bool:
        try:
            return httpx.get(self.base + self.ready_path, timeout=timeout).status_code == 200
        except httpx.HTTPError:
            return False

    def recovery_seconds(self, limit: float = 90.0) -> float | None:
        """How long until the server answers again after a run (0 if at once), None if never."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if self.responds():
                return round(time.monotonic() - started, 1)
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (SIGKILL: a crash) and wait for it to end. Safe from
        two threads at once (the crash test's timer and its client both kill)."""
        with self._killing:
            if self.proc is not None and self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    pass  # it ended between the poll and the signal
                self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.log.unlink(missing_ok=True)


def skinkb_server(
    database_url: str, workers: int = 1, env: dict[str, str] | None = None, name: str = "skinkb"
) -> Server:
    """`skinkb serve` on a free port of loopback, ready once `/readyz` says the schema is at
    head; rate limits and request logs off (one client address, no log to read) unless `env`
    says otherwise."""
    port = free_port()
    argv = [*skinkb_command(), "serve", "--host", HOST, "--port", str(port)]
    argv += ["--workers", str(workers)]
    settings = {**SERVICE_ENV, "SKINKB_DATABASE_URL": database_url, **(env or {})}
    return Server(name, argv, settings, port, "/readyz")


@dataclass
class Usage:
    peak_rss_mb: float  # the largest single process (one worker)
    peak_total_rss_mb: float  # all the server's processes together
    cpu_seconds: float


class Watcher:
    """Samples the RSS of a server's processes while a load runs, and their CPU time used."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0.0
        self.peak_total = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._cpu0 = 0.0

    def _processes(self) -> "list[psutil.Process]":
        return [self.root, *self.root.children(recursive=True)]

    def _cpu(self) -> float:
        total = 0.0
        for p in self._processes():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def _sample(self) -> None:
        sizes = []
        for p in self._processes():
            try:
                sizes.append(p.memory_info().rss / 2**20)
            except psutil.Error:
                pass
        if sizes:
            self.peak = max(self.peak, max(sizes))
            self.peak_total = max(self.peak_total, sum(sizes))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "Watcher":
        self._cpu0 = self._cpu()
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.usage = Usage(round(self.peak, 1), round(self.peak_total, 1), self._cpu() - self._cpu0)

"""The Dockerfile, checked the way this machine can (no Docker engine here): its shape, and its
start command run as written against a fresh database."""

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def stage(n: int) -> str:
    return re.split(r"^FROM ", DOCKERFILE, flags=re.M)[n]


def test_multi_stage_non_root_runtime_only_dependencies() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, flags=re.M)) == 2
    runtime = stage(2)
    user = re.search(r"^USER (\S+)", runtime, flags=re.M)
    assert user and user.group(1) not in ("root", "0")
    installs = re.findall(r"pip install ([^\n]*)", DOCKERFILE)
    assert installs and all("[test]" not in i and "[bench]" not in i for i in installs)
    for copied in ("api", "models", "seed_data", "alembic", "alembic.ini", "pyproject.toml"):
        assert re.search(rf"^COPY .*\b{re.escape(copied)}\b", stage(1), flags=re.M), copied


def test_start_command_migrates_then_serves_with_configured_workers(tmp_path: Path) -> None:
    cmd = re.search(r'^CMD \["sh", "-c", "(.*)"\]', DOCKERFILE, flags=re.M)
    assert cmd and "skinkb serve" in cmd.group(1) and "${SKINKB_WORKERS}" in cmd.group(1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = cmd.group(1).replace("0.0.0.0", "127.0.0.1").replace("--port 8000", f"--port {port}")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "SKINKB_DATABASE_URL": f"sqlite:///{tmp_path / 'skinkb.db'}",
        "SKINKB_WORKERS": "2",
    }
    server = subprocess.Popen(
        ["sh", "-c", command],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the image's command did not come up"
            time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/sources").json()["total"] == 5
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    log = server.stdout.read() if server.stdout else ""
    assert "Started parent process" in log or log.count("Application startup complete") >= 2, (
        shlex.quote(log[-500:])
    )

"""The Dockerfile, checked the way this machine can (no Docker engine here): its shape, and the
image's tree built the way the image builds it (its COPY lines, its pip commands, in a fresh
virtualenv) and started with its command against a fresh database."""

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
IMAGE_VENV = "/opt/venv"


def stage(n: int) -> str:
    return re.split(r"^FROM ", DOCKERFILE, flags=re.M)[n]


def instructions(text: str) -> list[tuple[str, str]]:
    """(keyword, arguments) of each instruction, continuation lines joined, comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    found = []
    for line in joined.splitlines():
        words = line.strip().split(None, 1)
        if words:
            found.append((words[0].upper(), words[1] if len(words) > 1 else ""))
    return found


def test_multi_stage_non_root_runtime_only_dependencies() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, flags=re.M)) == 2
    runtime = stage(2)
    user = re.search(r"^USER (\S+)", runtime, flags=re.M)
    assert user and user.group(1) not in ("root", "0")
    installs = re.findall(r"pip install ([^\n]*)", DOCKERFILE)
    assert installs and all("[test]" not in i and "[bench]" not in i for i in installs)
    for copied in ("api", "models", "seed_data", "alembic", "alembic.ini", "pyproject.toml"):
        assert re.search(rf"^COPY .*\b{re.escape(copied)}\b", stage(1), flags=re.M), copied
    # What CI tested, by hash; then the project alone, not editable.
    assert any("--require-hashes -r requirements.lock" in i for i in installs)
    assert any(re.search(r"--no-deps \.$", i.strip()) for i in installs)
    assert not any(re.search(r"(^|\s)-e\s", i) for i in installs)
    assert not re.search(r"^COPY .*\bbench\b", DOCKERFILE, flags=re.M)


def build_tree(app: Path, venv: Path) -> dict[str, str]:
    """The build stage on this machine: its COPY lines from the repository into `app` (the
    WORKDIR), its RUN lines with /opt/venv read as `venv`. Returns the runtime stage's ENV."""
    workdir = "/app"
    base_path = os.pathsep.join(
        p
        for p in os.environ["PATH"].split(os.pathsep)
        if Path(p).resolve() != Path(sys.executable).parent.resolve()
    )
    run_env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    # `python` as the image has it: the interpreter this suite's virtualenv was made from.
    run_env["PATH"] = os.pathsep.join(
        [str(venv / "bin"), str(Path(sys._base_executable).parent), base_path]  # type: ignore[attr-defined]
    )
    for keyword, args in instructions(stage(1)):
        if keyword == "WORKDIR":
            workdir = args.strip()
            assert workdir == "/app", "the test maps WORKDIR /app only"
        elif keyword == "COPY":
            words = shlex.split(args)
            assert not any(w.startswith("--") for w in words), words
            *sources, dest = words
            for source in sources:
                target = app / dest if dest not in ("./", ".") else app
                if len(sources) > 1 or dest.endswith("/"):
                    target = target / Path(source).name
                origin = ROOT / source
                assert origin.exists(), f"COPY {source}: not in the repository"
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, target)
        elif keyword == "RUN":
            command = args.replace(IMAGE_VENV, str(venv))
            done = subprocess.run(
                ["sh", "-c", command], cwd=app, env=run_env, capture_output=True, text=True
            )
            assert done.returncode == 0, (
                f"RUN {command}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
    env: dict[str, str] = {}
    for keyword, args in instructions(stage(2)):
        if keyword == "ENV":
            for word in shlex.split(args):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def pypi_reachable() -> str | None:
    try:
        httpx.get("https://pypi.org/simple/pip/", timeout=15).raise_for_status()
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def test_image_tree_migrates_then_serves_with_configured_workers(tmp_path: Path) -> None:
    unreachable = pypi_reachable()
    if unreachable:
        pytest.skip(f"PyPI cannot be reached, so the image's pip install cannot run: {unreachable}")
    cmd = re.search(r'^CMD \["sh", "-c", "(.*)"\]', DOCKERFILE, flags=re.M)
    assert cmd and "skinkb serve" in cmd.group(1) and "${SKINKB_WORKERS}" in cmd.group(1)
    app, venv = tmp_path / "app", tmp_path / "venv"
    app.mkdir()
    image_env = build_tree(app, venv)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = cmd.group(1).replace("0.0.0.0", "127.0.0.1").replace("--port 8000", f"--port {port}")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH") and not k.startswith("SKINKB_")
    }
    image_paths = {IMAGE_VENV: venv, "/app": app}
    for name, value in image_env.items():
        parts = value.replace("$PATH", "/usr/local/bin:/usr/bin:/bin").split(":")
        for i, part in enumerate(parts):
            for image_path, here in image_paths.items():
                if part == image_path or part.startswith(image_path + "/"):
                    parts[i] = str(here) + part[len(image_path) :]
        env[name] = ":".join(parts)
    env["SKINKB_DATABASE_URL"] = f"sqlite:///{tmp_path / 'skinkb.db'}"
    env["SKINKB_WORKERS"] = "2"
    assert env["PATH"].startswith(str(venv / "bin"))
    server = subprocess.Popen(
        ["sh", "-c", command],
        env=env,
        cwd=app,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
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
        try:
            os.killpg(server.pid, 15)
        except ProcessLookupError:  # it died: its output is in the assertion above
            pass
        server.wait(timeout=30)
    log = server.stdout.read() if server.stdout else ""
    assert "Started parent process" in log or log.count("Application startup complete") >= 2, (
        shlex.quote(log[-500:])
    )
    # The tree serves what the image carries: no benchmark, and the installed project is not
    # an editable link back to the repository.
    assert not (app / "bench").exists()
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import api.cli, bench"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": ""},
        capture_output=True,
        text=True,
    )
    assert "No module named 'bench'" in site.stderr, site.stderr[-1000:]

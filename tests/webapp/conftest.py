"""The editors' web app in a real browser: a `skinkb serve` of its own (SQLite file, free port)
and Debian's Chromium driven by Playwright; skipped, saying why, where either is missing."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # the browser fixture skips, saying why
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = next(
    (
        path
        for path in (
            os.environ.get("SKINKB_CHROMIUM"),
            "/usr/bin/chromium",
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
        )
        if path and Path(path).exists()
    ),
    None,
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Answers the app handles (a refused field, a stale version): Chromium logs them all the same.
EXPECTED_FAILURE = re.compile(r"Failed to load resource: .* status of (409|412|422)")
SKINKB = Path(sys.executable).with_name("skinkb")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A running `skinkb serve` on its own SQLite file, and a way to make keys for it."""

    def __init__(self, base_url: str, env: dict[str, str]) -> None:
        self.base_url = base_url
        self.env = env

    def key(self, name: str, role: str) -> str:
        made = subprocess.run(
            [str(SKINKB), "keys", "create", "--name", name, "--role", role],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return made.stdout.strip()

    def public(self, path: str) -> dict:
        answer = httpx.get(f"{self.base_url}{path}", headers={"Cache-Control": "no-cache"})
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if os.environ.get("SKINKB_TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the browser journeys run on SQLite only")
    database = tmp_path_factory.mktemp("webapp") / "skinkb.db"
    port = free_port()
    env = {
        **os.environ,
        "SKINKB_DATABASE_URL": f"sqlite:///{database}",
        "SKINKB_RATE_LIMIT_ENABLED": "false",
        "SKINKB_REQUEST_LOG": "false",
        # Public reads straight from the database, so a publish shows at once.
        "SKINKB_RESPONSE_CACHE": "false",
    }
    process = subprocess.Popen(
        [str(SKINKB), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"skinkb serve did not start: {err.decode()[-2000:]}")
        time.sleep(0.2)
    try:
        yield Server(base_url, env)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator["Browser"]:
    if sync_playwright is None:
        pytest.skip("Playwright is not installed (pip install -e '.[test]')")
    if CHROMIUM is None:
        pytest.skip("no Chromium found (apt-get install chromium, or set SKINKB_CHROMIUM)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_app(browser: "Browser", server: Server) -> Iterator[Callable[..., "Page"]]:
    """A new browser tab (its own context: sessionStorage not shared) signed in with a new key."""
    contexts = []
    errors: list[str] = []

    def open_app(name: str, role: str, width: int = 1280) -> "Page":
        context = browser.new_context(
            viewport={"width": width, "height": 900}, base_url=server.base_url
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                errors.append(f"{msg.text} {msg.location}")
                if msg.type == "error" and not EXPECTED_FAILURE.search(msg.text)
                else None
            ),
        )
        page.goto("/admin/")
        page.get_by_label("API key").fill(server.key(name, role))
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text(f"{name} ({role})").wait_for()
        page.locator("table.entries").wait_for()
        return page

    yield open_app
    for context in contexts:
        context.close()
    assert errors == [], "the page logged errors"


def screenshot(page: "Page", name: str) -> None:
    """docs/screenshots/<name>.png, when SKINKB_SCREENSHOTS=1 (so a test run changes no file)."""
    if os.environ.get("SKINKB_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)

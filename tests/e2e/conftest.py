"""End-to-end console tests: Playwright drives Debian's Chromium against a real node process.

The node is `consortia up --init` in a temporary directory (the ten-organisation demo consortium
with its demo data), bound to 127.0.0.1 so the console's demo signer is on (ADR 0010). The key-file
tests start a second such node with the demo signer off, where members sign in with their key files.
Screenshots of the main pages go to ``test-artifacts/console/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from consortia.cli.bench import free_port, stop_node

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@contextmanager
def running_node(home: Path, *, signer: bool, crypto: str = "ed25519") -> Iterator[str]:
    """``consortia up --init`` in ``home`` on a free loopback port; with ``signer=False`` the demo signer
    stays off (``--no-demo-signer``), as on a node that is not the user's own machine."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "CONSORTIA_CONSOLE_SIGNER"}
    log = open(home.parent / "node.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", "consortia.cli.main", "up", "--init", "--dir", str(home),
                                "--port", str(port), "--log-level", "warning", "--crypto", crypto,
                                *([] if signer else ["--no-demo-signer"])],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(f"the demo node did not start: {(home.parent / 'node.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    try:
        yield url
    finally:
        stop_node(process)
        log.close()


@pytest.fixture(scope="session")
def console_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console") / "consortium"


@pytest.fixture(scope="session")
def console_url(console_home: Path) -> Iterator[str]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); run `make system-deps`")
    with running_node(console_home, signer=True) as url:
        yield url


@pytest.fixture(scope="session")
def keyfile_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keyfile") / "consortium"


@pytest.fixture(scope="session")
def keyfile_url(keyfile_home: Path) -> Iterator[str]:
    """A second demo node whose console has no demo signer: members sign in with their key files."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); run `make system-deps`")
    with running_node(keyfile_home, signer=False) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium); run `make system-deps`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@contextmanager
def console_page(browser: Any, url: str) -> Iterator[Any]:
    """A fresh browser page (own context) on a node; fails the test on any uncaught script error."""
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    p = context.new_page()
    p.set_default_timeout(30_000)  # generous: other test runs may share the CPU
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    context.close()
    assert not errors, f"script errors in the console: {errors}"


@pytest.fixture
def page(browser: Any, console_url: str) -> Iterator[Any]:
    """A fresh browser page on the console (demo signer on)."""
    with console_page(browser, console_url) as p:
        yield p


@pytest.fixture
def keyfile_page(browser: Any, keyfile_url: str) -> Iterator[Any]:
    """A fresh browser page on the node without a demo signer."""
    with console_page(browser, keyfile_url) as p:
        yield p


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

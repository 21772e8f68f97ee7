"""Shared fixtures: a real consortium on disk and a real node process serving it.

Every fixture that creates a consortium asks for ``suite_name``, which runs it (and the tests
using it) once per crypto suite: ``ed25519-sha256`` and the national ``sm2-sm3``. Restrict a
run with ``pytest --suite sm2-sm3`` (repeatable).
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from consortia.cli.bench import free_port, start_node
from consortia.crypto import CryptoSuite, get_suite, suite_names

SUITES = tuple(suite_names())  # ed25519-sha256, sm2-sm3
SUITE_IDS = {"ed25519-sha256": "ed25519", "sm2-sm3": "sm"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--suite", action="append", choices=SUITES, default=None,
                     help="run suite-dependent tests on this crypto suite only (repeatable; default: every suite)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "suite_name" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("suite") or list(SUITES)
        metafunc.parametrize("suite_name", chosen, indirect=True, scope="session", ids=[SUITE_IDS[s] for s in chosen])


@pytest.fixture(scope="session")
def suite_name(request: pytest.FixtureRequest) -> str:
    """The crypto suite of the consortium under test (parametrised over every suite)."""
    return str(request.param)


@pytest.fixture(scope="session")
def suite(suite_name: str) -> CryptoSuite:
    return get_suite(suite_name)


@dataclass
class RunningNode:
    home: Path
    port: int
    process: subprocess.Popen[bytes]
    genesis: dict[str, Any]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return int(self.process.returncode)

    def restart(self) -> None:
        self.stop()
        self.process = start_node(self.home, self.port)


def launch(home: Path, **init_kwargs: Any) -> RunningNode:
    from consortia.node.home import init_consortium, load_genesis

    genesis = load_genesis(home) if (home / "genesis.json").exists() else init_consortium(home, **init_kwargs)
    port = free_port()
    return RunningNode(home, port, start_node(home, port), genesis)


@pytest.fixture(scope="session")
def live_node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    """One real node process per crypto suite for the API and CLI tests of a session."""
    node = launch(tmp_path_factory.mktemp("live") / "consortium", suite_name=suite_name, config={"block_timeout_ms": 20})
    yield node
    node.stop()

"""Shared fixtures: a real consortium on disk and a real node process serving it."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from consortia.cli.bench import free_port, start_node


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
def live_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One real node process for the API and CLI tests of a session."""
    node = launch(tmp_path_factory.mktemp("live") / "consortium", config={"block_timeout_ms": 20})
    yield node
    node.stop()

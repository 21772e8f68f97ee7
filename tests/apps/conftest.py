"""Fixtures shared by the traceability test modules that run on both suites."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.node.home import DEMO_ORG_COUNT_WITH_TRACE
from tests.apps.test_trace_harness import Trace
from tests.unit.helpers import Consortium


@pytest.fixture(scope="module")
def trace_consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    """The demo organisations with the trace parties, on the suite under test (once per module)."""
    return Consortium(tmp_path_factory.mktemp("trace") / "c", orgs=DEMO_ORG_COUNT_WITH_TRACE, suite_name=suite_name)


@pytest.fixture
def trace(trace_consortium: Consortium, tmp_path: Path) -> Iterator[Trace]:
    """A fresh chain of ``trace_consortium`` for one test."""
    harness = Trace(trace_consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()

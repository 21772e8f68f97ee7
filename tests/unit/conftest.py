"""Fixtures for the unit tests: one consortium per module and suite, one fresh chain per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.helpers import Chain, Consortium


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    """A four-organisation consortium on each crypto suite in turn."""
    return Consortium(tmp_path_factory.mktemp("consortium") / "c", suite_name=suite_name)


@pytest.fixture
def chain(consortium: Consortium, tmp_path: Path) -> Iterator[Chain]:
    ch = consortium.chain(tmp_path / "node")
    yield ch
    ch.close()

"""Packaging a member's contract for a governance proposal (ADR 0014)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consortia.contracts import usercode
from consortia.contracts.usercode import ENTRY_FILE, Outline
from consortia.crypto.suite import CryptoSuite
from consortia.errors import BadInput


def read_source(path: Path) -> str:
    """The contract module of a contract directory (its ``contract.py``) or of a ``.py`` file."""
    file = path / ENTRY_FILE if path.is_dir() else path
    if not file.is_file():
        raise BadInput(f"no contract at {path} (expected a directory with {ENTRY_FILE}, or a .py file)",
                       code="NO_CONTRACT")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{file} is not UTF-8 text", code="NO_CONTRACT") from None


def deployment(suite: CryptoSuite, source: str, access: dict[str, list[str]] | None = None
               ) -> tuple[Outline, dict[str, Any]]:
    """The proposal params of ``source`` on a chain of ``suite`` (see ``usercode.deployment``)."""
    return usercode.deployment(suite.hash, suite.hash_name, source, access)

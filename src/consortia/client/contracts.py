"""Packaging a member's contract for a governance proposal (ADR 0014)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consortia.contracts.usercode import ENTRY_FILE, Outline, check_archive, compute_code_hash, make_archive
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
    """The checked outline and the ``install_contract`` / ``upgrade_contract`` params of ``source``:
    name and version as the class declares them, the canonical archive and its hash under
    ``suite``, and the author's access list (method -> organisations)."""
    archive = make_archive(source)
    outline, _ = check_archive(archive)
    return outline, {"name": outline.name, "version": outline.version, "archive": archive,
                     "code_hash": compute_code_hash(suite.hash, suite.hash_name, archive), "access": access or {}}

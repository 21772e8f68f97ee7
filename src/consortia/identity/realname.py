"""The salted digest that binds a member identity to its real-name record."""

from __future__ import annotations

from collections.abc import Callable

from consortia.types import codec


def realname_digest(hasher: Callable[[bytes], bytes], salt: bytes, kind: str, id_type: str, value: str) -> str:
    """``H(salt || canonical [kind, id_type, value])`` with the chain's hash, as lowercase hex."""
    return hasher(salt + codec.encode([kind, id_type, value])).hex()

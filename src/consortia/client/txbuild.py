"""Build and sign transactions locally (no network)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from consortia.crypto.suite import CryptoSuite
from consortia.identity.wallet import Wallet
from consortia.ledger.records import SignedTx

DEFAULT_TTL_MS = 10 * 60 * 1000


def build_tx(suite: CryptoSuite, wallet: Wallet, chain_id: str, contract: str, method: str,
             args: dict[str, Any] | None = None, *, nonce: int | None = None, ttl_ms: int = DEFAULT_TTL_MS,
             not_after_height: int | None = None) -> SignedTx:
    """A signed transaction; the random 63-bit nonce makes its id unique."""
    tx = {
        "chain": chain_id,
        "sender": wallet.sender,
        "nonce": secrets.randbits(63) if nonce is None else nonce,
        "contract": contract,
        "method": method,
        "args": args or {},
        "not_after_height": not_after_height,
        "not_after_ms": int(time.time() * 1000) + ttl_ms if ttl_ms else None,
    }
    return SignedTx.create(suite, wallet.signer, tx)

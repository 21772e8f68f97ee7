"""Signed reads: the header a client sends to prove who is asking.

``X-Consortia-Auth: <sender>.<time_ms>.<sig-hex>``, where the signature covers
``consortia/read/v1\\0<chain> <time_ms> <METHOD> <path> <hash-of-body>``; ``<path>`` is the path
as sent, percent-encoded, without the query (``/epcis/events/ni%3A%2F%2F%2Fsha-256%3B...``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from consortia.identity.wallet import Wallet

HEADER = "X-Consortia-Auth"
SKEW_MS = 5 * 60 * 1000
DOMAIN = b"consortia/read/v1\x00"


def read_message(chain_id: str, time_ms: int, method: str, path: str, body_hash: str) -> bytes:
    return DOMAIN + f"{chain_id} {time_ms} {method.upper()} {path} {body_hash}".encode()


def sign_read(wallet: Wallet, hasher: Callable[[bytes], bytes], chain_id: str, method: str, path: str,
              body: bytes) -> str:
    now = int(time.time() * 1000)
    sig = wallet.signer.sign(read_message(chain_id, now, method, path, hasher(body).hex()))
    return f"{wallet.sender}.{now}.{sig.hex()}"

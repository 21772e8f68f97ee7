"""Signed reads: the header a client sends to prove who is asking (ADR 0019).

``X-Consortia-Auth: <sender>.<time_ms>.<nonce>.<sig-hex>``, where ``<nonce>`` is 32 lowercase hex
characters (128 random bits) and the signature covers

    consortia/read/v2\\0<chain> <time_ms> <nonce> <METHOD> <target> <hash-of-body>

``<target>`` is the request target as sent: the percent-encoded path, then ``?`` and the query
string exactly as sent when there is one (``/audit?limit=10&format=csv``). A node accepts a header
dated at most ``WINDOW_MS`` in its past and ``FUTURE_SKEW_MS`` in its future, and each nonce once
while the header could still be accepted (``NonceBook``).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from consortia.identity.wallet import Wallet

HEADER = "X-Consortia-Auth"
WINDOW_MS = 60 * 1000
FUTURE_SKEW_MS = 5 * 1000
DOMAIN = b"consortia/read/v2\x00"
NONCE_HEX = 32


def request_target(path: str, query: str = "") -> str:
    """What a signature covers of the URL: the raw path, plus ``?query`` when the query is not empty."""
    return f"{path}?{query}" if query else path


def split_target(target: str) -> str:
    """``request_target`` of a raw ``path?query`` (an empty query after ``?`` is no query)."""
    path, _, query = target.partition("?")
    return request_target(path, query)


def read_message(chain_id: str, time_ms: int, nonce: str, method: str, target: str, body_hash: str) -> bytes:
    return DOMAIN + f"{chain_id} {time_ms} {nonce} {method.upper()} {target} {body_hash}".encode()


def sign_read(wallet: Wallet, hasher: Callable[[bytes], bytes], chain_id: str, method: str, target: str,
              body: bytes, *, now_ms: int | None = None, nonce: str | None = None) -> str:
    """The header value for one request; ``target`` is the raw path and query as they are sent."""
    when = int(time.time() * 1000) if now_ms is None else now_ms
    nonce = nonce or secrets.token_hex(NONCE_HEX // 2)
    sig = wallet.signer.sign(read_message(chain_id, when, nonce, method, split_target(target), hasher(body).hex()))
    return f"{wallet.sender}.{when}.{nonce}.{sig.hex()}"


class NonceBook:
    """The nonces of the signed reads a node accepted, each kept until its header expires.

    At most ``per_sender`` per signer and ``capacity`` in all are held; past that a read is
    refused (the caller gets a 503) rather than the node growing without bound."""

    def __init__(self, capacity: int = 500_000, per_sender: int = 50_000) -> None:
        self.capacity, self.per_sender = capacity, per_sender
        self._expiry: dict[str, int] = {}
        self._order: deque[tuple[int, str, str]] = deque()
        self._by_sender: dict[str, int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def _prune(self, now_ms: int) -> None:
        while self._order and self._order[0][0] <= now_ms:
            _, nonce, sender = self._order.popleft()
            self._expiry.pop(nonce, None)
            left = self._by_sender.get(sender, 1) - 1
            if left > 0:
                self._by_sender[sender] = left
            else:
                self._by_sender.pop(sender, None)

    def use(self, sender: str, nonce: str, time_ms: int, now_ms: int) -> str:
        """Record ``nonce``; returns "" when it is fresh, else why it is refused: "replay" or "full"."""
        with self._lock:
            self._prune(now_ms)
            if nonce in self._expiry:
                return "replay"
            if len(self._expiry) >= self.capacity or self._by_sender.get(sender, 0) >= self.per_sender:
                return "full"
            expiry = time_ms + WINDOW_MS + 1
            self._expiry[nonce] = expiry
            self._order.append((expiry, nonce, sender))
            self._by_sender[sender] = self._by_sender.get(sender, 0) + 1
            return ""

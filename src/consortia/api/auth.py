"""Who is asking: verify the ``X-Consortia-Auth`` header of a signed read."""

from __future__ import annotations

import time

from fastapi import Request

from consortia.errors import Forbidden, TxRejected, Unavailable
from consortia.execution.executor import Executor, Reader
from consortia.identity.read_auth import FUTURE_SKEW_MS, HEADER, NONCE_HEX, WINDOW_MS, NonceBook, read_message, request_target
from consortia.identity.x509 import Identity


def nonce_book(request: Request) -> NonceBook:
    """The nonces this node's API accepted (one book per app: per node)."""
    state = request.app.state
    book: NonceBook | None = getattr(state, "read_nonces", None)
    if book is None:
        book = state.read_nonces = NonceBook()
    return book


def _is_nonce(text: str) -> bool:
    return len(text) == NONCE_HEX and all(c in "0123456789abcdef" for c in text)


async def caller_of(request: Request, executor: Executor) -> Identity | None:
    """The verified identity behind a request, or None when it carries no auth header."""
    value = request.headers.get(HEADER)
    if not value:
        return None
    if "consortia.caller" in request.scope:  # verified once per request: its nonce is spent by then
        return request.scope["consortia.caller"]  # type: ignore[no-any-return]
    parts = value.split(".")
    if (len(parts) != 4 or not (parts[1].isascii() and parts[1].isdigit() and len(parts[1]) < 19)
            or not _is_nonce(parts[2])):
        raise Forbidden(f"{HEADER}: expected <sender>.<time_ms>.<nonce: {NONCE_HEX} hex>.<signature> (ADR 0019)",
                        code="BAD_AUTH")
    sender, time_text, nonce, sig_hex = parts
    time_ms = int(time_text)
    now = int(time.time() * 1000)
    if not now - WINDOW_MS <= time_ms <= now + FUTURE_SKEW_MS:
        raise Forbidden(f"{HEADER}: dated {time_ms - now:+d} ms from the node's clock; a signed read is good from "
                        f"{FUTURE_SKEW_MS // 1000} s ahead to {WINDOW_MS // 1000} s behind it", code="AUTH_EXPIRED")
    body = await request.body()  # bounded while it streams, before this (api/limits.py)
    raw_path = request.scope.get("raw_path")  # as sent: url.path is decoded, so an id holding %3F would not match
    path = raw_path.split(b"?", 1)[0].decode("latin-1") if raw_path else request.url.path
    target = request_target(path, request.scope.get("query_string", b"").decode("latin-1"))
    message = read_message(executor.chain_id, time_ms, nonce, request.method, target, executor.suite.hash(body).hex())
    try:
        _, public, _ = executor.sender_cert(sender)
        signature = bytes.fromhex(sig_hex)
    except TxRejected as exc:
        if exc.code == "WRONG_SUITE":
            raise Forbidden(f"{HEADER}: {exc.message}", code="WRONG_SUITE") from None
        raise Forbidden(f"{HEADER}: unreadable sender certificate or signature", code="BAD_AUTH") from None
    except ValueError:
        raise Forbidden(f"{HEADER}: unreadable sender certificate or signature", code="BAD_AUTH") from None
    if not executor.suite.verify(public, message, signature):
        raise Forbidden(f"{HEADER}: signature does not verify", code="BAD_AUTH")
    store = executor.store
    header = store.get_header(store.height())
    reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
    try:
        caller = executor.identity(reader, sender, header.time_ms if header else now)
    except TxRejected as exc:
        raise Forbidden(exc.message, code=exc.code) from None
    refused = nonce_book(request).use(caller.id, nonce, time_ms, now)
    if refused == "replay":
        raise Forbidden(f"{HEADER}: this header was already used; sign each request afresh", code="AUTH_REPLAY")
    if refused:
        raise Unavailable(f"{HEADER}: too many signed reads in the last {WINDOW_MS // 1000} s", code="AUTH_BUSY")
    request.scope["consortia.caller"] = caller
    return caller


async def require_regulator(request: Request, what: str) -> Identity:
    """The signed caller, if its organisation is a regulator of this consortium; else 403."""
    from starlette.concurrency import run_in_threadpool

    node = request.app.state.node
    caller = await caller_of(request, node.executor)
    if caller is None:
        raise Forbidden(f"{what} needs a signed request (X-Consortia-Auth)", code="UNAUTHENTICATED")
    if not await run_in_threadpool(node.is_regulator, caller.org):
        raise Forbidden(f"{caller.org} is not a regulator of this consortium", code="NOT_REGULATOR")
    return caller

"""Who is asking: verify the ``X-Consortia-Auth`` header of a signed read."""

from __future__ import annotations

import time

from fastapi import Request

from consortia.errors import Forbidden, TxRejected
from consortia.execution.executor import Executor, Reader
from consortia.identity.read_auth import HEADER, SKEW_MS, read_message
from consortia.identity.x509 import Identity


async def caller_of(request: Request, executor: Executor) -> Identity | None:
    """The verified identity behind a request, or None when it carries no auth header."""
    value = request.headers.get(HEADER)
    if not value:
        return None
    parts = value.split(".")
    if len(parts) != 3 or not (parts[1].isascii() and parts[1].isdigit() and len(parts[1]) < 19):
        raise Forbidden(f"{HEADER}: expected <sender>.<time_ms>.<signature>", code="BAD_AUTH")
    sender, time_text, sig_hex = parts
    time_ms = int(time_text)
    now = int(time.time() * 1000)
    if abs(now - time_ms) > SKEW_MS:
        raise Forbidden(f"{HEADER}: timestamp is more than five minutes from the node's clock", code="AUTH_EXPIRED")
    body = await request.body()
    raw_path = request.scope.get("raw_path")  # as sent: url.path is decoded, so an id holding %3F would not match
    path = raw_path.split(b"?", 1)[0].decode("latin-1") if raw_path else request.url.path
    message = read_message(executor.chain_id, time_ms, request.method, path, executor.suite.hash(body).hex())
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
        return executor.identity(reader, sender, header.time_ms if header else now)
    except TxRejected as exc:
        raise Forbidden(exc.message, code=exc.code) from None


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

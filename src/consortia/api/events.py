"""Server-Sent Events over committed blocks, resumable by height or Last-Event-ID."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from consortia.contracts.system import compute_masked_tx, mask_tx_key
from consortia.errors import BadInput
from consortia.execution.executor import CommittedBlock
from consortia.node.node import Node
from consortia.types import codec

HEARTBEAT_S = 15.0
MAX_SUBSCRIBERS = 256
MAX_ANONYMOUS = 192  # the rest is kept for signed readers
MAX_PER_CLIENT = 8  # per client address (anonymous) or per signed identity


class EventHub:
    """Wakes every open stream when the node commits a block."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Event] = set()
        self._clients: dict[asyncio.Event, tuple[str, bool]] = {}  # who holds each stream, signed or not

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.node.add_listener(self._on_block)

    def detach(self) -> None:
        self.node.remove_listener(self._on_block)
        self._loop = None

    def _on_block(self, _: CommittedBlock) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    def subscribe(self, client: str = "", signed: bool = False) -> asyncio.Event:
        """A stream for ``client`` (its address, or its identity when ``signed``): at most
        ``MAX_PER_CLIENT`` each, and anonymous streams leave room for signed readers."""
        from consortia.errors import Unavailable

        held = list(self._clients.values())
        if len(self._waiters) >= MAX_SUBSCRIBERS:
            raise Unavailable("too many open event streams", code="TOO_MANY_STREAMS")
        if not signed and sum(1 for _, s in held if not s) >= MAX_ANONYMOUS:
            raise Unavailable("too many anonymous event streams: sign the request (X-Consortia-Auth) to get one of "
                              "those kept for members", code="TOO_MANY_STREAMS")
        if held.count((client, signed)) >= MAX_PER_CLIENT:
            raise Unavailable(f"{client or 'this client'} already holds {MAX_PER_CLIENT} event streams",
                              code="TOO_MANY_STREAMS")
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        self._clients[waiter] = (client, signed)
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        self._waiters.discard(waiter)
        self._clients.pop(waiter, None)


def parse_last_event_id(value: str) -> tuple[int, int, int]:
    parts = value.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() and len(p) < 19 for p in parts):
        raise BadInput("Last-Event-ID must be <height>:<tx>:<event>", code="BAD_INPUT")
    h, t, e = (int(p) for p in parts)
    return h, t, e


def block_events(node: Node, height: int, contract: str | None, name: str | None,
                 after: tuple[int, int] | None) -> list[tuple[str, str, dict[str, Any]]]:
    block = node.store.get_block(height)
    if block is None:
        return []
    out = []
    for t, receipt in enumerate(block.receipts):
        shown = [e.data for e in receipt.events]
        found = node.store.state_read("sys/" + mask_tx_key(receipt.tx_id)) if receipt.events else None
        if found is not None:  # copies of a masked text in the events are hidden too (ADR 0012)
            _, masked, _ = compute_masked_tx(block.txs[t]["tx"], receipt.to_dict(), codec.decode(found.value),
                                             node.suite.hash, node.suite.hash_name)
            shown = [e["data"] for e in masked["events"]]
        for e, event in enumerate(receipt.events):
            if after is not None and (t, e) <= after:
                continue
            if (contract and event.contract != contract) or (name and event.name != name):
                continue
            out.append((f"{height}:{t}:{e}", event.name, {
                "height": height, "time_ms": block.header.time_ms, "tx_id": receipt.tx_id,
                "contract": event.contract, "name": event.name, "data": shown[e]}))
    return out


async def event_stream(request: Request, hub: EventHub, from_height: int | None, contract: str | None,
                       name: str | None) -> StreamingResponse:
    node = hub.node
    after: tuple[int, int] | None = None
    last_id = request.headers.get("last-event-id")
    if last_id:
        start, t, e = parse_last_event_id(last_id)
        after = (t, e)
    else:
        start = node.store.height() + 1 if from_height is None else from_height
    from consortia.api.auth import caller_of

    caller = await caller_of(request, node.executor)  # a signed reader gets a stream kept for members
    peer = request.client.host if request.client else ""
    waiter = hub.subscribe(caller.id if caller else peer, signed=caller is not None)

    async def generate() -> AsyncIterator[bytes]:
        nonlocal after
        height = start
        try:
            yield b": consortia event stream\n\n"
            while True:
                waiter.clear()
                while height <= node.store.height():
                    for event_id, event_name, data in await run_in_threadpool(
                            block_events, node, height, contract, name, after):
                        yield (f"id: {event_id}\nevent: {event_name}\ndata: ".encode()
                               + orjson.dumps(data) + b"\n\n")
                    after = None
                    height += 1
                if await request.is_disconnected():
                    return
                try:
                    await asyncio.wait_for(waiter.wait(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
        finally:
            hub.unsubscribe(waiter)

    return StreamingResponse(generate(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

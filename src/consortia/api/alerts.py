"""``/alerts``: the regulator's risk alerts, as a list and as a live stream (signed reads)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from consortia.api.auth import require_regulator

router = APIRouter(tags=["regulator"])
RULES = ("^(double_financing|over_value|voucher_overdue|volume_spike|sensor_breach|recall|node_disagrees"
         "|double_reimbursement|invoice_flagged|invoice_voided|over_quota"
         "|waybill_temperature|waybill_exception|waybill_disputed|grant_unconfirmed)$")


@router.get("/alerts", summary="Risk alerts (regulators only)")
async def alerts(request: Request, after: int = Query(0, ge=0, le=10**15), limit: int = Query(1000, ge=1, le=10_000),
                 rule: str | None = Query(None, pattern=RULES)) -> dict[str, Any]:
    """Alerts raised by the rules over committed blocks, oldest first, after sequence `after`."""
    node = request.app.state.node
    caller = await require_regulator(request, "alerts")
    rows = await run_in_threadpool(node.alerts.list, after, limit, rule)
    await run_in_threadpool(node.audit_read, caller, "alerts.list", {"after": after, "rule": rule})
    return {"alerts": rows}


@router.get("/alerts/stream", summary="Risk alerts as Server-Sent Events (regulators only)")
async def alert_stream(request: Request, after: int = Query(0, ge=0, le=10**15)) -> StreamingResponse:
    """Every alert after sequence `after`, then new ones as they are raised (id = sequence)."""
    node = request.app.state.node
    await require_regulator(request, "alerts")
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def on_alert(_: dict[str, Any]) -> None:
        loop.call_soon_threadsafe(wake.set)

    node.alerts.add_listener(on_alert)

    async def generate() -> AsyncIterator[bytes]:
        last = after
        try:
            yield b": consortia alerts\n\n"
            while True:
                wake.clear()
                for alert in await run_in_threadpool(node.alerts.list, last, 1000, None):
                    last = alert["seq"]
                    yield f"id: {last}\nevent: {alert['rule']}\ndata: ".encode() + orjson.dumps(alert) + b"\n\n"
                if await request.is_disconnected():
                    return
                try:
                    await asyncio.wait_for(wake.wait(), 15)
                except TimeoutError:
                    yield b": keep-alive\n\n"
        finally:
            node.alerts.remove_listener(on_alert)

    return StreamingResponse(generate(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

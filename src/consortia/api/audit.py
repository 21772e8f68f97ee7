"""``GET /audit``: the node's audit log, for regulators (a signed read, itself logged)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from consortia.api.auth import require_regulator
from consortia.node.audit import to_csv

router = APIRouter(tags=["regulator"])


@router.get("/audit", summary="The audit log with its hash chain (regulators only)",
            responses={200: {"content": {"application/json": {}, "text/csv": {}}}})
async def audit(request: Request, after: int = Query(0, ge=0, le=10**15), limit: int = Query(10_000, ge=1, le=100_000),
                format: str = Query("json", pattern="^(json|csv)$")) -> Any:
    """Every read a regulator made and every administrative action this node committed, each
    entry hash-chained to the one before (``consortia audit verify`` checks an export offline).
    Needs an `X-Consortia-Auth` header from a member of a regulator organisation."""
    node = request.app.state.node
    caller = await require_regulator(request, "the audit log")
    entries = await run_in_threadpool(node.audit.entries, after, limit)
    await run_in_threadpool(node.audit_read, caller, "audit.export", {"after": after, "format": format})
    if format == "csv":
        return Response(to_csv(entries), media_type="text/csv")
    return {"entries": entries, "count": len(entries)}

"""Clear real-name values: given to the member's own organisation's node, read back by that
organisation or a regulator (signed requests; a regulator's read is audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from consortia.api.app import read_json
from consortia.api.auth import caller_of
from consortia.errors import BadInput, Conflict, Forbidden, NotFound
from consortia.identity.realname import realname_digest
from consortia.types import codec

router = APIRouter(tags=["regulator"])


def _on_chain(node: Any, identity: str) -> dict[str, Any]:
    raw = node.store.state_read(f"realname/rec/{identity}")
    if raw is None:
        raise NotFound(f"no real-name record for {identity!r} on the chain", code="NO_RECORD")
    return codec.decode(raw.value)  # type: ignore[no-any-return]


@router.post("/realname/clear", summary="Keep a member's clear real-name values on this node",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["identity", "value", "salt"],
                 "properties": {"identity": {"type": "string"}, "value": {"type": "string"},
                                "salt": {"type": "string"}}}}}}})
async def put_clear(request: Request) -> dict[str, Any]:
    """Signed by an admin of the member's organisation; the values must match the digest the
    chain holds for that identity."""
    node = request.app.state.node
    caller = await caller_of(request, node.executor)  # reads (and caches) the body the signature covers
    body = await read_json(request, 64 * 1024)
    if type(body) is not dict or not all(type(body.get(k)) is str for k in ("identity", "value", "salt")):
        raise BadInput('expected {"identity", "value", "salt"} as strings', code="BAD_INPUT")
    if caller is None or not caller.has_role("admin") or body["identity"].partition("/")[0] != caller.org:
        raise Forbidden("an admin of the member's organisation gives its real-name values", code="NOT_OWN_MEMBER")
    record = await run_in_threadpool(_on_chain, node, body["identity"])
    try:
        salt = bytes.fromhex(body["salt"])
    except ValueError:
        raise BadInput("salt: hex", code="BAD_INPUT") from None
    if realname_digest(node.suite.hash, salt, record["kind"], record["id_type"], body["value"]) != record["digest"]:
        raise Conflict("the value and salt do not match the digest on the chain", code="DIGEST_MISMATCH")
    await run_in_threadpool(node.realnames.put, body["identity"], {"value": body["value"], "salt": body["salt"],
                                                                    "version": record["version"]})
    return {"identity": body["identity"], "stored": True, "version": record["version"]}


@router.get("/realname/clear", summary="A member's clear real-name values (its organisation or a regulator)")
async def get_clear(request: Request, identity: str = Query(..., min_length=3, max_length=200)) -> dict[str, Any]:
    node = request.app.state.node
    caller = await caller_of(request, node.executor)
    if caller is None:
        raise Forbidden("a signed request is needed (X-Consortia-Auth)", code="UNAUTHENTICATED")
    regulator = await run_in_threadpool(node.is_regulator, caller.org)
    if identity.partition("/")[0] != caller.org and not regulator:
        raise Forbidden(f"{caller.org} may not read the real name of {identity}", code="NOT_VISIBLE")
    record = await run_in_threadpool(_on_chain, node, identity)
    clear = await run_in_threadpool(node.realnames.get, identity)
    if clear is None:
        raise NotFound(f"this node does not hold the clear values of {identity}; ask its organisation's node",
                       code="NOT_HELD_HERE")
    await run_in_threadpool(node.audit_read, caller, "realname.clear", {"identity": identity})
    matches = realname_digest(node.suite.hash, bytes.fromhex(clear["salt"]), record["kind"], record["id_type"],
                              clear["value"]) == record["digest"]
    return {"identity": identity, "kind": record["kind"], "id_type": record["id_type"], "value": clear["value"],
            "salt": clear["salt"], "digest": record["digest"], "matches_chain": matches}

"""Waybill REST routes: a waybill and its steps, its EPCIS 2.0 rendering, its receivable, and the
printable consignment note; plus the merge of waybill steps into a package's consumer journey.

Creating a waybill, handovers, checkpoints, delivery, closing and disputes are ordinary signed
transactions (``POST /transactions``) on the ``waybill`` contract. Every route here is a signed
read (``X-Consortia-Auth``): a waybill is visible to its parties, funders and regulators.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from consortia.api.auth import caller_of
from consortia.apps.trace.jsonexact import dumps_exact
from consortia.apps.waybill.contract import STATUSES
from consortia.apps.waybill.epcis import epcis_document, journey_step, step_event, waybill_events
from consortia.apps.waybill.fields import NUMBER
from consortia.apps.waybill.page import render_note
from consortia.crypto.merkle import is_valid_proof
from consortia.errors import BadInput, Forbidden
from consortia.identity.x509 import Identity
from consortia.ledger.records import SignedTx, compute_tx_proof
from consortia.node.node import Node
from consortia.types import codec

router = APIRouter(tags=["waybill"])
MAX_CONTAINERS = 200
STATUS_PATTERN = f"^({'|'.join(('', *STATUSES))})$"


def _node(request: Request) -> Node:
    return request.app.state.node  # type: ignore[no-any-return]


async def _signed(request: Request, node: Node) -> Identity:
    caller = await caller_of(request, node.executor)
    if caller is None:
        raise Forbidden("waybills are visible to their parties, funders and regulators: send an X-Consortia-Auth "
                        "header signed by a member", code="UNAUTHENTICATED")
    return caller


def _check_number(number: str) -> None:
    if NUMBER.fullmatch(number) is None:
        raise BadInput(f"waybill number: expected 1 to 35 letters, digits, '.', '_' or '-', got {number!r:.60}",
                       code="BAD_NUMBER")


async def _get(request: Request, number: str) -> tuple[Node, Identity, dict[str, Any]]:
    _check_number(number)
    node = _node(request)
    caller = await _signed(request, node)
    wb = await run_in_threadpool(node.executor.query, "waybill", "get", {"number": number}, caller)
    await run_in_threadpool(node.audit_read, caller, "waybill.get", {"number": number})
    return node, caller, wb


@router.get("/waybills", summary="The caller's waybills (signed read)")
async def mine(request: Request, status: str = Query("", pattern=STATUS_PATTERN)) -> dict[str, Any]:
    """Waybills the caller's organisation is consignor, carrier or consignee of; `status` filters."""
    node = _node(request)
    caller = await _signed(request, node)
    rows = await run_in_threadpool(node.executor.query, "waybill", "mine", {"status": status}, caller)
    await run_in_threadpool(node.audit_read, caller, "waybill.mine", {"status": status})
    return {"waybills": rows, "height": node.store.height()}


@router.get("/waybills/{number}", summary="One waybill with its steps (signed read)")
async def waybill(request: Request, number: str) -> dict[str, Any]:
    """The consignment note as recorded, its custody and package count, and every step with the
    transactions that signed it (a handover: the proposal and the confirmation)."""
    _, _, wb = await _get(request, number)
    return wb


@router.get("/waybills/{number}/epcis", summary="A waybill's steps as EPCIS 2.0 events (signed read)",
            responses={200: {"content": {"application/ld+json": {}}}})
async def waybill_epcis(request: Request, number: str) -> Response:
    """An EPCISDocument: one ObjectEvent per step for the waybill's SSCC-labelled goods, with the
    waybill as business transaction (`bol`), each with its standard hash ID (ADR 0017)."""
    node, _, wb = await _get(request, number)
    header = node.store.get_header(node.store.height())
    document = epcis_document(waybill_events(wb, wb["step_list"]), header.time_ms if header else 0)
    return Response(dumps_exact(document), media_type="application/ld+json")


@router.get("/waybills/{number}/receivable", summary="The receivable a closed waybill carries (signed read)")
async def receivable(request: Request, number: str) -> dict[str, Any]:
    """What a carrier registers with `scf` (`register_document`, kind `waybill`) to finance its charges:
    carrier, payer, amount, and the digest of the waybill as delivered."""
    _check_number(number)
    node = _node(request)
    caller = await _signed(request, node)
    found = await run_in_threadpool(node.executor.query, "waybill", "receivable", {"number": number}, caller)
    await run_in_threadpool(node.audit_read, caller, "waybill.receivable", {"number": number})
    return found  # type: ignore[no-any-return]


@router.get("/waybills/{number}/note", summary="The printable consignment note (signed read, HTML)",
            response_class=HTMLResponse)
async def note(request: Request, number: str) -> HTMLResponse:
    """The waybill laid out as a consignment note: parties, places, goods, charges, documents,
    and the signed steps with their transactions."""
    node, _, wb = await _get(request, number)
    return HTMLResponse(render_note(wb, _org_names(node)))


# -- the consumer journey (ADR 0017) --------------------------------------------------------------

def _org_names(node: Node) -> dict[str, str]:
    return {o["id"]: o["name"] for o in node.query("members", "orgs", {})}


def with_waybill_steps(node: Node, journey: dict[str, Any]) -> dict[str, Any]:
    """The journey with the steps of every waybill that carried the package's SSCC-labelled
    containers, while the package was inside them, merged in time order."""
    spans = [c for c in journey.get("containers", []) if c["key"].startswith("00/")][:MAX_CONTAINERS]
    if not spans:
        return journey
    if "waybill" not in node.executor.contracts:  # a chain started without the waybill app
        return journey
    found = node.query("waybill", "journey_steps", {"ssccs": sorted({c["key"][3:] for c in spans})})
    names = _org_names(node)
    merged: dict[str, dict[str, Any]] = {}  # by event ID: one step of a pallet and of a case on it is one event
    for step in found:
        inside = any(c["key"][3:] == step["sscc"] and c["from_ms"] <= step["at_ms"]
                     and (c["to_ms"] is None or step["at_ms"] <= c["to_ms"]) for c in spans)
        if inside:
            view = journey_step(step, names.get(step["by"], step["by"]))
            view["event"] = step_event({"number": step["waybill"]}, step, step["ssccs"])["eventID"]
            merged.setdefault(view["event"], view)
    steps = sorted([*journey["steps"], *merged.values()], key=lambda s: (s["time_ms"], s["event"]))
    return {**journey, "steps": steps}


def verify_waybill_steps(node: Node, steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each waybill step: the waybill contract holds it, signed in that transaction, and the
    transaction is in its block (Merkle proof to the header) with an ``ok`` receipt."""
    proofs: dict[str, dict[str, Any]] = {}
    for step in steps:
        if step.get("source") != "waybill":
            continue
        raw = node.store.state_read(f"waybill/step/{step['waybill']}/{step['seq']:06d}")
        record = codec.decode_trusted(raw.value) if raw else None
        hash_ok = record is not None and record["tx"] == step["tx"] and record["at_ms"] == step["time_ms"]
        proof_ok, block_hash = False, None
        where = node.store.tx_location(bytes.fromhex(step["tx"]))
        if where is not None and (block := node.store.get_block(where[0])) is not None:
            tx_ids = [SignedTx.from_wire(node.suite, w, 1 << 62).id for w in block.txs]
            proof = compute_tx_proof(node.suite, tx_ids, where[1])
            proof_ok = (is_valid_proof(node.suite.hash, tx_ids[where[1]], proof, bytes.fromhex(block.header.tx_root),
                                       block.header.tx_count)
                        and block.header.hash(node.suite) == block.hash and block.receipts[where[1]].status == "ok")
            block_hash = block.hash
        proofs[step["event"]] = {"verified": bool(hash_ok and proof_ok), "hash_ok": hash_ok, "proof_ok": proof_ok,
                                 "block_hash": block_hash, "sealed": False, "waybill": step["waybill"]}
    return proofs

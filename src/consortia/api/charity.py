"""Charity REST routes: the public page of a need and of a donation (no login), each transaction on
them checked against its block by a Merkle proof.

Needs, donations, grants and confirmations are ordinary signed transactions (``POST
/transactions``) on the ``charity`` contract; its queries (``POST /query/charity/...``) serve the
console and the SDK.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from consortia.api.responses import OrjsonResponse
from consortia.apps.charity.page import render_donation, render_error, render_need
from consortia.crypto.merkle import is_valid_proof
from consortia.errors import ConsortiaError
from consortia.ledger.records import SignedTx, compute_tx_proof
from consortia.node.node import Node

router = APIRouter(tags=["charity"])
PAGE = 500  # donations per page
FORMAT = Query("html", pattern="^(json|html)$", description="`html` (default) or `json` with the proofs")


def _node(request: Request) -> Node:
    return request.app.state.node  # type: ignore[no-any-return]


def compute_tx_proofs(node: Node, tx_ids: list[str]) -> dict[str, dict[str, Any]]:
    """For each transaction: where it is, its Merkle path to the block's ``tx_root``, and whether
    the path, the header hash and an ``ok`` receipt check out."""
    blocks: dict[int, tuple[Any, list[bytes]]] = {}
    proofs: dict[str, dict[str, Any]] = {}
    for tx_id in sorted(set(tx_ids)):
        where = node.store.tx_location(bytes.fromhex(tx_id))
        if where is None:
            proofs[tx_id] = {"verified": False, "height": None}
            continue
        height, index = where
        if height not in blocks:
            block = node.store.get_block(height)
            ids = [SignedTx.from_wire(node.suite, w, 1 << 62).id for w in block.txs] if block is not None else []
            blocks[height] = (block, ids)
        block, ids = blocks[height]
        proof = compute_tx_proof(node.suite, ids, index)
        header = block.header
        verified = (is_valid_proof(node.suite.hash, ids[index], proof, bytes.fromhex(header.tx_root), header.tx_count)
                    and header.hash(node.suite) == block.hash and block.receipts[index].status == "ok")
        proofs[tx_id] = {"verified": verified, "height": height, "index": index, "block_hash": block.hash,
                         "tx_root": header.tx_root, "proof": proof.to_dict()}
    return proofs


def _txs_of_grant(grant: dict[str, Any]) -> list[str]:
    return [grant["tx"]] + [x["tx"] for x in (grant["confirmation"], grant["exception"]) if x]


def need_view(node: Node, need_id: str, after: str = "") -> dict[str, Any]:
    """A need, one page of its donations (with, on the first, the general-fund gifts it drew on), its
    grants, and the proofs of every transaction they name."""
    need = node.query("charity", "need", {"need_id": need_id})
    grants = node.query("charity", "grants", {"need_id": need_id})["grants"]
    page = node.query("charity", "donations", {"need_id": need_id, "after": after, "limit": PAGE})
    donations = page["donations"]
    if not after:
        general = sorted({s["donation"] for g in grants for s in g["sources"] if s["general"]})
        donations += [node.query("charity", "donation", {"donation_id": d}) for d in general]
    txs = [need["tx"]] + [x["tx"] for x in (need["attested"], need["verified"]) if x]
    txs += [t for d in donations for t in (d["tx"], d["match_tx"]) if t]
    txs += [t for g in grants for t in _txs_of_grant(g)]
    return {"need": need, "donations": donations, "next": page["next"], "grants": grants,
            "proofs": compute_tx_proofs(node, txs)}


def donation_view(node: Node, donation_id: str) -> dict[str, Any]:
    donation = node.query("charity", "donation", {"donation_id": donation_id})
    grants = [node.query("charity", "grant_record", {"grant_id": g}) for g in sorted({u["grant"] for u in donation["uses"]})]
    needs = {n: node.query("charity", "need", {"need_id": n})["title"]
             for n in sorted({u["need"] for u in donation["uses"]} | ({donation["need"]} if donation["need"] else set()))}
    txs = [t for t in (donation["tx"], donation["match_tx"]) if t] + [t for g in grants for t in _txs_of_grant(g)]
    return {"donation": donation, "grants": grants, "needs": needs, "proofs": compute_tx_proofs(node, txs)}


def _now_ms(node: Node) -> int:
    top = node.store.get_block(node.store.height())
    return top.header.time_ms if top is not None else int(time.time() * 1000)


async def _serve(request: Request, format: str, build: Any, render: Any) -> Response:  # noqa: A002
    node = _node(request)
    try:
        view = await run_in_threadpool(build)
    except ConsortiaError as exc:
        if format == "html":
            return HTMLResponse(render_error(exc.status, exc.message), status_code=exc.status)
        raise
    if format == "json":
        return OrjsonResponse(view)
    now = await run_in_threadpool(_now_ms, node)
    return HTMLResponse(render(view, view["proofs"], now))


@router.get("/charity/needs/{need_id}", summary="A need's public page (no login)",
            responses={200: {"content": {"text/html": {}, "application/json": {}}}})
async def need_page(request: Request, need_id: str, format: str = FORMAT,  # noqa: A002
                    after: str = Query("", max_length=64, description="the `next` of the previous page")) -> Response:
    """Raised, granted and confirmed; every donation with its path to grants and their receipt, 500
    to a page; every transaction checked against its block. No beneficiary data."""
    node = _node(request)
    return await _serve(request, format, lambda: need_view(node, need_id, after), render_need)


@router.get("/charity/donations/{donation_id}", summary="Where a donation went (no login)",
            responses={200: {"content": {"text/html": {}, "application/json": {}}}})
async def donation_page(request: Request, donation_id: str, format: str = FORMAT) -> Response:  # noqa: A002
    """One donation: when it was recorded and received, each grant it paid for, and each grant's
    confirmed receipt (photo or receipt digests), with proofs."""
    node = _node(request)
    return await _serve(request, format, lambda: donation_view(node, donation_id), render_donation)

"""E-invoice REST routes: an invoice as JSON, printable HTML, PDF or UBL 2.1 XML (signed read), the
public verification page behind its QR code (no login, with the Merkle proof of the issuing
transaction), and a check of an invoice in JSON before it is signed (import).

Issuing, delivering, claiming, reimbursing, reversing, voiding and flagging are ordinary signed
transactions (``POST /transactions``) on the ``invoice`` contract; lists and the tax authority's
overview are its queries (``POST /query/invoice/...``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from consortia.api.auth import caller_of
from consortia.api.responses import OrjsonResponse
from consortia.apps.invoice.contract import compute_digest
from consortia.apps.invoice.model import check_invoice, complete_invoice, is_valid_number
from consortia.apps.invoice.render import render_invoice, render_pdf, render_verification
from consortia.apps.invoice.ubl import compute_ubl
from consortia.crypto.merkle import MerkleProof, is_valid_proof
from consortia.errors import BadInput, Forbidden
from consortia.ledger.records import BlockHeader
from consortia.node.node import Node
from consortia.types import codec

router = APIRouter(tags=["invoice"])
MAX_INVOICE_BODY = 1024 * 1024
FORMATS = {"json": "application/json", "html": "text/html", "pdf": "application/pdf", "xml": "application/xml"}
INVOICE_BODY = {"requestBody": {"required": True, "description": "an invoice in JSON (the contract's content "
                                "shape); amounts, tax amounts and totals may be left out and are computed",
                                "content": {"application/json": {"schema": {"type": "object"}}}}}


def _node(request: Request) -> Node:
    return request.app.state.node  # type: ignore[no-any-return]


def _number(number: str) -> str:
    if not is_valid_number(number):
        raise BadInput(f"number: expected the invoice's 20 digits, got {number!r:.40}", code="BAD_NUMBER")
    return number


def verify_url(request: Request, record: dict[str, Any]) -> str:
    return str(request.base_url).rstrip("/") + f"/invoice/verify/{record['number']}?digest={record['digest']}"


@router.get("/invoice/invoices/{number}", summary="An invoice as JSON, HTML, PDF or UBL 2.1 XML (signed read)",
            responses={200: {"content": {t: {} for t in FORMATS.values()}}})
async def invoice_document(request: Request, number: str,
                           format: str = Query("json", pattern="^(json|html|pdf|xml)$")) -> Any:
    """The invoice for its seller, its buyer, the tax authority and regulators (`X-Consortia-Auth`):
    `json` the chain's record (content, digest, status, history); `html` a printable page and `pdf` a
    PDF in the layout of the official 数电发票, both with a QR code to the public verification page;
    `xml` a UBL 2.1 Invoice (a red-letter invoice: a CreditNote) after EN 16931."""
    _number(number)
    node = _node(request)
    caller = await caller_of(request, node.executor)
    if caller is None:
        raise Forbidden("an invoice's content needs a signed request (X-Consortia-Auth); anyone may check it on "
                        f"/invoice/verify/{number}", code="UNAUTHENTICATED")
    record = await run_in_threadpool(node.executor.query, "invoice", "get", {"number": _number(number)}, caller)
    await run_in_threadpool(node.audit_read, caller, "invoice.document", {"number": number, "format": format})
    content, url = record["content"], verify_url(request, record)
    if format == "html":
        status = (await run_in_threadpool(node.executor.query, "invoice", "verify", {"number": number}, None))["status"]
        return HTMLResponse(render_invoice(content, url, status))
    if format == "pdf":
        pdf = await run_in_threadpool(render_pdf, content, url)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="invoice-{number}.pdf"'})
    if format == "xml":
        return Response(compute_ubl(content), media_type="application/xml",
                        headers={"Content-Disposition": f'inline; filename="invoice-{number}.xml"'})
    return OrjsonResponse(record)


def issue_proof(node: Node, tx_id: str) -> dict[str, Any]:
    """The issuing transaction's place in its block: its Merkle path to ``tx_root``, the header,
    the block hash and the organisations' signed attestations of it, checked here (a verifier
    re-checks offline against the genesis CAs)."""
    from consortia.api.app import transaction_view

    view = transaction_view(node, tx_id)
    header = BlockHeader.from_dict(view["header"])
    tx_proof = MerkleProof.from_dict(view["proof"]["tx"])
    valid = (is_valid_proof(node.suite.hash, bytes.fromhex(tx_id), tx_proof, bytes.fromhex(header.tx_root),
                            header.tx_count) and header.hash(node.suite) == view["block_hash"])
    attestations = [codec.decode(body) for _, h, body in node.store.attestations(view["height"])
                    if h == view["block_hash"]]
    attested = sorted({a["org"] for a in attestations})
    return {"tx_id": tx_id, "height": view["height"], "index": view["index"], "block_hash": view["block_hash"],
            "header": view["header"], "tx_root": header.tx_root, "merkle": view["proof"]["tx"],
            "path": [step["hash"] for step in view["proof"]["tx"]["path"]], "valid": valid,
            "attested_by": attested, "attestations": attestations, "suite": node.suite.name}


@router.get("/invoice/verify/{number}", summary="Public invoice verification (no login)")
async def verify_page(request: Request, number: str, digest: str = Query("", max_length=128),
                      format: str = Query("html", pattern="^(json|html)$")) -> Any:
    """Whether invoice `number` was issued on this chain, whether the `digest` in its QR code matches
    what was issued, its status (valid, partly reversed, reversed, reimbursed, void) and the Merkle
    proof of the transaction that issued it. Shows none of the invoice's content."""
    node = _node(request)
    found = await run_in_threadpool(node.executor.query, "invoice", "verify", {"number": _number(number),
                                                                              "digest": digest}, None)
    proof = await run_in_threadpool(issue_proof, node, found["issued_tx"]) if found["exists"] else None
    if format == "json":
        return {**found, "proof": proof}
    return HTMLResponse(render_verification(found, proof), status_code=200 if found["exists"] else 404)


@router.post("/invoice/check", summary="Check an invoice in JSON before issuing it (import)", openapi_extra=INVOICE_BODY)
async def check(request: Request) -> dict[str, Any]:
    """Fills what can be computed (line amounts from quantity x unit price, tax amounts, totals, the
    total in capital numerals), checks every field and sum, and returns the content to sign with
    `invoice.issue` and the digest the chain will record. A bad invoice is `400` naming the field
    (`details.field`). Nothing is recorded."""
    from consortia.api.app import read_json

    body = await read_json(request, MAX_INVOICE_BODY)
    if type(body) is not dict:
        raise BadInput(f"body: expected an invoice object, got {type(body).__name__}", code="BAD_INVOICE")
    content = check_invoice(complete_invoice(body))
    node = _node(request)
    return {"content": content, "digest": compute_digest(node.suite.name, content), "algorithm": node.suite.hash_name}

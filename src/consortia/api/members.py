"""Onboarding SMEs over REST: ``POST /members/import`` (ADR 0023).

Signed by an admin of the operator organisation (``X-Consortia-Auth``). The node onboards with
the operator's CA and the admin's own key when it holds both in its consortium directory (the
organisation's own node, started with ``consortia up``): it signs the onboarding transactions
with the very key that signed the request. The answer carries each SME's key file; a bad row is
answered 422 with every bad row by its line, and nothing is done.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from consortia.api.app import read_json
from consortia.api.auth import caller_of
from consortia.errors import BadInput, Conflict, Forbidden, Revert
from consortia.identity.hosting import SmeRow, check_rows, parse_csv
from consortia.identity.wallet import Wallet, load_wallet
from consortia.identity.x509 import Identity
from consortia.ledger.records import SignedTx
from consortia.node.node import Node
from consortia.node.onboarding import onboard

router = APIRouter(tags=["members"])
HOME_ENV = "CONSORTIA_NODE_HOME"  # set by ``consortia up``: where this node's organisations keep their CAs
MAX_BODY = 64 * 1024 * 1024
ROW_FIELDS = {"name", "uscc", "company", "legal_rep"}

SCHEMA = {"type": "object", "properties": {
    "csv": {"type": "string", "description": "name,uscc,company,legal_rep[,csr] with a header line; csr as inline PEM"},
    "rows": {"type": "array", "items": {"type": "object", "required": sorted(ROW_FIELDS),
                                        "properties": {k: {"type": "string"} for k in [*sorted(ROW_FIELDS), "csr"]}}}}}


def _rows(body: Any) -> list[SmeRow]:
    if type(body) is not dict or len(body) != 1 or not (type(body.get("csv")) is str or type(body.get("rows")) is list):
        raise BadInput('expected {"csv": text} or {"rows": [{name, uscc, company, legal_rep, csr?}]}', code="BAD_INPUT")
    if "csv" in body:
        return parse_csv(body["csv"])
    rows = []
    for i, row in enumerate(body["rows"]):
        if type(row) is not dict or not ROW_FIELDS <= set(row) <= ROW_FIELDS | {"csr"} \
                or not all(type(v) is str for v in row.values()):
            raise BadInput(f"rows[{i}]: expected the strings {sorted(ROW_FIELDS)} and an optional csr", code="BAD_INPUT")
        rows.append(SmeRow(i + 1, row["name"], row["uscc"], row["company"], row["legal_rep"], row.get("csr", "")))
    return check_rows(rows)


def _admin_wallet(node: Node, caller: Identity) -> tuple[Path, Wallet]:
    home = os.environ.get(HOME_ENV)
    if not caller.has_role("admin"):
        raise Forbidden(f"{caller.id} is not an admin of {caller.org}", code="NOT_ADMIN")
    if not home or not (Path(home) / "orgs" / caller.org / "ca.key").exists():
        raise Conflict(f"this node does not hold the CA of {caller.org}; onboard with `consortia members import` "
                       "from the operator's directory", code="NO_CA_HERE")
    wallet = load_wallet(Path(home), node.suite, caller.id)
    if wallet.signer.public_key != caller.public_key:
        raise Forbidden(f"the key of {caller.id} on this node is not the one that signed the request", code="NOT_ADMIN")
    return Path(home), wallet


def _call(node: Node, wallet: Wallet) -> Any:
    def call(method: str, args: dict[str, Any]) -> Any:
        body = {"chain": node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63), "contract": "hosted",
                "method": method, "args": args, "not_after_height": None,
                "not_after_ms": int(time.time() * 1000) + 600_000}
        [(_, future)] = node.submit([SignedTx.create(node.suite, wallet.signer, body).to_wire()])
        receipt = future.result(120).receipt
        if receipt["status"] != "ok":
            raise Revert(receipt["message"], code=receipt["code"])
        return receipt["result"]
    return call


@router.post("/members/import", summary="Onboard SMEs as hosted members of the caller's organisation",
             openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": SCHEMA}}}})
async def import_members(request: Request) -> dict[str, Any]:
    """All or nothing: every row is checked first (422 `BAD_ROWS` with `details.rows` by line),
    then the SMEs are onboarded in one batch. Each SME's key file (its key, if the node made it,
    and its certificate) is in `key_files`."""
    node: Node = request.app.state.node
    caller = await caller_of(request, node.executor)  # reads (and caches) the body the signature covers
    body = await read_json(request, MAX_BODY)
    if caller is None:
        raise Forbidden("a signed request of the operator's admin is needed (X-Consortia-Auth)", code="UNAUTHENTICATED")
    home, wallet = await run_in_threadpool(_admin_wallet, node, caller)
    rows = _rows(body)

    def run() -> dict[str, Any]:
        summary = onboard(home, node.suite, caller.org, rows, _call(node, wallet))
        members = home / "orgs" / caller.org / "members"
        files = {}
        for identity in summary["identities"]:
            member = members / identity.split("/", 1)[1]
            key = (member / "key.pem").read_text() if (member / "key.pem").exists() else ""
            files[identity] = key + (member / "cert.pem").read_text()
        return {**summary, "key_files": files}
    return await run_in_threadpool(run)

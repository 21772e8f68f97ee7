"""The node's REST API (FastAPI). OpenAPI at /docs and /openapi.json.

Request bodies are read raw and parsed by the canonical codec, so malformed
input gets the same codes here as anywhere else; their schemas are declared for
the OpenAPI document by hand.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from consortia import __version__
from consortia.api import errors
from consortia.api.auth import caller_of
from consortia.api.events import EventHub, event_stream
from consortia.api.responses import OrjsonResponse
from consortia.contracts.system import compute_masked_tx, mask_tx_key
from consortia.errors import BadInput, NotFound, TooLarge
from consortia.ledger.records import SignedTx, compute_receipt_proof, compute_tx_proof
from consortia.node.node import MAX_BATCH, Committed, Node
from consortia.types import codec

MAX_SINGLE_BODY = 2 * 1024 * 1024
MAX_BATCH_BODY = 64 * 1024 * 1024
DEFAULT_WAIT_S = 30.0

SIGNED_TX_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["tx", "sig"],
    "additionalProperties": False,
    "properties": {
        "tx": {
            "type": "object",
            "required": ["chain", "sender", "nonce", "contract", "method", "args", "not_after_height", "not_after_ms"],
            "properties": {
                "chain": {"type": "string"},
                "sender": {"type": "string", "description": "member certificate, base64 DER"},
                "nonce": {"type": "integer", "minimum": 0},
                "contract": {"type": "string"},
                "method": {"type": "string"},
                "args": {"type": "object"},
                "not_after_height": {"type": ["integer", "null"]},
                "not_after_ms": {"type": ["integer", "null"]},
            },
        },
        "sig": {"type": "string", "description": "hex signature over the canonical tx bytes"},
    },
}


def _body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema}}}}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": "error", "content": {"application/json": {"schema": errors.ERROR_SCHEMA}}}
    for code in (400, 403, 404, 409, 413, 503)
}


async def read_json(request: Request, limit: int) -> Any:
    """Read and decode a JSON body of at most ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body is {declared} bytes, the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    if not size:
        raise BadInput("request body is empty; expected JSON", code="BAD_INPUT")
    return codec.decode(b"".join(chunks))


def committed_view(tx_id: bytes, result: Committed | None) -> dict[str, Any]:
    if result is None:
        return {"tx_id": tx_id.hex(), "committed": False}
    return {"tx_id": tx_id.hex(), "committed": True, "height": result.height, "index": result.index,
            "receipt": result.receipt}


def create_app(node: Node, *, manage_node: bool = True) -> FastAPI:
    hub = EventHub(node)

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        hub.attach(asyncio.get_running_loop())
        if manage_node:
            node.start()
        try:
            yield
        finally:
            hub.detach()
            if manage_node:
                await run_in_threadpool(node.stop)

    app = FastAPI(title="Consortia node API", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  default_response_class=OrjsonResponse, responses=ERROR_RESPONSES,
                  description="Submit signed transactions, read blocks, receipts and proofs, query contracts, "
                              "and follow events. Every error is `{\"error\": {\"code\", \"message\"}}`.")
    errors.install(app)
    from consortia.api.limits import BodyLimits  # bodies bounded while they stream, per route (issue 19)
    app.add_middleware(BodyLimits)
    from consortia.api.alerts import router as alerts_router  # the regulator's risk alerts
    from consortia.api.audit import router as audit_router  # the regulator's audit log export
    from consortia.api.realname import router as realname_router  # clear real-name values (regulator, own org)

    app.include_router(audit_router)
    app.include_router(alerts_router)
    app.include_router(realname_router)
    install_docs(app)
    from consortia.api.epcis import open_sealed  # EPCIS 2.0 capture/query, Digital Link pages
    from consortia.api.epcis import router as epcis_router
    app.include_router(epcis_router)
    from consortia.api.evidence import router as evidence_router  # certificates, public verification page
    app.include_router(evidence_router)
    from consortia.api.invoice import router as invoice_router  # invoice documents, public verification page
    app.include_router(invoice_router)
    from consortia.api.waybill import router as waybill_router  # waybills, their EPCIS rendering, the printable note
    app.include_router(waybill_router)
    from consortia.api.charity import router as charity_router  # public need and donation pages
    app.include_router(charity_router)
    from consortia.api.console import router as console_router  # the web console at /console (ADR 0010)
    app.include_router(console_router)
    from consortia.api.members import router as members_router  # onboarding hosted SMEs (ADR 0023)
    app.include_router(members_router)
    app.state.node = node
    app.state.hub = hub

    async def submit(request: Request, wires: list[Any], wait: bool, timeout: float,
                     final: bool = False) -> tuple[int, list[dict[str, Any]]]:
        ticket = await run_in_threadpool(lambda: node.submit_ticket(wires, checked=True))  # read_json decoded them
        if not wait and not final:
            return 202, [committed_view(tx_id, None) for tx_id in ticket.tx_ids]
        deadline = time.monotonic() + timeout
        waited = asyncio.wrap_future(ticket.done)
        await asyncio.wait([waited], timeout=timeout)
        if waited.done() and waited.exception() is not None:  # the node stopped first
            raise waited.exception()  # type: ignore[misc]
        views = [committed_view(tx_id, result) for tx_id, result in zip(ticket.tx_ids, list(ticket.results), strict=True)]
        complete = all(view["committed"] for view in views)
        if final and complete:
            top = max(v["height"] for v in views)
            while node.final_height() < top and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            reached = await run_in_threadpool(node.final_height)
            for view in views:
                view["final"] = view["height"] <= reached
            complete = reached >= top
        return (200 if complete else 202), views

    @app.post("/transactions", tags=["transactions"], summary="Submit one signed transaction",
              openapi_extra=_body(SIGNED_TX_SCHEMA, "a signed transaction"))
    async def post_transaction(request: Request, wait: bool = True,
                               timeout: float = Query(DEFAULT_WAIT_S, gt=0, le=300),
                               final: bool = Query(False, description="also wait until a quorum of organisations "
                                                                      "attested the block")) -> OrjsonResponse:
        """By default waits until the transaction is committed and returns its receipt
        (202 with `committed: false` if it is still pending after `timeout` seconds)."""
        wire = await read_json(request, MAX_SINGLE_BODY)
        status, views = await submit(request, [wire], wait, timeout, final)
        return OrjsonResponse(views[0], status_code=status)

    @app.post("/transactions/batch", tags=["transactions"], summary="Submit many signed transactions",
              openapi_extra=_body({"type": "object", "required": ["txs"],
                                   "properties": {"txs": {"type": "array", "items": SIGNED_TX_SCHEMA,
                                                          "minItems": 1, "maxItems": MAX_BATCH}}},
                                  "up to 5,000 signed transactions; one bad transaction refuses the batch"))
    async def post_batch(request: Request, wait: bool = True,
                         timeout: float = Query(DEFAULT_WAIT_S, gt=0, le=300),
                         final: bool = Query(False, description="also wait for finality")) -> OrjsonResponse:
        body = await read_json(request, MAX_BATCH_BODY)
        if type(body) is not dict or type(body.get("txs")) is not list:
            raise BadInput('expected {"txs": [signed transactions]}', code="BAD_INPUT")
        status, views = await submit(request, body["txs"], wait, timeout, final)
        return OrjsonResponse({"results": views}, status_code=status)

    @app.get("/transactions/{tx_id}", tags=["transactions"], summary="A transaction, its receipt and proofs")
    async def get_transaction(tx_id: str, request: Request) -> dict[str, Any]:
        """The transaction with its receipt, the block header, and Merkle proofs of both
        the transaction id (against `tx_root`) and the receipt (against `receipts_root`).

        A field masked by governance shows as `{"masked": true, "proposal", "digest", "algorithm"}`
        and is listed under `masked`; a regulator (or a consortium node) that signs the read
        (`X-Consortia-Auth`) sees the clear value, and the read is audited."""
        clear, caller = await sees_clear(request, node)
        view = await run_in_threadpool(transaction_view, node, tx_id, clear)
        if clear and view.get("masked"):
            await run_in_threadpool(node.audit_read, caller, "transactions.clear",
                                    {"tx_id": view["tx_id"], "paths": [m["path"] for m in view["masked"]]})
        return view

    @app.get("/blocks", tags=["blocks"], summary="Latest block headers, newest first")
    async def list_blocks(before: int | None = Query(None, ge=0), limit: int = Query(20, ge=1, le=200)) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            top = node.store.height() if before is None else min(before - 1, node.store.height())
            headers = []
            for h in range(top, max(-1, top - limit), -1):
                block = node.store.get_block(h)
                if block is not None:
                    headers.append({"hash": block.hash, **block.header.to_dict()})
            return {"blocks": headers}
        return await run_in_threadpool(read)

    @app.get("/blocks/{ref}", tags=["blocks"], summary="A block by height or hash")
    async def get_block(ref: str, request: Request) -> dict[str, Any]:
        """The header, transactions and receipts. Fields masked by governance show as markers,
        except to a signed read by a regulator or a consortium node (audited for a regulator)."""
        clear, caller = await sees_clear(request, node)

        def read() -> dict[str, Any]:
            block = None
            if ref.isascii() and ref.isdigit() and len(ref) < 19:
                block = node.store.get_block(int(ref))
            elif len(ref) in (64, 128):
                block = node.store.get_block_by_hash(ref.lower())
            elif 4 <= len(ref) < 64:  # a unique prefix of a block hash, as tools print them short
                block = node.store.get_block_by_hash(full_id(node, "blocks", ref, "block hash", "BLOCK_NOT_FOUND"))
            if block is None:
                raise NotFound(f"no block {ref!r}", code="BLOCK_NOT_FOUND")
            view = {"hash": block.hash, "header": block.header.to_dict(), "txs": block.txs,
                    "receipts": [r.to_dict() for r in block.receipts]}
            return masked_block_view(node, view, clear)
        view = await run_in_threadpool(read)
        if clear and view.get("masked"):
            await run_in_threadpool(node.audit_read, caller, "blocks.clear",
                                    {"height": view["header"]["height"], "masked": view["masked"]})
        return view

    @app.get("/chain", tags=["chain"], summary="Chain id, height, organisations, crypto suite")
    async def chain() -> dict[str, Any]:
        def read() -> dict[str, Any]:
            top = node.store.get_block(node.store.height())
            orgs = node.query("members", "orgs", {})
            return {
                "chain_id": node.chain_id, "suite": node.suite.name, "hash": node.suite.hash_name,
                "signature": node.suite.signature_name,
                "encryption": node.suite.seal_name, "height": top.height if top else -1,
                "latest_hash": top.hash if top else None, "latest_time_ms": top.header.time_ms if top else None,
                "genesis_hash": (g.hash if (g := node.store.get_block(0)) else None),
                "organisations": [{k: o[k] for k in ("id", "name", "kind")} for o in orgs],
                "config": node.query("gov", "config", {}),
                "contracts": sorted([*node.executor.contracts, *(c.name for c in node.executor.installed_contracts())]),
                "mode": node.mode, "final_height": node.final_height(),
                "ordering_seq": int(node.store.get_meta("ordering_seq") or b"0"),
                "sandbox": node.genesis["sandbox"], "filing": node.query("gov", "config", {})["filing"] or None,
            }
        return await run_in_threadpool(read)

    @app.get("/health", tags=["chain"], summary="Liveness and readiness")
    async def health() -> OrjsonResponse:
        ok = node.healthy
        diverged = node.finality.diverged
        failure = node.orderer.failure
        body = {"status": "ok" if ok else ("diverged" if diverged else "failing"), "mode": node.mode,
                "height": node.store.height(), "final_height": await run_in_threadpool(node.final_height),
                "pending": node.orderer.pending(), "diverged": diverged,
                "attested_by": len(await run_in_threadpool(node.store.attestations, node.store.height())),
                "dissent": {str(h): orgs for h, orgs in sorted(node.finality.dissent.items())[-20:]},
                "error": None if failure is None else str(failure),
                "uptime_s": int(time.time() - node.started_at) if node.started_at else 0}
        if node.mode == "jetstream":
            body["ordering_connected"] = bool(getattr(node.orderer, "connected", False))
        return OrjsonResponse(body, status_code=200 if ok else 503)

    @app.get("/attestations/{height}", tags=["blocks"], summary="Signed headers of a block, one per organisation")
    async def attestations(height: int) -> dict[str, Any]:
        """Every organisation's node signs the header it computed; a block is final once a quorum
        attested the same hash. Each attestation verifies offline against the organisation's CA."""
        if not 0 <= height <= 10**15:
            raise BadInput("height out of range", code="BAD_INPUT")
        rows = await run_in_threadpool(node.store.attestations, height)
        block = await run_in_threadpool(node.store.get_block, height)
        return {"height": height, "hash": block.hash if block else None, "quorum": node.finality.quorum(),
                "final": await run_in_threadpool(node.final_height) >= height and block is not None,
                "attestations": [codec.decode(body) for _, _, body in rows]}

    @app.get("/contracts", tags=["contracts"], summary="Contracts, their methods and queries")
    async def contracts() -> dict[str, Any]:
        """Built-in apps and members' contracts installed by vote, side by side: the same kind of
        thing on the same SDK. An installed one also names its version, code hash, who approved
        it and whether it is frozen; `consortia contract show NAME` prints its source."""
        def describe(c: Any) -> dict[str, Any]:
            return {"name": c.name, "description": c.description, "entries": [
                {"name": e.name, "kind": e.kind, "doc": e.doc,
                 "args": [{"name": a.name, "type": str(getattr(a.annotation, "__name__", a.annotation)).replace("typing.", ""),
                           "required": a.required} for a in e.args]}
                for e in sorted(c.entries().values(), key=lambda e: e.name)]}

        def read() -> list[dict[str, Any]]:
            frozen = set(node.query("gov", "frozen", {})["contracts"])
            rows = [{**describe(c), "origin": "built-in"} for c in node.executor.contracts.values()]
            for c in node.executor.installed_contracts():
                r = c.record
                rows.append({**describe(c), "origin": "member", "version": r["version"], "code_hash": r["code_hash"],
                             "approved_by": r["approved_by"], "height": r["height"], "access": r["access"],
                             "frozen": c.name in frozen})
            return sorted(rows, key=lambda row: row["name"])
        return {"contracts": await run_in_threadpool(read)}

    @app.post("/query/{contract}/{method}", tags=["contracts"], summary="Call a contract's query method",
              openapi_extra=_body({"type": "object", "description": "the query's arguments"}, "query arguments"))
    async def post_query(contract: str, method: str, request: Request) -> dict[str, Any]:
        """Read-only; runs against the latest committed state. Send an `X-Consortia-Auth`
        header for queries that an application restricts by role."""
        raw = await request.body()
        if len(raw) > MAX_SINGLE_BODY:
            raise TooLarge(f"request body exceeds the limit of {MAX_SINGLE_BODY} bytes")
        args = codec.decode(raw) if raw.strip() else {}
        if type(args) is not dict:
            raise BadInput("query arguments must be a JSON object", code="BAD_ARGS")
        caller = await caller_of(request, node.executor)
        clear = caller is not None and await run_in_threadpool(node.is_regulator, caller.org)
        result = await run_in_threadpool(lambda: node.executor.query(contract, method, args, caller, clear=clear))
        if contract == "trace":  # payloads sealed to this node's organisation, opened for their readers
            result = await run_in_threadpool(open_sealed, node, result)
        await run_in_threadpool(node.audit_read, caller, f"{contract}.{method}", {"args": args})
        return {"result": result, "height": node.store.height()}

    @app.get("/events", tags=["events"], summary="Live event stream (Server-Sent Events)",
             response_class=Response, responses={200: {"content": {"text/event-stream": {}}}})
    async def events(request: Request, from_height: int | None = Query(None, ge=0),
                     contract: str | None = Query(None, max_length=64),
                     name: str | None = Query(None, max_length=128)) -> Response:
        """Every event of committed transactions, oldest first, from `from_height`
        (default: the next block). Each message's `id` is `<height>:<tx>:<event>`; a client
        that reconnects with `Last-Event-ID` resumes after it and misses nothing."""
        return await event_stream(request, hub, from_height, contract, name)

    @app.get("/metrics", tags=["chain"], summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(node.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from assets shipped in the package (no CDN at run time)."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Consortia node API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")


async def sees_clear(request: Request, node: Node) -> tuple[bool, Any]:
    """Whether a read shows masked fields in clear: signed by a regulator, or by a consortium
    node (which copies blocks from its peers); and the caller."""
    caller = await caller_of(request, node.executor)
    if caller is None:
        return False, None
    return "node" in caller.roles or await run_in_threadpool(node.is_regulator, caller.org), caller


def mask_record(node: Node, tx_id: str) -> dict[str, Any] | None:
    found = node.store.state_read("sys/" + mask_tx_key(tx_id))
    return None if found is None else codec.decode(found.value)


def masked_block_view(node: Node, view: dict[str, Any], clear: bool) -> dict[str, Any]:
    """A block view with governance masks applied to its transactions and receipts (ADR 0012);
    ``masked`` lists them by transaction index, ``clear`` marks a view that shows them anyway."""
    txs, receipts, listed = list(view["txs"]), list(view["receipts"]), {}
    for i, receipt in enumerate(receipts):
        record = mask_record(node, receipt["tx_id"])
        if record is None:
            continue
        tx, shown, fields = compute_masked_tx(txs[i]["tx"], receipt, record, node.suite.hash, node.suite.hash_name)
        listed[str(i)] = fields
        if not clear:
            txs[i], receipts[i] = {**txs[i], "tx": tx}, shown
    if not listed:
        return view
    return {**view, "txs": txs, "receipts": receipts, "masked": listed, **({"clear": True} if clear else {})}


def full_id(node: Node, table: str, text: str, what: str, not_found: str) -> str:
    """The one transaction id or block hash that ``text`` (at least 4 hex digits) starts with."""
    text = text.lower()
    if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
        raise BadInput(f"{what} must be hex (at least 4 digits), got {text!r:.80}",
                       code="BAD_TX_ID" if table == "tx_index" else "BAD_BLOCK_REF")
    if len(text) >= 64:
        return text
    found = node.store.ids_with_prefix(table, text)
    if not found:
        raise NotFound(f"no {what} starting {text}", code=not_found)
    if len(found) > 1:
        raise BadInput(f"{what} prefix {text} is ambiguous: give more digits", code="AMBIGUOUS_ID")
    return found[0]


def transaction_view(node: Node, tx_id: str, clear: bool = False) -> dict[str, Any]:
    tx_id = full_id(node, "tx_index", tx_id, "transaction id", "TX_NOT_FOUND")
    try:
        key = bytes.fromhex(tx_id)
    except ValueError:
        raise BadInput(f"tx id must be hex, got {tx_id!r:.80}", code="BAD_TX_ID") from None
    where = node.store.tx_location(key)
    if where is None:
        raise NotFound(f"no committed transaction {tx_id}", code="TX_NOT_FOUND")
    height, index = where
    block = node.store.get_block(height)
    if block is None:  # pragma: no cover - the index and blocks commit together
        raise NotFound(f"block {height} missing", code="BLOCK_NOT_FOUND")
    tx_ids = [SignedTx.from_wire(node.suite, w, 1 << 62).id for w in block.txs]
    view = {
        "tx_id": tx_id, "height": height, "index": index, "block_hash": block.hash,
        "tx": block.txs[index]["tx"], "sig": block.txs[index]["sig"],
        "receipt": block.receipts[index].to_dict(),
        "header": block.header.to_dict(),
        "proof": {
            "tx": compute_tx_proof(node.suite, tx_ids, index).to_dict(),
            "receipt": compute_receipt_proof(node.suite, block.receipts, index).to_dict(),
        },
    }
    record = mask_record(node, tx_id.lower())
    if record is None:
        return view
    tx, receipt, fields = compute_masked_tx(view["tx"], view["receipt"], record, node.suite.hash, node.suite.hash_name)
    if clear:
        return {**view, "masked": fields, "clear": True}
    return {**view, "tx": tx, "receipt": receipt, "masked": fields}


"""EPCIS 2.0 REST bindings on the node, and the public consumer page behind each QR code.

Capture (``POST /epcis/capture``) takes two bodies; every event reaches the chain in a
transaction signed by a member either way (ADR 0007):

- ``{"transactions": [signed trace.capture transactions]}``: what ``consortia trace capture`` and
  the SDK send; the member signed locally, the node checks every event against the official
  schema before submitting anything.
- an ``EPCISDocument`` (or ``EPCISQueryDocument``) from a standard EPCIS client: the node acts as
  its organisation's capture gateway and signs as the member named by
  ``CONSORTIA_EPCIS_GATEWAY`` (``org/name`` in the node's consortium directory). The request must
  prove it comes from that organisation: an ``X-Consortia-Auth`` header signed by one of its
  members, or ``Authorization: Bearer`` with the token in ``CONSORTIA_EPCIS_TOKEN``. A node with
  no gateway refuses documents with ``CAPTURE_NEEDS_SIGNATURE``.

Capture is asynchronous, as the standard describes: ``202`` with ``Location:
/epcis/capture/{captureID}``; the job reports committed and captured counts until it ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import threading
import time
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from weakref import WeakKeyDictionary

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from consortia.api.auth import caller_of
from consortia.api.responses import OrjsonResponse
from consortia.api.waybill import verify_waybill_steps, with_waybill_steps
from consortia.apps.trace.contract import MAX_EXISTS
from consortia.apps.trace.document import PreparedCapture, prepare_capture, query_document
from consortia.apps.trace.eventhash import compute_event_hash
from consortia.apps.trace.jsonexact import loads_exact
from consortia.apps.trace.model import summarise
from consortia.apps.trace.page import render_error, render_journey
from consortia.apps.trace.qr import FORMATS, make_qr
from consortia.apps.trace.schema import validate_event
from consortia.apps.trace.sealing import Opener, capture_calls
from consortia.apps.trace.times import format_iso
from consortia.crypto.merkle import is_valid_proof
from consortia.errors import BadInput, ConsortiaError, Forbidden, NotFound, TooLarge
from consortia.identity.wallet import Wallet, load_wallet
from consortia.identity.x509 import Identity
from consortia.ledger.records import SignedTx, compute_tx_proof
from consortia.node.node import MAX_BATCH, Committed, Node
from consortia.types import codec
from consortia.types.clock import DEFAULT_TIME_ZONE

MAX_CAPTURE_BODY = 128 * 1024 * 1024
MAX_DOCUMENT_EVENTS = 100_000
EPCIS_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
GATEWAY_ENV, TOKEN_ENV, HOME_ENV, PUBLIC_URL_ENV = ("CONSORTIA_EPCIS_GATEWAY", "CONSORTIA_EPCIS_TOKEN", "CONSORTIA_HOME",
                                                    "CONSORTIA_PUBLIC_URL")
LIST_PARAMS = ("MATCH_anyEPC", "MATCH_epc", "MATCH_parentID", "MATCH_inputEPC", "MATCH_outputEPC", "MATCH_epcClass",
               "MATCH_anyEPCClass", "EQ_bizStep", "EQ_disposition", "EQ_bizLocation", "EQ_readPoint", "EQ_action",
               "eventType", "EQ_eventID")
TIME_PARAMS = ("GE_eventTime", "LT_eventTime", "GE_recordTime", "LT_recordTime")
CAPTURE_BODY = {
    "requestBody": {"required": True, "description": "an EPCISDocument (JSON-LD), or {\"transactions\": [signed "
                    "trace.capture transactions]}", "content": {
                        "application/ld+json": {"schema": {"type": "object"}},
                        "application/json": {"schema": {"type": "object", "properties": {
                            "transactions": {"type": "array", "items": {"type": "object"}}}}}}}}

router = APIRouter(tags=["epcis"])


# -- capture jobs --------------------------------------------------------------------------

class CaptureJob:
    """One capture: its transactions and how far they got (updated as blocks commit)."""

    def __init__(self, capture_id: str, behaviour: str, event_count: int, errors: list[dict[str, Any]]) -> None:
        self.id, self.behaviour, self.event_count = capture_id, behaviour, event_count
        self.created_ms = int(time.time() * 1000)
        self.finished_ms: int | None = None
        self.errors = errors
        self.tx_count = self.committed = self.captured = 0
        self.lock = threading.Lock()
        self.done = asyncio.Event()
        self.loop = asyncio.get_running_loop()

    def watch(self, futures: list[Future[Committed]], sizes: list[int]) -> None:
        self.tx_count += len(futures)
        if not futures:
            self._finish()
        for future, size in zip(futures, sizes, strict=True):
            future.add_done_callback(partial(self._settled, size=size))

    def _settled(self, future: Future[Committed], *, size: int) -> None:
        with self.lock:
            self.committed += 1
            try:
                receipt = future.result().receipt
            except ConsortiaError as exc:
                self.errors.append({"code": exc.code, "message": exc.message})
            else:
                if receipt["status"] == "ok":
                    self.captured += len(receipt["result"]["captured"]) + len(receipt["result"]["declared"])
                else:
                    self.errors.append({"code": receipt["code"], "message": receipt["message"], "tx": receipt["tx_id"],
                                        "events": size})
            if self.committed == self.tx_count:
                self._finish()

    def _finish(self) -> None:
        self.finished_ms = int(time.time() * 1000)
        self.loop.call_soon_threadsafe(self.done.set)

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            running = self.finished_ms is None
            body: dict[str, Any] = {
                "captureID": self.id, "createdAt": format_iso(self.created_ms), "running": running,
                "success": not self.errors, "captureErrorBehaviour": self.behaviour, "errors": list(self.errors),
                "eventCount": self.event_count, "capturedCount": self.captured, "transactions": self.tx_count,
                "committedTransactions": self.committed}
            if not running and self.finished_ms is not None:
                body["finishedAt"] = format_iso(self.finished_ms)
            return body


def _jobs(request: Request) -> dict[str, CaptureJob]:
    state = request.app.state
    if not hasattr(state, "epcis_jobs"):
        state.epcis_jobs = {}
    return state.epcis_jobs  # type: ignore[no-any-return]


def _node(request: Request) -> Node:
    return request.app.state.node  # type: ignore[no-any-return]


# -- capture -------------------------------------------------------------------------------

@router.post("/epcis/capture", status_code=202, summary="Capture EPCIS events (asynchronous)",
             openapi_extra=CAPTURE_BODY)
async def capture(request: Request, wait: bool = Query(False, description="wait until the job has ended"),
                  timeout: float = Query(120.0, gt=0, le=600)) -> OrjsonResponse:
    """Validate the whole document against the EPCIS 2.0 schema (a bad one is refused whole,
    naming the field), then submit its events in signed transactions. Answers `202` with the
    capture job (`Location: /epcis/capture/{captureID}`); `?wait=true` answers when it ended."""
    node = _node(request)
    behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback").lower()
    if behaviour not in ("rollback", "proceed"):
        raise BadInput(f"GS1-Capture-Error-Behaviour: expected rollback or proceed, got {behaviour!r:.20}",
                       code="BAD_HEADER")
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > MAX_CAPTURE_BODY:
        raise TooLarge(f"capture body is {declared} bytes; the limit is {MAX_CAPTURE_BODY}")
    raw = await request.body()
    if not raw.strip():
        raise BadInput("request body is empty; expected an EPCISDocument", code="BAD_INPUT")
    try:
        shape = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"not valid JSON: {exc}", code="BAD_JSON") from None
    if isinstance(shape, dict) and "transactions" in shape and "type" not in shape:
        job = await _capture_signed(request, node, shape["transactions"], behaviour)
    else:
        gateway = await _gateway(request, node)
        prepared = await run_in_threadpool(prepare_capture, raw, max_events=MAX_DOCUMENT_EVENTS)
        job = await _capture_document(request, node, gateway, prepared, behaviour, raw)
    if wait:
        try:
            await asyncio.wait_for(job.done.wait(), timeout)
        except TimeoutError:
            pass
    return OrjsonResponse(job.to_dict(), status_code=202,
                          headers={"Location": f"/epcis/capture/{job.id}", **EPCIS_HEADERS})


def _check_signed(node: Node, wires: Any) -> tuple[list[int], list[str]]:
    """Every wire must be a trace.capture (or capture_sealed) whose events (public parts) pass the
    schema; returns event counts and ids."""
    if not isinstance(wires, list) or not wires or len(wires) > MAX_BATCH:
        raise BadInput(f"transactions: expected 1 to {MAX_BATCH} signed transactions", code="BAD_CAPTURE")
    sizes, ids = [], []
    for i, wire in enumerate(wires):
        tx = node.parse(wire)
        if tx.tx["contract"] != "trace" or tx.tx["method"] not in ("capture", "capture_sealed"):
            raise BadInput(f"transactions[{i}]: expected a trace.capture or trace.capture_sealed transaction, got "
                           f"{tx.tx['contract']}.{tx.tx['method']}", code="BAD_CAPTURE")
        sealed = tx.tx["method"] == "capture_sealed"
        args = tx.tx["args"]
        events, namespaces = args.get("events"), args.get("namespaces") or {}
        if not isinstance(events, list) or not isinstance(namespaces, dict):
            raise BadInput(f"transactions[{i}].args: expected events (a list of event texts)", code="BAD_CAPTURE")
        for j, item in enumerate(events):
            where = f"transactions[{i}].args.events[{j}]"
            text = item.get("public") if sealed and isinstance(item, dict) else item
            claimed = item.get("id") if sealed and isinstance(item, dict) else None
            if not isinstance(text, str) or (sealed and not isinstance(claimed, str)):
                raise BadInput(f"{where}: expected " + ("a sealed event (id, public, sealed, key)" if sealed
                                                        else "an event's JSON text"), code="BAD_CAPTURE")
            event = loads_exact(text)
            validate_event(event, where)
            summarise(event, where)
            if "errorDeclaration" not in event:
                ids.append(claimed if isinstance(claimed, str) else compute_event_hash(event, namespaces))
        sizes.append(len(events))
    return sizes, [i for i in ids if i]


def _on_chain(node: Node, ids: list[str]) -> list[str]:
    """Which of ``ids`` are on the chain (each once, in order): one ``trace.exists_many`` query per
    ``MAX_EXISTS`` IDs rather than a ``trace.exists`` query each."""
    unique = list(dict.fromkeys(ids))
    found: list[str] = []
    for start in range(0, len(unique), MAX_EXISTS):
        found += node.query("trace", "exists_many", {"event_ids": unique[start:start + MAX_EXISTS]})["found"]
    return found


async def _capture_signed(request: Request, node: Node, wires: Any, behaviour: str) -> CaptureJob:
    sizes, ids = await run_in_threadpool(_check_signed, node, wires)
    present = await run_in_threadpool(_on_chain, node, ids)
    if present and behaviour == "rollback":
        raise _duplicates(present)
    queued = await run_in_threadpool(node.submit, wires)
    job = _new_job(request, [tx_id for tx_id, _ in queued], behaviour, sum(sizes), [])
    job.watch([f for _, f in queued], sizes)
    return job


def _duplicates(present: list[str]) -> ConsortiaError:
    from consortia.errors import Conflict

    return Conflict(f"{len(present)} event(s) are already on the chain, e.g. {present[0]}; nothing was captured "
                    "(GS1-Capture-Error-Behaviour: proceed skips them)", code="DUPLICATE_EVENT", event_ids=present[:20])


async def _capture_document(request: Request, node: Node, wallet: Wallet, prepared: PreparedCapture,
                            behaviour: str, raw: bytes) -> CaptureJob:
    present = set(await run_in_threadpool(_on_chain, node, prepared.ids))
    errors: list[dict[str, Any]] = []
    texts = prepared.texts
    if present:
        if behaviour == "rollback":
            raise _duplicates(sorted(present))
        keep = [i for i, event_id in enumerate(prepared.ids) if event_id not in present or '"errorDeclaration"' in texts[i]]
        errors = [{"code": "DUPLICATE_EVENT", "message": f"{event_id} is already on the chain; skipped"}
                  for event_id in sorted(present)]
        from consortia.apps.trace.document import batch_texts

        prepared = PreparedCapture(prepared.namespaces, [texts[i] for i in keep], [prepared.ids[i] for i in keep],
                                   batch_texts([texts[i] for i in keep]))
    await run_in_threadpool(_register_master_data, node, wallet, raw)
    method, calls = await run_in_threadpool(
        capture_calls, node.suite, node.chain_id, wallet.org, prepared.namespaces, prepared.batches,
        lambda places: node.query("trace", "sealing_directory", {"places": places}))
    wires = [_sign(node, wallet, args, method) for args in calls]
    queued: list[tuple[bytes, Future[Committed]]] = []
    for start in range(0, len(wires), MAX_BATCH):
        queued += await run_in_threadpool(node.submit, wires[start:start + MAX_BATCH])
    job = _new_job(request, [tx_id for tx_id, _ in queued], behaviour, prepared.count, errors)
    job.watch([f for _, f in queued], [len(b) for b in prepared.batches if b])
    return job


def _new_job(request: Request, tx_ids: list[bytes], behaviour: str, events: int, errors: list[dict[str, Any]]) -> CaptureJob:
    digest = hashlib.sha256(b"".join(tx_ids) + secrets.token_bytes(8)).hexdigest()[:24]
    job = CaptureJob(f"cap{digest}", behaviour, events, errors)
    jobs = _jobs(request)
    jobs[job.id] = job
    while len(jobs) > 1000:
        jobs.pop(next(iter(jobs)))
    return job


def _sign(node: Node, wallet: Wallet, args: dict[str, Any], method: str = "capture") -> dict[str, Any]:
    body = {"chain": node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63), "contract": "trace",
            "method": method, "args": args, "not_after_height": None, "not_after_ms": int(time.time() * 1000) + 600_000}
    return SignedTx.create(node.suite, wallet.signer, body).to_wire()


def _register_master_data(node: Node, wallet: Wallet, raw: bytes) -> None:
    """Queue ``trace.register_location`` for the header's unknown locations of the gateway's
    organisation, ahead of the capture (``apps/trace/masterdata.py``); not waited for, and a
    refused one does not affect the capture."""
    from consortia.apps.trace.masterdata import compute_registrations, get_locations

    document = loads_exact(raw)
    if not get_locations(document):
        return
    known = {loc["key"] for loc in node.query("trace", "locations", {})}
    wanted = compute_registrations(document, wallet.org, node.query("trace", "parties", {}), known)
    if wanted:
        try:
            node.submit([_sign(node, wallet, args, "register_location") for args in wanted])
        except ConsortiaError:  # naming places is a courtesy: the events are captured regardless
            return


_GATEWAY_CACHE: dict[tuple[str, str], Wallet] = {}


def _gateway_wallet(node: Node) -> Wallet | None:
    identity = os.environ.get(GATEWAY_ENV, "").strip()
    if not identity:
        return None
    home = Path(os.environ.get(HOME_ENV) or node.store.path.parent.parent)
    key = (str(home), identity)
    if key not in _GATEWAY_CACHE:
        _GATEWAY_CACHE[key] = load_wallet(home, node.suite, identity)
    return _GATEWAY_CACHE[key]


async def _gateway(request: Request, node: Node) -> Wallet:
    """The member this node signs standard EPCIS captures with, once the request is authenticated."""
    wallet = _gateway_wallet(node)
    if wallet is None:
        raise Forbidden("this node has no EPCIS capture gateway: send signed trace.capture transactions "
                        f"({{\"transactions\": [...]}}, as `consortia trace capture` does), or start the node with "
                        f"{GATEWAY_ENV}=<org>/<member>", code="CAPTURE_NEEDS_SIGNATURE")
    token = os.environ.get(TOKEN_ENV, "")
    bearer = request.headers.get("authorization", "")
    if token and bearer.startswith("Bearer ") and hmac.compare_digest(bearer[7:].strip(), token):
        return wallet
    caller = await caller_of(request, node.executor)
    if caller is None:
        raise Forbidden(f"capture needs an X-Consortia-Auth header signed by a member of {wallet.org}, or the "
                        "gateway's bearer token", code="UNAUTHENTICATED")
    if caller.org != wallet.org:
        raise Forbidden(f"this gateway captures for {wallet.org}; {caller.id} belongs to {caller.org}",
                        code="WRONG_ORGANISATION")
    return wallet


@router.get("/epcis/capture", summary="Capture jobs on this node, newest first")
async def capture_jobs(request: Request, perPage: int = Query(30, ge=1, le=1000)) -> OrjsonResponse:  # noqa: N803
    jobs = list(_jobs(request).values())[::-1][:perPage]
    return OrjsonResponse([j.to_dict() for j in jobs], headers=EPCIS_HEADERS)


@router.get("/epcis/capture/{capture_id}", summary="One capture job: running, success, errors, progress")
async def capture_job(request: Request, capture_id: str) -> OrjsonResponse:
    job = _jobs(request).get(capture_id)
    if job is None:
        raise NotFound(f"no capture job {capture_id!r:.60} on this node", code="CAPTURE_NOT_FOUND")
    return OrjsonResponse(job.to_dict(), headers=EPCIS_HEADERS)


# -- query ---------------------------------------------------------------------------------

async def _reader(request: Request, node: Node) -> Identity:
    """Who is querying: a signed member, or the gateway organisation for its bearer token."""
    token = os.environ.get(TOKEN_ENV, "")
    bearer = request.headers.get("authorization", "")
    wallet = _gateway_wallet(node)
    if token and wallet and bearer.startswith("Bearer ") and hmac.compare_digest(bearer[7:].strip(), token):
        from consortia.execution.executor import Reader

        store = node.store
        header = store.get_header(store.height())
        reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))
        return node.executor.identity(reader, wallet.sender, header.time_ms if header else int(time.time() * 1000))
    caller = await caller_of(request, node.executor)
    if caller is None:
        raise Forbidden("EPCIS queries answer by who asks: send an X-Consortia-Auth header signed by a member",
                        code="UNAUTHENTICATED")
    return caller


_OPENERS: WeakKeyDictionary[Node, Opener] = WeakKeyDictionary()
SEALED_NS = {"consortia": "urn:consortia:epcis:"}


def open_sealed(node: Node, result: Any) -> Any:
    """Open the sealed payloads in a trace query result that this node's organisation can open
    (ADR 0013); each sealed view says what happened in ``sealed.status``."""
    if not node.sealing_keys:
        return result
    opener = _OPENERS.get(node)
    if opener is None:
        opener = _OPENERS[node] = Opener(node.suite, node.chain_id, node.sealing_keys)
    return opener.open_all(result)


def _event_json(view: dict[str, Any]) -> dict[str, Any]:
    """A stored event back as JSON-LD: as captured, with recordTime, eventID and any errorDeclaration.
    A sealed event this node could not open is its public part, marked ``consortia:sealed``."""
    event: dict[str, Any] = orjson.loads(view["text"])
    sealed = view.get("sealed")
    if isinstance(sealed, dict) and sealed.get("status") != "opened":
        event["consortia:sealed"] = sealed.get("status", "not-for-this-node")
    event.setdefault("eventID", view["id"])
    event["recordTime"] = format_iso(view["record_ms"])
    if view.get("error") and "errorDeclaration" not in event:
        event["errorDeclaration"] = orjson.loads(view["error"]["declaration"])
    return event


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    filters: dict[str, Any] = {}
    for name in LIST_PARAMS:
        values = [v for raw in params.getlist(name) for v in raw.split("|") if v]
        if values:
            filters["MATCH_epcClass" if name == "MATCH_anyEPCClass" else name] = values
    for name in TIME_PARAMS:
        if name in params:
            filters[name] = params[name]
    known = set(LIST_PARAMS) | set(TIME_PARAMS) | {"perPage", "nextPageToken"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise BadInput(f"unsupported query parameter(s): {', '.join(unknown)}", code="QUERY_PARAMETER_EXCEPTION")
    return filters


@router.get("/epcis/events", summary="EPCIS simple event query (EPCISQueryDocument)",
            response_class=OrjsonResponse)
async def epcis_events(request: Request, perPage: int = Query(30, ge=1, le=1000),  # noqa: N803
                       nextPageToken: str | None = Query(None, max_length=200)) -> OrjsonResponse:  # noqa: N803
    """Filters: `MATCH_anyEPC`, `MATCH_epc`, `MATCH_parentID`, `MATCH_inputEPC`, `MATCH_outputEPC`,
    `MATCH_anyEPCClass`, `EQ_bizStep`, `EQ_disposition`, `EQ_bizLocation`, `EQ_readPoint`,
    `EQ_action`, `eventType`, `EQ_eventID` (several values separated by `|`), `GE_eventTime`,
    `LT_eventTime`, `GE_recordTime`, `LT_recordTime`. Only events the signed caller may see
    are returned; `Link: <...>; rel="next"` pages on."""
    node = _node(request)
    filters = _filters(request)
    caller = await _reader(request, node)
    page = await run_in_threadpool(lambda: open_sealed(node, node.query(
        "trace", "events", {"filters": filters, "limit": perPage, "after": nextPageToken or ""}, caller)))
    events = [_event_json(v) for v in page["events"]]
    namespaces: dict[str, str] = {}
    if any("consortia:sealed" in e for e in events):
        namespaces.update(SEALED_NS)
    for view in page["events"]:
        for prefix, iri in view.get("ns", {}).items():
            namespaces.setdefault(prefix, iri)
    document = query_document(events, namespaces, format_iso(int(time.time() * 1000)))
    headers = dict(EPCIS_HEADERS)
    if page["next"]:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "nextPageToken"]
        headers["Link"] = f'<{request.url.path}?{urlencode(query + [("nextPageToken", page["next"])])}>; rel="next"'
    return OrjsonResponse(document, headers=headers, media_type="application/ld+json")


@router.get("/epcis/events/{event_id:path}", summary="One event by its hash ID or eventID")
async def epcis_event(request: Request, event_id: str) -> OrjsonResponse:
    """The id URL-encoded (`/epcis/events/ni%3A%2F%2F%2Fsha-256%3B...%3Fver%3DCBV2.0`); a hash ID
    sent as is (`...;<hex>?ver=CBV2.0`) is understood too. A signed read covers the path as sent."""
    node = _node(request)
    if "?" not in event_id and request.url.query.startswith("ver="):  # a hash ID sent unencoded: ...;<hex>?ver=CBV2.0
        event_id += "?" + request.url.query
    if not event_id or len(event_id) > 500:
        raise BadInput("event id: 1 to 500 characters", code="BAD_ARGS")
    caller = await _reader(request, node)
    view = await run_in_threadpool(lambda: open_sealed(node, node.query("trace", "event", {"event_id": event_id}, caller)))
    if not view["visible"]:
        raise Forbidden(f"{caller.org} may not see event {view['id']} (captured by {view['org']}); "
                        "its existence can be checked with trace.exists", code="NOT_VISIBLE")
    event = _event_json(view)
    namespaces = {**view.get("ns", {}), **(SEALED_NS if "consortia:sealed" in event else {})}
    document = query_document([event], namespaces, format_iso(int(time.time() * 1000)))
    return OrjsonResponse(document, headers=EPCIS_HEADERS, media_type="application/ld+json")


# -- GS1 Digital Link resolver: the consumer page and QR codes ------------------------------

def _parse_link(path: str) -> tuple[str, str, str]:
    """``<gtin>[/10/<lot>][/21/<serial>]`` (the part after ``/01/``) -> (gtin, lot, serial)."""
    from urllib.parse import unquote

    parts = [p for p in path.strip("/").split("/")]
    if not parts or not parts[0]:
        raise BadInput("expected /01/<gtin>[/10/<lot>][/21/<serial>]", code="BAD_IDENTIFIER")
    gtin, rest = parts[0], parts[1:]
    if len(rest) % 2:
        raise BadInput(f"/01/{path}: expected (AI, value) pairs after the GTIN", code="BAD_IDENTIFIER")
    pairs = {rest[i]: unquote(rest[i + 1]) for i in range(0, len(rest), 2)}
    if set(pairs) - {"10", "21"} or list(pairs) not in ([], ["10"], ["21"], ["10", "21"]):
        raise BadInput(f"/01/{path}: only (10) lot and (21) serial, in that order, may follow the GTIN",
                       code="BAD_IDENTIFIER")
    return gtin, pairs.get("10", ""), pairs.get("21", "")


def _verify_steps(node: Node, steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """For each step: the stored event still hashes to its ID (a sealed one: its signed transaction
    carries that public part under that ID), and its transaction is in the block."""
    proofs: dict[str, dict[str, Any]] = {}
    blocks: dict[int, tuple[Any, list[SignedTx]]] = {}  # height -> (block, its parsed transactions)
    for step in steps:
        raw = node.store.state_read(f"trace/ev/{step['event']}")
        record = codec.decode_trusted(raw.value) if raw else None
        sealed = record is not None and record.get("sealed") is not None
        hash_ok = record is not None and not sealed and \
            compute_event_hash(loads_exact(record["text"]), record["ns"]) == step["event"]
        where = node.store.tx_location(bytes.fromhex(step["tx"]))
        proof_ok = False
        block_hash = None
        if where is not None:
            height, index = where
            if height not in blocks:
                stored = node.store.get_block(height)
                blocks[height] = (stored, [SignedTx.from_wire(node.suite, w, 1 << 62) for w in stored.txs]
                                  if stored is not None else [])
            block, txs = blocks[height]
            if block is not None:
                tx_ids = [t.id for t in txs]
                proof = compute_tx_proof(node.suite, tx_ids, index)
                if sealed and record is not None:
                    hash_ok = any(isinstance(e, dict) and e.get("id") == step["event"] and e.get("public") == record["text"]
                                  for e in txs[index].tx["args"].get("events", []))
                proof_ok = (is_valid_proof(node.suite.hash, tx_ids[index], proof, bytes.fromhex(block.header.tx_root),
                                           block.header.tx_count)
                            and block.header.hash(node.suite) == block.hash
                            and block.receipts[index].status == "ok")
                block_hash = block.hash
        proofs[step["event"]] = {"verified": bool(hash_ok and proof_ok), "hash_ok": hash_ok, "proof_ok": proof_ok,
                                 "block_hash": block_hash, "sealed": sealed}
    return proofs


def _wants_html(request: Request) -> bool:
    if request.query_params.get("format") == "json":
        return False
    if request.query_params.get("format") == "html":
        return True
    return "text/html" in request.headers.get("accept", "")


@router.get("/01/{path:path}", summary="GS1 Digital Link resolver: a package's public journey page",
            responses={200: {"content": {"text/html": {}, "application/json": {}}}})
async def consumer_page(request: Request, path: str) -> Response:
    """What a consumer sees after scanning the QR code: the product, any recall, and every step
    from farm to shelf with time, place, sensor readings and its proof on the chain. No login.
    Browsers get HTML; `?format=json` (or no `text/html` in `Accept`) gets the data."""
    node = _node(request)
    html = _wants_html(request)
    try:
        gtin, lot, serial = _parse_link(path)
        journey = await run_in_threadpool(node.query, "trace", "journey", {"gtin": gtin, "lot": lot, "serial": serial})
    except ConsortiaError as exc:
        if html:
            return HTMLResponse(render_error(exc.status, exc.message), status_code=exc.status)
        raise
    journey = await run_in_threadpool(with_waybill_steps, node, journey)  # its pallets' waybill steps (ADR 0017)
    proofs = await run_in_threadpool(_verify_steps, node, [s for s in journey["steps"] if s.get("source") != "waybill"])
    proofs.update(await run_in_threadpool(verify_waybill_steps, node, journey["steps"]))
    if html:
        zone = (await run_in_threadpool(node.query, "gov", "config", {})).get("time_zone") or DEFAULT_TIME_ZONE
        return HTMLResponse(render_journey(journey, proofs, zone))
    return OrjsonResponse({**journey, "proofs": proofs})


def public_base(request: Request) -> str:
    return (os.environ.get(PUBLIC_URL_ENV) or str(request.base_url)).rstrip("/")


@router.get("/qr/01/{path:path}", summary="QR code (SVG or PNG) of a package's GS1 Digital Link",
            responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}})
async def qr_code(request: Request, path: str, format: str = Query("svg", pattern="^(svg|png)$"),  # noqa: A002
                  scale: int = Query(6, ge=1, le=40)) -> Response:
    """The QR carries `<public URL>/01/<gtin>[/10/<lot>][/21/<serial>]`, which this node resolves
    to the consumer page (`CONSORTIA_PUBLIC_URL` sets the public URL; default: this request's)."""
    from consortia.apps.trace.identifiers import BadIdentifier, digital_link

    gtin, lot, serial = _parse_link(path)
    try:
        link = digital_link(gtin, lot or None, serial or None, base=public_base(request))
    except BadIdentifier as exc:
        raise BadInput(exc.message, code="BAD_IDENTIFIER") from None
    image = await run_in_threadpool(make_qr, link, format, scale)
    return Response(image, media_type=FORMATS[format], headers={"X-Digital-Link": quote(link, safe=":/%")})

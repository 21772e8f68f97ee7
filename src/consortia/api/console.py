"""The web console at ``/console``: static pages shipped in the package, plus a demo signer.

The console reads and writes through the public REST API. A member signs in with their key file
and the browser signs every transaction and signed read itself (``static/wallet.js``; the key is
never sent). For the local demo, a node started by ``consortia up`` on the same machine as the
consortium directory, bound to a loopback address, also offers a *demo signer* (ADR 0010): it
lists the local member identities and signs a transaction or a read header on behalf of the one
chosen. It is off unless ``CONSORTIA_CONSOLE_SIGNER`` names the consortium directory, and it
answers loopback clients only: the peer address, and the ``Host`` the browser asked for, must be
loopback (a DNS-rebinding page names its own host), a request through a proxy (``Forwarded``,
``X-Forwarded-For``, ``X-Real-IP``) is not loopback, a browser's ``Origin`` must be the console's
own, and a signing request must be ``application/json`` (which a foreign page cannot send without
a CORS preflight, which this node does not answer).
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from consortia.errors import BadInput, Forbidden, NotFound
from consortia.identity.read_auth import sign_read
from consortia.identity.wallet import Wallet, list_identities, load_wallet
from consortia.ledger.records import SignedTx
from consortia.types import codec

SIGNER_ENV = "CONSORTIA_CONSOLE_SIGNER"
STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
TX_TTL_MS = 10 * 60 * 1000
MAX_SIGN_BODY = 256 * 1024

router = APIRouter(include_in_schema=False)


def signer_home() -> Path | None:
    """The consortium directory the demo signer reads keys from, or None when it is off."""
    value = os.environ.get(SIGNER_ENV, "")
    if not value:
        return None
    home = Path(value)
    return home if (home / "genesis.json").exists() else None


PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def is_loopback_name(name: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_name(value: str) -> str:
    """The name of a ``Host`` header value: ``[::1]:8700`` -> ``::1``, ``localhost:8700`` -> ``localhost``."""
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_loopback(request: Request) -> bool:
    """The client is this machine: a loopback peer, asking for a loopback Host, through no proxy."""
    if any(name in request.headers for name in PROXY_HEADERS):
        return False
    peer = request.client.host if request.client else ""
    return is_loopback_name(peer) and is_loopback_name(host_name(request.headers.get("host", "")))


def require_signer(request: Request) -> Path:
    home = signer_home()
    if home is None:
        raise Forbidden("the console's demo signer is off: start the node with `consortia up` on the machine that "
                        "holds the consortium directory, bound to 127.0.0.1", code="SIGNER_DISABLED")
    if not is_loopback(request):
        raise Forbidden("the demo signer answers only this machine (loopback peer and Host, no proxy)",
                        code="SIGNER_DISABLED")
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin is not None and origin != own:
        raise Forbidden(f"the demo signer answers only the console's own pages ({own}), not {origin:.80}",
                        code="SIGNER_REFUSED")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method == "POST" and kind != "application/json":
        raise Forbidden("the demo signer takes Content-Type: application/json only", code="SIGNER_REFUSED")
    return home


def member_identities(home: Path) -> list[str]:
    """Identities that sign for people: every member except the organisations' node keys."""
    return [i for i in list_identities(home) if not i.endswith("/node")]


def load_member(request: Request, home: Path, identity: object) -> Wallet:
    if type(identity) is not str or identity not in member_identities(home):
        raise NotFound(f"no local identity {identity!r:.80}", code="IDENTITY_NOT_FOUND")
    return load_wallet(home, request.app.state.node.suite, identity)


async def read_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_SIGN_BODY:
        raise BadInput(f"request body exceeds {MAX_SIGN_BODY} bytes", code="TOO_LARGE")
    body = codec.decode(raw) if raw.strip() else None
    if type(body) is not dict:
        raise BadInput("expected a JSON object", code="BAD_INPUT")
    return body


@router.get("/console")
async def console_index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@router.get("/console/")
async def console_slash() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/console/static/{name:path}")
async def console_static(name: str) -> FileResponse:
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC) or not path.is_file():
        raise NotFound(f"no console file {name!r:.80}", code="NOT_FOUND")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


@router.get("/console/api/identities")
async def identities(request: Request) -> dict[str, Any]:
    """The local member identities the demo signer can sign for (empty when it is off)."""
    home = signer_home()
    if home is None or not is_loopback(request) or request.headers.get("origin") not in (
            None, f"{request.url.scheme}://{request.headers.get('host', '')}"):
        return {"signer": False, "identities": [],
                "reason": "demo signer off: run `consortia up` on this machine, bound to 127.0.0.1"}
    return {"signer": True, "identities": member_identities(home), "reason": ""}


@router.post("/console/api/sign-tx")
async def sign_tx(request: Request) -> dict[str, Any]:
    """A signed transaction ``{tx, sig}`` for POST /transactions, signed by the chosen identity."""
    home = require_signer(request)
    body = await read_object(request)
    contract, method, args = body.get("contract"), body.get("method"), body.get("args", {})
    if type(contract) is not str or type(method) is not str or type(args) is not dict:
        raise BadInput("expected {identity, contract, method, args}", code="BAD_INPUT")
    node = request.app.state.node
    wallet = await run_in_threadpool(load_member, request, home, body.get("identity"))
    tx = {"chain": node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63), "contract": contract,
          "method": method, "args": args, "not_after_height": None, "not_after_ms": int(time.time() * 1000) + TX_TTL_MS}
    return SignedTx.create(node.suite, wallet.signer, tx).to_wire()


@router.post("/console/api/sign-read")
async def sign_read_header(request: Request) -> dict[str, Any]:
    """An ``X-Consortia-Auth`` header value for one request (method, path, exact body text)."""
    home = require_signer(request)
    body = await read_object(request)
    method, path, text = body.get("method", "POST"), body.get("path"), body.get("body", "")
    if type(method) is not str or type(path) is not str or not path.startswith("/") or type(text) is not str:
        raise BadInput("expected {identity, method, path, body}", code="BAD_INPUT")
    node = request.app.state.node
    wallet = await run_in_threadpool(load_member, request, home, body.get("identity"))
    return {"header": sign_read(wallet, node.suite.hash, node.chain_id, method, path, text.encode())}


MAX_CAPTURE_DOCUMENT = 64 * 1024 * 1024


@router.post("/console/api/sign-capture")
async def sign_capture(request: Request, identity: str) -> dict[str, Any]:
    """Validate an EPCIS document (the raw body) and sign its ``trace.capture`` transactions as
    ``identity`` (``capture_sealed`` once its organisation published a sealing key, as the SDK
    does); the browser posts ``{"transactions": [...]}`` to ``/epcis/capture`` itself."""
    from consortia.apps.trace.document import prepare_capture
    from consortia.apps.trace.sealing import capture_calls

    home = require_signer(request)
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_CAPTURE_DOCUMENT:
        raise BadInput(f"document is {declared} bytes; the limit is {MAX_CAPTURE_DOCUMENT}", code="TOO_LARGE")
    raw = await request.body()
    node = request.app.state.node
    wallet = await run_in_threadpool(load_member, request, home, identity)
    prepared = await run_in_threadpool(prepare_capture, raw)

    def sign_all() -> list[dict[str, Any]]:
        now = int(time.time() * 1000)
        method, calls = capture_calls(node.suite, node.chain_id, wallet.org, prepared.namespaces, prepared.batches,
                                      lambda places: node.query("trace", "sealing_directory", {"places": places}))
        return [SignedTx.create(node.suite, wallet.signer, {
            "chain": node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63), "contract": "trace",
            "method": method, "args": args, "not_after_height": None,
            "not_after_ms": now + TX_TTL_MS}).to_wire() for args in calls]
    return {"transactions": await run_in_threadpool(sign_all), "events": prepared.count}

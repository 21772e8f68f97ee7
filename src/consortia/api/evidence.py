"""Evidence depository REST routes: certificates (JSON credential or HTML), the public verification
page behind a certificate's QR code, and certificate verification against the node's genesis.

Deposits, co-signatures and copyright operations are ordinary signed transactions
(``POST /transactions``, ``/transactions/batch``) on the ``evidence`` contract. An owner may also
leave an encrypted copy of a deposited file with its node (``PUT``/``GET /evidence/files/...``,
signed requests; ADR 0011).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from consortia.api.auth import caller_of
from consortia.api.responses import OrjsonResponse
from consortia.apps.evidence.batch import batch_proof
from consortia.apps.evidence.contract import check_digest
from consortia.apps.evidence.credential import CertificateInvalid, Verification, build_certificate, verify_certificate
from consortia.apps.evidence.files import FileVault, max_file_bytes
from consortia.apps.evidence.page import render_certificate, render_verification
from consortia.errors import BadInput, Forbidden, Revert, TooLarge, Unavailable
from consortia.identity.x509 import Identity
from consortia.node.node import Node
from consortia.types import codec

router = APIRouter(tags=["evidence"])


def _node(request: Request) -> Node:
    return request.app.state.node  # type: ignore[no-any-return]


def _check(algorithm: str, digest: str) -> None:
    try:
        check_digest(algorithm, digest)
    except Revert as exc:
        raise BadInput(exc.message, code=exc.code) from None


def verify_url(request: Request, algorithm: str, digest: str) -> str:
    return str(request.base_url).rstrip("/") + f"/evidence/verify/{algorithm}/{digest}"


def attestations_of(node: Node, height: int, block_hash: str) -> list[dict[str, Any]]:
    return [codec.decode(body) for _, h, body in node.store.attestations(height) if h == block_hash]


def certificate_for(node: Node, record: dict[str, Any], url: str) -> dict[str, Any]:
    from consortia.api.app import transaction_view

    if record["status"] != "confirmed":
        raise BadInput(f"{record['id']} is not confirmed yet (co-signatures pending)", code="NOT_CONFIRMED")
    view = transaction_view(node, record["confirmed_tx"])
    if node.mode != "solo" and node.final_height() < view["height"]:
        # Verify a quorum attested the block before certifying it (a solo node attests alone, at once).
        raise Unavailable(f"block {view['height']} is not final yet (attestations from a quorum of organisations "
                          "are still arriving); ask again in a moment", code="NOT_FINAL")
    attestations = attestations_of(node, view["height"], view["block_hash"])
    # A deposit confirmed in a batch: its Merkle path to the batch root, rebuilt from the items (ADR 0030).
    clear = transaction_view(node, record["confirmed_tx"], clear=True) if view.get("masked") else view
    batch = batch_proof(node.suite.hash, clear, record)
    return build_certificate(record, view, attestations, node.genesis, verify_url=url, batch=batch)


@router.get("/evidence/certificates/{algorithm}/{digest}", summary="A deposit's certificate (signed read)")
async def certificate(request: Request, algorithm: str, digest: str,
                      format: str = Query("json", pattern="^(json|html)$")) -> Any:
    """A W3C Verifiable Credential 2.0 that embeds its own proof (ADR 0009); `format=html` renders it
    with a QR code to the public verification page. The owner, grantees, co-signers and regulators
    may fetch it (`X-Consortia-Auth`)."""
    _check(algorithm, digest)
    node = _node(request)
    caller = await caller_of(request, node.executor)
    record = await run_in_threadpool(node.executor.query, "evidence", "get",
                                     {"algorithm": algorithm, "digest": digest}, caller)
    url = verify_url(request, algorithm, digest)
    credential = await run_in_threadpool(certificate_for, node, record, url)
    if format == "html":
        return HTMLResponse(render_certificate(credential, url))
    return OrjsonResponse(credential, headers={"Content-Disposition":
                                               f'inline; filename="evidence-{digest[:16]}.json"'})


@router.get("/evidence/verify/{algorithm}/{digest}", summary="Public verification page (no login)")
async def verify_page(request: Request, algorithm: str, digest: str,
                      format: str = Query("html", pattern="^(json|html)$")) -> Any:
    """Whether a fingerprint is on the chain, since when, in which block, attested by which nodes.
    Shows no title or metadata."""
    _check(algorithm, digest)
    node = _node(request)
    found = await run_in_threadpool(node.executor.query, "evidence", "exists",
                                    {"algorithm": algorithm, "digest": digest}, None)
    block_hash, attested = None, []
    if found["exists"] and found["confirmed_tx"]:
        from consortia.api.app import transaction_view

        view = await run_in_threadpool(transaction_view, node, found["confirmed_tx"])
        block_hash = view["block_hash"]
        attested = sorted(a["org"] for a in await run_in_threadpool(attestations_of, node, view["height"], block_hash))
    quorum = node.finality.quorum()
    if format == "json":
        return {**found, "block_hash": block_hash, "attested_by": attested, "quorum": quorum}
    return HTMLResponse(render_verification(found, attested, quorum, block_hash), status_code=200 if found["exists"] else 404)


@router.post("/evidence/verify", summary="Verify a certificate against this chain's genesis")
async def verify_posted(request: Request, quorum: int | None = Query(None, ge=1, le=1000)) -> dict[str, Any]:
    """Post a certificate (JSON); the node checks it exactly as `consortia verify` does offline, with
    its own genesis as the trust anchor. Failures are `400` with the failing check's code and, in
    `details.passed`, the checks that passed before it."""
    try:
        credential = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"body: expected a certificate in JSON ({exc})", code="BAD_JSON") from None
    node = _node(request)
    report = Verification()
    try:
        await run_in_threadpool(lambda: verify_certificate(credential, node.genesis, quorum=quorum, report=report))
    except CertificateInvalid as exc:
        exc.details = {**exc.details, "passed": report.checks}
        raise
    return {"valid": True, "checks": report.checks, "deposit": report.subject, "height": report.height,
            "block_hash": report.block_hash, "signed_by": report.signed_by, "quorum": report.quorum}


# -- encrypted copies of deposited files (ADR 0011) ----------------------------------------------

FILE_BODY = {"requestBody": {"required": True, "description": "the file's bytes; they must hash to the digest",
                             "content": {"application/octet-stream": {"schema": {"type": "string",
                                                                                 "format": "binary"}}}}}


def _vault(request: Request) -> FileVault:
    state = request.app.state
    vault: FileVault | None = getattr(state, "evidence_vault", None)
    if vault is None:
        node = _node(request)
        vault = state.evidence_vault = FileVault(node.store.path.parent, node.suite, node.chain_id)
    return vault


async def read_file_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past ``limit`` bytes (before reading it when it says its length)."""
    declared = request.headers.get("content-length")
    if declared and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the file is {declared} bytes; this node keeps copies of at most {limit} bytes",
                       code="FILE_TOO_LARGE", limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the file exceeds {limit} bytes, the largest copy this node keeps",
                           code="FILE_TOO_LARGE", limit=limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # what the signed-request check hashes: these very bytes
    return body


async def signed_caller(request: Request, node: Node, what: str) -> Identity:
    caller = await caller_of(request, node.executor)
    if caller is None:
        raise Forbidden(f"{what} needs a signed request (X-Consortia-Auth)", code="UNAUTHENTICATED")
    return caller


async def file_access(node: Node, caller: Identity, algorithm: str, digest: str) -> dict[str, Any]:
    return await run_in_threadpool(node.executor.query, "evidence", "file_access",
                                   {"algorithm": algorithm, "digest": digest}, caller)


@router.put("/evidence/files/{algorithm}/{digest}", status_code=201, openapi_extra=FILE_BODY,
            summary="Leave an encrypted copy of a deposited file with this node (owner, signed)")
async def upload_file(request: Request, algorithm: str, digest: str) -> OrjsonResponse:
    """The deposit's owner sends the file's bytes (`X-Consortia-Auth` signs them); the node checks
    they hash to the deposited digest and keeps them sealed with the chain suite's cipher under a key
    of its own. `201` when stored, `200` when this node already kept it; `413` past the size limit
    (`CONSORTIA_EVIDENCE_MAX_FILE_BYTES`, default 64 MiB)."""
    _check(algorithm, digest)
    node = _node(request)
    data = await read_file_body(request, max_file_bytes())
    caller = await signed_caller(request, node, "storing a file copy")
    access = await file_access(node, caller, algorithm, digest)
    if not access["may_upload"]:
        raise Forbidden(f"{caller.org} does not own {access['id']}; only its owner {access['owner']} may store "
                        "its file", code="NOT_OWNER")
    created = await run_in_threadpool(_vault(request).put, algorithm, digest, data)
    return OrjsonResponse({"id": access["id"], "stored": True, "created": created, "bytes": len(data),
                           "cipher": node.suite.seal_name}, status_code=201 if created else 200)


@router.get("/evidence/files/{algorithm}/{digest}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}},
            summary="The file of a deposit, from this node's encrypted copy (signed read)")
async def download_file(request: Request, algorithm: str, digest: str) -> Response:
    """The owner, the organisations it granted (`evidence.grant`) and regulators may read it; the
    bytes are hashed again before they are sent. `404 NO_FILE_COPY` if this node keeps none."""
    _check(algorithm, digest)
    node = _node(request)
    caller = await signed_caller(request, node, "reading a file copy")
    access = await file_access(node, caller, algorithm, digest)
    if not access["may_download"]:
        raise Forbidden(f"{caller.org} may not read the file of {access['id']}: only its owner {access['owner']}, "
                        "the organisations it granted and regulators may", code="NOT_VISIBLE")
    data = await run_in_threadpool(_vault(request).get, algorithm, digest)
    await run_in_threadpool(node.audit_read, caller, "evidence.file", {"algorithm": algorithm, "digest": digest})
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{algorithm}-{digest[:16]}"',
                             "X-Consortia-Digest": f"{algorithm}:{digest}"})


# -- RFC 3161 time-stamp authority ---------------------------------------------------------------

TSA_ENV, HOME_ENV = "CONSORTIA_TSA", "CONSORTIA_HOME"
TSA_POLICY = "1.3.6.1.4.1.59999.3161.1"  # this TSA's policy (a private-arc OID; see ADR 0009)
IMPRINT_ALGORITHMS = {"sha256": "sha-256", "sha384": "sha-384", "sha512": "sha-512", "1.2.156.10197.1.401": "sm3"}
_TSA: dict[str, Any] = {}


def _tsa(node: Node) -> tuple[Any, Any, Any]:
    """(anchoring wallet, TSA signing key, TSA certificate): the certificate is issued once by the
    organisation's CA with the critical timeStamping extended key use that RFC 3161 requires."""
    import datetime as dt
    import os
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from consortia.identity.wallet import load_wallet

    identity = os.environ.get(TSA_ENV, "").strip()
    if not identity:
        raise Forbidden(f"this node runs no time-stamp authority; start it with {TSA_ENV}=<org>/<member>",
                        code="TSA_DISABLED")
    if node.suite.name != "ed25519-sha256":
        raise BadInput("the time-stamp authority signs with Ed25519 only for now (SM2 CMS is not built yet)",
                       code="TSA_UNSUPPORTED")
    if identity in _TSA:
        return _TSA[identity]  # type: ignore[no-any-return]
    home = Path(os.environ.get(HOME_ENV) or node.store.path.parent.parent)
    wallet = load_wallet(home, node.suite, identity)
    org_dir = home / "orgs" / wallet.org
    tsa_dir = org_dir / "tsa"
    if not (tsa_dir / "cert.pem").exists():
        ca_key = serialization.load_pem_private_key((org_dir / "ca.key").read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate((org_dir / "ca.pem").read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())  # what standard RFC 3161 tools verify (not Ed25519)
        now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, wallet.org),
                                         x509.NameAttribute(NameOID.COMMON_NAME, "tsa")]))
                .issuer_name(ca_cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now)
                .not_valid_after(min(now + dt.timedelta(days=730), ca_cert.not_valid_after_utc))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .sign(ca_key, algorithm=None))  # type: ignore[arg-type]
        tsa_dir.mkdir(exist_ok=True)
        (tsa_dir / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
        os.chmod(tsa_dir / "key.pem", 0o600)
        (tsa_dir / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    signing_key = serialization.load_pem_private_key((tsa_dir / "key.pem").read_bytes(), password=None)
    tsa_cert = x509.load_pem_x509_certificate((tsa_dir / "cert.pem").read_bytes())
    _TSA[identity] = (wallet, signing_key, tsa_cert)
    return _TSA[identity]  # type: ignore[no-any-return]


def _anchor(node: Node, wallet: Any, hash_algorithm: str, imprint: str) -> dict[str, Any]:
    import secrets
    import time

    from consortia.ledger.records import SignedTx

    body = {"chain": node.chain_id, "sender": wallet.sender, "nonce": secrets.randbits(63), "contract": "evidence",
            "method": "anchor_timestamp", "args": {"hash_algorithm": hash_algorithm, "imprint": imprint},
            "not_after_height": None, "not_after_ms": int(time.time() * 1000) + 600_000}
    ((_, future),) = node.submit([SignedTx.create(node.suite, wallet.signer, body).to_wire()])
    receipt = future.result(timeout=30).receipt
    if receipt["status"] != "ok":
        raise Revert(receipt["message"], code=receipt["code"])
    return receipt["result"]  # type: ignore[no-any-return]


def build_timestamp_token(request_der: bytes, anchored: dict[str, Any], key: Any, cert: Any) -> bytes:
    """A granted TimeStampResp whose token (CMS SignedData over TSTInfo) the TSA key signs (ECDSA P-256)."""
    import datetime as dt
    import hashlib

    from asn1crypto import algos, cms, core, tsp
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    req = tsp.TimeStampReq.load(request_der)
    cert_der = cert.public_bytes(serialization.Encoding.DER)
    gen_time = dt.datetime.fromtimestamp(anchored["time_ms"] / 1000, dt.UTC)
    info = {"version": "v1", "policy": TSA_POLICY, "message_imprint": req["message_imprint"],
            "serial_number": int(anchored["serial"], 16), "gen_time": gen_time,
            "accuracy": {"millis": 1}, "ordering": False}
    if req["nonce"].native is not None:
        info["nonce"] = req["nonce"].native
    tst_der = tsp.TSTInfo(info).dump()
    asn1_cert = asn1_x509.Certificate.load(cert_der)
    signed_attrs = cms.CMSAttributes([
        {"type": "content_type", "values": ["tst_info"]},
        {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
        {"type": "signing_certificate_v2", "values": [{"certs": [{
            "hash_algorithm": {"algorithm": "sha256"}, "cert_hash": hashlib.sha256(cert_der).digest(),
            "issuer_serial": {"issuer": [asn1_x509.GeneralName({"directory_name": asn1_cert.issuer})],
                              "serial_number": asn1_cert.serial_number}}]}]},
    ])
    signature = key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
    signer = {"version": "v1", "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
        "issuer": asn1_cert.issuer, "serial_number": asn1_cert.serial_number}}),
        "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "signed_attrs": signed_attrs,
        "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}), "signature": signature}
    signed_data = {"version": "v3", "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
                   "encap_content_info": {"content_type": "tst_info", "content": core.ParsableOctetString(tst_der)},
                   "signer_infos": [signer]}
    if req["cert_req"].native:
        signed_data["certificates"] = [asn1_cert]
    token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
    return tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token}).dump()  # type: ignore[no-any-return]


@router.post("/evidence/timestamp", summary="RFC 3161 time-stamp authority",
             responses={200: {"content": {"application/timestamp-reply": {}}}})
async def timestamp(request: Request) -> Any:
    """Post a DER `TimeStampReq` (`Content-Type: application/timestamp-query`); the node anchors its
    message imprint on the chain (`evidence.anchor_timestamp`) and answers a `TimeStampResp` whose
    genTime is the block time, signed by the TSA certificate its organisation's CA issued."""
    from asn1crypto import tsp
    from fastapi.responses import Response

    if request.headers.get("content-type", "").split(";")[0].strip() != "application/timestamp-query":
        raise BadInput("expected Content-Type: application/timestamp-query", code="BAD_CONTENT_TYPE")
    body = await request.body()
    try:
        req = tsp.TimeStampReq.load(body)
        imprint = req["message_imprint"]
        algorithm = IMPRINT_ALGORITHMS.get(imprint["hash_algorithm"]["algorithm"].native)
        digest = imprint["hashed_message"].native.hex()
        req["nonce"].native  # noqa: B018 - parse fully before anchoring anything
    except (ValueError, TypeError, KeyError) as exc:
        raise BadInput(f"not a DER TimeStampReq: {exc}", code="BAD_TIMESTAMP_REQUEST") from None
    if algorithm is None:
        raise BadInput(f"unsupported hash algorithm {imprint['hash_algorithm']['algorithm'].native}", code="BAD_ALGORITHM")
    node = _node(request)
    wallet, key, cert = _tsa(node)
    anchored = await run_in_threadpool(_anchor, node, wallet, algorithm, digest)
    return Response(build_timestamp_token(body, anchored, key, cert), media_type="application/timestamp-reply")

"""Evidence certificates: W3C Verifiable Credentials 2.0 that carry their own proof (ADR 0009).

``build_certificate`` wraps a confirmed deposit, the ``GET /transactions/{id}`` view of the
transaction that confirmed it (tx, receipt, header, Merkle paths) and the block's attestations
(node signatures) into one JSON credential, with the CA certificates of the attesting
organisations. ``verify_certificate`` checks it offline against a genesis document the verifier
trusts: no network, no node. Every check is named; the first that fails raises
``CertificateInvalid`` with a stable code and a message saying exactly what failed.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from consortia.crypto import get_suite
from consortia.crypto.merkle import MerkleProof, is_valid_proof
from consortia.crypto.suite import CryptoSuite
from consortia.errors import BadInput
from consortia.identity.x509 import CertificateError, load_der_b64, load_pem, member_identity
from consortia.ledger.records import BlockHeader, Receipt, compute_receipt_leaf
from consortia.types import codec

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CONSORTIA_CONTEXT = "https://consortia.dev/ns/evidence/v1"
PROOF_TYPE = "ConsortiaLedgerProof2026"
CREDENTIAL_TYPE = "EvidenceDepositCredential"


ATTEST_DOMAIN = b"consortia/attest/v1\x00"  # as consortia.node.finality (a test keeps them equal)


def attest_message(chain: str, height: int, block_hash: str, state_root: str, org: str) -> bytes:
    """The bytes a node signs for a header (``consortia.node.finality.attest_message``)."""
    return ATTEST_DOMAIN + codec.encode({"chain": chain, "hash": block_hash, "height": height, "org": org,
                                         "state_root": state_root})


class CertificateInvalid(BadInput):
    code = "CERTIFICATE_INVALID"


def file_digest(algorithm: str, data: bytes) -> str:
    """The hex digest of ``data`` with a named algorithm (``sha-256`` or ``sm3``)."""
    if algorithm == "sha-256":
        return hashlib.sha256(data).hexdigest()
    if algorithm == "sm3":
        return get_suite("sm2-sm3").hash(data).hex()
    raise BadInput(f"unknown digest algorithm {algorithm!r}; expected sha-256 or sm3", code="BAD_ALGORITHM")


def iso_ms(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def subject_id(chain_id: str, algorithm: str, digest: str) -> str:
    return f"urn:consortia:{chain_id}:evidence:{algorithm}:{digest}"


def build_certificate(record: dict[str, Any], tx_view: dict[str, Any], attestations: list[dict[str, Any]],
                      genesis: dict[str, Any], *, verify_url: str | None = None,
                      batch: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Verifiable Credential for a confirmed deposit with everything needed to check it offline.

    ``batch`` (``{"record", "path"}``, ADR 0030): for a deposit confirmed in a batch, its certified
    record and Merkle path to the root of the receipt's ``BatchConfirmed`` event."""
    if record.get("status") != "confirmed":
        raise BadInput(f"{record.get('id')} is not confirmed yet (co-signatures pending)", code="NOT_CONFIRMED")
    chain_id = genesis["chain_id"]
    cas = {o["id"]: o["ca_cert"] for o in genesis["orgs"]}
    signers = sorted({a["org"] for a in attestations})
    certified = confirmed_record(Receipt.from_dict(tx_view["receipt"]), record["algorithm"], record["digest"])
    batch_path = None
    if certified is None and batch is not None:
        certified, batch_path = batch["record"], batch["path"]
    if certified is None:
        raise BadInput("the confirming transaction carries no Confirmed event for this digest", code="NOT_CONFIRMED")
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, CONSORTIA_CONTEXT],
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "id": subject_id(chain_id, record["algorithm"], record["digest"]) + f":tx:{tx_view['tx_id']}",
        "issuer": {"id": f"urn:consortia:{chain_id}", "name": f"Consortia chain {chain_id}"},
        "validFrom": iso_ms(tx_view["header"]["time_ms"]),
        "name": f"Evidence deposit certificate: {certified['title']}",
        "credentialSubject": {"id": subject_id(chain_id, record["algorithm"], record["digest"]),
                              "deposit": copy.deepcopy(certified)},
        "proof": {
            "type": PROOF_TYPE, "cryptosuite": tx_view["header"]["suite"], "proofPurpose": "assertionMethod",
            "created": iso_ms(tx_view["header"]["time_ms"]), "chain": chain_id,
            "transaction": {k: copy.deepcopy(tx_view[k]) for k in ("tx_id", "height", "index", "block_hash",
                                                                    "receipt", "header", "proof")},
            "attestations": attestations,
            "caCertificates": {org: cas[org] for org in signers if org in cas},
        },
    }
    if batch_path is not None:
        credential["proof"]["batchPath"] = copy.deepcopy(batch_path)
    if verify_url:
        credential["credentialStatus"] = {"id": verify_url, "type": "ConsortiaPublicVerificationPage"}
    return credential


def confirmed_record(receipt: Receipt, algorithm: str, digest: str) -> dict[str, Any] | None:
    """The record in the receipt's ``evidence.Confirmed`` event for this digest, if any."""
    if receipt.status != "ok":
        return None
    for event in receipt.events:
        record = event.data.get("record")
        if (event.contract, event.name) == ("evidence", "Confirmed") and type(record) is dict \
                and record.get("algorithm") == algorithm and record.get("digest") == digest:
            return record
    return None


def batch_record(hasher: Any, receipt: Receipt, claimed: dict[str, Any], path: Any) -> dict[str, Any] | None:
    """``claimed`` when its Merkle ``path`` leads from its canonical bytes to the root of the receipt's
    ``evidence.BatchConfirmed`` event over that many deposits (ADR 0030), else None."""
    if receipt.status != "ok" or type(path) is not dict:
        return None
    roots = [e.data for e in receipt.events if (e.contract, e.name) == ("evidence", "BatchConfirmed")]
    if len(roots) != 1 or type(roots[0].get("root")) is not str or type(roots[0].get("count")) is not int:
        return None
    try:
        proof = MerkleProof.from_dict(path)
        leaf, root = codec.encode(claimed), bytes.fromhex(roots[0]["root"])
    except (KeyError, TypeError, ValueError, AttributeError, codec.CodecError):
        return None
    return claimed if is_valid_proof(hasher, leaf, proof, root, roots[0]["count"]) else None


@dataclass
class Verification:
    """What an offline verification established, check by check."""

    checks: list[str] = field(default_factory=list)
    subject: dict[str, Any] = field(default_factory=dict)
    height: int = 0
    block_hash: str = ""
    time_ms: int = 0
    signed_by: list[str] = field(default_factory=list)
    quorum: int = 0

    def passed(self, text: str) -> None:
        self.checks.append(text)


def check(condition: object, code: str, message: str) -> None:
    if not condition:
        raise CertificateInvalid(message, code=code)


def verify_certificate(credential: Any, genesis: dict[str, Any], *, file_data: bytes | None = None,
                       quorum: int | None = None, report: Verification | None = None) -> Verification:
    """Check ``credential`` offline against a trusted ``genesis``; raise ``CertificateInvalid`` naming the failure.

    ``quorum``: how many distinct organisations' nodes must have signed the header; by default a
    majority of the genesis organisations. ``report`` (when given) keeps the checks that passed
    before a failure.
    """
    report = report if report is not None else Verification()
    check(type(credential) is dict and isinstance(credential.get("proof"), dict)
          and isinstance(credential.get("credentialSubject"), dict), "MALFORMED_CERTIFICATE",
          "not an evidence certificate: expected a credential with credentialSubject and proof")
    check(VC_CONTEXT in (credential.get("@context") or []) and CREDENTIAL_TYPE in (credential.get("type") or []),
          "MALFORMED_CERTIFICATE", f"not a W3C VC 2.0 {CREDENTIAL_TYPE}")
    proof, subject = credential["proof"], credential["credentialSubject"]
    chain_id, suite_name = genesis["chain_id"], genesis["suite"]
    # Verify the certificate is for the chain and suite the verifier trusts.
    check(proof.get("chain") == chain_id, "WRONG_CHAIN",
          f"the certificate is from chain {proof.get('chain')!r:.80}; the trusted genesis is chain {chain_id!r}")
    check(proof.get("cryptosuite") == suite_name, "WRONG_SUITE",
          f"the certificate uses suite {proof.get('cryptosuite')!r:.40}; the chain uses {suite_name}")
    suite = get_suite(suite_name)
    view = proof.get("transaction")
    check(isinstance(view, dict), "MALFORMED_CERTIFICATE", "proof.transaction is missing")
    header = verify_receipt_proof(suite, view)
    check(header.chain == chain_id, "WRONG_CHAIN", f"the block header is from chain {header.chain!r:.80}, not {chain_id!r}")
    check(header.height == view.get("height"), "BAD_PROOF", "the header height differs from the proof's height")
    report.passed(f"transaction {view['tx_id'][:16]}... and its receipt are in block {header.height} "
                  f"(tx_root and receipts_root Merkle paths check out; header hashes to {view['block_hash'][:16]}...)")
    # Verify the receipt's Confirmed event certifies exactly the credential's subject.
    claimed = subject.get("deposit")
    check(type(claimed) is dict, "MALFORMED_CERTIFICATE", "credentialSubject.deposit is missing")
    algorithm, digest = claimed.get("algorithm"), claimed.get("digest")
    receipt = Receipt.from_dict(view["receipt"])
    certified = confirmed_record(receipt, str(algorithm), str(digest))
    in_batch = certified is None and "batchPath" in proof
    if in_batch:
        certified = batch_record(suite.hash, receipt, claimed, proof["batchPath"])
        check(certified is not None, "SUBJECT_MISMATCH", f"the Merkle path of {algorithm}:{digest} does not lead "
              "to the batch root in the proved receipt: the deposit or its path was altered")
        report.passed(f"the deposit is leaf {proof['batchPath']['index'] + 1} of {proof['batchPath']['size']} "
                      "under the batch's Merkle root in the receipt")
    check(certified is not None, "SUBJECT_MISMATCH",
          f"the proved receipt does not confirm {algorithm}:{digest}")
    changed = sorted(k for k in set(claimed) | set(certified or {}) if claimed.get(k) != (certified or {}).get(k))
    check(not changed, "SUBJECT_MISMATCH",
          f"the credential's subject differs from what the chain recorded: {', '.join(changed)}")
    check(subject.get("id") == subject_id(chain_id, str(algorithm), str(digest)), "SUBJECT_MISMATCH",
          "the credential subject id does not name this digest on this chain")
    check(credential.get("validFrom") == iso_ms(header.time_ms), "SUBJECT_MISMATCH",
          f"validFrom {credential.get('validFrom')!r:.40} is not the block time {iso_ms(header.time_ms)}")
    report.passed(f"the receipt confirms {algorithm}:{digest} as the credential states, at block time "
                  f"{iso_ms(header.time_ms)}")
    report.subject, report.height, report.block_hash, report.time_ms = claimed, header.height, view["block_hash"], header.time_ms
    # Verify a quorum of the consortium's nodes signed this very header.
    report.signed_by = verify_attestations(suite, genesis, proof.get("attestations"), proof.get("caCertificates"),
                                           view["block_hash"], header.height, header.state_root, header.time_ms)
    orgs = [o["id"] for o in genesis["orgs"]]
    report.quorum = quorum or len(orgs) // 2 + 1
    check(len(report.signed_by) >= report.quorum, "NOT_ENOUGH_SIGNATURES",
          f"the header is signed by {len(report.signed_by)} of {len(orgs)} organisations' nodes "
          f"({', '.join(report.signed_by) or 'none'}); the quorum is {report.quorum}")
    report.passed(f"block header signed by the nodes of {', '.join(report.signed_by)} "
                  f"({len(report.signed_by)} of {len(orgs)}, quorum {report.quorum}); "
                  "their certificates chain to the trusted genesis CAs")
    if file_data is not None:
        actual = file_digest(str(algorithm), file_data)
        check(actual == digest, "FILE_MISMATCH",
              f"the file's {algorithm} digest is {actual}; the certificate is for {digest}")
        report.passed(f"the file's {algorithm} digest matches")
    return report


def verify_receipt_proof(suite: CryptoSuite, view: dict[str, Any]) -> BlockHeader:
    """Check that the tx id and its receipt sit under the header's roots and the header hashes to the
    block hash. The transaction body is not needed: the receipt names the tx and carries the events."""
    try:
        header = BlockHeader.from_dict(view["header"])
        tx_id = bytes.fromhex(view["tx_id"])
        tx_proof = MerkleProof.from_dict(view["proof"]["tx"])
        receipt_proof = MerkleProof.from_dict(view["proof"]["receipt"])
        receipt = Receipt.from_dict(view["receipt"])
        index, block_hash = view["index"], view["block_hash"]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CertificateInvalid(f"Merkle proof: malformed ({exc})", code="BAD_PROOF") from None
    check(receipt.tx_id == view["tx_id"], "BAD_PROOF", "Merkle proof: the receipt belongs to another transaction")
    check(tx_proof.index == index == receipt_proof.index, "BAD_PROOF",
          "Merkle proof: the proof index does not match the transaction's position")
    check(is_valid_proof(suite.hash, tx_id, tx_proof, bytes.fromhex(header.tx_root), header.tx_count), "BAD_PROOF",
          "Merkle proof: the transaction id is not in the block's tx_root")
    check(is_valid_proof(suite.hash, compute_receipt_leaf(receipt), receipt_proof, bytes.fromhex(header.receipts_root),
                         header.tx_count), "BAD_PROOF", "Merkle proof: the receipt is not in the block's receipts_root")
    check(header.hash(suite) == block_hash, "BAD_PROOF", "Merkle proof: the header does not hash to the block hash")
    return header


def verify_attestations(suite: CryptoSuite, genesis: dict[str, Any], attestations: Any, embedded_cas: Any,
                        block_hash: str, height: int, state_root: str, time_ms: int) -> list[str]:
    """The organisations whose node validly signed this header; raise on any forged or foreign signature."""
    check(type(attestations) is list, "MALFORMED_CERTIFICATE", "proof.attestations is missing")
    cas = {o["id"]: o["ca_cert"] for o in genesis["orgs"]}
    embedded = embedded_cas if type(embedded_cas) is dict else {}
    signed: set[str] = set()
    for i, att in enumerate(attestations):
        where = f"attestation {i + 1}"
        check(type(att) is dict and all(type(att.get(k)) is str for k in ("org", "cert", "sig", "hash", "state_root")),
              "MALFORMED_CERTIFICATE", f"{where} is malformed")
        org = att["org"]
        check(org in cas, "UNKNOWN_SIGNER", f"{where} is by {org!r:.64}, not an organisation of the trusted genesis")
        check(embedded.get(org, cas[org]) == cas[org], "UNKNOWN_SIGNER",
              f"{where}: the certificate embeds a CA for {org} that differs from the trusted genesis")
        check((att["hash"], att.get("height"), att["state_root"], att.get("chain")) ==
              (block_hash, height, state_root, genesis["chain_id"]), "BAD_SIGNATURE",
              f"{where} by {org} signs another header (hash, height, state root or chain differ)")
        try:
            member = member_identity(suite, load_der_b64(att["cert"]), load_pem(cas[org]))
        except CertificateError as exc:
            raise CertificateInvalid(f"{where}: the signer's certificate does not chain to {org}'s CA: {exc.message}",
                                     code="UNKNOWN_SIGNER") from None
        check(member.org == org and member.has_role("node"), "UNKNOWN_SIGNER",
              f"{where}: signed by {member.id}, which is not a node of {org}")
        check(member.not_before_ms <= time_ms <= member.not_after_ms, "UNKNOWN_SIGNER",
              f"{where}: {member.id}'s certificate was not valid at the block time")
        try:
            signature = bytes.fromhex(att["sig"])
        except ValueError:
            signature = b""
        message = attest_message(genesis["chain_id"], height, block_hash, state_root, org)
        check(suite.verify(member.public_key, message, signature), "BAD_SIGNATURE",
              f"{where}: the signature of {member.id} over block {height} does not verify (forged or altered)")
        signed.add(org)
    return sorted(signed)


def render_report(report: Verification) -> list[str]:
    return [f"ok  {line}" for line in report.checks]


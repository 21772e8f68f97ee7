"""Check a transaction's proofs locally, with no trust in the node that served them."""

from __future__ import annotations

from typing import Any

from consortia.crypto.merkle import MerkleProof, is_valid_proof
from consortia.crypto.suite import CryptoSuite
from consortia.errors import BadInput
from consortia.ledger.records import BlockHeader, Receipt, compute_receipt_leaf
from consortia.types import codec


class ProofError(BadInput):
    code = "PROOF_INVALID"


def verify_transaction(suite: CryptoSuite, view: dict[str, Any], trusted_block_hash: str | None = None) -> BlockHeader:
    """Verify a ``GET /transactions/{id}`` answer; return the header it chains to.

    Checks that the tx id is the hash of the canonical transaction, that the id and
    the receipt sit in the header's Merkle roots, and that the header hashes to the
    block hash (``trusted_block_hash`` when the caller already knows it).

    A view with fields masked by governance (ADR 0012; ``masked`` set, ``clear`` not) cannot
    show that its content hashes to the id, nor a receipt whose copies of the text were
    masked: there only the id's place in ``tx_root`` and the header are checked, and the
    receipt when it still verifies. A regulator's or node's signed read gets the clear view,
    which verifies in full.
    """
    try:
        header = BlockHeader.from_dict(view["header"])
        tx_id = bytes.fromhex(view["tx_id"])
        tx_proof = MerkleProof.from_dict(view["proof"]["tx"])
        receipt_proof = MerkleProof.from_dict(view["proof"]["receipt"])
        receipt = Receipt.from_dict(view["receipt"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"malformed proof document: {exc}") from None
    masked = bool(view.get("masked")) and not view.get("clear")
    if not masked and suite.hash(codec.encode(view["tx"])) != tx_id:
        raise ProofError("the transaction does not hash to its id")
    if receipt.tx_id != view["tx_id"]:
        raise ProofError("the receipt belongs to another transaction")
    if tx_proof.index != view["index"] or receipt_proof.index != view["index"]:
        raise ProofError("proof index does not match the transaction's position")
    if not is_valid_proof(suite.hash, tx_id, tx_proof, bytes.fromhex(header.tx_root), header.tx_count):
        raise ProofError("transaction id is not in the block's tx_root")
    if not is_valid_proof(suite.hash, compute_receipt_leaf(receipt), receipt_proof, bytes.fromhex(header.receipts_root),
                          header.tx_count) and not masked:
        raise ProofError("receipt is not in the block's receipts_root")
    expected = trusted_block_hash or view["block_hash"]
    if header.hash(suite) != expected:
        raise ProofError("the header does not hash to the block hash")
    return header

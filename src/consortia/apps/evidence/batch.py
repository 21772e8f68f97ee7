"""The deposits of one ``deposit_batch`` certified under one Merkle root (ADR 0030).

A batch confirmed in its own transaction emits one ``BatchConfirmed`` event whose ``root`` is the
Merkle root (``consortia.crypto.merkle``, the chain suite's hash) over the canonical bytes of each
deposit's certified record, in the order of the transaction's items. A certificate for one of them
carries that record and its Merkle path; the receipt it embeds proves the root. The node rebuilds
the leaves from the transaction's items and the deposit's own record: every deposit of a batch
shares its owner, depositor, block time and co-signing terms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consortia.crypto.merkle import compute_proof, compute_root
from consortia.types import codec

CERTIFIED = ("id", "algorithm", "digest", "title", "kind", "metadata", "owner", "depositor", "registered_ms",
             "cosigners", "threshold", "cosigned", "confirmed_ms")
SHARED = ("owner", "depositor", "registered_ms", "cosigners", "threshold", "cosigned", "confirmed_ms")
Hasher = Callable[[bytes], bytes]


def certified_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The part of a deposit that its confirmation carries and a certificate attests."""
    return {k: record[k] for k in CERTIFIED}


def compute_leaf(certified: dict[str, Any]) -> bytes:
    """A certified record's leaf: its canonical bytes (the tree hashes them with a leaf prefix)."""
    return codec.dumps_unchecked(certified)


def compute_batch_root(hasher: Hasher, leaves: list[bytes]) -> str:
    return compute_root(hasher, leaves).hex()


def batch_event(receipt: dict[str, Any]) -> dict[str, Any] | None:
    """The data of the receipt's ``evidence.BatchConfirmed`` event, if any."""
    for event in receipt.get("events", ()):
        if (event["contract"], event["name"]) == ("evidence", "BatchConfirmed"):
            return event["data"]  # type: ignore[no-any-return]
    return None


def rebuild_certified(item: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """One batch item's certified record, as ``Evidence._new_deposit`` built it."""
    algorithm, digest = item["algorithm"], item["digest"]
    return {"id": f"{algorithm}:{digest}", "algorithm": algorithm, "digest": digest, "title": item["title"],
            "kind": item.get("kind", "document"), "metadata": item.get("metadata", {}), **shared}


def batch_proof(hasher: Hasher, tx_view: dict[str, Any], record: dict[str, Any]) -> dict[str, Any] | None:
    """``{"record", "path"}`` for a deposit confirmed in a batch (None when its receipt has no batch
    root): the certified record and its Merkle path (``MerkleProof.to_dict``) to the event's root."""
    event = batch_event(tx_view["receipt"])
    if event is None:
        return None
    shared = {k: record[k] for k in SHARED}
    items = tx_view["tx"]["args"]["items"]
    leaves = [compute_leaf(rebuild_certified(item, shared)) for item in items]
    index = next(i for i, item in enumerate(items)
                 if (item["algorithm"], item["digest"]) == (record["algorithm"], record["digest"]))
    if compute_batch_root(hasher, leaves) != event["root"]:  # pragma: no cover - the contract built these leaves
        raise ValueError(f"the batch of {record['id']} does not rebuild to its recorded root")
    return {"record": codec.decode_trusted(leaves[index]), "path": compute_proof(hasher, leaves, index).to_dict()}

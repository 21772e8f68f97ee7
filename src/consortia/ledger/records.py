"""Records that are hashed, signed and stored: transactions, headers, receipts.

Every record has one canonical encoding (``consortia.types.codec``); its hash is
the chain suite's hash of those bytes. Bytes inside records are lowercase hex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from consortia.crypto.merkle import MerkleProof, compute_proof, compute_root
from consortia.crypto.suite import CryptoSuite, Signer, WrongSuite
from consortia.errors import TxRejected
from consortia.types import codec

CONTRACT_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
METHOD_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SIG_DOMAIN = b"consortia/tx/v1\x00"
TX_FIELDS = {"chain", "sender", "nonce", "contract", "method", "args", "not_after_height", "not_after_ms"}
ZERO_HASH = "00" * 32


def _reject(code: str, message: str) -> TxRejected:
    return TxRejected(message, code=code)


def check_tx_shape(tx: Any) -> None:
    """Verify the transaction object has exactly the expected fields and types."""
    if type(tx) is not dict:
        raise _reject("BAD_TX", f"transaction must be an object, got {type(tx).__name__}")
    missing = TX_FIELDS - tx.keys()
    extra = tx.keys() - TX_FIELDS
    if missing:
        raise _reject("BAD_TX", f"transaction is missing field(s): {', '.join(sorted(missing))}")
    if extra:
        raise _reject("BAD_TX", f"transaction has unknown field(s): {', '.join(sorted(extra))}")
    for name in ("chain", "sender"):
        if type(tx[name]) is not str or not tx[name]:
            raise _reject("BAD_TX", f"{name}: expected a non-empty string, got {tx[name]!r:.60}")
    if type(tx["nonce"]) is not int or tx["nonce"] < 0:
        raise _reject("BAD_TX", f"nonce: expected a non-negative integer, got {tx['nonce']!r:.60}")
    if type(tx["contract"]) is not str or not CONTRACT_RE.fullmatch(tx["contract"]):
        raise _reject("BAD_TX", f"contract: expected a name matching {CONTRACT_RE.pattern}, got {tx['contract']!r:.60}")
    if type(tx["method"]) is not str or not METHOD_RE.fullmatch(tx["method"]):
        raise _reject("BAD_TX", f"method: expected a name matching {METHOD_RE.pattern}, got {tx['method']!r:.60}")
    if type(tx["args"]) is not dict:
        raise _reject("BAD_TX", f"args: expected an object, got {type(tx['args']).__name__}")
    for name in ("not_after_height", "not_after_ms"):
        if tx[name] is not None and (type(tx[name]) is not int or tx[name] < 0):
            raise _reject("BAD_TX", f"{name}: expected a non-negative integer or null, got {tx[name]!r:.60}")
    if tx["not_after_height"] is None and tx["not_after_ms"] is None:
        raise _reject("BAD_TX", "a transaction needs an expiry: not_after_height or not_after_ms")


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A transaction object, its canonical bytes, its id and the sender's signature."""

    tx: dict[str, Any]
    raw: bytes
    id: bytes
    sig: bytes

    @classmethod
    def from_wire(cls, suite: CryptoSuite, wire: Any, max_bytes: int, *, checked: bool = False) -> SignedTx:
        """Parse ``{"tx": {...}, "sig": "<hex>"}``; checks shape and size, not the signature.

        ``checked``: the wire came from ``codec.decode``, which already held it to the data model."""
        if type(wire) is not dict or set(wire) != {"tx", "sig"}:
            raise _reject("BAD_TX", 'a signed transaction is an object with exactly "tx" and "sig"')
        sig = wire["sig"]
        if type(sig) is not str or len(sig) > 1024:
            raise _reject("BAD_SIGNATURE", "sig: expected a hex string")
        try:
            sig_bytes = bytes.fromhex(sig)
        except ValueError:
            raise _reject("BAD_SIGNATURE", "sig: not valid hex") from None
        check_tx_shape(wire["tx"])
        try:
            raw = codec.dumps_unchecked(wire["tx"]) if checked else codec.encode(wire["tx"])
        except codec.CodecError as exc:
            raise _reject("BAD_ENCODING", str(exc)) from None
        if len(raw) > max_bytes:
            raise _reject("TX_TOO_LARGE", f"transaction is {len(raw)} bytes, the limit is {max_bytes}")
        return cls(tx=wire["tx"], raw=raw, id=suite.hash(raw), sig=sig_bytes)

    @classmethod
    def create(cls, suite: CryptoSuite, signer: Signer, tx: dict[str, Any]) -> SignedTx:
        if signer.suite.name != suite.name:
            raise WrongSuite(f"a {signer.suite.name} key cannot sign for a chain on suite {suite.name}")
        check_tx_shape(tx)
        raw = codec.encode(tx)
        return cls(tx=tx, raw=raw, id=suite.hash(raw), sig=signer.sign(SIG_DOMAIN + raw))

    def signed_message(self) -> bytes:
        return SIG_DOMAIN + self.raw

    def to_wire(self) -> dict[str, Any]:
        return {"tx": self.tx, "sig": self.sig.hex()}


@dataclass(frozen=True, slots=True)
class Event:
    contract: str
    name: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"contract": self.contract, "name": self.name, "data": self.data}


@dataclass(frozen=True, slots=True)
class Receipt:
    """What happened to one transaction. ``status`` is ok, rejected or reverted."""

    tx_id: str
    status: str
    code: str
    message: str = ""
    events: tuple[Event, ...] = ()
    result: Any = None

    @classmethod
    def ok(cls, tx_id: str, events: tuple[Event, ...], result: Any) -> Receipt:
        return cls(tx_id=tx_id, status="ok", code="OK", events=events, result=result)

    @classmethod
    def rejected(cls, tx_id: str, code: str, message: str) -> Receipt:
        return cls(tx_id=tx_id, status="rejected", code=code, message=message)

    @classmethod
    def reverted(cls, tx_id: str, code: str, message: str) -> Receipt:
        return cls(tx_id=tx_id, status="reverted", code=code, message=message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tx_id": self.tx_id,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "events": [e.to_dict() for e in self.events],
            "result": self.result,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Receipt:
        events = tuple(Event(e["contract"], e["name"], e["data"]) for e in d["events"])
        return cls(d["tx_id"], d["status"], d["code"], d["message"], events, d["result"])


@dataclass(frozen=True, slots=True)
class BlockHeader:
    chain: str
    height: int
    prev_hash: str
    time_ms: int
    tx_root: str
    receipts_root: str
    state_root: str
    tx_count: int
    proposer: str
    suite: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "height": self.height,
            "prev_hash": self.prev_hash,
            "time_ms": self.time_ms,
            "tx_root": self.tx_root,
            "receipts_root": self.receipts_root,
            "state_root": self.state_root,
            "tx_count": self.tx_count,
            "proposer": self.proposer,
            "suite": self.suite,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BlockHeader:
        return cls(**{k: d[k] for k in cls.__slots__})

    def encode(self) -> bytes:
        return codec.dumps_unchecked(self.to_dict())

    def hash(self, suite: CryptoSuite) -> str:
        return suite.hash(self.encode()).hex()


@dataclass(frozen=True, slots=True)
class Block:
    header: BlockHeader
    txs: tuple[SignedTx, ...]
    receipts: tuple[Receipt, ...] = field(default=())


def compute_tx_root(suite: CryptoSuite, tx_ids: list[bytes]) -> str:
    return compute_root(suite.hash, tx_ids).hex()


def compute_receipt_leaf(receipt: Receipt | dict[str, Any]) -> bytes:
    """A receipt's Merkle leaf: its canonical bytes (from the receipt or its ``to_dict()`` view)."""
    return codec.dumps_unchecked(receipt if type(receipt) is dict else receipt.to_dict())  # type: ignore[union-attr]


def compute_receipts_root(suite: CryptoSuite, receipts: list[Receipt], leaves: list[bytes] | None = None) -> str:
    """Root over the canonical receipts (pass ``leaves`` when they are already encoded)."""
    if leaves is None:
        leaves = [compute_receipt_leaf(r) for r in receipts]
    return compute_root(suite.hash, leaves).hex()


def compute_tx_proof(suite: CryptoSuite, tx_ids: list[bytes], index: int) -> MerkleProof:
    return compute_proof(suite.hash, tx_ids, index)


def compute_receipt_proof(suite: CryptoSuite, receipts: list[Receipt], index: int) -> MerkleProof:
    return compute_proof(suite.hash, [compute_receipt_leaf(r) for r in receipts], index)

"""Order-execute: check each transaction, run it in a snapshot, commit the block.

Business failures never raise out of here: a transaction that fails validation
gets a ``rejected`` receipt, one that a contract refuses gets ``reverted``; both
stay in the block and change no state.
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from consortia.contracts.sdk import KEY_END, BadArgs, Context, Contract, bind_args
from consortia.contracts.system import (
    CONFIG_KEY,
    DEFAULT_CONFIG,
    LEDGER,
    SYSTEM_CONTRACTS,
    code_key,
    compute_masked,
    frozen_contract_key,
    frozen_identity_key,
    installed_key,
    mask_state_key,
    org_key,
    revoked_key,
)
from consortia.contracts.usercode import ContractRefused, InstalledContract, LimitExceeded, Program, compile_archive
from consortia.crypto.suite import CryptoSuite
from consortia.errors import ConsortiaError, Fault, Revert, TxRejected
from consortia.execution.state import BlockState, ReadState
from consortia.identity.x509 import (
    CertificateError,
    Identity,
    check_suite,
    load_der_b64,
    load_pem,
    member_identity,
    org_of,
    public_key_of,
)
from consortia.ledger.records import (
    ZERO_HASH,
    BlockHeader,
    Receipt,
    SignedTx,
    compute_receipt_leaf,
    compute_receipts_root,
    compute_tx_root,
)
from consortia.ledger.store import Store, Versioned, encode_list, encode_txs
from consortia.types import codec

SENDER_ROLES = frozenset({"admin", "client"})
REAL_NAME_EXEMPT = ("gov", "members", "realname")  # so that records can be made at all
# Contracts that know members hosted by an operator act in their own name (ctx.acting_party); in
# any other a hosted SME would act for its operator organisation, so it may not call them.
HOSTED_CONTRACTS = ("scf", "trade", "hosted", "invoice")
STATE_DOMAIN = b"consortia/state/v1\x00"


def _reject(code: str, message: str) -> TxRejected:
    return TxRejected(message, code=code)


def find_sensitive(value: Any, words: list[str], path: str = "args") -> tuple[str, str] | None:
    """The first string field (and the word) that the chain's sensitive-word filter refuses."""
    if type(value) is str:
        folded = value.casefold()
        for word in words:
            if word.casefold() in folded:
                return path, word
        return None
    if type(value) is list:
        for i, item in enumerate(value):
            if (hit := find_sensitive(item, words, f"{path}[{i}]")) is not None:
                return hit
    elif type(value) is dict:
        for key in sorted(value):
            if (hit := find_sensitive(value[key], words, f"{path}.{key}")) is not None:
                return hit
    return None


class _Bounded(OrderedDict[Any, Any]):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        if len(self) > self.limit:
            self.popitem(last=False)


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    header: BlockHeader
    hash: str
    txs: list[SignedTx]
    receipts: list[Receipt]
    views: list[dict[str, Any]]  # the receipts as dicts (``Receipt.to_dict``), made once; read, don't change




class Reader:
    """Reads ``sys/`` state (and any key, raw) through any ``get(key) -> bytes | None``, memoised
    for its lifetime.

    Execution keeps one per block and starts a new one after a transaction that wrote a key it
    read (``stale``); admission uses one per batch.
    """

    def __init__(self, get: Any) -> None:
        self._get = get
        self._memo: dict[str, Any] = {}  # full state key -> decoded value (or None)
        self._raws: dict[str, bytes | None] = {}
        self._config: dict[str, Any] | None = None

    def value(self, key: str) -> Any:
        full = "sys/" + key
        try:
            return self._memo[full]
        except KeyError:
            raw = self._get(full)
            found = self._memo[full] = None if raw is None else codec.decode_trusted(raw)
            return found

    def raw(self, key: str) -> bytes | None:
        """Any state key, not only ``sys/`` (for checks that read an application's registry)."""
        try:
            return self._raws[key]
        except KeyError:
            found: bytes | None = self._get(key)
            self._raws[key] = found
            return found

    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = {**DEFAULT_CONFIG, **(self.value(CONFIG_KEY) or {})}
        return self._config

    def stale(self, written: list[str]) -> bool:
        """Whether any of ``written`` is a key this reader has read (and may have memoised)."""
        memo, raws = self._memo, self._raws
        for key in written:
            if key in memo or key in raws:
                return True
        return False


class BlockLedger:
    """The governance contract's read of committed transactions and of any contract's state
    while one block executes (``system.LEDGER``): blocks before this one, and this block's state."""

    def __init__(self, executor: Executor, state: BlockState) -> None:
        self._executor = executor
        self._state = state

    def committed_tx(self, tx_id: str) -> dict[str, Any] | None:
        try:
            where = self._executor.store.tx_location(bytes.fromhex(tx_id))
        except ValueError:
            return None
        block = None if where is None else self._executor.store.get_block(where[0])
        return None if block is None or where is None else block.txs[where[1]]["tx"]

    def state_key(self, contract: str, key: str) -> str | None:
        found = self._executor.contract(Reader(self._state.get), contract) if type(contract) is str else None
        if found is None or contract in SYSTEM_CONTRACTS or type(key) is not str or not 0 < len(key) <= 400:
            return None
        return found.state_prefix + key

    def is_builtin(self, name: str) -> bool:
        return name in self._executor.contracts

    def migrate(self, ctx: Context, record: dict[str, Any], archive: dict[str, Any], from_version: str) -> None:
        """Run the version's ``migrate`` (if it has one) in the governance transaction, on the
        contract's own state; a failure undoes what it wrote and fails the proposal."""
        installed = InstalledContract(self._executor.program(record["code_hash"], archive), record)
        if not installed.program.has_migrate:
            return
        run = Context(self._state, installed, ctx.caller, ctx.tx_id, ctx.height, ctx.time_ms,
                      self._executor.suite.hash, writable=True, suite=self._executor.suite.name)
        snapshot = self._state.snapshot()
        try:
            installed.migrate(run, from_version, Reader(self._state.get).config()["contract_max_steps"])
        except (ConsortiaError, LimitExceeded, MemoryError, RecursionError) as exc:
            self._state.revert(snapshot)
            code = getattr(exc, "code", "OUT_OF_MEMORY" if isinstance(exc, MemoryError) else "RECURSION_LIMIT")
            raise Revert(f"migrate() of {record['name']} {record['version']} failed: {code}: "
                         f"{getattr(exc, 'message', '')}", code="MIGRATION_FAILED") from None
        ctx.events.extend(run.events)

    def state_value(self, full_key: str) -> Any:
        raw = self._state.get(full_key)
        return None if raw is None else codec.decode_trusted(raw)


class MaskedReadState(ReadState):
    """Committed state for queries, with the fields masked by governance shown as markers (ADR 0012)."""

    def __init__(self, store: Store, masks: dict[str, dict[str, Any]], suite: CryptoSuite) -> None:
        super().__init__(store)
        self._masks = masks
        self._suite = suite

    def _shown(self, key: str, raw: bytes) -> bytes:
        record = self._masks.get(key)
        if record is None:
            return raw
        masked, _, _ = compute_masked(codec.decode_trusted(raw), record, self._suite.hash, self._suite.hash_name)
        return codec.encode(masked)

    def get(self, key: str) -> bytes | None:
        raw = super().get(key)
        return None if raw is None else self._shown(key, raw)

    def range(self, start: str, end: str, limit: int) -> list[tuple[str, bytes]]:
        return [(k, self._shown(k, v)) for k, v in super().range(start, end, limit)]


class Executor:
    def __init__(self, store: Store, suite: CryptoSuite, chain_id: str, contracts: dict[str, Contract]) -> None:
        self.store = store
        self.suite = suite
        self.chain_id = chain_id
        self.contracts = contracts
        self._certs: _Bounded = _Bounded(50_000)  # sender b64 -> (x509 cert, public key)
        self._members: _Bounded = _Bounded(50_000)  # (sender, ca pem) -> Identity
        # id + signature of transactions whose signature this process checked -> True, or the
        # method entry their arguments were bound to (the same entry at execution needs no second binding)
        self._verified: _Bounded = _Bounded(1_000_000)
        self._lock = threading.Lock()
        self._head: tuple[BlockHeader, str] | None = None
        self._masks: tuple[int, dict[str, dict[str, Any]]] = (-2, {})  # (height, state masks by state key)
        self._programs: _Bounded = _Bounded(256)  # code hash -> Program (members' contracts, ADR 0014)
        self._installed: _Bounded = _Bounded(1024)  # installed record bytes -> InstalledContract

    # -- contracts ---------------------------------------------------------------------

    def contract(self, reader: Reader, name: str) -> Contract | None:
        """A built-in contract, or a member's contract installed by vote, as ``reader`` sees state."""
        found = self.contracts.get(name)
        if found is not None:
            return found
        if type(name) is not str or not 0 < len(name) <= 32 or "/" in name:
            return None
        raw = reader.raw("sys/" + installed_key(name))
        if raw is None:
            return None
        installed = self._installed.get(raw)
        if installed is None:
            record = codec.decode_trusted(raw)
            archive = reader.value(code_key(record["code_hash"]))
            if archive is None:
                raise Fault(f"installed contract {name} has no code {record['code_hash']} on this chain")
            installed = InstalledContract(self.program(record["code_hash"], archive), record)
            with self._lock:
                self._installed.remember(raw, installed)
        return installed

    def program(self, code_hash: str, archive: dict[str, Any]) -> Program:
        """The compiled program of an archive (cached by its hash)."""
        found = self._programs.get(code_hash)
        if found is None:
            found = compile_archive(archive)
            with self._lock:
                self._programs.remember(code_hash, found)
        return found

    def installed_contracts(self) -> list[InstalledContract]:
        """Every member's contract installed on the committed chain, by name."""
        reader = Reader(lambda k: (v.value if (v := self.store.state_read(k)) else None))
        prefix = "sys/" + installed_key("")
        rows = self.store.state_range(prefix, prefix + KEY_END, 10_000, writer=False)
        found: list[InstalledContract] = []
        for key, _ in rows:
            try:
                contract = self.contract(reader, key[len(prefix):])
            except ContractRefused:  # listed nowhere it cannot run; calls are refused CONTRACT_UNAVAILABLE
                continue
            if isinstance(contract, InstalledContract):
                found.append(contract)
        return found

    # -- stateless checks (any thread) -------------------------------------------------

    def sender_cert(self, sender: str) -> tuple[x509.Certificate, bytes, str]:
        """The sender's certificate, raw public key (in the chain suite's form) and organisation id (cached).

        A certificate or key of another suite is refused with ``WRONG_SUITE``.
        """
        found = self._certs.get(sender)
        if found is None:
            try:
                cert = load_der_b64(sender)
                check_suite(self.suite, cert)
                public = public_key_of(self.suite, cert)
                org_id = org_of(cert)
            except CertificateError as exc:
                code = "WRONG_SUITE" if exc.code == "WRONG_SUITE" else "UNKNOWN_IDENTITY"
                raise _reject(code, f"sender: {exc.message}") from None
            found = (cert, public, org_id)
            with self._lock:
                self._certs.remember(sender, found)
        return found

    def verify_signature(self, tx: SignedTx) -> None:
        """Check chain id and signature; remember the tx as verified by this process."""
        if tx.tx["chain"] != self.chain_id:
            raise _reject("WRONG_CHAIN", f"transaction is for chain {tx.tx['chain']!r:.80}, this is {self.chain_id!r}")
        _, public, _ = self.sender_cert(tx.tx["sender"])
        if not self.suite.verify(public, tx.signed_message(), tx.sig):
            raise _reject("BAD_SIGNATURE", "signature does not verify against the sender's certificate")
        with self._lock:
            self._verified.remember(tx.id + tx.sig, True)

    def verify_all(self, txs: list[SignedTx]) -> dict[int, ConsortiaError]:
        """``verify_signature`` of each of ``txs``; the refusals by index. A batch of at least
        ``PARALLEL_VERIFY_MIN`` is verified in chunks on a thread per core (the suites release the GIL)."""
        def chunk(start: int, stop: int) -> dict[int, ConsortiaError]:
            out: dict[int, ConsortiaError] = {}
            for i in range(start, stop):
                try:
                    self.verify_signature(txs[i])
                except ConsortiaError as exc:
                    out[i] = exc
            return out

        if len(txs) < PARALLEL_VERIFY_MIN:
            return chunk(0, len(txs))
        size = -(-len(txs) // VERIFY_THREADS)
        starts = range(0, len(txs), size)
        refused: dict[int, ConsortiaError] = {}
        for found in _verify_pool().map(chunk, starts, [min(s + size, len(txs)) for s in starts]):
            refused.update(found)
        return refused

    # -- stateful checks ---------------------------------------------------------------

    def identity(self, reader: Reader, sender: str, time_ms: int) -> Identity:
        cert, _, org_id = self.sender_cert(sender)
        org = reader.value(org_key(org_id))
        if org is None:
            raise _reject("UNKNOWN_IDENTITY", f"organisation {org_id!r} is not a member of this chain")
        key = (sender, org["ca_cert"])
        member = self._members.get(key)
        if member is None:
            try:
                member = member_identity(self.suite, cert, load_pem(org["ca_cert"]))
            except CertificateError as exc:
                code = "WRONG_SUITE" if exc.code == "WRONG_SUITE" else "UNKNOWN_IDENTITY"
                raise _reject(code, f"sender: {exc.message}") from None
            with self._lock:
                self._members.remember(key, member)
        if not member.not_before_ms <= time_ms <= member.not_after_ms:
            raise _reject("CERT_EXPIRED", f"certificate of {member.id} is not valid at block time")
        if reader.value(revoked_key(member.org, member.fingerprint)) is not None:
            raise _reject("IDENTITY_REVOKED", f"certificate of {member.id} has been revoked")
        if reader.value(frozen_identity_key(member.id)) is not None:
            raise _reject("IDENTITY_FROZEN", f"identity {member.id} is frozen by governance")
        return member

    def check_tx(self, reader: Reader, tx: SignedTx, height: int, time_ms: int,
                 committed: Any) -> tuple[Identity, Contract, dict[str, Any]]:
        """Every check a transaction must pass before it runs; raises ``TxRejected``."""
        body = tx.tx
        max_bytes = reader.config()["max_tx_bytes"]
        if len(tx.raw) > max_bytes:
            raise _reject("TX_TOO_LARGE", f"transaction is {len(tx.raw)} bytes, the limit is {max_bytes}")
        if body["chain"] != self.chain_id:
            raise _reject("WRONG_CHAIN", f"transaction is for chain {body['chain']!r:.80}, this is {self.chain_id!r}")
        if tx.id + tx.sig not in self._verified:  # the id does not cover the signature
            self.verify_signature(tx)
        if committed(tx.id):
            raise _reject("TX_DUPLICATE", f"transaction {tx.id.hex()} is already on the chain")
        if body["not_after_height"] is not None and height > body["not_after_height"]:
            raise _reject("TX_EXPIRED", f"transaction expired at height {body['not_after_height']}")
        if body["not_after_ms"] is not None and time_ms > body["not_after_ms"]:
            raise _reject("TX_EXPIRED", f"transaction expired at {body['not_after_ms']} ms")
        member = self.identity(reader, body["sender"], time_ms)
        if not member.roles & SENDER_ROLES:
            raise _reject("FORBIDDEN_ROLE", f"{member.id} has roles {sorted(member.roles)}; sending needs admin or client")
        try:
            contract = self.contract(reader, body["contract"])
        except ContractRefused as exc:  # installed code that this release's rules no longer accept
            raise _reject("CONTRACT_UNAVAILABLE", f"contract {body['contract']!r:.80} cannot run on this node: "
                                                  f"{exc.message}") from None
        if contract is None:
            raise _reject("UNKNOWN_CONTRACT", f"no contract {body['contract']!r:.80}")
        if body["contract"] not in SYSTEM_CONTRACTS and reader.value(frozen_contract_key(body["contract"])):
            raise _reject("CONTRACT_FROZEN", f"contract {body['contract']!r} is frozen by governance")
        entry = contract.entry(body["method"])
        if entry is None or entry.kind != "method":
            raise _reject("UNKNOWN_METHOD", f"contract {body['contract']!r} has no method {body['method']!r:.80}")
        if isinstance(contract, InstalledContract) and not contract.allowed(body["method"], member.org):
            raise _reject("METHOD_RESTRICTED", f"{body['contract']}.{body['method']} may be called only by "
                                               f"{', '.join(contract.record['access'][body['method']])}")
        checked = tx.id + tx.sig
        if self._verified.get(checked) is entry:  # admission bound these args to this very method
            args = body["args"]
        else:
            try:
                args = bind_args(entry, body["args"])
            except BadArgs as exc:
                raise _reject("BAD_ARGS", exc.message) from None
            if checked in self._verified:
                with self._lock:
                    self._verified.remember(checked, entry)
        hosted = reader.raw(f"hosted/m/{member.id}") is not None  # its real-name record is the onboarding record
        if hosted and body["contract"] not in HOSTED_CONTRACTS:
            raise _reject("NOT_FOR_HOSTED", f"{member.id} is an SME hosted by {member.org}; it acts in its own name in "
                                            f"{', '.join(HOSTED_CONTRACTS)} only")
        if reader.config()["require_real_name"] and body["contract"] not in REAL_NAME_EXEMPT \
                and reader.raw(f"realname/rec/{member.id}") is None and not hosted:
            raise _reject("REAL_NAME_REQUIRED", f"{member.id} has no real-name record; its organisation's admin "
                                                "registers one (consortia realname register)")
        words = reader.config()["sensitive_words"]
        if words:
            found = find_sensitive(args, words)
            if found is not None:
                raise _reject("CONTENT_REFUSED", f"{found[0]}: contains the filtered word {found[1]!r}")
        return member, contract, args

    def admission(self) -> Admission:
        """A checker for one batch of submissions against the latest committed state."""
        return Admission(self)

    # -- execution ---------------------------------------------------------------------

    def apply_tx(self, state: BlockState, tx: SignedTx, time_ms: int, seen: set[bytes],
                 reader: Reader | None = None) -> Receipt:
        """Run one transaction; ``seen`` holds ids already committed or earlier in this block;
        ``reader`` reads ``sys/`` state as it stands before this transaction."""
        tx_id = tx.id.hex()
        reader = reader or Reader(state.get)
        try:
            member, contract, args = self.check_tx(reader, tx, state.height, time_ms, seen.__contains__)
        except TxRejected as exc:
            return Receipt.rejected(tx_id, exc.code, exc.message)
        entry = contract.entry(tx.tx["method"])
        assert entry is not None  # checked by check_tx
        snapshot = state.snapshot()
        ctx = Context(state, contract, member, tx.id, state.height, time_ms, self.suite.hash, writable=True,
                      suite=self.suite.name)
        try:
            if isinstance(contract, InstalledContract):
                result = contract.call(ctx, entry.name, args, reader.config()["contract_max_steps"])
            else:
                result = entry.fn(contract, ctx, **args)
            codec.check_value(result, "result")
        except Revert as exc:
            state.revert(snapshot)
            return Receipt.reverted(tx_id, exc.code, exc.message)
        except ConsortiaError as exc:
            state.revert(snapshot)
            return Receipt.reverted(tx_id, exc.code, exc.message)
        except LimitExceeded as exc:  # a member's contract ran out of steps, depth or room
            state.revert(snapshot)
            return Receipt.reverted(tx_id, exc.code, exc.message)
        except MemoryError:
            state.revert(snapshot)
            return Receipt.reverted(tx_id, "OUT_OF_MEMORY", "the contract ran out of memory")
        except RecursionError:
            state.revert(snapshot)
            return Receipt.reverted(tx_id, "RECURSION_LIMIT", "the contract recursed too deeply")
        except Exception as exc:  # noqa: BLE001 - a contract bug must not stop the chain
            state.revert(snapshot)
            return Receipt.reverted(tx_id, "CONTRACT_ERROR", f"contract raised {type(exc).__name__}")
        return Receipt.ok(tx_id, tuple(ctx.events), result)

    def apply_block(self, txs: list[SignedTx], time_ms: int, proposer: str,
                    meta: dict[str, bytes] | None = None) -> CommittedBlock:
        """Execute ``txs`` as the next block and commit it (and ``meta``) atomically."""
        if self._head is None:
            self._head = self.store.get_head()
            if self._head is None:
                raise Fault("cannot apply a block before genesis")
        prev, prev_hash = self._head
        time_ms = max(time_ms, prev.time_ms)
        state = BlockState(self.store, prev.height + 1)
        receipts: list[Receipt] = []
        seen = self.store.committed_among([t.id for t in txs], writer=True)
        ledger = LEDGER.set(BlockLedger(self, state))
        reader = Reader(state.get)  # sys/ and registry reads, kept until a transaction writes one of them
        try:
            for idx, tx in enumerate(txs):
                state.idx = idx
                mark = state.snapshot()
                receipt = self.apply_tx(state, tx, time_ms, seen, reader)
                receipts.append(receipt)
                if receipt.status != "rejected":  # a rejected copy (say, a forged one) does not use up the id
                    seen.add(tx.id)
                    if reader.stale(state.written_since(mark)):
                        reader = Reader(state.get)
                with self._lock:
                    self._verified.pop(tx.id + tx.sig, None)
        finally:
            LEDGER.reset(ledger)
        return self._commit(state, prev, prev_hash, txs, receipts, time_ms, proposer, meta)

    def _commit(self, state: BlockState, prev: BlockHeader | None, prev_hash: str, txs: list[SignedTx],
                receipts: list[Receipt], time_ms: int, proposer: str,
                meta: dict[str, bytes] | None = None) -> CommittedBlock:
        writes = state.writes()
        tx_ids = [t.id for t in txs]
        executed = [(t.id, i) for i, (t, r) in enumerate(zip(txs, receipts, strict=True)) if r.status != "rejected"]
        views = [r.to_dict() for r in receipts]
        receipt_leaves = [compute_receipt_leaf(v) for v in views]
        header = BlockHeader(
            chain=self.chain_id,
            height=state.height,
            prev_hash=prev_hash,
            time_ms=time_ms,
            tx_root=compute_tx_root(self.suite, tx_ids),
            receipts_root=compute_receipts_root(self.suite, receipts, receipt_leaves),
            state_root=self.compute_state_root(prev.state_root if prev else ZERO_HASH, writes),
            tx_count=len(txs),
            proposer=proposer,
            suite=self.suite.name,
        )
        block_hash = header.hash(self.suite)
        try:
            self.store.commit_block(header, block_hash, encode_txs(txs), executed, encode_list(receipt_leaves),
                                    writes, meta)
        except BaseException:
            self._head = None
            raise
        self._head = (header, block_hash)
        return CommittedBlock(header, block_hash, txs, receipts, views)

    def compute_state_root(self, prev_root: str, writes: dict[str, Versioned | None]) -> str:
        """Chain the previous root with this block's sorted write set."""
        write_set = [[k, None if v is None else v.value.decode()] for k, v in sorted(writes.items())]
        digest = self.suite.hash(codec.dumps_unchecked(write_set))
        return self.suite.hash(STATE_DOMAIN + bytes.fromhex(prev_root) + digest).hex()

    def apply_genesis(self, genesis: dict[str, Any]) -> CommittedBlock:
        """Write block 0: the organisations and config of a checked genesis document."""
        state = BlockState(self.store, 0)
        for org in genesis["orgs"]:
            state.put("sys/" + org_key(org["id"]), codec.encode(org))
        state.put("sys/" + CONFIG_KEY, codec.encode(genesis["config"]))
        meta = {"genesis": codec.encode(genesis), "chain_id": self.chain_id.encode()}
        return self._commit(state, None, ZERO_HASH, [], [], genesis["time_ms"], "genesis", meta)

    def state_masks(self, height: int) -> dict[str, dict[str, Any]]:
        """Mask records of state objects by full state key, as of ``height`` (cached per height)."""
        cached = self._masks
        if cached[0] != height:
            prefix = "sys/" + mask_state_key("")
            rows = self.store.state_range(prefix, prefix + KEY_END, 100_000, writer=False)
            cached = (height, {k[len(prefix):]: codec.decode_trusted(v.value) for k, v in rows})
            self._masks = cached
        return cached[1]

    def query(self, contract_name: str, method_name: str, args: Any, caller: Identity | None, *,
              clear: bool = False) -> Any:
        """Run a ``@query`` method against committed state; fields masked by governance show as
        markers unless ``clear`` (a regulator's read, which the API audits)."""
        from consortia.errors import NotFound

        reader = Reader(lambda k: (v.value if (v := self.store.state_read(k)) else None))
        try:
            contract = self.contract(reader, contract_name)
        except ContractRefused as exc:
            raise Revert(f"contract {contract_name!r:.80} cannot run on this node: {exc.message}",
                         code="CONTRACT_UNAVAILABLE") from None
        if contract is None:
            raise NotFound(f"no contract {contract_name!r:.80}", code="UNKNOWN_CONTRACT")
        entry = contract.entry(method_name)
        if entry is None or entry.kind != "query":
            raise NotFound(f"contract {contract_name!r} has no query {method_name!r}", code="UNKNOWN_METHOD")
        bound = bind_args(entry, args)
        top = self.store.height()
        header = self.store.get_header(top)
        masks = {} if clear else self.state_masks(top)
        state = MaskedReadState(self.store, masks, self.suite) if masks else ReadState(self.store)
        ctx = Context(state, contract, caller, b"", top, header.time_ms if header else 0,
                      self.suite.hash, writable=False, suite=self.suite.name)
        if isinstance(contract, InstalledContract):
            try:
                result = contract.call(ctx, method_name, bound, reader.config()["contract_max_steps"])
            except LimitExceeded as exc:
                raise Revert(exc.message, code=exc.code) from None
            except (MemoryError, RecursionError) as exc:
                raise Revert(f"the query ran out of {'memory' if isinstance(exc, MemoryError) else 'depth'}",
                             code="OUT_OF_MEMORY" if isinstance(exc, MemoryError) else "RECURSION_LIMIT") from None
        else:
            result = entry.fn(contract, ctx, **bound)
        codec.check_value(result, "result")
        return result


class Admission:
    """Checks submissions against committed state so callers hear of bad input at once.

    One per batch: the latest header and ``sys/`` values are read once for the batch.
    """

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        store = executor.store
        head = store.get_head()
        self.height = (head[0].height if head else -1) + 1
        self.time_ms = head[0].time_ms if head else 0
        self.reader = Reader(lambda k: (v.value if (v := store.state_read(k)) else None))

    def check_all(self, txs: list[SignedTx]) -> None:
        """Check a batch; raises for the first bad transaction (its index in ``details``).

        The signatures are verified first (a large batch's on every core); the checks against
        state then run in order."""
        committed = self.executor.store.committed_among([t.id for t in txs])
        refused = self.executor.verify_all(txs)
        for i, tx in enumerate(txs):
            try:
                if i in refused:
                    raise refused[i]
                self.executor.check_tx(self.reader, tx, self.height, self.time_ms, committed.__contains__)
            except ConsortiaError as exc:
                raise type(exc)(f"transaction {i}: {exc.message}", code=exc.code, index=i, **exc.details) from None


PARALLEL_VERIFY_MIN = 64  # a smaller batch is verified on the calling thread
VERIFY_THREADS = max(2, os.cpu_count() or 2)


@functools.cache
def _verify_pool() -> ThreadPoolExecutor:
    """One process-wide pool, a thread per core, for the signature checks of large batches."""
    return ThreadPoolExecutor(max_workers=VERIFY_THREADS, thread_name_prefix="verify")

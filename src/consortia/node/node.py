"""One node: block store and state, executor, orderer, and the admission queue."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.x509.oid import NameOID

from consortia.consensus.base import Batch
from consortia.consensus.jetstream import JetStreamOrderer
from consortia.consensus.solo import SoloOrderer
from consortia.contracts.kv import KeyValue
from consortia.contracts.realname import RealName
from consortia.contracts.sdk import Contract
from consortia.contracts.system import Governance, Membership
from consortia.crypto.suite import KeyUnwrapper, get_suite
from consortia.errors import BadInput, ConsortiaError, Fault, TxRejected, Unavailable
from consortia.execution.executor import CommittedBlock, Executor, Reader
from consortia.execution.genesis import check_genesis
from consortia.identity.wallet import Wallet
from consortia.ledger.records import SignedTx
from consortia.ledger.store import Store
from consortia.node.alerts import Alerts, rederive
from consortia.node.audit import ADMIN_CONTRACTS, AuditLog
from consortia.node.finality import Finality, sign_attestation
from consortia.node.metrics import NodeMetrics
from consortia.node.realname import ClearStore
from consortia.types import codec

log = logging.getLogger(__name__)

MAX_BATCH = 5_000
MAX_WIRE_TX_BYTES = 16 * 1024 * 1024  # transport ceiling; the chain's own limit is its config
MAX_PENDING = 200_000


def default_contracts() -> dict[str, Contract]:
    """The built-in contracts: the system ones, kv, and every industry app."""
    from consortia.apps.charity import Charity
    from consortia.apps.evidence import Evidence
    from consortia.apps.hosted import HostedMembers
    from consortia.apps.invoice.contract import Invoices
    from consortia.apps.scf import SupplyChainFinance
    from consortia.apps.trace import Traceability
    from consortia.apps.trade import TradeFinance
    from consortia.apps.waybill import Waybills
    contracts: list[Contract] = [Governance(), Membership(), KeyValue(), RealName(), SupplyChainFinance(), Traceability(),
                                 Evidence(), Invoices(), TradeFinance(), HostedMembers(), Waybills(), Charity()]
    return {c.name: c for c in contracts}


@dataclass(frozen=True, slots=True)
class Committed:
    """What a waiting submitter receives: the receipt and where the tx landed."""

    height: int
    index: int
    receipt: dict[str, Any]


class Ticket:
    """What one submission waits on: its transactions' results as they commit, and one future
    that completes when all of them have (a request waits once, not once per transaction).

    ``each`` holds a future per transaction for callers that follow them one by one."""

    __slots__ = ("tx_ids", "results", "remaining", "done", "started", "each")

    def __init__(self, tx_ids: list[bytes], started: float, each: bool) -> None:
        self.tx_ids = tx_ids
        self.results: list[Committed | None] = [None] * len(tx_ids)
        self.remaining = len(tx_ids)
        self.done: Future[None] = Future()
        self.started = started
        self.each: list[Future[Committed]] | None = [Future() for _ in tx_ids] if each else None

    def settle(self, pos: int, committed: Committed) -> bool:
        """Record one result (on the committing thread); True when it was the last one."""
        if self.results[pos] is not None:
            return False
        self.results[pos] = committed
        if self.each is not None and not self.each[pos].done():  # a caller may have cancelled its future
            self.each[pos].set_result(committed)
        self.remaining -= 1
        if self.remaining:
            return False
        if not self.done.done():
            self.done.set_result(None)
        return True

    def fail(self, exc: BaseException) -> None:
        for future in [self.done, *(self.each or ())]:
            if not future.done():
                future.set_exception(exc)


class Node:
    """One organisation's node.

    Embedded (``nats=None``): an in-process orderer; committed means final. Replicated
    (``nats=[urls]``): transactions are ordered on a JetStream cluster shared with the other
    organisations' nodes, each node executes every block itself, signs the header it computed
    with ``node_wallet`` and publishes that attestation; a block is final once a quorum of
    organisations attested the same header.
    """

    def __init__(self, genesis: dict[str, Any], data_dir: Path, *, name: str = "node",
                 contracts: dict[str, Contract] | None = None, nats: list[str] | None = None,
                 node_wallet: Wallet | None = None, replicas: int = 3, quorum: int | None = None,
                 peers: list[str] | None = None, webhooks: list[str] | None = None,
                 sealing_keys: dict[str, KeyUnwrapper] | None = None) -> None:
        self.genesis = check_genesis(genesis)
        self.chain_id: str = self.genesis["chain_id"]
        self.suite = get_suite(self.genesis["suite"])
        self.name = name
        from consortia.node.filemodes import secure_data_dir  # 0700 / 0600; refuses exposed secrets (issue 19)

        secure_data_dir(Path(data_dir))
        self.store = Store(Path(data_dir) / "chain.db")
        self.executor = Executor(self.store, self.suite, self.chain_id, contracts or default_contracts())
        self.metrics = NodeMetrics()
        self._waiters: dict[bytes, list[tuple[Ticket, int]]] = {}  # tx id -> (ticket, position) of each submission
        self._lock = threading.Lock()
        self._listeners: list[Callable[[CommittedBlock], None]] = []
        try:
            self._open_chain()
        except BaseException:
            self.store.close()
            raise
        self.node_wallet = node_wallet
        # organisation -> its key for payloads sealed to it (ADR 0013): a network node holds its own
        # organisation's; a one-node local consortium every organisation's
        self.sealing_keys = dict(sealing_keys or {})
        self.peers = list(peers or [])
        self.mode = "jetstream" if nats else "solo"
        self.orderer: SoloOrderer | JetStreamOrderer
        if nats:
            config = self._config()
            from consortia.node.tls import nats_context_from_env

            self.orderer = JetStreamOrderer(
                nats, self.chain_id, node_wallet.org if node_wallet else name, next_height=self.store.height() + 1,
                last_seq=int(self.store.get_meta("ordering_seq") or b"0"), parse=self.parse,
                max_txs=self.genesis["config"]["block_max_txs"], timeout_ms=config["block_timeout_ms"],
                replicas=replicas, on_attestation=self._on_attestation, on_gap=self._catch_up,
                tls=nats_context_from_env(),  # CONSORTIA_TLS_* (consortia up --tls-*), ADR 0027
                verify=self.executor.verify_signature)  # signatures checked as blocks arrive (jetstream.py)
        else:
            self.orderer = SoloOrderer(proposer=name)
        self.alerts = self._open_alerts(Path(data_dir) / "alerts.db", webhooks)
        self.finality = Finality(self.store, self.executor, on_divergence=self._halt, quorum=quorum,
                                 on_dissent=self.alerts.node_disagrees)
        self.audit = AuditLog(Path(data_dir) / "audit.db", self.suite.hash)
        self.realnames = ClearStore(Path(data_dir) / "realname.db")
        self._unpublished: list[dict[str, Any]] = []
        self._apply_config()
        self.started_at = 0.0

    def _open_alerts(self, path: Path, webhooks: list[str] | None) -> Alerts:
        """Open the alert record and derive what a crash left underived (blocks committed after the
        last recorded height). A record kept before heights were recorded counts as up to date;
        a missing one is rebuilt from every block."""
        legacy = path.exists() and path.stat().st_size > 0  # secure_data_dir may have made it, empty
        config = self.genesis["config"]  # the spike thresholds as of genesis; the record follows later votes
        alerts = Alerts(path, webhooks=webhooks, spike_min=config["alert_spike_min"],
                        spike_factor=config["alert_spike_factor"],
                        derived_from=self.store.height() if legacy else -1)
        try:
            if (count := rederive(alerts, self.store, self._sender_org)) > 0:
                log.warning("derived the alerts of %d block(s) committed before a restart", count)
        except BaseException:
            alerts.close()
            raise
        return alerts

    def _config(self) -> dict[str, Any]:
        return Reader(lambda k: (v.value if (v := self.store.state_read(k)) else None)).config()

    def _apply_config(self) -> None:
        """Follow governance after every block. A replicated node keeps the genesis block size:
        it assembles the next block while executing this one, so a change could take effect at
        different blocks on different nodes (see ADR 0008); the cut timeout is safe to follow."""
        config = self._config()
        if self.mode == "solo":
            self.orderer.max_txs = config["block_max_txs"]
        self.orderer.timeout_ms = config["block_timeout_ms"]

    def _open_chain(self) -> None:
        stored = self.store.get_meta("genesis")
        if stored is None:
            block = self.executor.apply_genesis(self.genesis)
            log.info("initialised chain %s, genesis %s", self.chain_id, block.hash)
        elif check_genesis(codec.decode(stored)) != self.genesis:
            raise Fault(f"data directory {self.store.path.parent} belongs to a different genesis")
        self.metrics.height.set(self.store.height())

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.started_at = time.time()
        self.orderer.start(self._deliver)

    def stop(self) -> None:
        self.orderer.stop()
        with self._lock:
            waiters, self._waiters = self._waiters, {}
        for waiting in waiters.values():
            for ticket, _ in waiting:
                ticket.fail(Unavailable("node stopped before the transaction committed"))
        self.store.close()
        self.audit.close()
        self.alerts.close()
        self.realnames.close()

    @property
    def healthy(self) -> bool:
        return self.orderer.failure is None and self.finality.diverged is None

    def final_height(self) -> int:
        return self.store.height() if self.mode == "solo" else self.finality.final_height()

    def _halt(self, reason: str) -> None:
        """Stop committing: this node computed something else than a quorum of the consortium."""
        self.metrics.diverged.set(1)
        self.orderer.failure = Fault(f"diverged from the consortium: {reason}", code="DIVERGED")

    def add_listener(self, listener: Callable[[CommittedBlock], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[CommittedBlock], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- admission ---------------------------------------------------------------------

    def parse(self, wire: Any, *, checked: bool = False) -> SignedTx:
        return SignedTx.from_wire(self.suite, wire, MAX_WIRE_TX_BYTES, checked=checked)

    def submit(self, wires: list[Any]) -> list[tuple[bytes, Future[Committed]]]:
        """Check every transaction, then queue them all; any bad one refuses the whole batch.
        Returns each transaction's id and a future of its commit."""
        ticket = self._enqueue(self._admit(wires), each=True)
        assert ticket.each is not None
        return list(zip(ticket.tx_ids, ticket.each, strict=True))

    def submit_ticket(self, wires: list[Any], *, checked: bool = False) -> Ticket:
        """``submit``, with one wait for the whole batch (``Ticket.done``) instead of a future each.
        ``checked``: the wires came from ``codec.decode`` (the REST API), already in the data model."""
        return self._enqueue(self._admit(wires, checked), each=False)

    def _admit(self, wires: list[Any], checked: bool = False) -> list[SignedTx]:
        if not self.healthy:
            raise Unavailable("node has stopped committing blocks; see its log", code="NODE_FAILED")
        if type(wires) is not list or not wires:
            raise BadInput("expected a non-empty list of signed transactions", code="BAD_TX")
        if len(wires) > MAX_BATCH:
            raise BadInput(f"at most {MAX_BATCH} transactions per request, got {len(wires)}", code="TOO_LARGE")
        parsed: list[SignedTx] = []
        ids: set[bytes] = set()
        try:
            for i, wire in enumerate(wires):
                try:
                    tx = self.parse(wire, checked=checked)
                except ConsortiaError as exc:
                    raise type(exc)(f"transaction {i}: {exc.message}", code=exc.code, index=i, **exc.details) from None
                if tx.id in ids:
                    raise TxRejected(f"transaction {i}: appears twice in this batch", code="TX_DUPLICATE", index=i)
                ids.add(tx.id)
                parsed.append(tx)
            self.executor.admission().check_all(parsed)
        except ConsortiaError as exc:
            self.metrics.rejections.labels(exc.code).inc()
            if exc.code == "CONTENT_REFUSED" and isinstance(exc.details.get("index"), int):
                self._audit_refused(parsed[exc.details["index"]], exc.message)
            raise
        return parsed

    def _enqueue(self, parsed: list[SignedTx], *, each: bool) -> Ticket:
        ticket = Ticket([tx.id for tx in parsed], time.monotonic(), each)
        fresh: list[SignedTx] = []
        with self._lock:
            if len(self._waiters) + len(parsed) > MAX_PENDING:
                raise Unavailable("too many transactions waiting; retry shortly", code="MEMPOOL_FULL")
            for pos, tx in enumerate(parsed):
                waiting = self._waiters.get(tx.id)
                if waiting is None:  # not already waiting for another submission: order it
                    self._waiters[tx.id] = [(ticket, pos)]
                    fresh.append(tx)
                else:
                    waiting.append((ticket, pos))
        if fresh:
            try:
                self.orderer.submit(fresh)
            except BaseException:
                with self._lock:
                    for tx in fresh:
                        self._waiters.pop(tx.id, None)
                raise
        self.metrics.pending.set(self.orderer.pending())
        return ticket

    # -- commit ------------------------------------------------------------------------

    def _deliver(self, batch: Batch) -> None:
        if self.finality.diverged is not None:
            raise Fault(f"not committing past a divergence: {self.finality.diverged}", code="DIVERGED")
        started = time.perf_counter()
        block = self.executor.apply_block(batch.txs, batch.time_ms, batch.proposer,
                                          {"ordering_seq": str(batch.seq).encode()})
        self.metrics.block_seconds.observe(time.perf_counter() - started)
        self.metrics.blocks.inc()
        self.metrics.height.set(block.header.height)
        now = time.monotonic()
        with self._lock:
            done = [self._waiters.pop(tx.id, None) for tx in block.txs]
        statuses: dict[str, int] = {}
        for i, (waiting, view) in enumerate(zip(done, block.views, strict=True)):
            statuses[view["status"]] = statuses.get(view["status"], 0) + 1
            if waiting is not None:
                committed = Committed(block.header.height, i, view)
                for ticket, pos in waiting:
                    if ticket.settle(pos, committed):
                        self.metrics.commit_latency.observe(now - ticket.started)
        for status, count in statuses.items():
            self.metrics.txs.labels(status).inc(count)
        self.metrics.pending.set(self.orderer.pending())
        self._apply_config()
        self._audit_admin_actions(block)
        self.alerts.on_block(block.header.height, block.header.time_ms, [t.tx for t in block.txs],
                             block.views, self._sender_org)
        self._attest(block)
        for listener in list(self._listeners):
            try:
                listener(block)
            except Exception:  # noqa: BLE001 - a listener must not stop the chain
                log.exception("block listener failed")

    # -- audit -------------------------------------------------------------------------

    def _audit_admin_actions(self, block: CommittedBlock) -> None:
        """Log governance, membership and party registrations, whatever their outcome, and every
        transaction the content filter refused (with why)."""
        for tx, receipt in zip(block.txs, block.receipts, strict=True):
            contract, method = tx.tx["contract"], tx.tx["method"]
            refused = receipt.code == "CONTENT_REFUSED"
            if contract not in ADMIN_CONTRACTS and method != "register_party" and not refused:
                continue
            try:
                cert, _, org = self.executor.sender_cert(tx.tx["sender"])
                names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
                actor = f"{org}/{names[0].value!s}" if names else org
            except ConsortiaError:
                actor, org = "unknown", "unknown"
            self.audit.append(time_ms=block.header.time_ms, kind="content-refused" if refused else "admin-action",
                              actor=actor, org=org,
                              action=f"{contract}.{method}",
                              detail={"tx_id": receipt.tx_id, "height": block.header.height, "status": receipt.status,
                                      "code": receipt.code, "args": tx.tx["args"],
                                      **({"reason": receipt.message} if refused else {})})

    def _audit_refused(self, tx: SignedTx, reason: str) -> None:
        """What the content filter refused at admission, and why (the transaction never ran)."""
        org = self._sender_org(tx.tx)
        self.audit.append(time_ms=int(time.time() * 1000), kind="content-refused", actor=org, org=org,
                          action=f"{tx.tx['contract']}.{tx.tx['method']}",
                          detail={"tx_id": tx.id.hex(), "reason": reason, "args": tx.tx["args"]})

    def _sender_org(self, tx: dict[str, Any]) -> str:
        try:
            return self.executor.sender_cert(tx["sender"])[2]
        except ConsortiaError:
            return "unknown"

    def is_regulator(self, org: str) -> bool:
        raw = self.store.state_read(f"sys/org/{org}")
        return raw is not None and codec.decode(raw.value).get("kind") == "regulator"

    def audit_read(self, caller: Any, action: str, detail: dict[str, Any]) -> None:
        """Log a read by a regulator (reads by anyone else are not logged)."""
        if caller is not None and self.is_regulator(caller.org):
            self.audit.append(time_ms=int(time.time() * 1000), kind="regulator-read", actor=caller.id,
                              org=caller.org, action=action, detail=detail)

    # -- attestations ------------------------------------------------------------------

    def _attest(self, block: CommittedBlock) -> None:
        """Sign what we computed, keep it, publish it; then compare with what others attested."""
        if self.node_wallet is not None:
            attestation = sign_attestation(self.node_wallet, self.chain_id, block.header, block.hash)
            self.store.add_attestation(block.header.height, self.node_wallet.org, block.hash,
                                       codec.encode(attestation), own=True)
            if isinstance(self.orderer, JetStreamOrderer):
                self._unpublished.append(attestation)
                try:
                    while self._unpublished:
                        self.orderer.publish_attestation(self._unpublished[0])
                        self._unpublished.pop(0)
                except Unavailable as exc:
                    log.warning("attestation for height %d not published yet: %s", block.header.height, exc)
        self.finality.check(block.header.height)
        self.metrics.final_height.set(self.final_height())

    def _catch_up(self) -> tuple[int, int]:
        """Copy what the stream no longer holds from peers; (next height, stream position)."""
        from consortia.node.catchup import catch_up

        seq = catch_up(self.executor, self.finality, self.peers, wallet=self.node_wallet)
        self.metrics.height.set(self.store.height())
        return self.store.height() + 1, seq

    def _on_attestation(self, body: dict[str, Any]) -> None:
        self.finality.receive(body)

    # -- reads -------------------------------------------------------------------------

    def query(self, contract: str, method: str, args: Any, caller: Any = None) -> Any:
        return self.executor.query(contract, method, args, caller)

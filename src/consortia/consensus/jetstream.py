"""Ordering on a NATS JetStream cluster (see docs/adr/0008-ordering-on-jetstream.md).

Every node publishes the transactions it admitted to one replicated stream; JetStream's RAFT
gives every message a stream sequence that all nodes read identically. Blocks are cut from the
stream alone, so every node derives the same blocks:

- messages are taken in stream order; a block closes after the message that brings it to
  ``max_txs`` transactions or more, or at the first ``cut`` message for its height that
  arrives while it holds transactions (any node posts one when its timer for the open block
  runs out; later ones for the same height are ignored);
- a block's time is the stream timestamp of its closing message (never before the previous
  block's), its ``seq`` the stream sequence of that message: a node resumes after it.

Attestations (signed headers) travel on a second stream and are handed to the node as they come,
on a thread of their own so that storing them never holds up the transactions.

Every node verifies every transaction it executes. A node verifies the signatures of a stream
message's transactions on a small pool as the message arrives (``verify``), so that the
committer, which executes one block at a time, finds them checked; a message this node
published itself, byte for byte, reuses the transactions it parsed and verified at admission.
The executor checks a signature itself whenever it finds it unverified, so this only moves work.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import nats
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api
from nats.js.errors import APIError, NoStreamResponseError

from consortia.consensus.base import Batch, Deliver
from consortia.errors import Unavailable
from consortia.ledger.records import SignedTx
from consortia.types import codec

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 10.0
# How long a publish keeps retrying while the stream has no leader. After the whole cluster
# restarts on a busy host, the servers can take well over 10 s to recover the stream and elect.
ELECTION_WAIT_S = 45.0
# Transactions per signature-checking task, and tasks at once (the verifier releases the GIL).
VERIFY_CHUNK = 128
VERIFY_THREADS = 2
# A batch goes to the stream in messages of about this size at most (NATS refuses a message over
# the servers' max_payload, 1 MiB by default); the rest of max_payload is left for the envelope.
MESSAGE_TARGET_BYTES = 512 * 1024
MESSAGE_HEADROOM_BYTES = 16 * 1024
# Own published messages remembered until they come back from the stream.
OWN_MESSAGES_KEPT = 1024
# How long a stopping node keeps trying to publish its last attestations.
ATTEST_FLUSH_S = 5.0


def stream_names(chain_id: str) -> tuple[str, str]:
    safe = chain_id.upper().replace(".", "_").replace("-", "_")
    return f"CONSORTIA_{safe}_TX", f"CONSORTIA_{safe}_ATTEST"


def subjects(chain_id: str) -> tuple[str, str]:
    return f"consortia.{chain_id}.tx", f"consortia.{chain_id}.attest"


class Parse(Protocol):
    """Parse one signed transaction off the wire (``checked``: it came out of ``codec.decode``)."""

    def __call__(self, wire: Any, *, checked: bool = False) -> SignedTx: ...


@dataclass
class OpenBlock:
    """The block being assembled from the stream."""

    height: int
    txs: list[SignedTx] = field(default_factory=list)
    opened_at: float = 0.0  # local monotonic time the first transaction arrived
    cut_requested: bool = False
    retry_at: float = 0.0  # after a failed marker, when to try again
    checks: list[Future[None]] = field(default_factory=list)  # signature checks still running


class JetStreamOrderer:
    """The Orderer interface over a JetStream cluster; one per node."""

    def __init__(self, servers: list[str], chain_id: str, org: str, *, next_height: int, last_seq: int,
                 parse: Parse, max_txs: int = 500, timeout_ms: int = 50, replicas: int = 3,
                 on_attestation: Callable[[dict[str, Any]], None] | None = None,
                 on_gap: Callable[[], tuple[int, int]] | None = None, tls: ssl.SSLContext | None = None,
                 verify: Callable[[SignedTx], None] | None = None) -> None:
        self.servers = servers
        self.tls = tls  # present a client certificate to NATS and verify its servers (ADR 0027)
        self.chain_id = chain_id
        self.org = org
        self.max_txs = max_txs
        self.timeout_ms = timeout_ms
        self.replicas = replicas
        self._parse = parse
        self._on_attestation = on_attestation
        self._on_gap = on_gap
        self._verify = verify  # checks one signature (and remembers it); raises if it does not verify
        self._verifier = ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="verify") if verify else None
        self._own: OrderedDict[str, tuple[bytes, list[SignedTx]]] = OrderedDict()  # msg id -> payload, txs
        self._own_attestations: OrderedDict[str, bytes] = OrderedDict()  # msg id -> payload we published
        self._own_lock = threading.Lock()
        self._attestations: queue.Queue[bytes | None] = queue.Queue()
        self._attesting: set[Future[None]] = set()  # our attestations being published
        self._tasks: set[asyncio.Future[None]] = set()  # cuts being posted
        self._wake = asyncio.Event()  # set to stop
        self._open = OpenBlock(next_height)
        self._last_seq = last_seq
        self._last_time_ms = 0
        self._blocks: queue.Queue[tuple[Batch, list[Future[None]]] | None] = queue.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._nc: Any = None
        self._js: Any = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.failure: BaseException | None = None
        self.connected = False
        self.tx_stream, self.attest_stream = stream_names(chain_id)
        self.tx_subject, self.attest_subject = subjects(chain_id)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, deliver: Deliver) -> None:
        self._threads = [threading.Thread(target=self._run_loop, name="jetstream", daemon=True),
                         threading.Thread(target=self._commit_loop, args=(deliver,), name="committer", daemon=True),
                         threading.Thread(target=self._attestation_loop, name="attestations", daemon=True)]
        for thread in self._threads:
            thread.start()
        if not self._ready.wait(60):
            raise Unavailable(f"cannot reach the NATS cluster at {', '.join(self.servers)}", code="ORDERER_UNREACHABLE")
        if self.failure is not None:
            raise Unavailable(f"ordering service failed at start: {self.failure}", code="ORDERER_UNREACHABLE")

    def stop(self) -> None:
        self._stopping.set()
        self._blocks.put(None)
        self._attestations.put(None)
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop closed meanwhile
                pass
        for thread in self._threads:
            thread.join(timeout=30)
        if self._verifier is not None:
            self._verifier.shutdown(wait=True, cancel_futures=True)

    def pending(self) -> int:
        return len(self._open.txs) + self._blocks.qsize()

    # -- the asyncio side ----------------------------------------------------------------

    def _run_loop(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - recorded; the node reports it
            log.exception("ordering loop failed")
            self.failure = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        self._nc = await nats.connect(self.servers, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
                                      connect_timeout=5, allow_reconnect=True, **({"tls": self.tls} if self.tls else {}),
                                      disconnected_cb=self._disconnected, reconnected_cb=self._reconnected)
        self.connected = True
        self._js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT_S)
        await self._ensure_streams()
        info = await self._js.stream_info(self.tx_stream)
        if info.state.first_seq > self._last_seq + 1 and self._on_gap is not None:
            # The stream no longer holds what this node missed: copy it from other nodes first.
            log.warning("the stream starts at %d but this node resumes at %d: catching up from peers",
                        info.state.first_seq, self._last_seq + 1)
            next_height, seq = await asyncio.get_running_loop().run_in_executor(None, self._on_gap)
            self._last_seq = max(seq, info.state.first_seq - 1)
            self._open = OpenBlock(next_height)
        start = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self._last_seq + 1)
        await self._js.subscribe(self.tx_subject, cb=self._on_tx_message, ordered_consumer=True, config=start,
                                 idle_heartbeat=2.0)
        if self._on_attestation is not None:
            await self._js.subscribe(self.attest_subject, cb=self._on_attest_message, ordered_consumer=True,
                                     config=api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL),
                                     idle_heartbeat=2.0)
        self._ready.set()
        while not self._stopping.is_set():  # cuts run on timers (_cut_timer); this only waits to stop
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), 1.0)
            except TimeoutError:
                pass
        with self._own_lock:
            attesting = list(self._attesting)
        if pending := [asyncio.wrap_future(f) for f in attesting if not f.done()]:
            await asyncio.wait(pending, timeout=ATTEST_FLUSH_S + 1)  # our attestations, published before we go
        await self._nc.drain()

    async def _disconnected(self) -> None:
        self.connected = False
        log.warning("disconnected from NATS; reconnecting")

    async def _reconnected(self) -> None:
        self.connected = True
        log.warning("reconnected to NATS at %s", self._nc.connected_url.netloc if self._nc else "?")

    async def _ensure_streams(self) -> None:
        for name, subject, retention in ((self.tx_stream, self.tx_subject, 7 * 24 * 3600),
                                         (self.attest_stream, self.attest_subject, 30 * 24 * 3600)):
            config = api.StreamConfig(name=name, subjects=[subject], num_replicas=self.replicas,
                                      storage=api.StorageType.FILE, duplicate_window=120, max_age=retention)
            for attempt in range(60):
                try:
                    await self._js.add_stream(config)
                    break
                except APIError as exc:
                    if "already in use" in str(exc) or getattr(exc, "err_code", 0) == 10058:
                        break
                    if attempt == 59:
                        raise
                except (NatsTimeout, NoRespondersError, NoStreamResponseError):
                    if attempt == 59:
                        raise
                await asyncio.sleep(0.5)

    async def _on_tx_message(self, msg: Any) -> None:
        seq = int(msg.metadata.sequence.stream)
        if seq <= self._last_seq:
            return
        stamp_ms = int(msg.metadata.timestamp.timestamp() * 1000)
        block = self._open
        body, txs = self._read(msg, seq)
        if txs is not None:
            block.txs.extend(txs)
            self._check_signatures(block, txs if body is not None else [])
            if block.txs and not block.opened_at:
                block.opened_at = time.monotonic()
                self._arm_cut_timer(block, self.timeout_ms / 1000)
            if len(block.txs) >= self.max_txs:
                self._cut(seq, stamp_ms, "count")
                return
        elif type(body) is dict and body.get("t") == "cut" and body.get("height") == block.height and block.txs:
            self._cut(seq, stamp_ms, str(body.get("from", "")))
            return
        self._last_seq = seq  # a message that closes nothing is consumed; resume after it on restart

    def _read(self, msg: Any, seq: int) -> tuple[Any, list[SignedTx] | None]:
        """A stream message's body and, if it carries transactions, those that parse (body None:
        a message this node published, byte for byte, whose transactions it parsed and verified
        at admission)."""
        own = self._own_message(msg)
        if own is not None:
            return None, own
        try:
            body = codec.decode(msg.data)
        except Exception:  # noqa: BLE001 - every node skips the same bad message
            log.error("stream message %d is not canonical JSON; skipped", seq)
            return {}, None
        if type(body) is not dict or body.get("t") != "txs" or type(body.get("txs")) is not list:
            return body, None
        parsed: list[SignedTx] = []
        for wire in body["txs"]:
            try:
                parsed.append(self._parse(wire, checked=True))  # codec.decode held the message to the model
            except Exception as exc:  # noqa: BLE001 - deterministic: all nodes parse the same bytes
                log.error("stream message %d carries a malformed transaction (%s); skipped", seq, exc)
        return body, parsed

    def _cut(self, seq: int, stamp_ms: int, proposer: str) -> None:
        block = self._open
        time_ms = max(stamp_ms, self._last_time_ms)
        self._last_time_ms = time_ms
        self._last_seq = seq
        self._blocks.put((Batch(block.txs, time_ms, proposer, seq), block.checks))
        self._open = OpenBlock(block.height + 1)

    def _own_message(self, msg: Any) -> list[SignedTx] | None:
        """The transactions of a message this node published, if ``msg`` is that very message."""
        msg_id = (msg.headers or {}).get("Nats-Msg-Id")
        if not msg_id:
            return None
        with self._own_lock:
            own = self._own.pop(msg_id, None)
        return own[1] if own is not None and own[0] == msg.data else None

    def _check_signatures(self, block: OpenBlock, txs: list[SignedTx]) -> None:
        """Verify ``txs``' signatures on the pool while the committer works on earlier blocks."""
        if self._verifier is None or not txs:
            return
        for start in range(0, len(txs), VERIFY_CHUNK):
            block.checks.append(self._verifier.submit(self._verify_all, txs[start:start + VERIFY_CHUNK]))

    def _verify_all(self, txs: list[SignedTx]) -> None:
        assert self._verify is not None
        for tx in txs:
            try:
                self._verify(tx)
            except Exception:  # noqa: BLE001 - the executor checks it again and rejects it in the block
                continue

    def _arm_cut_timer(self, block: OpenBlock, delay_s: float) -> None:
        if self._loop is not None:
            self._loop.call_later(max(delay_s, 0.001), self._cut_timer, block)

    def _cut_timer(self, block: OpenBlock) -> None:
        """Post a cut for ``block`` once it has waited ``timeout_ms`` (on the loop, by timer)."""
        if block is not self._open or not block.txs or block.cut_requested or self._stopping.is_set():
            return
        now = time.monotonic()
        due = max(block.opened_at + self.timeout_ms / 1000, block.retry_at)
        if now < due:  # the timeout grew, or a failed cut waits to retry
            self._arm_cut_timer(block, due - now)
        elif not self.connected:
            self._arm_cut_timer(block, 0.01)
        else:
            block.cut_requested = True
            self._tasks.add(task := asyncio.ensure_future(self._request_cut(block)))
            task.add_done_callback(self._tasks.discard)

    async def _request_cut(self, block: OpenBlock) -> None:
        payload = codec.encode({"t": "cut", "height": block.height, "from": self.org})
        try:
            await self._js.publish(self.tx_subject, payload, headers={"Nats-Msg-Id": f"cut-{block.height}-{self.org}"})
        except Exception as exc:  # noqa: BLE001 - another node's timer, or ours again, will cut
            log.warning("could not post the cut for block %d (%s); retrying in 0.5 s", block.height, exc)
            block.cut_requested = False
            block.retry_at = time.monotonic() + 0.5
            self._arm_cut_timer(block, 0.5)

    async def _on_attest_message(self, msg: Any) -> None:
        msg_id = (msg.headers or {}).get("Nats-Msg-Id")
        if msg_id:
            with self._own_lock:
                own = self._own_attestations.pop(msg_id, None)
            if own is not None and own == msg.data:  # our own, kept and checked when we made it
                return
        self._attestations.put(msg.data)

    def _attestation_loop(self) -> None:
        """Hand attestations to the node in stream order, off the thread that reads the streams."""
        while (data := self._attestations.get()) is not None:
            try:
                body = codec.decode(data)
            except Exception:  # noqa: BLE001
                continue
            if type(body) is dict and self._on_attestation is not None:
                try:
                    self._on_attestation(body)
                except Exception:  # noqa: BLE001 - one bad attestation must not stop the others
                    log.exception("an attestation could not be handled")

    # -- called from other threads -------------------------------------------------------

    def submit(self, txs: list[SignedTx]) -> None:
        """Publish one admission batch, in order, in messages the servers accept (``max_payload``);
        returns once the cluster has stored them all (not yet ordered)."""
        limit = MESSAGE_TARGET_BYTES
        if self._nc is not None:
            limit = min(limit, int(self._nc.max_payload) - MESSAGE_HEADROOM_BYTES)
        for part in split_batch(txs, limit):
            payload, msg_id = batch_message(self.org, part)
            with self._own_lock:
                _remember(self._own, msg_id, (payload, part))
            self._call(self._publish(self.tx_subject, payload, msg_id))

    def publish_attestation(self, attestation: dict[str, Any]) -> None:
        """Hand an attestation to the cluster and return at once: the committer does not wait for
        the stream's acknowledgement; it is retried here until stored (its id makes that harmless)."""
        payload, msg_id = codec.encode(attestation), f"attest-{attestation['height']}-{attestation['org']}"
        with self._own_lock:
            _remember(self._own_attestations, msg_id, payload)
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopping.is_set():
            raise Unavailable("the ordering service is not running", code="ORDERER_UNREACHABLE")
        publishing = asyncio.run_coroutine_threadsafe(self._publish_until_stored(payload, msg_id), loop)
        with self._own_lock:
            self._attesting.add(publishing)
        publishing.add_done_callback(self._published)

    def _published(self, publishing: Future[None]) -> None:
        with self._own_lock:
            self._attesting.discard(publishing)

    async def _publish_until_stored(self, payload: bytes, msg_id: str) -> None:
        deadline = None
        while deadline is None or time.monotonic() < deadline:
            if self._stopping.is_set() and deadline is None:  # stopping: a last few seconds to store it
                deadline = time.monotonic() + ATTEST_FLUSH_S
            try:
                await self._publish(self.attest_subject, payload, msg_id)
                return
            except Exception as exc:  # noqa: BLE001 - not stored yet: the cluster is electing or unreachable
                log.warning("attestation %s not published yet (%s); retrying", msg_id, type(exc).__name__)
                await asyncio.sleep(0.5)

    async def _publish(self, subject: str, payload: bytes, msg_id: str) -> Any:
        """Publish, retrying while the stream has no leader (an election after a server died or
        the cluster restarted); the message id makes a retry that did get stored harmless.

        A server that answers "no stream leader" is waited for up to ``ELECTION_WAIT_S``; silence
        (a partition, a dead connection) only ``PUBLISH_TIMEOUT_S``, so a cut-off node refuses
        writes promptly."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            try:
                return await self._js.publish(subject, payload, timeout=2.0, headers={"Nats-Msg-Id": msg_id})
            except (NoStreamResponseError, NoRespondersError, NatsTimeout) as exc:
                waited = loop.time() - started
                if waited > ELECTION_WAIT_S or (isinstance(exc, NatsTimeout) and waited > PUBLISH_TIMEOUT_S):
                    raise
                await asyncio.sleep(0.25)

    def _call(self, coroutine: Any) -> Any:
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopping.is_set():
            coroutine.close()
            raise Unavailable("the ordering service is not running", code="ORDERER_UNREACHABLE")
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        try:
            return future.result(ELECTION_WAIT_S + 5)
        except Exception as exc:  # noqa: BLE001 - every failure means: not stored, try again
            future.cancel()
            raise Unavailable(f"the ordering service did not store the transactions ({type(exc).__name__}); "
                              "retry, possibly on another node", code="ORDERER_UNAVAILABLE") from None

    # -- the committer side --------------------------------------------------------------

    def _commit_loop(self, deliver: Deliver) -> None:
        while (item := self._blocks.get()) is not None:
            batch, checks = item
            for check in checks:  # let the pool finish; whatever it did not check, the executor does
                if not check.cancelled():
                    check.exception()
            try:
                deliver(batch)
            except BaseException as exc:  # noqa: BLE001 - the node records it and turns unhealthy
                log.exception("block delivery failed; the orderer stops")
                self.failure = exc
                self._stopping.set()
                return


def split_batch(txs: list[SignedTx], max_bytes: int) -> list[list[SignedTx]]:
    """``txs`` in order, in runs whose message stays under ``max_bytes`` (a larger transaction alone)."""
    parts: list[list[SignedTx]] = []
    part: list[SignedTx] = []
    size = 0
    for tx in txs:
        wire = len(tx.raw) + 2 * len(tx.sig) + 20  # {"sig":"<hex>","tx":<raw>},
        if part and size + wire > max_bytes:
            parts.append(part)
            part, size = [], 0
        part.append(tx)
        size += wire
    if part:
        parts.append(part)
    return parts


def batch_message(org: str, txs: list[SignedTx]) -> tuple[bytes, str]:
    """The stream message that carries one admission batch, and its message id."""
    payload = b'{"from":"' + org.encode() + b'","t":"txs","txs":[' + b",".join(
        b'{"sig":"' + t.sig.hex().encode() + b'","tx":' + t.raw + b"}" for t in txs) + b"]}"
    msg_id = txs[0].id.hex() if len(txs) == 1 else f"batch-{len(txs)}-{txs[0].id.hex()}-{txs[-1].id.hex()}"
    return payload, msg_id


def _remember(kept: OrderedDict[str, Any], key: str, value: Any) -> None:
    kept[key] = value
    kept.move_to_end(key)
    while len(kept) > OWN_MESSAGES_KEPT:
        kept.popitem(last=False)

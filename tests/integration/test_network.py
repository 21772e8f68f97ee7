"""A replicated consortium of real processes: three nats-server processes and four nodes.

After every fault, every node holds identical block hashes (and so identical state roots), and
every transaction a client saw acknowledged is on every node.
"""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consortia.client import Client
from consortia.consensus.jetstream import stream_names, subjects
from consortia.errors import ConsortiaError
from consortia.node.network import LocalNetwork

pytestmark = pytest.mark.slow
ORGS = ["hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator"]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    network = LocalNetwork(tmp_path_factory.mktemp("net") / "n")
    network.create(orgs=4, servers=3, chain_id="consortia-net", config={"block_max_txs": 200, "block_timeout_ms": 30})
    network.up()
    yield network
    network.down()


def run_async(coroutine: Any) -> Any:
    """Run a coroutine on a fresh thread's event loop (another test's tool, such as Playwright's
    sync API, may keep a loop running on this thread for the whole session)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class Load:
    """Clients submitting through every running node (failing over), recording what was acknowledged."""

    def __init__(self, net: LocalNetwork, who: list[str]) -> None:
        self.net, self.who = net, who
        self.acked: dict[str, str] = {}
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(w, i)) for i, w in enumerate(who)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def _run(self, who: str, offset: int) -> None:
        urls = [n.url for n in self.net.state.nodes]
        urls = urls[offset:] + urls[:offset]
        n = 0
        with Client.from_home(self.net.home, who, urls, timeout=20) as client:
            while not self.stop.is_set():
                batch = [client.build("kv", "put", {"key": f"load/{who}/{n + i}", "value": n + i}) for i in range(20)]
                n += 20
                for _attempt in range(30):
                    try:
                        views = client.submit(batch, timeout=15)
                    except ConsortiaError as exc:
                        if exc.code == "TX_DUPLICATE":  # an earlier attempt got through after all
                            break
                        client._current = (client._current + 1) % len(client.urls)
                        time.sleep(0.3)
                        continue
                    for view in views:
                        if view.get("committed") and view["receipt"]["status"] == "ok":
                            self.acked[view["tx_id"]] = who
                    break
                else:
                    self.errors.append(f"{who}: could not submit a batch")


def wait_converged(net: LocalNetwork, timeout: float = 60) -> int:
    """Wait until every node reports the same height with nothing pending; return that height."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        heights = []
        for node in net.state.nodes:
            try:
                health = httpx.get(node.url + "/health", timeout=3).json()
                heights.append((health["height"], health["pending"], health["status"]))
            except (httpx.TransportError, ValueError, KeyError):
                heights.append(None)
        last = heights
        if None not in heights and len({h for h, _, _ in heights}) == 1 and all(p == 0 for _, p, _ in heights):
            return int(heights[0][0])
        time.sleep(0.3)
    raise AssertionError(f"nodes did not converge: {last}")


def assert_identical(net: LocalNetwork, acked: dict[str, str]) -> int:
    height = wait_converged(net)
    hashes = {}
    for node in net.state.nodes:
        with Client(node.url) as c:
            hashes[node.org] = [b["hash"] for b in _all_headers(c, height)]
    first = hashes[ORGS[0]]
    assert len(first) == height + 1
    for org, chain in hashes.items():
        assert chain == first, f"{org} differs from {ORGS[0]}"
    sample = random.Random(1).sample(sorted(acked), min(len(acked), 60))
    for node in net.state.nodes:
        with Client(node.url) as c:
            for tx_id in sample:
                assert c.transaction(tx_id)["receipt"]["status"] == "ok"
    return height


def _all_headers(client: Client, height: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    before = height + 1
    while before > 0:
        page = client.blocks(limit=200, before=before)
        out.extend(page)
        before = page[-1]["height"]
    return sorted(out, key=lambda b: b["height"])


def test_every_node_executes_the_same_blocks_and_finality_follows(net: LocalNetwork) -> None:
    with Client.from_home(net.home, "pudong-bank/admin", net.node("jinglian-parts").url) as c:
        view = c.send("kv", "put", {"key": "net/first", "value": 1}, final=True)
    assert view["final"] is True and view["receipt"]["status"] == "ok"
    with Client(net.node("sh-regulator").url) as other:
        att = other.attestations(view["height"])
        assert att["final"] and att["quorum"] == 3
        assert {a["org"] for a in att["attestations"]} >= set(ORGS[:3]) or len(att["attestations"]) >= 3
        assert all(a["hash"] == att["hash"] for a in att["attestations"])
        assert other.query("kv", "get", {"key": "net/first"}) == 1
    assert_identical(net, {view["tx_id"]: "x"})


def test_a_node_killed_mid_load_catches_up(net: LocalNetwork) -> None:
    with Load(net, ["hongqiao-auto/admin", "jinglian-parts/clerk"]) as load:
        time.sleep(1.0)
        net.stop_node("pudong-bank", signal.SIGKILL)
        time.sleep(1.5)
        net.start_node("pudong-bank")
        time.sleep(1.0)
    assert not load.errors and len(load.acked) > 100
    assert_identical(net, load.acked)


def test_ordering_survives_the_death_of_the_stream_leader(net: LocalNetwork) -> None:
    leader = run_async(_stream_leader(net))
    with Load(net, ["sh-regulator/admin", "pudong-bank/clerk"]) as load:
        time.sleep(1.0)
        net.stop_server(leader, signal.SIGKILL)
        killed = len(load.acked)
        deadline = time.monotonic() + 30  # a new RAFT leader takes a few seconds
        while len(load.acked) < killed + 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(load.acked) >= killed + 200, "ordering did not resume after the leader died"
    new_leader = run_async(_stream_leader(net))
    assert new_leader != leader
    net.start_server(leader)
    assert not load.errors
    assert_identical(net, load.acked)


def test_everything_restarts_and_resumes(net: LocalNetwork) -> None:
    height = wait_converged(net)
    net.down()
    net.up()
    assert wait_converged(net) == height
    with Client.from_home(net.home, "hongqiao-auto/admin", net.node("sh-regulator").url) as c:
        [view] = c.submit(c.build("kv", "put", {"key": "net/after-restart", "value": True}), final=True, timeout=90)
    assert view["height"] == height + 1 and view["final"]
    assert_identical(net, {view["tx_id"]: "x"})


def test_a_node_catches_up_from_peers_when_the_stream_no_longer_has_its_blocks(net: LocalNetwork) -> None:
    """...including a transaction whose field governance masked meanwhile: peers show it in clear
    only to a node's signed read, which catch-up needs to re-execute the block."""
    net.stop_node("jinglian-parts")
    with Load(net, ["hongqiao-auto/admin"]) as load:
        time.sleep(1.5)
    url = net.node("hongqiao-auto").url
    with Client.from_home(net.home, "hongqiao-auto/admin", url) as c:
        [put] = c.submit(c.build("kv", "put", {"key": "net/memo", "value": {"memo": "Zhang San, 138 0013 8000"}}))
        proposal = c.call("gov", "propose", {"action": "mask", "params": {"tx": put["tx_id"], "path": "args.value.memo"},
                                             "reason": "personal data"})
    for voter in ("pudong-bank", "sh-regulator"):
        with Client.from_home(net.home, f"{voter}/admin", url) as c:
            c.call("gov", "vote", {"proposal_id": proposal["id"], "approve": True})
    shown = httpx.get(f"{url}/blocks/{put['height']}", timeout=5).json()
    assert shown["masked"] and "Zhang San" not in str(shown["txs"])
    wait_converged_without(net, "jinglian-parts")
    run_async(_purge_stream(net))  # as if the stream's retention had passed
    net.start_node("jinglian-parts")
    assert not load.errors and load.acked
    assert_identical(net, load.acked)
    log = (Path(net.home) / "nodes" / "jinglian-parts" / "node.log").read_text()
    assert "catching up from" in log


def wait_converged_without(net: LocalNetwork, absent: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [httpx.get(n.url + "/health", timeout=3).json() for n in net.state.nodes if n.org != absent]
        if len({r["height"] for r in rows}) == 1 and all(r["pending"] == 0 for r in rows):
            return
        time.sleep(0.3)
    raise AssertionError("the running nodes did not converge")


async def _purge_stream(net: LocalNetwork) -> None:
    import nats

    nc = await nats.connect(net.nats_urls)
    try:
        await nc.jetstream().purge_stream(stream_names("consortia-net")[0])
    finally:
        await nc.close()


def test_a_node_outvoted_by_a_quorum_stops_rather_than_diverge(net: LocalNetwork) -> None:
    """Three organisations' node keys sign a different header for the next block. Every node,
    seeing a quorum disagree with what it computed, reports the divergence and stops (so this
    test runs last)."""
    from consortia.crypto import get_suite
    from consortia.identity.wallet import load_wallet
    from consortia.ledger.records import BlockHeader
    from consortia.node.finality import sign_attestation
    from consortia.node.home import load_genesis

    height = wait_converged(net)
    victim = net.node("sh-regulator")
    with Client(victim.url) as c:
        block = c.block(height)
    genesis = load_genesis(net.home)
    suite = get_suite(genesis["suite"])
    # signed by three organisations' node keys, for the next block, before anyone computed it
    header = BlockHeader.from_dict({**block["header"], "height": height + 1, "state_root": "ee" * 32})
    forged = [sign_attestation(load_wallet(net.home, suite, f"{org}/node"), genesis["chain_id"], header, "ff" * 32)
              for org in ORGS[:3]]
    run_async(_publish_attestations(net, genesis["chain_id"], forged))
    with Client.from_home(net.home, "sh-regulator/admin", victim.url) as c:
        c.send("kv", "put", {"key": "net/last", "value": 1})
    height += 1
    deadline = time.monotonic() + 20
    health: dict[str, Any] = {}
    while time.monotonic() < deadline:
        health = httpx.get(victim.url + "/health", timeout=3).json()
        if health["status"] == "diverged":
            break
        time.sleep(0.2)
    assert health["status"] == "diverged" and str(height) in health["diverged"], health
    assert "consortia_diverged 1.0" in httpx.get(victim.url + "/metrics").text
    with Client.from_home(net.home, "sh-regulator/admin", victim.url) as c, pytest.raises(ConsortiaError) as err:
        c.send("kv", "put", {"key": "net/refused", "value": 1})
    assert err.value.code in ("DIVERGED", "NODE_FAILED")
    log = (Path(net.home) / "nodes" / "sh-regulator" / "node.log").read_text()
    assert "DIVERGENCE" in log or "diverged" in log


async def _stream_leader(net: LocalNetwork) -> str:
    import nats

    nc = await nats.connect(net.nats_urls)
    try:
        info = await nc.jetstream().stream_info(stream_names("consortia-net")[0])
        return str(info.cluster.leader)
    finally:
        await nc.close()


async def _publish_attestations(net: LocalNetwork, chain_id: str, attestations: list[dict[str, Any]]) -> None:
    import nats

    from consortia.types import codec

    nc = await nats.connect(net.nats_urls)
    try:
        js = nc.jetstream()
        for a in attestations:
            await js.publish(subjects(chain_id)[1], codec.encode(a), headers={"Nats-Msg-Id": f"forged-{a['org']}"})
    finally:
        await nc.close()

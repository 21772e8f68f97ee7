"""Members' contracts on a four-organisation JetStream network of real processes, each node under
another PYTHONHASHSEED: deployed by vote, called, upgraded, frozen, an endless loop reverted, and a
node that joins later (empty data directory) reads the code from the chain. Every node ends with
the same blocks, so the same state roots."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consortia.client import Client
from consortia.errors import ConsortiaError
from consortia.node.network import LocalNetwork
from consortia.testing import read_contract
from tests.integration.test_network import _all_headers, wait_converged

pytestmark = pytest.mark.slow
ORGS = ["hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator"]
SEEDS = {"hongqiao-auto": "0", "jinglian-parts": "1", "pudong-bank": "4242", "sh-regulator": "random"}
LATE = "sh-regulator"
EXAMPLE = Path(__file__).parents[2] / "examples" / "warehouse-receipt"

PROBE = '''from __future__ import annotations

from decimal import Decimal
from typing import Any

from consortia.contracts.sdk import Context, Contract, method, query, refuse, require


class Probe(Contract):
    """Uses what differs between processes when misused: sets of strings, dict order, Decimal."""

    name = "det_probe"
    version = "1"

    @method
    def record(self, ctx: Context, tags: list[str], amount: str) -> dict[str, Any]:
        unique = sorted(set(tags))
        index = {t: i for i, t in enumerate(unique)}
        common = sorted(set(unique) & {"cold", "fragile", "bonded", "hazmat"})
        share = (Decimal(amount) / Decimal(3)).quantize(Decimal("0.01"))
        rid = ctx.derive_id("record", *unique)
        record = {"id": rid, "tags": unique, "index": index, "common": common, "share": str(share),
                  "text": f"{unique}|{len(tags)}|{ctx.height}"}
        ctx.put(f"rec/{rid}", record)
        ctx.emit("Recorded", id=rid, first=unique[0] if unique else "")
        return record

    @method
    def spin(self, ctx: Context) -> None:
        ctx.put("spun", 1)
        while True:
            pass

    @method
    def hoard(self, ctx: Context) -> int:
        ctx.put("hoarded", 1)
        return len([0] * (1024 * 1024 * 128))

    @query
    def get(self, ctx: Context, rid: str) -> Any:
        return ctx.get(f"rec/{rid}")
'''


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    network = LocalNetwork(tmp_path_factory.mktemp("cnet") / "n")
    network.create(orgs=4, servers=3, chain_id="consortia-contracts", config={"block_max_txs": 200,
                                                                             "block_timeout_ms": 30})
    network.node_env = {org: {"PYTHONHASHSEED": seed} for org, seed in SEEDS.items()}
    network.up()
    yield network
    network.down()


def client(net: LocalNetwork, org: str, identity: str | None = None) -> Client:
    return Client.from_home(net.home, identity or f"{org}/admin", [net.node(org).url])


def deploy(net: LocalNetwork, source: str, voters: list[str], access: dict[str, list[str]] | None = None) -> None:
    with client(net, ORGS[0]) as c:  # the SDK packages the source, hashes it and proposes it
        proposal = c.propose_contract(source, access)
    for org in voters:
        if proposal["status"] != "open":
            break
        with client(net, org) as c:  # each vote through that organisation's own node
            proposal = c.call("gov", "vote", {"proposal_id": proposal["id"], "approve": True})
    assert proposal["status"] == "passed", proposal


def test_contracts_run_identically_on_every_node(net: LocalNetwork) -> None:
    net.stop_node(LATE)
    shutil.rmtree(net.home / "nodes" / LATE)  # it joins later, from nothing
    live = [o for o in ORGS if o != LATE]

    deploy(net, PROBE, live[1:])
    deploy(net, read_contract(EXAMPLE), live[1:], access={"issue": ["hongqiao-auto"]})
    tags = ["cold", "z-last", "a-first", "bonded", "cold", "中文", "Émile", "fragile"]
    results = []
    for i, org in enumerate(live * 3):
        with client(net, org) as c:
            results.append(c.call("det_probe", "record", {"tags": tags[i % 3:] + [f"t{i}"], "amount": f"{100 + i}.00"}))
    with client(net, "hongqiao-auto") as c:
        receipt = c.call("warehouse_receipt", "issue", {"owner": "jinglian-parts", "lot": "NB-1", "goods": "coil",
                                                        "quantity": 40, "unit": "t"})
        spun = c.send("det_probe", "spin", {})
        hoarded = c.send("det_probe", "hoard", {})
    assert spun["receipt"]["code"] == "OUT_OF_STEPS" and hoarded["receipt"]["code"] == "OUT_OF_MEMORY"
    with client(net, "jinglian-parts") as c:
        c.call("warehouse_receipt", "pledge", {"receipt_id": receipt["id"], "bank": "pudong-bank"})

    upgraded = read_contract(EXAMPLE).replace('version = "1.0.0"', 'version = "1.1.0"')
    deploy(net, upgraded, live[1:])
    with client(net, "hongqiao-auto") as c:
        proposal = c.call("gov", "propose", {"action": "freeze_contract", "params": {"name": "det_probe"}})
    with client(net, "pudong-bank") as c:
        c.call("gov", "vote", {"proposal_id": proposal["id"], "approve": True})
    net.start_node(LATE)  # replays the stream: it compiles both contracts from the chain's own state
    with client(net, LATE) as c:  # the regulator's yes freezes it
        assert c.call("gov", "vote", {"proposal_id": proposal["id"], "approve": True})["status"] == "passed"
        with pytest.raises(ConsortiaError) as refused:
            c.send("det_probe", "record", {"tags": ["x"], "amount": "1"})
    assert refused.value.code == "CONTRACT_FROZEN"

    height = wait_converged(net)
    chains: dict[str, list[dict[str, Any]]] = {}
    for org in ORGS:
        with Client(net.node(org).url) as c:
            chains[org] = _all_headers(c, height)
            for r in results:
                assert c.query("det_probe", "get", {"rid": r["id"]}) == r
            assert c.query("warehouse_receipt", "receipt", {"receipt_id": receipt["id"]})["state"] == "pledged"
            assert httpx.get(f"{net.node(org).url}/health", timeout=5).json()["status"] == "ok"
    reference = [(b["hash"], b["state_root"]) for b in chains[ORGS[0]]]
    assert len(reference) == height + 1
    for org in ORGS[1:]:
        assert [(b["hash"], b["state_root"]) for b in chains[org]] == reference, f"{org} differs"
    with Client(net.node(LATE).url) as c:
        listed = {row["name"]: row for row in c._get("/contracts")["contracts"]}
    assert listed["warehouse_receipt"]["version"] == "1.1.0" and listed["det_probe"]["frozen"] is True
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # finality: a quorum of organisations attested the same blocks
        if min(httpx.get(f"{net.node(o).url}/health").json()["final_height"] for o in ORGS) >= height:
            break
        time.sleep(0.3)
    else:
        raise AssertionError("blocks did not become final on every node")

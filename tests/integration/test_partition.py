"""Partition one organisation's node from the rest with Linux network namespaces, then heal it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from consortia.client import Client
from consortia.node.network import LocalNetwork, isolate, partition, remove_namespace
from tests.integration.test_network import Load, assert_identical

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                                 reason="network namespaces need root and iproute2")]
ISOLATED = "sh-regulator"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNetwork]:
    network = LocalNetwork(tmp_path_factory.mktemp("part") / "n")
    network.create(orgs=4, servers=3, chain_id="consortia-net", config={"block_max_txs": 200, "block_timeout_ms": 30})
    subnet = 100 + os.getpid() % 100
    isolate(network, ISOLATED, subnet)
    try:
        network.up()
        yield network
    finally:
        network.down()
        remove_namespace(network, ISOLATED)


PROBE = """
import json, sys
from consortia.client import Client
from consortia.errors import ConsortiaError
home, url = sys.argv[1], sys.argv[2]
out = {}
with Client.from_home(home, "jinglian-parts/admin", url, timeout=30) as c:
    try:
        c.send("kv", "put", {"key": "part/during", "value": 1})
        out["write"] = "accepted"
    except ConsortiaError as exc:
        out["write"] = exc.code
print(json.dumps(out))
"""


def probe_inside(net: LocalNetwork) -> dict[str, str]:
    """Run a client inside the isolated node's namespace (the only place it can be reached from)."""
    node = net.node(ISOLATED)
    result = subprocess.run(["ip", "netns", "exec", node.netns, sys.executable, "-c", PROBE, str(net.home),
                             f"http://127.0.0.1:{node.port}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_partitioned_node_refuses_writes_and_catches_up_when_healed(net: LocalNetwork) -> None:
    isolated = net.node(ISOLATED)
    with Client.from_home(net.home, "hongqiao-auto/admin", isolated.url) as c:
        assert c.send("kv", "put", {"key": "part/before", "value": 1}, final=True)["final"]
    majority = [n for n in net.state.nodes if n.org != ISOLATED]
    with Load(net, ["hongqiao-auto/admin", "pudong-bank/clerk"]) as load:
        time.sleep(0.5)
        partition(net, ISOLATED, cut=True)
        try:
            before = max(httpx.get(n.url + "/health", timeout=3).json()["height"] for n in majority)
            # the cut-off node cannot order: a write sent to it is refused with a clear code
            assert probe_inside(net)["write"] in ("ORDERER_UNAVAILABLE", "ORDERER_UNREACHABLE")
            after = max(httpx.get(n.url + "/health", timeout=3).json()["height"] for n in majority)
            assert after > before, "the majority side kept ordering during the partition"
        finally:
            partition(net, ISOLATED, cut=False)
        time.sleep(1.0)
    assert not load.errors and len(load.acked) > 50
    height = assert_identical(net, load.acked)
    with Client(isolated.url) as c:
        assert c.query("kv", "get", {"key": "part/during"}) is None  # the refused write changed nothing
        assert c.health()["height"] == height

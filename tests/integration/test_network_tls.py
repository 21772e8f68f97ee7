"""Issue 19, item 7: a network across machines runs on TLS. NATS takes only clients (and routes)
presenting a certificate from one of the organisations' TLS CAs; node APIs speak HTTPS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import certifi
import httpx
import nats
import pytest

from consortia.client import Client
from consortia.node.network import LocalNetwork
from consortia.node.tls import client_context, issue, make_ca
from tests.integration.test_network import run_async

pytestmark = pytest.mark.slow
WHO = "hongqiao-auto/admin"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[LocalNetwork]:
    """Three organisations on each crypto suite; the TLS CAs are P-256 on both (ADR 0027)."""
    network = LocalNetwork(tmp_path_factory.mktemp("tlsnet") / "n")
    network.create(orgs=3, servers=3, tls=True, chain_id="consortia-tls", suite_name=suite_name,
                   config={"block_max_txs": 200, "block_timeout_ms": 30})
    network.up()
    yield network
    network.down()


@pytest.fixture
def trusted(net: LocalNetwork, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(net.tls_dir / "cas.pem"))  # what the SDK's httpx trusts




def put_final(net: LocalNetwork, key: str) -> None:
    with Client.from_home(net.home, WHO, [n.url for n in net.state.nodes]) as c:
        view = c.send("kv", "put", {"key": key, "value": key}, final=True)
        assert view["committed"] and view["receipt"]["status"] == "ok", view


def test_the_network_runs_on_tls_and_survives_losing_a_nats_server(net: LocalNetwork, trusted: None) -> None:
    assert all(n.url.startswith("https://") for n in net.state.nodes)
    assert all(u.startswith("tls://") for u in net.nats_urls)
    config = (net.home / "nats" / "n1" / "nats.conf").read_text()
    assert config.count("verify: true") == 2  # clients and cluster routes
    with pytest.raises(httpx.HTTPError):
        httpx.get(net.state.nodes[0].url.replace("https://", "http://") + "/health", timeout=5)
    with pytest.raises(httpx.ConnectError):  # not trusted without the organisations' CAs
        httpx.get(net.state.nodes[0].url + "/health", timeout=5, verify=ssl.create_default_context(cafile=certifi.where()))
    put_final(net, "tls/1")
    net.stop_server("n2")
    try:
        put_final(net, "tls/2")
    finally:
        net.start_server("n2")
    put_final(net, "tls/3")
    net.stop_node("pudong-bank")  # a node down: the other two still make a quorum; it catches up on return
    try:
        put_final(net, "tls/4")
    finally:
        net.start_node("pudong-bank")
    put_final(net, "tls/5")
    heights = {}
    for node in net.state.nodes:
        with Client.from_home(net.home, WHO, node.url) as c:
            heights[node.org] = c.health()["final_height"]
    top = min(heights.values())
    hashes = set()
    for node in net.state.nodes:
        with Client.from_home(net.home, WHO, node.url) as c:
            hashes.add(c.block(top)["hash"])
    assert len(hashes) == 1


async def connect(url: str, tls: ssl.SSLContext) -> None:
    nc = await nats.connect([url], tls=tls, connect_timeout=3, allow_reconnect=False, max_reconnect_attempts=0)
    await nc.close()


def test_nats_refuses_a_certificate_from_an_unknown_ca(net: LocalNetwork, tmp_path: Path) -> None:
    url, cas, own = net.nats_urls[0], net.tls_dir / "cas.pem", net.tls_dir / "hongqiao-auto"
    run_async(connect(url, client_context(own / "node.pem", own / "node.key", cas)))  # the organisation's node: in
    rogue = tmp_path / "rogue"
    make_ca(rogue, "hongqiao-auto")  # same organisation name, another CA
    issue(rogue, rogue, "node", "hongqiao-auto", "hongqiao-auto node")
    with pytest.raises(Exception):  # noqa: B017 - refused in the handshake; nats-py's error type varies
        run_async(connect(url, client_context(rogue / "node.pem", rogue / "node.key", cas)))
    bare = ssl.create_default_context(cafile=str(cas))  # no client certificate at all
    with pytest.raises(Exception):  # noqa: B017
        run_async(connect(url, bare))
    log = (net.home / "nats" / "n1" / "nats.log").read_text()
    assert "certificate" in log.lower()

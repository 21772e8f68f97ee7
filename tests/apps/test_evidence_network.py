"""Certificates from a replicated consortium (three nodes on NATS JetStream) carry a quorum of node
signatures and verify offline with the default quorum, on both crypto suites."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.client import Client
from consortia.client.certificates import CertificateInvalid, file_digest, verify_certificate
from consortia.node.network import LocalNetwork

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("nats-server") is None, reason="needs nats-server")]
ORGS = ["hongqiao-auto", "jinglian-parts", "pudong-bank"]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[LocalNetwork]:
    network = LocalNetwork(tmp_path_factory.mktemp("evidence-net") / "n")
    network.create(orgs=3, servers=3, chain_id="evidence-net", suite_name=suite_name,
                   config={"block_timeout_ms": 30})
    network.up()
    yield network
    network.down()


def test_certificate_is_signed_by_a_quorum_of_nodes(net: LocalNetwork, tmp_path: Path) -> None:
    data = b"%PDF arbitration award 2026-17"
    genesis = json.loads((net.home / "genesis.json").read_text())
    algorithm = "sm3" if genesis["suite"] == "sm2-sm3" else "sha-256"
    digest = file_digest(algorithm, data)
    with Client.from_home(net.home, "jinglian-parts/admin", net.node("jinglian-parts").url) as c:
        view = c.send("evidence", "deposit", {"algorithm": algorithm, "digest": digest, "title": "Award"}, final=True)
        assert view["final"] and view["receipt"]["status"] == "ok"
    with Client.from_home(net.home, "jinglian-parts/admin", net.node("pudong-bank").url) as other:
        credential = other._request("GET", f"/evidence/certificates/{algorithm}/{digest}", signed=True).json()
    report = verify_certificate(credential, genesis, file_data=data)
    assert report.quorum == 2 and len(report.signed_by) >= 2 and set(report.signed_by) <= set(ORGS)
    one = json.loads(json.dumps(credential))
    one["proof"]["attestations"] = one["proof"]["attestations"][:1]
    with pytest.raises(CertificateInvalid) as info:
        verify_certificate(one, genesis, file_data=data)
    assert info.value.code == "NOT_ENOUGH_SIGNATURES"

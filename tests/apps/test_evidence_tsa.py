"""RFC 3161: a real node answers time-stamp requests and `openssl ts -verify` accepts its tokens."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from consortia.client import Client
from consortia.node.home import DEMO_ORGS
from tests.conftest import RunningNode, launch

ORG = DEMO_ORGS[0]["id"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Iterator[RunningNode]:
    if suite_name != "ed25519-sha256":
        pytest.skip("the time-stamp authority signs with Ed25519 only (SM2 CMS is not built yet)")
    os.environ["CONSORTIA_TSA"] = f"{ORG}/clerk"
    try:
        running = launch(tmp_path_factory.mktemp("tsa") / "c", orgs=2, suite_name=suite_name,
                         config={"block_timeout_ms": 10})
    finally:
        del os.environ["CONSORTIA_TSA"]
    yield running
    running.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_verifies_the_token_and_the_imprint_is_on_the_chain(node: RunningNode, tmp_path: Path) -> None:
    data = tmp_path / "contract.pdf"
    data.write_bytes(b"%PDF-1.7 contract to time-stamp")
    query, reply = tmp_path / "req.tsq", tmp_path / "resp.tsr"
    subprocess.run(["openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)], check=True)
    answer = httpx.post(f"{node.url}/evidence/timestamp", content=query.read_bytes(),
                        headers={"content-type": "application/timestamp-query"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/timestamp-reply"
    reply.write_bytes(answer.content)
    org_dir = node.home / "orgs" / ORG
    verified = subprocess.run(["openssl", "ts", "-verify", "-in", str(reply), "-queryfile", str(query),
                               "-CAfile", str(org_dir / "ca.pem"), "-untrusted", str(org_dir / "tsa" / "cert.pem")],
                              capture_output=True, text=True)
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stdout + verified.stderr
    text = subprocess.run(["openssl", "ts", "-reply", "-in", str(reply), "-text"], capture_output=True, text=True,
                          check=True).stdout
    serial = text.split("Serial number:")[1].split()[0].lower().removeprefix("0x")
    with Client(node.url) as c:
        anchored = c.query("evidence", "timestamp", {"serial": serial.rjust(32, "0")})
    import hashlib

    assert anchored["imprint"] == hashlib.sha256(data.read_bytes()).hexdigest()


def test_bad_time_stamp_requests_are_refused_in_one_shape(node: RunningNode) -> None:
    wrong_type = httpx.post(f"{node.url}/evidence/timestamp", content=b"x", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 400 and wrong_type.json()["error"]["code"] == "BAD_CONTENT_TYPE"
    garbage = httpx.post(f"{node.url}/evidence/timestamp", content=b"\x30\x03\x02\x01",
                         headers={"content-type": "application/timestamp-query"})
    assert garbage.status_code == 400 and garbage.json()["error"]["code"] == "BAD_TIMESTAMP_REQUEST"

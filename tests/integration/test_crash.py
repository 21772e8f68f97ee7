"""Kill a real node process with SIGKILL while it commits blocks; nothing acknowledged is lost."""

from __future__ import annotations

import random
import signal
import threading
import time

import httpx
import pytest

from consortia.cli.bench import start_node
from consortia.client import Client
from consortia.node.replay import verify_data_dir

from ..conftest import launch


def load(url: str, home, identity: str, acked: dict[str, tuple[str, int]], stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    with Client.from_home(home, identity, url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            batch = [client.build("kv", "put", {"key": f"crash/{identity}/{n + i}", "value": n + i}) for i in range(25)]
            n += 25
            try:
                results = client.submit(batch, timeout=10)
            except Exception:  # noqa: BLE001 - the node was killed under us; stop this client
                return
            for r in results:
                if r.get("committed") and r["receipt"]["status"] == "ok":
                    acked[r["tx_id"]] = (r["receipt"]["events"][0]["data"]["key"], r["height"])


@pytest.mark.slow
def test_sigkill_mid_load_loses_no_acknowledged_transaction(tmp_path, suite_name: str) -> None:  # type: ignore[no-untyped-def]
    node = launch(tmp_path / "c", suite_name=suite_name, config={"block_max_txs": 40, "block_timeout_ms": 5})
    rng = random.Random(7)
    acked: dict[str, tuple[str, int]] = {}
    try:
        for _ in range(3):
            stop = threading.Event()
            clients = [threading.Thread(target=load, args=(node.url, node.home, who, acked, stop))
                       for who in ("hongqiao-auto/admin", "jinglian-parts/clerk", "pudong-bank/admin")]
            for t in clients:
                t.start()
            time.sleep(rng.uniform(0.8, 1.6))
            node.process.send_signal(signal.SIGKILL)
            node.process.wait(10)
            stop.set()
            for t in clients:
                t.join(30)
            node.process = start_node(node.home, node.port)
        assert len(acked) > 200, "the load should have committed plenty before the kills"
        with httpx.Client(base_url=node.url, timeout=30) as http, Client(node.url) as c:
            height = c.chain()["height"]
            for tx_id, (_key, at) in acked.items():
                view = c.transaction(tx_id)  # also verifies the Merkle proofs
                assert view["height"] == at and view["receipt"]["status"] == "ok"
            sample = rng.sample(sorted(acked.values()), 50)
            for key, _ in sample:
                assert http.post("/query/kv/get", json={"key": key}).json()["result"] is not None
            assert height >= max(at for _, at in acked.values())
    finally:
        node.stop()
    report = verify_data_dir(node.home / "node")
    assert report.ok, report.to_dict()
    assert report.blocks_checked == report.height + 1

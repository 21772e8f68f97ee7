"""Risk alerts: each rule, the regulator-only list and stream, and webhooks, on a real node."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consortia.cli.bench import free_port
from consortia.client import Client
from consortia.errors import Forbidden
from consortia.identity.read_auth import HEADER, sign_read
from consortia.node.alerts import Alerts
from consortia.node.home import init_consortium


def receipt(code: str = "OK", events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"tx_id": "ab" * 32, "status": "ok" if code == "OK" else "reverted", "code": code, "message": code,
            "events": events or [], "result": None}


def tx(contract: str = "scf", method: str = "approve_financing") -> dict[str, Any]:
    return {"contract": contract, "method": method, "args": {"financing_id": "f1"}, "sender": "x"}


@pytest.fixture
def alerts(tmp_path: Path) -> Iterator[Alerts]:
    a = Alerts(tmp_path / "alerts.db", spike_min=10, spike_factor=5)
    yield a
    a.close()


def test_each_rule(alerts: Alerts) -> None:
    org = lambda _tx: "pudong-bank"  # noqa: E731
    alerts.on_block(5, 1_000, [tx(), tx("scf", "issue")], [receipt("DOUBLE_FINANCING"), receipt("OVER_LIMIT")], org)
    alerts.on_block(6, 2_000, [tx("scf", "mark_overdue"), tx("trace", "capture"), tx("trace", "recall")], [
        receipt(events=[{"contract": "scf", "name": "VoucherOverdue", "data": {"id": "v1"}}]),
        receipt(events=[{"contract": "trace", "name": "SensorAlert", "data": {"type": "Temperature"}}]),
        receipt(events=[{"contract": "trace", "name": "LotRecalled", "data": {"lot": "L1"}}])], org)
    alerts.on_block(7, 3_000, [tx("kv", "put")], [receipt("NO_SUCH_KEY")], org)  # an ordinary refusal: no alert
    alerts.node_disagrees(8, {"jinglian-parts": "ff" * 32}, "ee" * 32)
    rules = [a["rule"] for a in alerts.list()]
    assert rules == ["double_financing", "over_value", "voucher_overdue", "sensor_breach", "recall", "node_disagrees"]
    first = alerts.list()[0]
    assert first["org"] == "pudong-bank" and first["height"] == 5 and first["detail"]["call"] == "scf.approve_financing"
    assert [a["seq"] for a in alerts.list(after=4)] == [5, 6]
    assert [a["rule"] for a in alerts.list(rule="recall")] == ["recall"]


def test_volume_spike_once_per_minute_and_only_above_the_usual(alerts: Alerts) -> None:
    org = lambda t: t["sender"]  # noqa: E731
    for minute in range(5):  # a steady 4 a minute from one bank
        alerts.on_block(minute, minute * 60_000, [{**tx(), "sender": "steady"}] * 4, [receipt()] * 4, org)
    busy = [{**tx(), "sender": "steady"}] * 12
    alerts.on_block(9, 5 * 60_000, busy, [receipt()] * 12, org)  # 12 >= 10, but < 5 x 4
    assert alerts.list(rule="volume_spike") == []
    flood = [{**tx(), "sender": "flood"}] * 8
    alerts.on_block(10, 6 * 60_000, flood, [receipt()] * 8, org)
    alerts.on_block(11, 6 * 60_000 + 10, flood, [receipt()] * 8, org)  # crosses 10 in this minute
    alerts.on_block(12, 6 * 60_000 + 20, flood, [receipt()] * 8, org)  # same minute: not again
    spikes = alerts.list(rule="volume_spike")
    assert [(a["org"], a["detail"]["minute_txs"]) for a in spikes] == [("flood", 16)]


class Hook(http.server.BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server interface
        body = self.rfile.read(int(self.headers["content-length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return


@pytest.mark.slow
def test_a_spike_reaches_the_webhook_the_list_and_the_stream(tmp_path: Path) -> None:
    hook_port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", hook_port), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tmp_path / "c"
    init_consortium(home, orgs=4, config={"block_timeout_ms": 20, "alert_spike_min": 20})
    port = free_port()
    import subprocess
    import sys

    with open(home / "node.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "consortia.cli.main", "up", "--dir", str(home), "--port",
                                    str(port), "--log-level", "warning",
                                    "--webhook", f"http://127.0.0.1:{hook_port}/hook"], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        with Client.from_home(home, "jinglian-parts/clerk", url) as clerk:
            clerk.submit([clerk.build("kv", "put", {"key": f"flood/{i}", "value": i}) for i in range(30)])
            with pytest.raises(Forbidden) as err:
                clerk._request("GET", "/alerts", signed=True)
            assert err.value.code == "NOT_REGULATOR"
        deadline = time.monotonic() + 15
        while not Hook.received and time.monotonic() < deadline:
            time.sleep(0.1)
        assert Hook.received and Hook.received[0]["rule"] == "volume_spike"
        assert Hook.received[0]["org"] == "jinglian-parts"
        with Client.from_home(home, "sh-regulator/admin", url) as regulator:
            listed = regulator._request("GET", "/alerts", signed=True).json()["alerts"]
            assert [a["rule"] for a in listed] == ["volume_spike"]
            wallet, suite = regulator.wallet, regulator.suite
            header = sign_read(wallet, suite.hash, regulator.chain_id, "GET", "/alerts/stream", b"")  # type: ignore[arg-type]
        with httpx.stream("GET", url + "/alerts/stream", headers={HEADER: header}, timeout=10) as stream:
            lines = []
            for line in stream.iter_lines():
                lines.append(line)
                if line.startswith("data:"):
                    break
        assert json.loads(lines[-1][5:])["rule"] == "volume_spike" and "event: volume_spike" in lines
        assert httpx.get(url + "/alerts/stream", timeout=5).status_code == 403
    finally:
        process.terminate()
        process.wait(30)
        server.shutdown()


"""Risk alerts for the regulator: rules over every committed block, plus the node's own
disagreement with the consortium.

Rules (each tested):
- ``double_financing``: a funder tried to finance more against an underlying document than
  its amount (an approval refused with ``DOUBLE_FINANCING``);
- ``over_value``: an issue or financing refused for exceeding a document's amount or a credit
  line (``OVER_DOCUMENT``, ``OVER_LIMIT``);
- ``voucher_overdue``: a voucher was marked overdue;
- ``volume_spike``: an organisation sent far more transactions in a minute of block time than
  its recent average (at least ``spike_min`` and ``spike_factor`` times the average);
- ``sensor_breach`` and ``recall``: traceability readings out of range, recalled lots;
- ``node_disagrees``: an organisation attested a block hash other than this node's.

Alerts derived from blocks are the same on every node; each node keeps them in its own store
and serves them on ``/alerts`` and as a Server-Sent Events stream, and POSTs each to the
configured webhooks.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from consortia.types import codec

log = logging.getLogger(__name__)

REFUSALS = {"DOUBLE_FINANCING": "double_financing", "OVER_DOCUMENT": "over_value", "OVER_LIMIT": "over_value"}
EVENTS = {("scf", "VoucherOverdue"): "voucher_overdue", ("trace", "SensorAlert"): "sensor_breach",
          ("trace", "LotRecalled"): "recall"}
MINUTE_MS = 60_000


class Alerts:
    def __init__(self, path: Path, *, webhooks: list[str] | None = None, spike_min: int = 200,
                 spike_factor: int = 5, history_minutes: int = 30) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS alerts (seq INTEGER PRIMARY KEY, alert BLOB NOT NULL)")
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self.spike_min, self.spike_factor = spike_min, spike_factor
        self._minutes: dict[str, deque[tuple[int, int]]] = defaultdict(lambda: deque(maxlen=history_minutes))
        self._webhooks = list(webhooks or [])
        self._outbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._sender: threading.Thread | None = None
        if self._webhooks:
            self._sender = threading.Thread(target=self._deliver_webhooks, name="webhooks", daemon=True)
            self._sender.start()

    def close(self) -> None:
        if self._sender is not None:
            self._outbox.put(None)
            self._sender.join(timeout=5)
        self._conn.close()

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- rules ---------------------------------------------------------------------------

    def on_block(self, height: int, time_ms: int, txs: list[dict[str, Any]], receipts: list[dict[str, Any]],
                 sender_org: Callable[[dict[str, Any]], str]) -> None:
        """Apply every rule to one committed block."""
        per_org: dict[str, int] = defaultdict(int)
        for tx, receipt in zip(txs, receipts, strict=True):
            org = sender_org(tx)
            per_org[org] += 1
            rule = REFUSALS.get(receipt["code"])
            if rule:
                self.raise_alert(rule, height, time_ms, org=org, tx_id=receipt["tx_id"],
                                 detail={"call": f"{tx['contract']}.{tx['method']}", "code": receipt["code"],
                                         "message": receipt["message"], "args": tx["args"]})
            for event in receipt["events"]:
                rule = EVENTS.get((event["contract"], event["name"]))
                if rule:
                    self.raise_alert(rule, height, time_ms, org=org, tx_id=receipt["tx_id"], detail=event["data"])
        self._volume(height, time_ms, per_org)

    def _volume(self, height: int, time_ms: int, per_org: dict[str, int]) -> None:
        minute = time_ms // MINUTE_MS
        for org, count in per_org.items():
            window = self._minutes[org]
            if window and window[-1][0] == minute:
                window[-1] = (minute, window[-1][1] + count)
            else:
                window.append((minute, count))
            current = window[-1][1]
            history = [c for m, c in window if m != minute]
            average = sum(history) / len(history) if history else 0.0
            if current >= self.spike_min and current >= self.spike_factor * max(average, 1.0) \
                    and current - count < self.spike_min:  # once per minute: when the threshold is crossed
                self.raise_alert("volume_spike", height, time_ms, org=org, tx_id="",
                                 detail={"minute_txs": current, "average_txs": round(average)})

    def node_disagrees(self, height: int, orgs: dict[str, str], ours: str) -> None:
        self.raise_alert("node_disagrees", height, int(time.time() * 1000), org=",".join(sorted(orgs)), tx_id="",
                         detail={"attested": orgs, "ours": ours})

    # -- storage, stream, webhooks ------------------------------------------------------------

    def raise_alert(self, rule: str, height: int, time_ms: int, *, org: str, tx_id: str, detail: Any) -> dict[str, Any]:
        with self._lock:
            row = self._conn.execute("SELECT MAX(seq) FROM alerts").fetchone()
            alert = {"seq": (row[0] or 0) + 1, "rule": rule, "height": height, "time_ms": time_ms, "org": org,
                     "tx_id": tx_id, "detail": detail}
            self._conn.execute("INSERT INTO alerts (seq, alert) VALUES (?, ?)", (alert["seq"], codec.encode(alert)))
        log.warning("ALERT %s at height %d (%s)", rule, height, org)
        for listener in list(self._listeners):
            listener(alert)
        if self._webhooks:
            self._outbox.put(alert)
        return alert

    def list(self, after: int = 0, limit: int = 1000, rule: str | None = None) -> list[dict[str, Any]]:
        rows = self._conn.execute("SELECT alert FROM alerts WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        alerts = [codec.decode(r[0]) for r in rows]
        return [a for a in alerts if rule is None or a["rule"] == rule]

    def _deliver_webhooks(self) -> None:
        with httpx.Client(timeout=5) as http:
            while (alert := self._outbox.get()) is not None:
                for url in self._webhooks:
                    for attempt in range(3):
                        try:
                            http.post(url, json=alert).raise_for_status()
                            break
                        except httpx.HTTPError as exc:
                            log.warning("webhook %s failed (%s), attempt %d", url, exc, attempt + 1)
                            time.sleep(0.5 * (attempt + 1))

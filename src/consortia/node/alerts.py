"""Risk alerts for the regulator: rules over every committed block, plus the node's own
disagreement with the consortium.

Rules (each tested):
- ``double_financing``: a funder tried to finance more against an underlying document than
  its amount (an approval refused with ``DOUBLE_FINANCING``);
- ``over_value``: an issue or financing refused for exceeding a document's amount or a credit
  line (``OVER_DOCUMENT``, ``OVER_LIMIT``);
- ``over_quota``: a bank tried to draw more against a customs declaration than its value
  (``QUOTA_EXCEEDED``, trade finance);
- ``voucher_overdue``: a voucher was marked overdue;
- ``volume_spike``: an organisation sent far more transactions in a minute of block time than
  its recent average (at least ``spike_min`` and ``spike_factor`` times the average: the chain
  config's ``alert_spike_min`` and ``alert_spike_factor``, followed as governance changes them);
- ``sensor_breach`` and ``recall``: traceability readings out of range, recalled lots;
- ``waybill_temperature``, ``waybill_exception``, ``waybill_disputed``: a waybill checkpoint
  outside the goods' temperature range, packages lost, found or damaged, a delivery disputed;
- ``node_disagrees``: an organisation attested a block hash other than this node's;
- ``double_reimbursement``: a second claim or reimbursement of an invoice (refused with
  ``ALREADY_CLAIMED`` or ``ALREADY_REIMBURSED``); ``invoice_flagged`` and ``invoice_voided``: the tax
  authority flagged or voided an invoice;
- ``grant_unconfirmed``: a charity grant not confirmed (nor closed by an exception) by its
  deadline, in block time (``alerts_charity.py``).

Alerts derived from blocks are the same on every node; each node keeps them in its own store
and serves them on ``/alerts`` and as a Server-Sent Events stream, and POSTs each to the
configured webhooks.

Durability: a block's alerts, the height they were derived for and the volume windows are
written in one SQLite transaction, so each block's alerts are recorded exactly once. A node
that died after committing a block but before recording its alerts derives them when it
starts (``rederive``). Webhooks are at-least-once: the last alert handed to every webhook is
recorded after delivery, so after a crash a receiver may see an alert again (same ``seq``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from consortia.ledger.store import Store
from consortia.node.alerts_charity import GrantWatch
from consortia.types import codec

log = logging.getLogger(__name__)

REFUSALS = {"DOUBLE_FINANCING": "double_financing", "OVER_DOCUMENT": "over_value", "OVER_LIMIT": "over_value"}
REFUSALS["QUOTA_EXCEEDED"] = "over_quota"  # trade: a bank drew above a customs declaration's value
EVENTS = {("scf", "VoucherOverdue"): "voucher_overdue", ("trace", "SensorAlert"): "sensor_breach",
          ("trace", "LotRecalled"): "recall"}
REFUSALS.update({"ALREADY_CLAIMED": "double_reimbursement", "ALREADY_REIMBURSED": "double_reimbursement"})  # invoice
EVENTS.update({("invoice", "InvoiceFlagged"): "invoice_flagged", ("invoice", "InvoiceVoided"): "invoice_voided"})
EVENTS.update({("waybill", "TemperatureExcursion"): "waybill_temperature",  # apps/waybill (ADR 0017)
               ("waybill", "PackagesException"): "waybill_exception", ("waybill", "WaybillDisputed"): "waybill_disputed"})
MINUTE_MS = 60_000


Rule = tuple[str, str, str, Any]  # (rule, org, tx_id, detail) of one alert a block raises


class Alerts:
    """``derived_from``: the height to assume already derived when the database has no record
    of it (a store written before heights were recorded); a new database starts at -1."""

    def __init__(self, path: Path, *, webhooks: list[str] | None = None, spike_min: int = 200,
                 spike_factor: int = 5, history_minutes: int = 30, derived_from: int = -1) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS alerts (seq INTEGER PRIMARY KEY, alert BLOB NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self.spike_min, self.spike_factor = spike_min, spike_factor
        if (kept := self._meta("spike")) is not None:  # as governance last set them, up to the derived height
            self.spike_min, self.spike_factor = codec.decode(kept)
        self._history = history_minutes
        self._minutes: dict[str, deque[tuple[int, int]]] = defaultdict(lambda: deque(maxlen=history_minutes))
        for org, window in codec.decode(self._meta("volume") or b"{}").items():
            self._minutes[org].extend((m, c) for m, c in window)
        derived = self._meta("derived_height")
        self._derived = derived_from if derived is None else int(derived)
        self._grants = GrantWatch(self._meta("charity_grants"))
        self._webhooks = list(webhooks or [])
        self._wake = threading.Event()
        self._closing = False
        self._sender: threading.Thread | None = None
        if not self._webhooks:  # so that webhooks added later start with the alerts raised from then on
            self._conn.execute("DELETE FROM meta WHERE key='webhook_seq'")
        elif self._meta("webhook_seq") is None:
            top = self._conn.execute("SELECT MAX(seq) FROM alerts").fetchone()[0] or 0
            self._conn.execute("INSERT INTO meta (key, value) VALUES ('webhook_seq', ?)", (str(top).encode(),))
        if self._webhooks:
            self._sender = threading.Thread(target=self._deliver_webhooks, name="webhooks", daemon=True)
            self._sender.start()

    def close(self) -> None:
        if self._sender is not None:
            self._closing = True
            self._wake.set()
            self._sender.join(timeout=5)
        self._conn.close()

    def _meta(self, key: str) -> bytes | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def derived_height(self) -> int:
        """The last block height whose alerts are recorded."""
        return self._derived

    def add_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[dict[str, Any]], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    # -- rules ---------------------------------------------------------------------------

    def on_block(self, height: int, time_ms: int, txs: list[dict[str, Any]], receipts: list[dict[str, Any]],
                 sender_org: Callable[[dict[str, Any]], str]) -> list[dict[str, Any]]:
        """Apply every rule to one committed block and record its alerts with its height, in one
        transaction; a block at or below the recorded height was derived already and is skipped."""
        if height <= self._derived:
            return []
        found: list[Rule] = []
        per_org: dict[str, int] = defaultdict(int)
        for tx, receipt in zip(txs, receipts, strict=True):
            org = sender_org(tx)
            per_org[org] += 1
            rule = REFUSALS.get(receipt["code"])
            if rule:
                found.append((rule, org, receipt["tx_id"], {"call": f"{tx['contract']}.{tx['method']}",
                                                            "code": receipt["code"], "message": receipt["message"],
                                                            "args": tx["args"]}))
            for event in receipt["events"]:
                rule = EVENTS.get((event["contract"], event["name"]))
                if rule:
                    found.append((rule, org, receipt["tx_id"], event["data"]))
        found += self._volume(time_ms, per_org)
        found += self._grants.on_block(time_ms, receipts)
        self._follow_config(receipts)
        volume = {org: [list(p) for p in window] for org, window in sorted(self._minutes.items())}
        return self._record(height, time_ms, found, {"derived_height": str(height).encode(),
                                                      "volume": codec.encode(volume),
                                                      "charity_grants": self._grants.dump(),
                                                      "spike": codec.encode([self.spike_min, self.spike_factor])})

    def _follow_config(self, receipts: list[dict[str, Any]]) -> None:
        """Take the spike thresholds a governance vote changed in this block, for the blocks after it."""
        for receipt in receipts:
            for event in receipt["events"] if receipt["status"] == "ok" else ():
                if (event["contract"], event["name"]) == ("gov", "ConfigChanged"):
                    key, value = event["data"]["key"], event["data"]["value"]
                    if key == "alert_spike_min":
                        self.spike_min = int(value)
                    elif key == "alert_spike_factor":
                        self.spike_factor = int(value)

    def _volume(self, time_ms: int, per_org: dict[str, int]) -> list[Rule]:
        minute = time_ms // MINUTE_MS
        found: list[Rule] = []
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
                found.append(("volume_spike", org, "", {"minute_txs": current, "average_txs": round(average)}))
        return found

    def node_disagrees(self, height: int, orgs: dict[str, str], ours: str) -> None:
        self.raise_alert("node_disagrees", height, int(time.time() * 1000), org=",".join(sorted(orgs)), tx_id="",
                         detail={"attested": orgs, "ours": ours})

    # -- storage, stream, webhooks ------------------------------------------------------------

    def raise_alert(self, rule: str, height: int, time_ms: int, *, org: str, tx_id: str, detail: Any) -> dict[str, Any]:
        """Record one alert that is not derived from a block (such as a node's disagreement)."""
        return self._record(height, time_ms, [(rule, org, tx_id, detail)], {})[0]

    def _record(self, height: int, time_ms: int, found: list[Rule], meta: dict[str, bytes]) -> list[dict[str, Any]]:
        """Insert ``found`` and write ``meta`` in one transaction; then tell listeners and webhooks."""
        alerts: list[dict[str, Any]] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._conn.execute("SELECT MAX(seq) FROM alerts").fetchone()
                seq = row[0] or 0
                for rule, org, tx_id, detail in found:
                    seq += 1
                    alert = {"seq": seq, "rule": rule, "height": height, "time_ms": time_ms, "org": org,
                             "tx_id": tx_id, "detail": detail}
                    self._conn.execute("INSERT INTO alerts (seq, alert) VALUES (?, ?)", (seq, codec.encode(alert)))
                    alerts.append(alert)
                self._conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", sorted(meta.items()))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            if "derived_height" in meta:
                self._derived = height
        for alert in alerts:
            log.warning("ALERT %s at height %d (%s)", alert["rule"], height, alert["org"])
            for listener in list(self._listeners):
                listener(alert)
        if alerts:
            self._wake.set()
        return alerts

    def list(self, after: int = 0, limit: int = 1000, rule: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute("SELECT alert FROM alerts WHERE seq > ? ORDER BY seq LIMIT ?",
                                      (after, limit)).fetchall()
        alerts = [codec.decode(r[0]) for r in rows]
        return [a for a in alerts if rule is None or a["rule"] == rule]

    def _deliver_webhooks(self) -> None:
        """POST every alert after the recorded cursor to each webhook (three attempts each), then
        move the cursor: a crash before the cursor moves sends those alerts again."""
        with httpx.Client(timeout=5) as http:
            while not self._closing:
                self._wake.clear()
                with self._lock:
                    cursor = int(self._meta("webhook_seq") or b"0")
                pending = self.list(cursor, 100)
                for alert in pending:
                    for url in self._webhooks:
                        self._post(http, url, alert)
                    with self._lock:
                        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('webhook_seq', ?)",
                                           (str(alert["seq"]).encode(),))
                if not pending:
                    self._wake.wait(5)

    @staticmethod
    def _post(http: httpx.Client, url: str, alert: dict[str, Any]) -> None:
        for attempt in range(3):
            try:
                http.post(url, json=alert).raise_for_status()
                return
            except httpx.HTTPError as exc:
                log.warning("webhook %s failed (%s), attempt %d", url, exc, attempt + 1)
                time.sleep(0.5 * (attempt + 1))


def rederive(alerts: Alerts, store: Store, sender_org: Callable[[dict[str, Any]], str]) -> int:
    """Derive the alerts of every stored block above the recorded height; return how many blocks
    held transactions (the genesis block, always there, holds none)."""
    start, count = alerts.derived_height() + 1, 0
    for block in store.iter_blocks(max(start, 0)):
        alerts.on_block(block.height, block.header.time_ms, [w["tx"] for w in block.txs],
                        [r.to_dict() for r in block.receipts], sender_org)
        count += 1 if block.txs else 0
    return count

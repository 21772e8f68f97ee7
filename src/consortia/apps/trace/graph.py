"""Backward and forward trace over the event indexes: what a product came from, where a lot went.

The graph is implicit in the events. Each identifier has an index of the events that name it
(``k/<key>|<time>/<event ref>`` -> its role there: ``epc``, ``parent``, ``child``, ``in``, ``out``;
an event ref is the digest of a CBV 2.0 hash ID in 43 base64url characters, ``event_ref``, ADR 0028).
Edges, each proved by one event:

- *transformed*: a TransformationEvent turns its inputs into its outputs;
- *packed*: an Aggregation/AssociationEvent ``ADD`` puts children into a parent (a case on a
  pallet, a pallet in a container) until a ``DELETE`` takes them out;
- *lot*: an instance belongs to its lot (learned from Digital Links with (10) and (21), or the
  ILMD lot number at commissioning).

Backward from X: X's own events; for each output, the inputs' history up to the transformation;
the containers X travelled in, only while X was inside; for a container, the origins of what
was packed into it; for an instance, the events of its lot. Forward from X is the mirror: the
outputs made from X after the transformation, the containers X went into while inside, and for
a lot every instance of it. Walks are bounded (``MAX_NODES``); a truncated result says so.
"""

from __future__ import annotations

import base64
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from consortia.contracts.sdk import Context

TIME_OFFSET = 10**14  # index keys hold ms + offset, zero padded: sortable back to year -1200
NEVER = 10**17
MAX_NODES = 20_000
MAX_ROWS = 1_000_000


HASH_HEAD, HASH_TAIL = "ni:///sha-256;", "?ver=CBV2.0"
HASH_ID = re.compile(r"ni:///sha-256;([0-9a-f]{64})\?ver=CBV2\.0")


def time_key(ms: int) -> str:
    return f"{ms + TIME_OFFSET:016d}"


def event_ref(event_id: str) -> str:
    """How index keys name an event: the digest of a CBV 2.0 hash ID in unpadded base64url (43
    characters instead of 84), any other ID whole (it contains a colon, which base64url never does)."""
    found = HASH_ID.fullmatch(event_id)
    return event_id if found is None else base64.urlsafe_b64encode(bytes.fromhex(found[1])).decode()[:-1]


def event_of(ref: str) -> str:
    """The event ID an index key's ``event_ref`` stands for."""
    if ":" in ref:
        return ref
    return f"{HASH_HEAD}{base64.urlsafe_b64decode(ref + '=').hex()}{HASH_TAIL}"


def index_rows(ctx: Context, key: str) -> list[tuple[int, str, str]]:
    """``(time_ms, event_id, role)`` of every event naming ``key``, oldest first."""
    prefix = f"k/{key}|"
    out = []
    for full, role in ctx.range(prefix, limit=MAX_ROWS):
        stamp, _, ref = full[len(prefix):].partition("/")
        out.append((int(stamp) - TIME_OFFSET, event_of(ref), role))
    return out


@dataclass
class Walk:
    """The result of one trace: nodes by key, events by id, the edges between nodes."""

    ctx: Context
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, Any]] = field(default_factory=list)
    carriers: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)
    truncated: bool = False
    _records: dict[str, dict[str, Any]] = field(default_factory=dict)
    _rows: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)
    _windows: dict[tuple[str, bool], tuple[int, int]] = field(default_factory=dict)

    def visit(self, key: str, kind: str, lo: int, hi: int) -> bool:
        """Note a visit of ``key`` in ``[lo, hi]``; False if an earlier visit already covered it.
        A container visit and a product visit of one key are separate (they follow other edges)."""
        role = (key, kind == "container")
        seen = self._windows.get(role)
        if seen is not None and seen[0] <= lo and seen[1] >= hi:
            return False
        if len(self.nodes) >= MAX_NODES and key not in self.nodes:
            self.truncated = True
            return True
        self._windows[role] = (min(lo, seen[0]), max(hi, seen[1])) if seen else (lo, hi)
        known = self.nodes.get(key)
        if known is None or (known["kind"] == "container" and kind != "container"):
            self.nodes[key] = {"key": key, "kind": kind}
        return True

    def rows(self, key: str) -> list[tuple[int, str, str]]:
        """``index_rows`` of ``key``, read once per walk (a container is read for each of its contents)."""
        if key not in self._rows:
            self._rows[key] = index_rows(self.ctx, key)
        return self._rows[key]

    def record(self, event_id: str) -> dict[str, Any]:
        if event_id not in self._records:
            self._records[event_id] = self.ctx.get(f"ev/{event_id}")
        return self._records[event_id]

    def edge(self, source: str, target: str, kind: str, event_id: str | None, time_ms: int | None) -> None:
        self.edges.append({"from": source, "to": target, "kind": kind, "event": event_id, "time_ms": time_ms})

    def removal_time(self, parent: str, child: str, after: int) -> int:
        """When ``child`` was taken out of ``parent`` after ``after`` (NEVER if it still is in)."""
        for stamp, event_id, role in self.rows(parent):
            if role != "parent" or stamp < after:
                continue
            rec = self.record(event_id)
            if rec["action"] == "DELETE" and rec["type"] in ("AggregationEvent", "AssociationEvent") and (
                    not rec["child"] and not rec["child_class"] or child in rec["child"]
                    or any(q["key"] == child for q in rec["child_class"])):
                return stamp
        return NEVER


def _children(rec: dict[str, Any]) -> list[str]:
    return list(rec["child"]) + [q["key"] for q in rec["child_class"]]


def _outputs(rec: dict[str, Any]) -> list[str]:
    return list(rec["out"]) + [q["key"] for q in rec["out_class"]]


def _inputs(rec: dict[str, Any]) -> list[str]:
    return list(rec["in"]) + [q["key"] for q in rec["in_class"]]


def _is_packing(rec: dict[str, Any]) -> bool:
    return rec["type"] in ("AggregationEvent", "AssociationEvent") and rec["action"] == "ADD" and rec["parent"] is not None


Queue = deque[tuple[str, str, int, int]]


def _traverse(ctx: Context, start: str, expand_row: Any, expand_key: Any) -> Walk:
    """Breadth-first walk from ``start``. Following a package into the containers that carried it
    (and for how long) is the same both ways; ``expand_row`` takes one indexed event of a
    non-container key further, ``expand_key`` its lot links."""
    walk = Walk(ctx)
    queue: Queue = deque([(start, "start", -NEVER, NEVER)])
    while queue:
        key, kind, lo, hi = queue.popleft()
        if not walk.visit(key, kind, lo, hi):
            continue
        if walk.truncated:
            break
        for stamp, event_id, role in walk.rows(key):
            if not lo <= stamp <= hi:
                continue
            rec = walk.record(event_id)
            walk.events[event_id] = rec
            if role == "child" and _is_packing(rec):
                end = min(walk.removal_time(rec["parent"], key, stamp), hi)
                walk.edge(key, rec["parent"], "packed", event_id, stamp)
                walk.carriers.setdefault(key, []).append((rec["parent"], stamp, end))
                queue.append((rec["parent"], "container", stamp, end))
            if kind != "container":  # a container's own origins and other contents are not the product's
                expand_row(walk, queue, key, role, rec, event_id, stamp)
        if kind != "container":
            expand_key(walk, queue, key, lo, hi)
    return walk


def backward(ctx: Context, start: str) -> Walk:
    """Everything ``start`` came from: inputs of transformations, contents, its lot."""
    def row(walk: Walk, queue: Queue, key: str, role: str, rec: dict[str, Any], event_id: str, stamp: int) -> None:
        if role == "out" and rec["type"] == "TransformationEvent":
            for source in _inputs(rec):
                walk.edge(source, key, "transformed", event_id, stamp)
                queue.append((source, "input", -NEVER, stamp))
        elif role == "parent" and _is_packing(rec):
            for child in _children(rec):
                walk.edge(child, key, "packed", event_id, stamp)
                queue.append((child, "content", -NEVER, stamp))

    def lots(walk: Walk, queue: Queue, key: str, lo: int, hi: int) -> None:
        lot = ctx.get(f"lot/{key}")
        if lot is not None:
            walk.edge(key, lot, "lot", None, None)
            queue.append((lot, "lot", lo, hi))

    return _traverse(ctx, start, row, lots)


def forward(ctx: Context, start: str) -> Walk:
    """Everything ``start`` went into: outputs of transformations, contents, its lot's items."""
    def row(walk: Walk, queue: Queue, key: str, role: str, rec: dict[str, Any], event_id: str, stamp: int) -> None:
        if role == "in" and rec["type"] == "TransformationEvent":
            for target in _outputs(rec):
                walk.edge(key, target, "transformed", event_id, stamp)
                queue.append((target, "output", stamp, NEVER))
        elif role == "parent" and _is_packing(rec):
            for child in _children(rec):
                walk.edge(key, child, "packed", event_id, stamp)
                queue.append((child, "content", stamp, NEVER))

    def lots(walk: Walk, queue: Queue, key: str, lo: int, hi: int) -> None:
        for full, _ in ctx.range(f"lotm/{key}|", limit=MAX_ROWS):
            member = full.split("|", 1)[1]
            walk.edge(key, member, "lot", None, None)
            queue.append((member, "item", lo, NEVER))

    return _traverse(ctx, start, row, lots)


def last_seen(walk: Walk, key: str, depth: int = 0) -> tuple[int, str] | None:
    """The latest ``(time_ms, event_id)`` that places ``key`` somewhere: its own events, or a
    container's while ``key`` was inside it."""
    best: tuple[int, str] | None = None
    for stamp, event_id, _ in walk.rows(key):
        rec = walk.record(event_id)
        if (rec["biz_location"] or rec["read_point"]) and (best is None or stamp >= best[0]):
            best = (stamp, event_id)
    if depth < 4:
        for parent, lo, hi in walk.carriers.get(key, []):
            for stamp, event_id, _ in walk.rows(parent):
                rec = walk.record(event_id)
                if lo <= stamp <= hi and (rec["biz_location"] or rec["read_point"]) and (best is None or stamp >= best[0]):
                    best = (stamp, event_id)
            inner = last_seen(walk, parent, depth + 1)
            if inner is not None and lo <= inner[0] <= hi and (best is None or inner[0] >= best[0]):
                best = inner
    return best

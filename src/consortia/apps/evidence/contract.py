"""The ``evidence`` contract: a depository of digital fingerprints and a copyright register.

A *deposit* puts a file's digest (SHA-256 or SM3, the algorithm always named) on the chain with a
title, a kind and metadata; the file stays with its owner. The first registration of a digest
reserves it; it is *confirmed* at once, or, when the depositor names co-signers and a threshold,
once that many of them co-signed. The confirmation time is the block time of the confirming
transaction, never a client's clock; its receipt carries a ``Confirmed`` event with the whole
record, which is what an offline certificate proves (ADR 0009).

A *work* is a copyright registration: its id is derived from its content digest, its owner and
the block time; it can be transferred and licensed, every step is kept in its history, and
infringement evidence (URL, capture time, digest of the captured copy) is linked to it.

Visibility: anyone may ask whether a digest exists and since when (verification is public);
the record itself (title, metadata) is visible to its owner, organisations it granted, its
co-signers and regulators. A node may keep an encrypted copy of a file for its owner (ADR 0011);
``file_access`` says who may read it: the owner, the organisations it granted and regulators.
"""

from __future__ import annotations

import re
from typing import Any

from consortia.apps.evidence.batch import certified_fields, compute_batch_root, compute_leaf
from consortia.contracts.sdk import Context, Contract, method, query, refuse, require
from consortia.crypto import get_suite
from consortia.errors import Forbidden, NotFound

ALGORITHMS = ("sha-256", "sm3")
KINDS = ("document", "contract", "image", "audio", "video", "software", "data", "web-capture", "other")
HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_BATCH_ITEMS = 2000
MAX_META_ENTRIES = 20
MAX_COSIGNERS = 10
MAX_LIST = 500
ITEM_FIELDS = frozenset({"algorithm", "digest", "title", "kind", "metadata"})
BATCH_ROW = "~batch/"  # own/<org>/<height>/~batch/<tx id>: the deposits of one batch, in order


def digest_key(algorithm: str, digest: str) -> str:
    return f"d/{algorithm}/{digest}"


# A deposit's row leaves out what its key names (id, algorithm, digest) and the fields still at
# their defaults (ADR 0030); ``load_record`` gives back the whole record. Rows written before
# hold every field and load the same.
DEFAULTS: tuple[tuple[str, Any], ...] = (("metadata", {}), ("cosigners", []), ("threshold", 0), ("cosigned", []),
                                         ("grantees", []))
DERIVED = frozenset({"id", "algorithm", "digest"})


def stored_form(record: dict[str, Any]) -> dict[str, Any]:
    """The row of a deposit record: without the fields its key names or that hold their default."""
    row = {k: v for k, v in record.items() if k not in DERIVED}
    for name, default in DEFAULTS:
        if row.get(name) == default:
            del row[name]
    return row


def load_record(name: str, row: Any) -> dict[str, Any] | None:
    """The whole record of the deposit ``algorithm/digest`` from its row (None when absent)."""
    if row is None:
        return None
    algorithm, _, digest = name.partition("/")
    return {"id": f"{algorithm}:{digest}", "algorithm": algorithm, "digest": digest, "metadata": {}, "cosigners": [],
            "threshold": 0, "cosigned": [], "grantees": [], **row}


def check_digest(algorithm: object, digest: object) -> None:
    """Verify the algorithm is one we name and the digest is 64 lowercase hex characters."""
    if algorithm not in ALGORITHMS:
        raise refuse("BAD_ALGORITHM", f"algorithm: expected one of {ALGORITHMS}, got {algorithm!r:.40}")
    if type(digest) is not str or HEX64.fullmatch(digest) is None:
        raise refuse("BAD_DIGEST", f"digest: expected 64 lowercase hex characters, got {digest!r:.80}")


def check_text(value: object, what: str, limit: int, *, empty: bool = False) -> None:
    if not (type(value) is str and (empty or value.strip()) and len(value) <= limit):
        raise refuse("BAD_ARGS", f"{what}: expected {'' if empty else 'non-empty '}text of at most {limit} characters")


def check_metadata(metadata: object) -> None:
    if type(metadata) is not dict or len(metadata) > MAX_META_ENTRIES:
        raise refuse("BAD_METADATA", f"metadata: expected an object of at most {MAX_META_ENTRIES} entries")
    for key, value in metadata.items():
        if not (0 < len(key) <= 64 and type(value) is str and len(value) <= 1000):
            raise refuse("BAD_METADATA", f"metadata.{key:.64}: keys up to 64 characters, values text up to 1000")


class Evidence(Contract):
    name = "evidence"
    description = ("Evidence depository: register file digests (SHA-256 or SM3) with optional m-of-n "
                   "co-signing; copyright works with transfers, licences and infringement evidence.")

    # -- helpers --------------------------------------------------------------------------

    def _deposit(self, ctx: Context, algorithm: str, digest: str) -> dict[str, Any]:
        check_digest(algorithm, digest)
        record = load_record(f"{algorithm}/{digest}", ctx.get(digest_key(algorithm, digest)))
        require(record is not None, NotFound(f"no deposit of {algorithm}:{digest}", code="DEPOSIT_NOT_FOUND"))
        return record  # type: ignore[return-value]

    def _is_regulator(self, ctx: Context) -> bool:
        caller = ctx.caller
        return caller is not None and (ctx.member_org(caller.org) or {}).get("kind") == "regulator"

    def _may_see(self, ctx: Context, record: dict[str, Any]) -> bool:
        caller = ctx.caller
        if caller is None:
            return False
        return (caller.org == record["owner"] or caller.org in record["grantees"]
                or caller.org in record["cosigners"] or self._is_regulator(ctx))

    def _new_deposit(self, ctx: Context, item: dict[str, Any], cosigners: list[str], threshold: int,
                     *, events: bool = True) -> dict[str, Any]:
        """Check and store one deposit; ``events=False`` (a batch) leaves its events to the caller."""
        # Each check raises only when it fails, so that a valid deposit builds no refusal (hot path).
        if type(item) is not dict:
            raise refuse("BAD_ARGS", "each deposit: expected an object")
        if not ITEM_FIELDS.issuperset(item):
            raise refuse("BAD_ARGS", f"deposit: unknown field(s) {', '.join(sorted(set(item) - ITEM_FIELDS))}")
        algorithm, digest = item.get("algorithm"), item.get("digest")
        check_digest(algorithm, digest)
        check_text(item.get("title"), "title", 200)
        kind = item.get("kind", "document")
        if kind not in KINDS:
            raise refuse("BAD_KIND", f"kind: expected one of {KINDS}, got {kind!r:.40}")
        metadata = item.get("metadata", {})
        if metadata:
            check_metadata(metadata)
        elif type(metadata) is not dict:
            raise refuse("BAD_METADATA", f"metadata: expected an object of at most {MAX_META_ENTRIES} entries")
        key = f"d/{algorithm}/{digest}"
        first = ctx.get(key)
        if first is not None:
            raise refuse("ALREADY_DEPOSITED", f"{algorithm}:{digest} was deposited by {first['owner']} "
                                              f"at height {first['height']}")
        caller = ctx.require_caller()
        record = {"id": f"{algorithm}:{digest}", "algorithm": algorithm, "digest": digest, "title": item["title"],
                  "kind": kind, "metadata": metadata, "owner": caller.org, "depositor": caller.id,
                  "registered_ms": ctx.time_ms, "height": ctx.height, "cosigners": cosigners, "threshold": threshold,
                  "cosigned": [], "status": "pending", "confirmed_ms": None, "confirmed_tx": None, "grantees": []}
        if threshold == 0:
            self._confirm(ctx, record, emit=events)
        ctx.put(key, stored_form(record))
        if events:  # a batch lists its deposits in one row (ADR 0030)
            ctx.put(f"own/{caller.org}/{ctx.height:012d}/{algorithm}/{digest}", 1)
        for org in cosigners:
            ctx.put(f"cos/{org}/{algorithm}/{digest}", 1)
        if events:
            ctx.emit("Deposited", id=record["id"], owner=caller.org, status=record["status"])
        return record

    @staticmethod
    def _confirm(ctx: Context, record: dict[str, Any], *, emit: bool = True) -> None:
        record.update(status="confirmed", confirmed_ms=ctx.time_ms, confirmed_tx=ctx.tx_id.hex())
        if emit:
            ctx.emit("Confirmed", record=certified_fields(record))

    def _check_cosigners(self, ctx: Context, cosigners: list[str], threshold: int) -> None:
        require(len(cosigners) <= MAX_COSIGNERS and len(set(cosigners)) == len(cosigners),
                refuse("BAD_COSIGNERS", f"cosigners: at most {MAX_COSIGNERS} distinct organisations"))
        for org in cosigners:
            require(ctx.member_org(org) is not None, refuse("UNKNOWN_ORG", f"cosigner {org!r:.64} is not a member organisation"))
        require(0 <= threshold <= len(cosigners),
                refuse("BAD_THRESHOLD", f"threshold: expected 0 to {len(cosigners)} co-signatures, got {threshold}"))
        require(threshold > 0 or not cosigners, refuse("BAD_THRESHOLD", "co-signers named but threshold is 0"))

    # -- deposits -------------------------------------------------------------------------

    @method
    def deposit(self, ctx: Context, algorithm: str, digest: str, title: str, kind: str = "document",
                metadata: dict[str, str] | None = None, cosigners: list[str] | None = None,
                threshold: int = 0) -> dict[str, Any]:
        """Register one digest; the caller's organisation owns it. With ``cosigners`` and a
        ``threshold`` m, it is confirmed once m of them co-signed."""
        cosigners = cosigners or []
        self._check_cosigners(ctx, cosigners, threshold)
        item = {"algorithm": algorithm, "digest": digest, "title": title, "kind": kind, "metadata": metadata or {}}
        return self._new_deposit(ctx, item, cosigners, threshold)

    @method
    def deposit_batch(self, ctx: Context, items: list[dict[str, Any]], cosigners: list[str] | None = None,
                      threshold: int = 0) -> dict[str, Any]:
        """Register up to 2,000 digests in one transaction; one bad item refuses the whole batch.
        A batch confirmed at once is certified under one Merkle root (ADR 0030): one ``BatchConfirmed``
        event instead of an event per deposit."""
        require(0 < len(items) <= MAX_BATCH_ITEMS, refuse("BAD_BATCH", f"items: 1 to {MAX_BATCH_ITEMS} deposits"))
        cosigners = cosigners or []
        self._check_cosigners(ctx, cosigners, threshold)
        seen: set[tuple[Any, Any]] = set()
        leaves, names = [], []
        ctx.prefetch([f"d/{item['algorithm']}/{item['digest']}" for item in items  # one read for all of them
                      if type(item) is dict and type(item.get("algorithm")) is str and type(item.get("digest")) is str])
        for i, item in enumerate(items):
            pair = (item.get("algorithm"), item.get("digest")) if type(item) is dict else (None, i)
            if pair in seen:
                raise refuse("DUPLICATE_IN_BATCH", f"items[{i}] repeats {pair[0]}:{pair[1]}")
            seen.add(pair)
            record = self._new_deposit(ctx, item, cosigners, threshold, events=False)
            names.append(f"{pair[0]}/{pair[1]}")
            if threshold == 0:
                leaves.append(compute_leaf(certified_fields(record)))
        owner, status = ctx.require_caller().org, "confirmed" if threshold == 0 else "pending"
        ctx.put(f"own/{owner}/{ctx.height:012d}/{BATCH_ROW}{ctx.tx_id.hex()}", names)
        ctx.emit("BatchDeposited", owner=owner, count=len(items), status=status)
        root = None
        if threshold == 0:
            root = compute_batch_root(get_suite(ctx.suite).hash, leaves)
            ctx.emit("BatchConfirmed", owner=owner, count=len(items), root=root)
        return {"count": len(items), "status": status, "root": root}

    @method
    def cosign(self, ctx: Context, algorithm: str, digest: str) -> dict[str, Any]:
        """Co-sign a pending deposit for the caller's organisation (a named co-signer)."""
        record = self._deposit(ctx, algorithm, digest)
        org = ctx.require_caller().org
        require(org in record["cosigners"], Forbidden(f"{org} is not a co-signer of {record['id']}", code="NOT_COSIGNER"))
        require(org not in record["cosigned"], refuse("ALREADY_COSIGNED", f"{org} already co-signed {record['id']}"))
        require(record["status"] == "pending", refuse("ALREADY_CONFIRMED", f"{record['id']} is already confirmed"))
        record["cosigned"] = [*record["cosigned"], org]
        ctx.emit("Cosigned", id=record["id"], org=org, signer=ctx.require_caller().id)
        if len(record["cosigned"]) >= record["threshold"]:
            self._confirm(ctx, record)
        ctx.put(digest_key(algorithm, digest), stored_form(record))
        return record

    @method
    def grant(self, ctx: Context, algorithm: str, digest: str, org: str) -> dict[str, Any]:
        """The owner lets another organisation see a deposit's record."""
        record = self._deposit(ctx, algorithm, digest)
        caller = ctx.require_caller().org
        require(caller == record["owner"], Forbidden(f"only {record['owner']} grants access", code="NOT_OWNER"))
        require(ctx.member_org(org) is not None, refuse("UNKNOWN_ORG", f"{org!r:.64} is not a member organisation"))
        require(org not in record["grantees"] and org != caller, refuse("ALREADY_GRANTED", f"{org} already sees it"))
        record["grantees"] = sorted([*record["grantees"], org])
        ctx.put(digest_key(algorithm, digest), stored_form(record))
        ctx.emit("Granted", id=record["id"], org=org)
        return record

    @query
    def exists(self, ctx: Context, algorithm: str, digest: str) -> dict[str, Any]:
        """Public: is this digest on the chain, since when, and is it confirmed (no title, no metadata)."""
        check_digest(algorithm, digest)
        record = load_record(f"{algorithm}/{digest}", ctx.get(digest_key(algorithm, digest)))
        if record is None:
            return {"exists": False, "algorithm": algorithm, "digest": digest}
        return {"exists": True, "algorithm": algorithm, "digest": digest, "status": record["status"],
                "registered_ms": record["registered_ms"], "confirmed_ms": record["confirmed_ms"],
                "confirmed_tx": record["confirmed_tx"], "height": record["height"], "owner": record["owner"]}

    @query
    def get(self, ctx: Context, algorithm: str, digest: str) -> dict[str, Any]:
        """The full record: owner, grantees, co-signers and regulators (a signed read)."""
        record = self._deposit(ctx, algorithm, digest)
        ctx.require_caller()
        require(self._may_see(ctx, record), Forbidden(f"{ctx.require_caller().org} may not see {record['id']}",
                                                       code="NOT_VISIBLE"))
        return record

    @query
    def file_access(self, ctx: Context, algorithm: str, digest: str) -> dict[str, Any]:
        """What the caller may do with a node's encrypted copy of the file (ADR 0011): the owner
        keeps one; the owner, the organisations it granted and regulators read it."""
        record = self._deposit(ctx, algorithm, digest)
        org = ctx.require_caller().org
        return {"id": record["id"], "owner": record["owner"], "may_upload": org == record["owner"],
                "may_download": org == record["owner"] or org in record["grantees"] or self._is_regulator(ctx)}

    @query
    def deposits(self, ctx: Context, owner: str, after: str = "", limit: int = 100) -> dict[str, Any]:
        """An owner's deposits, oldest first (the owner itself or a regulator). ``after`` is the
        ``next`` of the previous page."""
        caller = ctx.require_caller()
        require(caller.org == owner or self._is_regulator(ctx),
                Forbidden(f"{caller.org} may not list the deposits of {owner}", code="NOT_VISIBLE"))
        require(type(limit) is int and 0 < limit <= MAX_LIST, refuse("BAD_ARGS", f"limit: 1 to {MAX_LIST}"))
        require(type(after) is str, refuse("BAD_ARGS", "after: expected the next of a previous page"))
        prefix = f"own/{owner}/"
        found: list[tuple[str, str]] = []  # (cursor, "algorithm/digest")
        row, _, position = after.rpartition("#") if "#" in after else (after, "", "")
        if position:  # the page ended inside a batch's row: the rest of that row first
            require(row.startswith(prefix) and position.isdigit(), refuse("BAD_ARGS", "after: not a cursor of this list"))
            names = ctx.get(row)
            found += batch_entries(row, names if type(names) is list else [], int(position) + 1)
        rows = ctx.range(prefix, limit=limit, after=row)
        for key, value in rows:
            found += batch_entries(key, value) if type(value) is list else [(key, key.split("/", 3)[3])]
        page = found[:limit]
        items = [load_record(name, ctx.get("d/" + name)) for _, name in page]
        more = len(found) > limit or len(rows) == limit
        return {"deposits": items, "next": page[-1][0] if more and page else None}

    @query
    def pending(self, ctx: Context) -> dict[str, Any]:
        """Deposits waiting for the caller's organisation to co-sign."""
        org = ctx.require_caller().org
        names = [key.split("/", 2)[2] for key, _ in ctx.range(f"cos/{org}/", limit=MAX_LIST)]
        records = [r for name in names if (r := load_record(name, ctx.get("d/" + name))) is not None]
        return {"pending": [r for r in records if r["status"] == "pending" and org not in r["cosigned"]]}

    @method
    def anchor_timestamp(self, ctx: Context, hash_algorithm: str, imprint: str) -> dict[str, Any]:
        """Anchor an RFC 3161 request's message imprint; the block time is the token's genTime."""
        size = IMPRINT_HEX.get(hash_algorithm)
        require(size is not None, refuse("BAD_ALGORITHM", f"hash_algorithm: expected one of {sorted(IMPRINT_HEX)}"))
        require(type(imprint) is str and len(imprint) == size and re.fullmatch("[0-9a-f]+", imprint) is not None,
                refuse("BAD_DIGEST", f"imprint: expected {size} lowercase hex characters for {hash_algorithm}"))
        serial = ctx.derive_id("timestamp", hash_algorithm, imprint)
        record = {"serial": serial, "hash_algorithm": hash_algorithm, "imprint": imprint, "time_ms": ctx.time_ms,
                  "height": ctx.height, "tx": ctx.tx_id.hex(), "by": ctx.require_caller().id}
        ctx.put(f"ts/{serial}", record)
        ctx.emit("TimestampAnchored", serial=serial, hash_algorithm=hash_algorithm, imprint=imprint)
        return record

    @query
    def timestamp(self, ctx: Context, serial: str) -> dict[str, Any]:
        """Public: an anchored time-stamp by its serial number (hex)."""
        require(type(serial) is str and 0 < len(serial) <= 64, refuse("BAD_ARGS", "serial: expected a string"))
        record = ctx.get(f"ts/{serial}")
        require(record is not None, NotFound(f"no time-stamp {serial!r}", code="TIMESTAMP_NOT_FOUND"))
        return record  # type: ignore[no-any-return]

    # -- copyright ------------------------------------------------------------------------

    def _work(self, ctx: Context, work_id: str) -> dict[str, Any]:
        require(type(work_id) is str and 0 < len(work_id) <= 64, refuse("BAD_ARGS", "work id: expected a string"))
        work = ctx.get(f"w/{work_id}")
        require(work is not None, NotFound(f"no work {work_id!r}", code="WORK_NOT_FOUND"))
        return work  # type: ignore[no-any-return]

    def _owned_work(self, ctx: Context, work_id: str) -> dict[str, Any]:
        work = self._work(ctx, work_id)
        org = ctx.require_caller().org
        require(org == work["owner"], Forbidden(f"{work_id} is owned by {work['owner']}, not {org}", code="NOT_OWNER"))
        return work

    def _history(self, ctx: Context, work: dict[str, Any], action: str, **data: Any) -> None:
        work["version"] += 1
        ctx.put(f"wh/{work['id']}/{work['version']:06d}", {"action": action, "at_ms": ctx.time_ms, "height": ctx.height,
                                                           "tx": ctx.tx_id.hex(), "by": ctx.require_caller().id, **data})
        ctx.put(f"w/{work['id']}", work)
        ctx.emit("Work" + action.title().replace("-", ""), work=work["id"], **data)

    @method
    def register_work(self, ctx: Context, algorithm: str, digest: str, title: str, author: str,
                      kind: str = "document") -> dict[str, Any]:
        """Register a copyright work; its id derives from the content digest, the owner and the block time."""
        check_digest(algorithm, digest)
        check_text(title, "title", 200)
        check_text(author, "author", 200)
        require(kind in KINDS, refuse("BAD_KIND", f"kind: expected one of {KINDS}, got {kind!r:.40}"))
        claimed = ctx.get(f"wd/{algorithm}/{digest}")
        require(claimed is None, refuse("WORK_EXISTS", f"{algorithm}:{digest} is already registered as work {claimed}"))
        owner = ctx.require_caller().org
        work_id = ctx.derive_id("work", algorithm, digest, owner, str(ctx.time_ms))
        work = {"id": work_id, "algorithm": algorithm, "digest": digest, "title": title, "author": author,
                "kind": kind, "owner": owner, "registered_ms": ctx.time_ms, "height": ctx.height, "licences": [],
                "version": 0}
        ctx.put(f"wd/{algorithm}/{digest}", work_id)
        self._history(ctx, work, "registered", owner=owner, digest=f"{algorithm}:{digest}")
        return work

    @method
    def transfer_work(self, ctx: Context, work_id: str, to: str) -> dict[str, Any]:
        """The owner assigns the copyright to another member organisation."""
        work = self._owned_work(ctx, work_id)
        require(ctx.member_org(to) is not None and to != work["owner"],
                refuse("BAD_RECIPIENT", f"{to!r:.64} is not another member organisation"))
        previous, work["owner"] = work["owner"], to
        self._history(ctx, work, "transferred", **{"from": previous, "to": to})
        return work

    @method
    def license_work(self, ctx: Context, work_id: str, licensee: str, scope: str, until_ms: int,
                     exclusive: bool = False) -> dict[str, Any]:
        """The owner licenses the work for ``scope`` until ``until_ms``; an exclusive licence admits no other."""
        work = self._owned_work(ctx, work_id)
        require(ctx.member_org(licensee) is not None and licensee != work["owner"],
                refuse("BAD_RECIPIENT", f"{licensee!r:.64} is not another member organisation"))
        check_text(scope, "scope", 200)
        require(type(until_ms) is int and ctx.time_ms < until_ms, refuse("BAD_TERM", "until_ms must be after the block time"))
        live = [lic for lic in work["licences"] if lic["until_ms"] > ctx.time_ms and lic["scope"] == scope]
        require(not any(lic["exclusive"] for lic in live) and not (exclusive and live),
                refuse("LICENCE_CONFLICT", f"scope {scope!r:.80} is already licensed"
                       + (" exclusively" if any(lic["exclusive"] for lic in live) else "")))
        licence = {"licensee": licensee, "scope": scope, "until_ms": until_ms, "exclusive": exclusive,
                   "from_ms": ctx.time_ms}
        work["licences"] = [*work["licences"], licence]
        self._history(ctx, work, "licensed", **licence)
        return work

    @method
    def record_infringement(self, ctx: Context, work_id: str, url: str, captured_ms: int, algorithm: str,
                            digest: str, note: str = "") -> dict[str, Any]:
        """Link evidence of an infringement (URL, capture time, digest of the captured copy) to a work;
        by its owner, a licensee or a regulator."""
        work = self._work(ctx, work_id)
        org = ctx.require_caller().org
        require(org == work["owner"] or org in {lic["licensee"] for lic in work["licences"]} or self._is_regulator(ctx),
                Forbidden(f"{org} is neither the owner, a licensee nor a regulator of {work_id}", code="NOT_OWNER"))
        require(type(url) is str and url.startswith(("http://", "https://")) and len(url) <= 2000,
                refuse("BAD_URL", "url: expected an http(s) URL of at most 2000 characters"))
        require(type(captured_ms) is int and 0 < captured_ms <= ctx.time_ms,
                refuse("BAD_TIME", "captured_ms: expected a time no later than the block time"))
        check_digest(algorithm, digest)
        check_text(note, "note", 1000, empty=True)
        record_id = ctx.derive_id("infringement", work_id, url)
        record = {"id": record_id, "work": work_id, "url": url, "captured_ms": captured_ms, "algorithm": algorithm,
                  "digest": digest, "note": note, "recorded_by": ctx.require_caller().id, "recorded_ms": ctx.time_ms,
                  "height": ctx.height, "tx": ctx.tx_id.hex()}
        ctx.put(f"inf/{work_id}/{record_id}", record)
        self._history(ctx, work, "infringement", record=record_id, url=url)
        return record

    @query
    def work(self, ctx: Context, work_id: str) -> dict[str, Any]:
        """Public: a work's registration, owner and licences."""
        return self._work(ctx, work_id)

    @query
    def work_by_digest(self, ctx: Context, algorithm: str, digest: str) -> dict[str, Any]:
        """Public: the work registered for a content digest."""
        check_digest(algorithm, digest)
        work_id = ctx.get(f"wd/{algorithm}/{digest}")
        require(work_id is not None, NotFound(f"no work for {algorithm}:{digest}", code="WORK_NOT_FOUND"))
        return self._work(ctx, work_id)

    @query
    def history(self, ctx: Context, work_id: str) -> dict[str, Any]:
        """Public: every step of a work (registration, transfers, licences, infringements), oldest first."""
        work = self._work(ctx, work_id)
        return {"work": work, "history": [entry for _, entry in ctx.range(f"wh/{work_id}/", limit=10_000)]}

    @query
    def infringements(self, ctx: Context, work_id: str) -> dict[str, Any]:
        """The evidence recorded against a work (owner, licensees, regulators)."""
        work = self._work(ctx, work_id)
        org = ctx.require_caller().org
        require(org == work["owner"] or org in {lic["licensee"] for lic in work["licences"]} or self._is_regulator(ctx),
                Forbidden(f"{org} may not see the infringement evidence of {work_id}", code="NOT_VISIBLE"))
        return {"infringements": [r for _, r in ctx.range(f"inf/{work_id}/", limit=MAX_LIST)]}


def batch_entries(key: str, names: list[str], start: int = 0) -> list[tuple[str, str]]:
    """The deposits a batch's row lists from position ``start``, each with its page cursor."""
    return [(f"{key}#{i}", name) for i, name in enumerate(names) if i >= start]


IMPRINT_HEX = {"sha-256": 64, "sm3": 64, "sha-384": 96, "sha-512": 128}

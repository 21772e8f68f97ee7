"""The ``hosted`` contract: an operator organisation onboards SMEs as member identities of its own
(``<operator>/<name>``, a key and a certificate from the operator's CA) that act in their own
name in the apps (``ctx.acting_party()``), so that what an SME holds is its own, not the operator's.

Onboarding is all or nothing however many transactions it takes: the operator's admin opens a
batch stating how many members it will hold and the digest of their list, stages them in
chunks, and commits. Until the commit no staged member counts; a batch that cannot be
completed is abandoned, and its rows may be staged again in another batch. Each record keeps
the SME's USCC and company name in clear (public business identifiers), a salted digest of its
legal representative's name (personal data stays with the operator), and the public key the
SME signs with.
"""

from __future__ import annotations

import re
from typing import Any

from consortia.apps.scf.codes import is_valid_uscc
from consortia.contracts.sdk import Context, Contract, method, query, refuse, require
from consortia.errors import Forbidden, NotFound

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")  # a member name, as in a certificate's CN
RESERVED = ("admin", "clerk", "node", "inspector")  # the organisation's own staff
HEX = frozenset("0123456789abcdef")
MAX_BATCH = 100_000
MAX_CHUNK = 5_000
MEMBER_FIELDS = {"name", "uscc", "company", "legal_rep_digest", "public_key"}


def _is_hex(text: object, lengths: tuple[int, ...]) -> bool:
    return type(text) is str and len(text) in lengths and set(text) <= HEX


class HostedMembers(Contract):
    name = "hosted"
    description = "SMEs hosted by an operator organisation as members acting in their own name."

    def _operator_admin(self, ctx: Context) -> str:
        caller = ctx.require_caller()
        require(caller.has_role("admin"), refuse("NOT_ADMIN", "an admin of the operator organisation onboards members"))
        require(ctx.hosted_member(caller.id) is None, refuse("NOT_ADMIN", "a hosted member cannot onboard others"))
        return caller.org

    def _open_batch(self, ctx: Context, batch_id: str, operator: str) -> dict[str, Any]:
        batch: Any = ctx.get(f"batch/{batch_id}") if type(batch_id) is str and 0 < len(batch_id) <= 64 else None
        require(batch is not None, refuse("BATCH_NOT_FOUND", f"no batch {batch_id!r}"))
        require(batch["operator"] == operator, refuse("NOT_OPERATOR", f"batch {batch_id} belongs to {batch['operator']}"))
        require(batch["status"] == "open", refuse("BATCH_CLOSED", f"batch {batch_id} is {batch['status']}"))
        return batch  # type: ignore[no-any-return]

    def _taken(self, ctx: Context, key: str) -> bool:
        """True when ``key`` names a member of a batch that is not abandoned."""
        owner = ctx.get(key)
        if owner is None:
            return False
        record: Any = ctx.get(f"m/{owner}") if key.startswith("uscc/") else owner
        return ctx.get(f"batch/{record['batch']}")["status"] != "abandoned"  # type: ignore[no-any-return]

    # -- onboarding -----------------------------------------------------------------------

    @method
    def open_batch(self, ctx: Context, count: int, digest: str) -> dict[str, Any]:
        """Start an onboarding of ``count`` members; ``digest`` is the hash of their list (hex)."""
        operator = self._operator_admin(ctx)
        require(type(count) is int and 1 <= count <= MAX_BATCH, refuse("BAD_ARGS", f"count: 1 to {MAX_BATCH}"))
        require(_is_hex(digest, (64,)), refuse("BAD_DIGEST", "digest: 64 lowercase hex characters"))
        batch_id = ctx.derive_id("batch", operator)
        batch = {"id": batch_id, "operator": operator, "opened_by": ctx.require_caller().id, "count": count,
                 "digest": digest, "staged": 0, "status": "open", "opened_ms": ctx.time_ms}
        ctx.put(f"batch/{batch_id}", batch)
        ctx.emit("BatchOpened", id=batch_id, operator=operator, count=count)
        return batch

    @method
    def stage(self, ctx: Context, batch_id: str, members: list[dict[str, Any]]) -> dict[str, Any]:
        """Add up to 5,000 members to an open batch; a bad row refuses the whole chunk, by its index."""
        operator = self._operator_admin(ctx)
        batch = self._open_batch(ctx, batch_id, operator)
        require(0 < len(members) <= MAX_CHUNK, refuse("BAD_ARGS", f"members: 1 to {MAX_CHUNK} per chunk"))
        require(batch["staged"] + len(members) <= batch["count"],
                refuse("BATCH_FULL", f"batch {batch_id} holds {batch['count']} members, {batch['staged']} staged"))
        seen: set[str] = set()
        for i, row in enumerate(members):
            self._check_row(ctx, operator, i, row, seen)
        for row in members:
            identity = f"{operator}/{row['name']}"
            ctx.put(f"m/{identity}", {"identity": identity, "operator": operator, "uscc": row["uscc"],
                                      "company": row["company"], "legal_rep_digest": row["legal_rep_digest"],
                                      "public_key": row["public_key"], "batch": batch_id, "status": "active",
                                      "since_ms": ctx.time_ms})
            ctx.put(f"uscc/{row['uscc']}", identity)
        batch["staged"] += len(members)
        ctx.put(f"batch/{batch_id}", batch)
        ctx.emit("MembersStaged", batch=batch_id, staged=batch["staged"], count=batch["count"])
        return {"id": batch_id, "staged": batch["staged"], "count": batch["count"]}

    def _check_row(self, ctx: Context, operator: str, i: int, row: Any, seen: set[str]) -> None:
        where = f"members[{i}]"
        require(type(row) is dict and set(row) == MEMBER_FIELDS,
                refuse("BAD_MEMBER", f"{where}: expected the fields {sorted(MEMBER_FIELDS)}"))
        name, uscc = row["name"], row["uscc"]
        require(type(name) is str and NAME_RE.fullmatch(name) is not None and name not in RESERVED,
                refuse("BAD_MEMBER", f"{where}.name: a member name ({NAME_RE.pattern}, not {', '.join(RESERVED)})"))
        require(is_valid_uscc(uscc), refuse("BAD_USCC", f"{where}.uscc: {uscc!r} is not a valid unified social credit code"))
        require(type(row["company"]) is str and 0 < len(row["company"]) <= 200,
                refuse("BAD_MEMBER", f"{where}.company: 1 to 200 characters"))
        require(_is_hex(row["legal_rep_digest"], (64,)),
                refuse("BAD_DIGEST", f"{where}.legal_rep_digest: 64 lowercase hex characters"))
        require(_is_hex(row["public_key"], (64, 130)), refuse("BAD_KEY", f"{where}.public_key: the member's key in hex"))
        require(name not in seen and uscc not in seen, refuse("DUPLICATE_MEMBER", f"{where}: repeats a name or USCC"))
        seen.update((name, uscc))
        identity = f"{operator}/{name}"
        require(not self._taken(ctx, f"m/{identity}"), refuse("MEMBER_EXISTS", f"{where}: {identity} is already onboarded"))
        require(not self._taken(ctx, f"uscc/{uscc}"), refuse("USCC_TAKEN", f"{where}: USCC {uscc} is already onboarded"))

    @method
    def commit(self, ctx: Context, batch_id: str) -> dict[str, Any]:
        """Make every staged member of a complete batch count, at once."""
        operator = self._operator_admin(ctx)
        batch = self._open_batch(ctx, batch_id, operator)
        require(batch["staged"] == batch["count"],
                refuse("BATCH_INCOMPLETE", f"batch {batch_id} has {batch['staged']} of {batch['count']} members"))
        batch.update(status="committed", committed_ms=ctx.time_ms)
        ctx.put(f"batch/{batch_id}", batch)
        ctx.emit("BatchCommitted", id=batch_id, operator=operator, count=batch["count"])
        return batch

    @method
    def abandon(self, ctx: Context, batch_id: str) -> dict[str, Any]:
        """Give up an open batch: none of its members count, and their rows may be staged again."""
        operator = self._operator_admin(ctx)
        batch = self._open_batch(ctx, batch_id, operator)
        batch.update(status="abandoned", closed_ms=ctx.time_ms)
        ctx.put(f"batch/{batch_id}", batch)
        ctx.emit("BatchAbandoned", id=batch_id, operator=operator)
        return batch

    # -- reads ----------------------------------------------------------------------------

    @query
    def member(self, ctx: Context, identity: str) -> dict[str, Any]:
        """A hosted member's record (public to members: who a counterparty really is)."""
        ctx.require_caller()
        record = ctx.hosted_member(identity)
        if record is None:
            raise NotFound(f"{identity!r} is not a hosted member", code="NOT_HOSTED")
        return record

    @query
    def batch(self, ctx: Context, batch_id: str) -> dict[str, Any]:
        caller = ctx.require_caller()
        found: Any = ctx.get(f"batch/{batch_id}") if type(batch_id) is str and 0 < len(batch_id) <= 64 else None
        if found is None:
            raise NotFound(f"no batch {batch_id!r}", code="BATCH_NOT_FOUND")
        if caller.org != found["operator"] and ctx.org_kind(caller.org) != "regulator":
            raise Forbidden(f"{caller.org} may not see batch {batch_id}", code="NOT_VISIBLE")
        return found  # type: ignore[no-any-return]

    @query
    def members_of(self, ctx: Context, operator: str, after: str = "", limit: int = 1000) -> dict[str, Any]:
        """One page of the members ``operator`` hosts (for the operator and regulators)."""
        caller = ctx.require_caller()
        if caller.org != operator and ctx.org_kind(caller.org) != "regulator":
            raise Forbidden(f"{caller.org} may not list the members of {operator}", code="NOT_VISIBLE")
        rows = ctx.range(f"m/{operator}/", limit=max(0, min(limit, 1000)), after=f"m/{after}" if after else "")
        members = [r for _, r in rows if ctx.hosted_member(r["identity"]) is not None]
        return {"operator": operator, "members": members, "next": rows[-1][1]["identity"] if rows else None}

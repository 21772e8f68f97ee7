"""The real-name registry: every member identity bound to a verified real-name record.

On the chain: a salted digest of the clear value (``H(salt || kind || id_type || value)`` with
the chain's hash), its kind and type, and who registered it. The clear value and the salt stay
with the member's own organisation (its node keeps them, see ``consortia.node.realname``) and
are served only to that organisation and to regulators, who can check them against this digest.
When the chain config sets ``require_real_name``, a member without a record cannot transact
(governance and this registry excepted, so that records can be made).
"""

from __future__ import annotations

from typing import Any

from consortia.contracts.sdk import Context, Contract, method, query, require
from consortia.errors import Forbidden, NotFound, Revert

KINDS = {"person": ("resident_id", "phone", "passport"), "organisation": ("uscc",)}


def record_key(identity: str) -> str:
    return f"rec/{identity}"


class RealName(Contract):
    name = "realname"
    description = "Bind each member identity to a salted digest of its verified real-name record."

    @method
    def register(self, ctx: Context, identity: str, kind: str, id_type: str, digest: str) -> dict[str, Any]:
        """An organisation's admin records (or replaces) the real-name digest of one of its members."""
        caller = ctx.require_caller()
        org, _, member = identity.partition("/")
        require(member and org == caller.org, Revert(f"{caller.org} can only register its own members, not {identity!r}",
                                                     code="NOT_OWN_MEMBER"))
        require(caller.has_role("admin"), Revert("an organisation admin registers real names", code="NOT_ADMIN"))
        require(kind in KINDS and id_type in KINDS[kind],
                Revert(f"kind/id_type: expected one of {KINDS}, got {kind!r}/{id_type!r}", code="BAD_ARGS"))
        require(len(digest) == 64 and all(c in "0123456789abcdef" for c in digest),
                Revert("digest: 64 lowercase hex characters", code="BAD_DIGEST"))
        previous = ctx.get(record_key(identity))
        record = {"identity": identity, "kind": kind, "id_type": id_type, "digest": digest, "algorithm": ctx.suite,
                  "registered_by": caller.id, "time_ms": ctx.time_ms,
                  "version": (previous["version"] + 1) if previous else 1}
        ctx.put(record_key(identity), record)
        ctx.emit("RealNameRegistered", identity=identity, kind=kind, version=record["version"])
        return record

    @method
    def remove(self, ctx: Context, identity: str) -> None:
        """The organisation's admin removes a member's record (the member can then no longer
        transact where real names are required)."""
        caller = ctx.require_caller()
        require(identity.partition("/")[0] == caller.org and caller.has_role("admin"),
                Revert(f"only an admin of the member's organisation removes {identity!r}", code="NOT_OWN_MEMBER"))
        require(ctx.has(record_key(identity)), Revert(f"no real-name record for {identity!r}", code="NO_RECORD"))
        ctx.delete(record_key(identity))
        ctx.emit("RealNameRemoved", identity=identity)

    @query
    def record(self, ctx: Context, identity: str) -> dict[str, Any]:
        """The on-chain record (digest, not the clear value): for the member's organisation and regulators."""
        caller = ctx.require_caller()
        regulator = (ctx.member_org(caller.org) or {}).get("kind") == "regulator"
        if identity.partition("/")[0] != caller.org and not regulator:
            raise Forbidden(f"{caller.org} may not see the real-name record of {identity}", code="NOT_VISIBLE")
        found = ctx.get(record_key(identity))
        if found is None:
            raise NotFound(f"no real-name record for {identity!r}", code="NO_RECORD")
        return found  # type: ignore[no-any-return]

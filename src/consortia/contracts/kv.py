"""A plain key-value contract, for tests, examples and benchmarks."""

from __future__ import annotations

from typing import Any

from consortia.contracts.sdk import Context, Contract, Revert, method, query, require


class KeyValue(Contract):
    name = "kv"
    description = "Store any canonical JSON value under a key."

    @method
    def put(self, ctx: Context, key: str, value: Any) -> None:
        """Set ``key`` to ``value``."""
        ctx.put(key, value)
        ctx.emit("Put", key=key, by=ctx.require_caller().id)

    @method
    def delete(self, ctx: Context, key: str) -> None:
        """Remove ``key``; reverts with NO_SUCH_KEY if it is absent."""
        require(ctx.has(key), Revert(f"no key {key!r}", code="NO_SUCH_KEY"))
        ctx.delete(key)
        ctx.emit("Deleted", key=key)

    @query
    def get(self, ctx: Context, key: str) -> Any:
        return ctx.get(key)

    @query
    def range(self, ctx: Context, prefix: str = "", limit: int = 100) -> list[list[Any]]:
        """Keys starting with ``prefix`` and their values, in key order."""
        return [[k, v] for k, v in ctx.range(prefix, limit=max(0, min(limit, 1000)))]

"""The contract SDK: what an application contract imports."""

from consortia.contracts.sdk import Context, Contract, Revert, method, query, require

__all__ = ["Context", "Contract", "Revert", "method", "query", "require"]

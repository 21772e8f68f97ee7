"""Evidence and copyright depository: digests on the chain, certificates that verify offline."""

from consortia.apps.evidence.contract import Evidence

__all__ = ["Evidence"]

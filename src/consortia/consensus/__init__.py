"""Ordering: the embedded solo orderer, and later the replicated engine's adapter."""

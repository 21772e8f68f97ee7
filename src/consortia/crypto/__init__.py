"""Crypto suites behind one interface, and Merkle proofs."""

from consortia.crypto.suite import CryptoSuite, Signer, get_suite

__all__ = ["CryptoSuite", "Signer", "get_suite"]

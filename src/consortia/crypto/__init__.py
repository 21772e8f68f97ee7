"""Crypto suites behind one interface, and Merkle proofs."""

from consortia.crypto import sm as _sm
from consortia.crypto.suite import CryptoSuite, KeyUnwrapper, Signer, WrongSuite, get_suite, register_suite, suite_names

register_suite(_sm.Sm2Sm3())

__all__ = ["CryptoSuite", "KeyUnwrapper", "Signer", "WrongSuite", "get_suite", "suite_names"]

"""Signer / Verifier / Hasher behind one interface, chosen by name at genesis.

The ledger never names an algorithm: it asks the chain's suite to hash, sign and
verify. A national suite (SM2 + SM3) registers itself here under its own name.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import ClassVar

import nacl.bindings
import nacl.exceptions
import nacl.signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from consortia.errors import BadInput


class Signer(ABC):
    """Holds a private key; produces signatures for one suite."""

    suite: CryptoSuite

    @abstractmethod
    def sign(self, message: bytes) -> bytes: ...

    @property
    @abstractmethod
    def public_key(self) -> bytes: ...

    @abstractmethod
    def private_key_pem(self) -> bytes: ...


class CryptoSuite(ABC):
    """Hashing, verification and key handling for one family of algorithms."""

    name: ClassVar[str]
    hash_name: ClassVar[str]
    signature_name: ClassVar[str]

    @abstractmethod
    def hash(self, data: bytes) -> bytes: ...

    @abstractmethod
    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool: ...

    @abstractmethod
    def generate_signer(self) -> Signer: ...

    @abstractmethod
    def load_signer(self, pem: bytes) -> Signer: ...


class Ed25519Signer(Signer):
    def __init__(self, suite: CryptoSuite, key: nacl.signing.SigningKey) -> None:
        self.suite = suite
        self._key = key
        self._public = bytes(key.verify_key)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message).signature

    @property
    def public_key(self) -> bytes:
        return self._public

    def crypto_key(self) -> ed25519.Ed25519PrivateKey:
        """The same key as a ``cryptography`` object, for X.509 work."""
        return ed25519.Ed25519PrivateKey.from_private_bytes(bytes(self._key))

    def private_key_pem(self) -> bytes:
        return self.crypto_key().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def __repr__(self) -> str:  # never print key material
        return f"Ed25519Signer(public={self._public.hex()[:16]}...)"


class Ed25519Sha256(CryptoSuite):
    """The default suite: Ed25519 signatures (libsodium via PyNaCl), SHA-256 hashes."""

    name = "ed25519-sha256"
    hash_name = "sha-256"
    signature_name = "ed25519"

    def hash(self, data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        if len(public_key) != 32 or len(signature) != 64:
            return False
        try:
            nacl.bindings.crypto_sign_open(signature + message, public_key)
        except nacl.exceptions.BadSignatureError:
            return False
        return True

    def generate_signer(self) -> Ed25519Signer:
        return Ed25519Signer(self, nacl.signing.SigningKey.generate())

    def load_signer(self, pem: bytes) -> Ed25519Signer:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise BadInput(f"cannot read private key: {exc}", code="BAD_KEY") from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise BadInput("expected an Ed25519 private key", code="BAD_KEY")
        raw = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return Ed25519Signer(self, nacl.signing.SigningKey(raw))


_SUITES: dict[str, CryptoSuite] = {}


def register_suite(suite: CryptoSuite) -> None:
    _SUITES[suite.name] = suite


def get_suite(name: str) -> CryptoSuite:
    try:
        return _SUITES[name]
    except KeyError:
        known = ", ".join(sorted(_SUITES))
        raise BadInput(f"unknown crypto suite {name!r}; expected one of: {known}", code="UNKNOWN_SUITE") from None


register_suite(Ed25519Sha256())

"""Signer / Verifier / Hasher / Sealer behind one interface, chosen by name at genesis.

The ledger never names an algorithm: it asks the chain's suite to hash, sign and
verify; applications ask it to seal private payloads and to wrap their keys to an
organisation's public key (``wrap`` / ``KeyUnwrapper``). Two suites are registered:
``ed25519-sha256`` (here) and the national ``sm2-sm3`` (``consortia.crypto.sm``).
A chain never mixes them: a key or certificate of the other suite is refused with
``WRONG_SUITE``.
"""

from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import nacl.bindings
import nacl.exceptions
import nacl.public
import nacl.signing
from asn1crypto import keys as asn1_keys
from asn1crypto import pem as asn1_pem
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from consortia.errors import BadInput


class WrongSuite(BadInput):
    """A key, signature or certificate of another crypto suite than the chain's."""

    code = "WRONG_SUITE"


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


class KeyUnwrapper(ABC):
    """The private half of an organisation's key-wrapping pair: opens what ``CryptoSuite.wrap`` made."""

    suite: CryptoSuite

    @property
    @abstractmethod
    def public_key(self) -> bytes: ...

    @abstractmethod
    def unwrap(self, wrapped: bytes) -> bytes:
        """The wrapped secret; ``DECRYPT_FAILED`` if it was not wrapped to this key or was altered."""

    @abstractmethod
    def private_key_pem(self) -> bytes: ...

    def __repr__(self) -> str:  # never print key material
        return f"{type(self).__name__}(public={self.public_key.hex()[:16]}...)"


class CryptoSuite(ABC):
    """Hashing, verification, key handling and sealing for one family of algorithms."""

    name: ClassVar[str]
    hash_name: ClassVar[str]
    signature_name: ClassVar[str]
    seal_name: ClassVar[str]
    seal_key_bytes: ClassVar[int]
    wrap_name: ClassVar[str]  # the public-key encryption that wraps a payload key to an organisation
    cert_signature_oid: ClassVar[str]  # X.509 signatureAlgorithm of certificates this suite signs
    key_algorithm: ClassVar[tuple[str, str | None]]  # PKCS#8 / SPKI algorithm OID and named curve of its keys

    @abstractmethod
    def hash(self, data: bytes) -> bytes: ...

    @abstractmethod
    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool: ...

    @abstractmethod
    def generate_signer(self) -> Signer: ...

    @abstractmethod
    def load_signer(self, pem: bytes) -> Signer: ...

    @abstractmethod
    def public_key_info(self, public_key: bytes) -> bytes:
        """The DER SubjectPublicKeyInfo of a raw public key, as an X.509 certificate carries it."""

    @abstractmethod
    def public_key_from_info(self, info: bytes) -> bytes:
        """The raw public key in a DER SubjectPublicKeyInfo; ``WrongSuite`` for another suite's key."""

    @abstractmethod
    def seal(self, key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Authenticated encryption of an application payload: ``nonce || ciphertext || tag``."""

    @abstractmethod
    def open(self, key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
        """The plaintext of ``seal``; ``DECRYPT_FAILED`` if the key, payload or ``aad`` differ."""

    def generate_seal_key(self) -> bytes:
        return os.urandom(self.seal_key_bytes)

    @abstractmethod
    def wrap(self, public_key: bytes, secret: bytes) -> bytes:
        """Encrypt a short secret (a payload key) to the holder of ``public_key``'s private half."""

    @abstractmethod
    def check_wrap_key(self, public_key: bytes) -> bytes:
        """``public_key`` if it is a valid key-wrapping public key of this suite, else ``BAD_KEY``."""

    @abstractmethod
    def generate_unwrapper(self) -> KeyUnwrapper: ...

    @abstractmethod
    def load_unwrapper(self, pem: bytes) -> KeyUnwrapper: ...


def refuse_private_key(suite: CryptoSuite, pem: bytes, detail: str) -> BadInput:
    """The error for a PEM key ``suite`` cannot load: ``WRONG_SUITE`` when it is another suite's key."""
    other = suite_of_private_key(pem)
    if other is not None and other.name != suite.name:
        return WrongSuite(f"the private key belongs to suite {other.name}; this chain uses suite {suite.name}")
    return BadInput(f"cannot read private key: {detail}", code="BAD_KEY")


def refuse_public_key(suite: CryptoSuite, info: bytes) -> WrongSuite:
    """The error for a SubjectPublicKeyInfo that is not ``suite``'s, naming what it is instead."""
    algorithm = _key_algorithm(lambda: asn1_keys.PublicKeyInfo.load(info)["algorithm"])
    other = _suite_with_key_algorithm(algorithm)
    if other is not None:
        return WrongSuite(f"the key belongs to suite {other.name}, not to this chain's suite {suite.name}")
    return WrongSuite(f"the key (algorithm {'/'.join(a for a in algorithm or () if a)}) does not belong to "
                      f"suite {suite.name}")


def suite_of_private_key(pem: bytes) -> CryptoSuite | None:
    """The registered suite whose keys have the PKCS#8 algorithm of ``pem`` (None if none or unreadable)."""
    def algorithm() -> asn1_keys.PrivateKeyAlgorithm:
        _, _, der = asn1_pem.unarmor(pem)
        return asn1_keys.PrivateKeyInfo.load(der)["private_key_algorithm"]
    return _suite_with_key_algorithm(_key_algorithm(algorithm))


def _key_algorithm(read: Callable[[], Any]) -> tuple[str, str | None] | None:
    """(algorithm OID, named curve OID or None) of a parsed key's AlgorithmIdentifier; None if unreadable."""
    try:
        algorithm = read()
        oid = algorithm["algorithm"].dotted
        params = algorithm["parameters"]
        return oid, params.chosen.dotted if oid == "1.2.840.10045.2.1" and params.name == "named" else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _suite_with_key_algorithm(algorithm: tuple[str, str | None] | None) -> CryptoSuite | None:
    return next((s for s in _SUITES.values() if s.key_algorithm == algorithm), None)


def check_seal_key(suite: CryptoSuite, key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != suite.seal_key_bytes:
        raise BadInput(f"{suite.seal_name} key: expected {suite.seal_key_bytes} bytes", code="BAD_KEY")
    return bytes(key)


def split_sealed(suite: CryptoSuite, sealed: bytes, nonce_bytes: int, tag_bytes: int) -> tuple[bytes, bytes]:
    """``(nonce, ciphertext || tag)`` of a sealed payload, refusing one too short to be real."""
    if len(sealed) < nonce_bytes + tag_bytes:
        raise BadInput(f"sealed payload is shorter than a {suite.seal_name} nonce and tag", code="DECRYPT_FAILED")
    return sealed[:nonce_bytes], sealed[nonce_bytes:]


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


_ED25519_INFO_PREFIX = bytes.fromhex("302a300506032b6570032100")  # SubjectPublicKeyInfo up to the key
_XCHACHA_NONCE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


class X25519Unwrapper(KeyUnwrapper):
    def __init__(self, suite: CryptoSuite, key: nacl.public.PrivateKey) -> None:
        self.suite = suite
        self._key = key
        self._box = nacl.public.SealedBox(key)

    @property
    def public_key(self) -> bytes:
        return bytes(self._key.public_key)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return bytes(self._box.decrypt(wrapped))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise BadInput("the wrapped key does not open with this organisation's key", code="DECRYPT_FAILED") from None

    def private_key_pem(self) -> bytes:
        key = x25519.X25519PrivateKey.from_private_bytes(bytes(self._key))
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


class Ed25519Sha256(CryptoSuite):
    """The default suite: Ed25519 signatures (libsodium via PyNaCl), SHA-256 hashes,
    XChaCha20-Poly1305 sealing (random 192-bit nonces never collide in practice), keys wrapped
    to X25519 keys with libsodium's sealed box (ephemeral X25519, XSalsa20-Poly1305)."""

    name = "ed25519-sha256"
    hash_name = "sha-256"
    signature_name = "ed25519"
    seal_name = "xchacha20-poly1305"
    seal_key_bytes = 32
    wrap_name = "x25519-sealed-box"
    cert_signature_oid = "1.3.101.112"  # id-Ed25519 (RFC 8410)
    key_algorithm = ("1.3.101.112", None)

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
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # UnsupportedAlgorithm: say, an SM2 key
            raise refuse_private_key(self, pem, str(exc)) from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise refuse_private_key(self, pem, "expected an Ed25519 private key")
        raw = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return Ed25519Signer(self, nacl.signing.SigningKey(raw))

    def public_key_info(self, public_key: bytes) -> bytes:
        if len(public_key) != 32:
            raise BadInput("Ed25519 public key: expected 32 bytes", code="BAD_KEY")
        return _ED25519_INFO_PREFIX + public_key

    def public_key_from_info(self, info: bytes) -> bytes:
        if len(info) == 44 and info.startswith(_ED25519_INFO_PREFIX):
            return info[12:]
        try:
            key = serialization.load_der_public_key(info)
        except UnsupportedAlgorithm:  # say, an SM2 key
            raise refuse_public_key(self, info) from None
        except ValueError:
            raise BadInput("cannot read the public key (SubjectPublicKeyInfo)", code="BAD_KEY") from None
        if isinstance(key, ed25519.Ed25519PublicKey):
            return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        raise refuse_public_key(self, info)

    def seal(self, key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(_XCHACHA_NONCE)
        return nonce + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            plaintext, aad, nonce, check_seal_key(self, key))

    def open(self, key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
        nonce, body = split_sealed(self, sealed, _XCHACHA_NONCE, 16)
        try:
            return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(body, aad, nonce, check_seal_key(self, key))
        except nacl.exceptions.CryptoError:
            raise BadInput("sealed payload does not open with this key and associated data",
                           code="DECRYPT_FAILED") from None

    def wrap(self, public_key: bytes, secret: bytes) -> bytes:
        return bytes(nacl.public.SealedBox(nacl.public.PublicKey(self.check_wrap_key(public_key))).encrypt(secret))

    def check_wrap_key(self, public_key: bytes) -> bytes:
        if not isinstance(public_key, bytes) or len(public_key) != 32 or public_key == bytes(32):
            raise BadInput("X25519 public key: expected 32 bytes", code="BAD_KEY")
        return public_key

    def generate_unwrapper(self) -> X25519Unwrapper:
        return X25519Unwrapper(self, nacl.public.PrivateKey.generate())

    def load_unwrapper(self, pem: bytes) -> X25519Unwrapper:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise BadInput(f"cannot read the key-wrapping key: {exc}", code="BAD_KEY") from None
        if not isinstance(key, x25519.X25519PrivateKey):
            raise BadInput("expected an X25519 private key", code="BAD_KEY")
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        return X25519Unwrapper(self, nacl.public.PrivateKey(raw))


_SUITES: dict[str, CryptoSuite] = {}


def register_suite(suite: CryptoSuite) -> None:
    _SUITES[suite.name] = suite


def suite_names() -> list[str]:
    return sorted(_SUITES)


def suite_for_signature_oid(oid: str) -> CryptoSuite | None:
    """The registered suite whose certificates carry signature algorithm ``oid``."""
    return next((s for s in _SUITES.values() if s.cert_signature_oid == oid), None)


def get_suite(name: str) -> CryptoSuite:
    try:
        return _SUITES[name]
    except KeyError:
        known = ", ".join(sorted(_SUITES))
        raise BadInput(f"unknown crypto suite {name!r}; expected one of: {known}", code="UNKNOWN_SUITE") from None


register_suite(Ed25519Sha256())

"""The national suite: SM2 signatures, SM3 hashes, SM4-GCM sealing (GB/T 32918 / 32905 / 32907).

Backed by tongsuopy (Tongsuo, the OpenSSL fork maintained by Ant Group for the national
algorithms), a compiled library: pure-Python SM2 manages only tens to hundreds of
verifications a second.

SM2 signs ``e = SM3(Z || M)``, where ``Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA)``
binds the signer's public key and a distinguishing user ID (GB/T 32918.2, section 5.5).
Tongsuo computes Z itself with the default ID of GM/T 0009 (``1234567812345678``) and this
suite never uses another: a signature made elsewhere with that default ID verifies here.
``compute_z`` spells the computation out, for tests and for verifiers in other languages.

Public keys travel as the 65-byte uncompressed point ``04 || x || y``; signatures as the
DER ``SEQUENCE { r INTEGER, s INTEGER }`` of GM/T 0009 (Tongsuo refuses any non-canonical
encoding, so one signature has exactly one byte form).

Payload keys are wrapped with SM2 public-key encryption (GB/T 32918.4), the ciphertext in the
DER ``SEQUENCE { x, y, C3 (SM3), C2 }`` of GM/T 0009. tongsuopy exposes no SM2 encryption, so
``_pkey_crypt`` calls Tongsuo's ``EVP_PKEY_encrypt`` / ``EVP_PKEY_decrypt`` through its bindings.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import lru_cache

from asn1crypto import keys as asn1_keys
from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.ciphers.aead import SM4GCM
from tongsuopy.crypto.exceptions import InternalError, InvalidSignature, InvalidTag, UnsupportedAlgorithm

from consortia.crypto.suite import (
    CryptoSuite,
    KeyUnwrapper,
    Signer,
    check_seal_key,
    refuse_private_key,
    refuse_public_key,
    split_sealed,
)
from consortia.errors import BadInput

DEFAULT_USER_ID = b"1234567812345678"
CURVE_OID = "1.2.156.10197.1.301"  # sm2p256v1, GB/T 32918.5
SIGNATURE_OID = "1.2.156.10197.1.501"  # SM2 with SM3 (GM/T 0006)
EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"  # id-ecPublicKey, the algorithm of an SM2 SubjectPublicKeyInfo

# The recommended curve of GB/T 32918.5: y^2 = x^3 + ax + b over F_p, base point G of order n.
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

_SM3 = hashes.SM3()
_SIGNATURE = ec.ECDSA(hashes.SM3())  # tongsuopy's name for "SM2 with SM3" on an SM2 key
_NONCE_BYTES = 12


def sm3_tongsuo(data: bytes) -> bytes:
    digest = hashes.Hash(_SM3)
    digest.update(data)
    return bytes(digest.finalize())


def _sm3_hashlib() -> Callable[[bytes], bytes] | None:
    """The interpreter's own SM3 (OpenSSL 3 has it), if present and right: a third of the cost per call."""
    try:
        if hashlib.new("sm3", b"abc").hexdigest() != sm3_tongsuo(b"abc").hex():
            return None
    except ValueError:  # this Python's OpenSSL has no SM3
        return None
    return lambda data: hashlib.new("sm3", data).digest()


sm3: Callable[[bytes], bytes] = _sm3_hashlib() or sm3_tongsuo


def compute_z(public_key: bytes, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """Z of GB/T 32918.2 for ``public_key`` (``04 || x || y``) and ``user_id``."""
    if len(public_key) != 65 or public_key[0] != 4:
        raise BadInput("SM2 public key: expected 65 bytes 04 || x || y", code="BAD_KEY")
    if len(user_id) * 8 > 0xFFFF:
        raise BadInput("SM2 user ID: at most 8191 bytes", code="BAD_KEY")
    entl = (len(user_id) * 8).to_bytes(2, "big")
    params = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))
    return sm3(entl + user_id + params + public_key[1:])


@lru_cache(maxsize=8192)
def _public_key(raw: bytes) -> ec.EllipticCurvePublicKey | None:
    """A parsed public key, or None when ``raw`` is not a point on the curve (cached: parsing costs)."""
    if len(raw) != 65 or raw[0] != 4:
        return None
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), raw)
    except (ValueError, InternalError, UnsupportedAlgorithm):
        return None


def _raw_public(key: ec.EllipticCurvePublicKey) -> bytes:
    return bytes(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


class Sm2Signer(Signer):
    def __init__(self, suite: CryptoSuite, key: ec.EllipticCurvePrivateKey) -> None:
        self.suite = suite
        self._key = key
        self._public = _raw_public(key.public_key())

    def sign(self, message: bytes) -> bytes:
        return bytes(self._key.sign(message, _SIGNATURE))

    @property
    def public_key(self) -> bytes:
        return self._public

    def private_key_pem(self) -> bytes:
        return bytes(self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))

    def __repr__(self) -> str:  # never print key material
        return f"Sm2Signer(public={self._public.hex()[:16]}...)"


def _pkey_crypt(key: object, data: bytes, *, decrypt: bool) -> bytes | None:
    """SM2 encryption (public key) or decryption (private key) of ``data``; None on failure."""
    from tongsuopy.backends.tongsuo.backend import backend

    lib, ffi = backend._lib, backend._ffi
    init, run = (lib.EVP_PKEY_decrypt_init, lib.EVP_PKEY_decrypt) if decrypt else \
        (lib.EVP_PKEY_encrypt_init, lib.EVP_PKEY_encrypt)
    ctx = lib.EVP_PKEY_CTX_new(key._evp_pkey, ffi.NULL)  # type: ignore[attr-defined]
    if ctx == ffi.NULL:
        lib.ERR_clear_error()
        return None
    ctx = ffi.gc(ctx, lib.EVP_PKEY_CTX_free)
    size = ffi.new("size_t *")
    if init(ctx) != 1 or run(ctx, ffi.NULL, size, data, len(data)) != 1:
        lib.ERR_clear_error()
        return None
    out = ffi.new("unsigned char[]", size[0])
    if run(ctx, out, size, data, len(data)) != 1:
        lib.ERR_clear_error()
        return None
    return bytes(ffi.buffer(out)[:size[0]])


class Sm2Unwrapper(KeyUnwrapper):
    def __init__(self, suite: CryptoSuite, key: ec.EllipticCurvePrivateKey) -> None:
        self.suite = suite
        self._key = key
        self._public = _raw_public(key.public_key())

    @property
    def public_key(self) -> bytes:
        return self._public

    def unwrap(self, wrapped: bytes) -> bytes:
        opened = _pkey_crypt(self._key, wrapped, decrypt=True) if wrapped else None
        if opened is None:
            raise BadInput("the wrapped key does not open with this organisation's key", code="DECRYPT_FAILED")
        return opened

    def private_key_pem(self) -> bytes:
        return bytes(self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))


class Sm2Sm3(CryptoSuite):
    """The national suite: SM2 signatures (default user ID), SM3 hashes, SM4-GCM sealing."""

    name = "sm2-sm3"
    hash_name = "sm3"
    signature_name = "sm2"
    seal_name = "sm4-gcm"
    seal_key_bytes = 16
    wrap_name = "sm2-encrypt"
    cert_signature_oid = SIGNATURE_OID
    key_algorithm = (EC_PUBLIC_KEY_OID, CURVE_OID)

    def hash(self, data: bytes) -> bytes:
        return sm3(data)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        if not 8 <= len(signature) <= 72 or signature[0] != 0x30:
            return False
        key = _public_key(bytes(public_key))
        if key is None:
            return False
        try:
            key.verify(signature, message, _SIGNATURE)
        except (InvalidSignature, InternalError, ValueError):  # InternalError: malformed DER
            return False
        return True

    def generate_signer(self) -> Sm2Signer:
        return Sm2Signer(self, ec.generate_private_key(ec.SM2()))

    def signer_from_scalar(self, d: int) -> Sm2Signer:
        """The signer of a known private scalar (for published test vectors)."""
        return Sm2Signer(self, ec.derive_private_key(d, ec.SM2()))

    def load_signer(self, pem: bytes) -> Sm2Signer:
        return Sm2Signer(self, self._load_private(pem))

    def _load_private(self, pem: bytes) -> ec.EllipticCurvePrivateKey:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError, InternalError, UnsupportedAlgorithm) as exc:
            raise refuse_private_key(self, pem, str(exc).split(". ")[0]) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "SM2":
            raise refuse_private_key(self, pem, "expected an SM2 private key")
        return key

    def wrap(self, public_key: bytes, secret: bytes) -> bytes:
        key = _public_key(self.check_wrap_key(public_key))
        wrapped = _pkey_crypt(key, secret, decrypt=False)
        if wrapped is None:
            raise BadInput("SM2 encryption failed", code="BAD_KEY")
        return wrapped

    def check_wrap_key(self, public_key: bytes) -> bytes:
        if not isinstance(public_key, bytes) or _public_key(public_key) is None:
            raise BadInput("SM2 public key: expected a curve point 04 || x || y", code="BAD_KEY")
        return public_key

    def generate_unwrapper(self) -> Sm2Unwrapper:
        return Sm2Unwrapper(self, ec.generate_private_key(ec.SM2()))

    def load_unwrapper(self, pem: bytes) -> Sm2Unwrapper:
        return Sm2Unwrapper(self, self._load_private(pem))

    def public_key_info(self, public_key: bytes) -> bytes:
        if _public_key(bytes(public_key)) is None:
            raise BadInput("SM2 public key: expected a curve point 04 || x || y", code="BAD_KEY")
        return bytes(asn1_keys.PublicKeyInfo({
            "algorithm": {"algorithm": "ec", "parameters": asn1_keys.ECDomainParameters(name="named",
                                                                                         value=CURVE_OID)},
            "public_key": public_key,
        }).dump())

    def public_key_from_info(self, info: bytes) -> bytes:
        try:
            parsed = asn1_keys.PublicKeyInfo.load(info)
            algorithm = parsed["algorithm"]["algorithm"].dotted
            params = parsed["algorithm"]["parameters"]
            curve = params.chosen.dotted if algorithm == EC_PUBLIC_KEY_OID and params.name == "named" else None
            point = bytes(parsed["public_key"].native) if curve == CURVE_OID else b""
        except (ValueError, TypeError, KeyError, AttributeError):
            raise BadInput("cannot read the public key (SubjectPublicKeyInfo)", code="BAD_KEY") from None
        if curve != CURVE_OID:
            raise refuse_public_key(self, info)
        if _public_key(point) is None:
            raise BadInput("SM2 public key is not a point on the curve", code="BAD_KEY")
        return point

    def seal(self, key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + bytes(SM4GCM(check_seal_key(self, key)).encrypt(nonce, plaintext, aad))

    def open(self, key: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
        nonce, body = split_sealed(self, sealed, _NONCE_BYTES, 16)
        try:
            return bytes(SM4GCM(check_seal_key(self, key)).decrypt(nonce, body, aad))
        except InvalidTag:
            raise BadInput("sealed payload does not open with this key and associated data",
                           code="DECRYPT_FAILED") from None

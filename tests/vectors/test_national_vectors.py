"""Published test vectors for the national algorithms, checked against the ``sm2-sm3`` suite.

- SM3: GB/T 32905-2016, appendix A (examples 1 and 2).
- SM4: GB/T 32907-2016, appendix A, example 1 (the 1,000,000-iteration example 2 takes several
  seconds through Python here, above our budget for one test); SM4-GCM: RFC 8998, appendix A.1.
- SM2: the signature example of GM/T 0003.5-2012 / GB/T 32918.5 appendix A on the recommended
  curve, with the default user ID; the same values are used by OpenSSL's test/sm2_internal_test.c.
"""

from __future__ import annotations

import pytest
from asn1crypto.algos import DSASignature
from tongsuopy.crypto.ciphers import Cipher, algorithms, modes
from tongsuopy.crypto.ciphers.aead import SM4GCM

from consortia.crypto import get_suite
from consortia.crypto.sm import DEFAULT_USER_ID, GX, GY, N, Sm2Sm3, compute_z, sm3, sm3_tongsuo

SUITE = get_suite("sm2-sm3")


# -- SM3 (GB/T 32905-2016) --------------------------------------------------------------------


@pytest.mark.parametrize(("message", "digest"), [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
])
def test_sm3_examples(message: bytes, digest: str) -> None:
    assert SUITE.hash(message).hex() == digest
    assert sm3(message).hex() == digest
    assert sm3_tongsuo(message).hex() == digest  # the fallback where Python's own OpenSSL has no SM3


# -- SM4 (GB/T 32907-2016) and SM4-GCM (RFC 8998) ---------------------------------------------

SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_sm4_example_1() -> None:
    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    cipher_text = encryptor.update(SM4_KEY) + encryptor.finalize()  # the plaintext equals the key
    assert cipher_text.hex() == "681edf34d206965e86b3e94f536e4246"
    decryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).decryptor()
    assert decryptor.update(cipher_text) + decryptor.finalize() == SM4_KEY


def test_sm4_gcm_rfc8998() -> None:
    nonce = bytes.fromhex("00001234567800000000abcd")
    aad = bytes.fromhex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    plain = bytes.fromhex("aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"
                          "eeeeeeeeeeeeeeeeffffffffffffffffeeeeeeeeeeeeeeeeaaaaaaaaaaaaaaaa")
    sealed = bytes.fromhex("17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735"
                           "d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
                           "83de3541e4c2b58177e065a9bf7b62ec")  # ciphertext || tag
    assert SM4GCM(SM4_KEY).encrypt(nonce, plain, aad) == sealed
    # the suite's sealed form is nonce || ciphertext || tag, so it opens the published vector
    assert SUITE.open(SM4_KEY, nonce + sealed, aad) == plain


# -- SM2 (GM/T 0003.5-2012 / GB/T 32918.5, appendix A) ----------------------------------------

ANNEX_D = 0x3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8
ANNEX_PUBLIC = bytes.fromhex("04"
                             "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
                             "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13")
ANNEX_MESSAGE = b"message digest"
ANNEX_Z = "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3"
ANNEX_E = "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640"
ANNEX_R = 0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3
ANNEX_S = 0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA


def der_signature(r: int, s: int) -> bytes:
    return bytes(DSASignature({"r": r, "s": s}).dump())


def test_sm2_annex_public_key_from_private_key() -> None:
    assert isinstance(SUITE, Sm2Sm3)
    assert SUITE.signer_from_scalar(ANNEX_D).public_key == ANNEX_PUBLIC
    assert SUITE.signer_from_scalar(1).public_key == b"\x04" + GX.to_bytes(32, "big") + GY.to_bytes(32, "big")
    assert N > ANNEX_D


def test_sm2_annex_z_value_and_digest_with_the_default_user_id() -> None:
    assert DEFAULT_USER_ID == b"1234567812345678"
    z = compute_z(ANNEX_PUBLIC)
    assert z.hex() == ANNEX_Z
    assert sm3(z + ANNEX_MESSAGE).hex() == ANNEX_E
    assert compute_z(ANNEX_PUBLIC, b"ALICE123@YAHOO.COM").hex() != ANNEX_Z  # the ID is bound into Z


def test_sm2_annex_signature_verifies() -> None:
    signature = der_signature(ANNEX_R, ANNEX_S)
    assert SUITE.verify(ANNEX_PUBLIC, ANNEX_MESSAGE, signature)
    assert not SUITE.verify(ANNEX_PUBLIC, ANNEX_MESSAGE + b".", signature)
    assert not SUITE.verify(ANNEX_PUBLIC, ANNEX_MESSAGE, der_signature(ANNEX_R, ANNEX_S ^ 1))
    assert not SUITE.verify(ANNEX_PUBLIC, ANNEX_MESSAGE, der_signature(ANNEX_R, N - ANNEX_S))
    assert not SUITE.verify(ANNEX_PUBLIC, ANNEX_MESSAGE, der_signature(ANNEX_R + N, ANNEX_S))  # r out of range
    # one signature, one byte form: raw r || s and padded DER are refused
    assert not SUITE.verify(ANNEX_PUBLIC, ANNEX_MESSAGE, ANNEX_R.to_bytes(32, "big") + ANNEX_S.to_bytes(32, "big"))
    padded = b"\x30\x47\x02\x22\x00" + bytes([0]) + ANNEX_R.to_bytes(32, "big") + signature[-35:]
    assert not SUITE.verify(ANNEX_PUBLIC, ANNEX_MESSAGE, padded)


def test_sm2_annex_key_signs_what_the_annex_verifier_accepts() -> None:
    signer = SUITE.signer_from_scalar(ANNEX_D)
    for _ in range(3):  # k is random: each signature differs, every one verifies
        signature = signer.sign(ANNEX_MESSAGE)
        assert SUITE.verify(ANNEX_PUBLIC, ANNEX_MESSAGE, signature)
        decoded = DSASignature.load(signature)
        assert 0 < decoded["r"].native < N and 0 < decoded["s"].native < N

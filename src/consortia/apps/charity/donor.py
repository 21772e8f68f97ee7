"""Donor and beneficiary pseudonyms, and the donor disclosure sealed to the authority (ADR 0018).

- A beneficiary is named on the chain by ``compute_pseudonym``: the chain's hash of a domain tag,
  a random salt and the beneficiary's real identifier. The verifier keeps the salt and the
  identifier, so it can show the authority whom the pseudonym stands for; nobody else can.
- An anonymous donor is named by ``compute_donor_tag`` (same construction, its own domain tag).
  The donor gets the salt with its receipt, so it can find its donation on the public page. The
  clear donor and the salt are sealed (``CryptoSuite.wrap``) to each civil-affairs authority's
  published key: the authority opens the disclosure with its organisation's key and checks it
  against the tag (``open_disclosure``), so a charity cannot disclose someone else.
"""

from __future__ import annotations

import secrets
from typing import Any

from consortia.crypto import CryptoSuite, KeyUnwrapper
from consortia.errors import BadInput
from consortia.types import codec

DONOR_DOMAIN = "consortia/charity/donor"
BENEFICIARY_DOMAIN = "consortia/charity/beneficiary"
MAX_DONOR_CHARS = 200


def new_salt() -> str:
    return secrets.token_hex(16)


def compute_pseudonym(suite: CryptoSuite, salt: str, identifier: str) -> str:
    """The beneficiary's pseudonym: ``H(codec([domain, salt, identifier]))`` in hex."""
    return suite.hash(codec.encode([BENEFICIARY_DOMAIN, salt, identifier])).hex()


def compute_donor_tag(suite: CryptoSuite, salt: str, donor: str) -> str:
    """An anonymous donor's public tag: ``H(codec([domain, salt, donor]))`` in hex."""
    return suite.hash(codec.encode([DONOR_DOMAIN, salt, donor])).hex()


def seal_disclosure(suite: CryptoSuite, keys: dict[str, str], donor: str, salt: str) -> dict[str, str]:
    """The clear donor and salt wrapped to every authority key (org -> hex)."""
    if not donor.strip() or len(donor) > MAX_DONOR_CHARS:
        raise BadInput(f"donor: expected a name or id of 1 to {MAX_DONOR_CHARS} characters", code="BAD_ARGS")
    if not keys:
        raise BadInput("no civil-affairs authority has published a disclosure key (charity.publish_authority_key)",
                       code="NO_AUTHORITY_KEY")
    plain = codec.encode({"donor": donor, "salt": salt})
    return {org: suite.wrap(bytes.fromhex(key), plain).hex() for org, key in sorted(keys.items())}


def anonymous_donation_args(suite: CryptoSuite, keys: dict[str, str], donor: str, amount: int, *, need: str = "",
                            channel: str = "bank-transfer", payment_ref: str = "",
                            salt: str | None = None) -> tuple[dict[str, Any], str]:
    """The arguments of ``charity.record_donation`` for an individual donor, and the salt to give
    the donor with its receipt."""
    salt = salt or new_salt()
    args = {"amount": amount, "need": need, "channel": channel, "payment_ref": payment_ref,
            "donor_tag": compute_donor_tag(suite, salt, donor), "sealed": seal_disclosure(suite, keys, donor, salt)}
    return args, salt


def open_disclosure(suite: CryptoSuite, key: KeyUnwrapper, sealed_hex: str, donor_tag: str) -> dict[str, Any]:
    """Open a disclosure with the authority's key; ``verified`` says it matches the public tag."""
    try:
        opened = codec.decode(key.unwrap(bytes.fromhex(sealed_hex)))
    except ValueError:
        raise BadInput("the disclosure is not hex", code="BAD_SEALED") from None
    if type(opened) is not dict or type(opened.get("donor")) is not str or type(opened.get("salt")) is not str:
        raise BadInput("the disclosure does not hold a donor and a salt", code="BAD_SEALED")
    verified = compute_donor_tag(suite, opened["salt"], opened["donor"]) == donor_tag
    return {"donor": opened["donor"], "salt": opened["salt"], "verified": verified}

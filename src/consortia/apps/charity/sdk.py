"""SDK helpers for charity, over a ``consortia.client.Client``.

    from consortia.client import Client
    from consortia.apps.charity import sdk

    with Client.from_home(".consortia", "chunhui-foundation/admin") as c:
        need = sdk.publish_need(c, "Heart surgery", "...", beneficiary_id="...", verifier="civil-affairs",
                                target_fen=6_000_000)
        receipt = sdk.record_anonymous_donation(c, "Wang Fang, resident id ...", 20_000, need=need["id"])
        print(receipt["donation"]["id"], receipt["salt"])        # give both to the donor
        print(sdk.donation_path(c, receipt["donation"]["id"]))   # where the money went, with proofs
"""

from __future__ import annotations

from typing import Any

from consortia.apps.charity.donor import anonymous_donation_args, compute_pseudonym, new_salt, open_disclosure
from consortia.client import Client
from consortia.crypto import KeyUnwrapper


def publish_need(client: Client, title: str, purpose: str, *, beneficiary_id: str, verifier: str,
                 salt: str | None = None, **args: Any) -> dict[str, Any]:
    """Publish a need, naming its beneficiary by a salted pseudonym made here (the identifier never
    leaves this machine). Returns the need with ``salt`` added: give it to the verifier, who
    attests the pseudonym with ``attest_beneficiary``."""
    salt = salt or new_salt()
    pseudonym = compute_pseudonym(client.suite, salt, beneficiary_id)
    need: dict[str, Any] = client.call("charity", "publish_need", {"title": title, "purpose": purpose,
                                                                   "beneficiary": pseudonym, "verifier": verifier,
                                                                   **args})
    return {**need, "salt": salt}


def authority_keys(client: Client) -> dict[str, str]:
    return client.query("charity", "authority_keys", {})["keys"]  # type: ignore[no-any-return]


def record_anonymous_donation(client: Client, donor: str, amount: int, *, need: str = "",
                              channel: str = "bank-transfer", payment_ref: str = "") -> dict[str, Any]:
    """The charity records an individual's donation: public tag, donor sealed to the authority.
    Returns ``{"donation", "salt"}``: the donor keeps the salt to recognise its tag."""
    args, salt = anonymous_donation_args(client.suite, authority_keys(client), donor, amount, need=need,
                                         channel=channel, payment_ref=payment_ref)
    return {"donation": client.call("charity", "record_donation", args), "salt": salt}


def disclose_donor(client: Client, key: KeyUnwrapper, donation_id: str) -> dict[str, Any]:
    """The authority opens a donation's sealed donor with its organisation's key (a signed read);
    ``verified`` says the disclosure matches the public tag."""
    sealed = client.query("charity", "disclosure", {"donation_id": donation_id}, signed=True)
    return {"donation": donation_id, **open_disclosure(client.suite, key, sealed["sealed"], sealed["donor_tag"])}


def need_page(client: Client, need_id: str) -> dict[str, Any]:
    """A need's public page as data: the need, its donations and grants, and each transaction's proof."""
    return client._get(f"/charity/needs/{need_id}", format="json")  # type: ignore[no-any-return]


def donation_path(client: Client, donation_id: str) -> dict[str, Any]:
    """Where a donation went: its grants, their receipts and each transaction's proof."""
    return client._get(f"/charity/donations/{donation_id}", format="json")  # type: ignore[no-any-return]

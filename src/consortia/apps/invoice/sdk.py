"""E-invoices through the Python SDK, the way ``consortia invoice`` does (the SDK itself knows no app)::

    from consortia.apps.invoice.sdk import issue_invoice, load_invoice, register_for_financing
    with Client.from_home(".consortia", "jinglian-parts/admin", "http://127.0.0.1:8700") as c:
        record = issue_invoice(c, load_invoice(Path("invoice.json")))
        doc = register_for_financing(c, record["number"])   # an scf underlying document, one step

Every function signs with the client's member; a refusal raises ``Revert`` with its code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from consortia.apps.invoice.model import (
    InvoiceInvalid,
    check_invoice,
    complete_invoice,
    compute_line_amount,
    parse_decimal,
)
from consortia.client import Client
from consortia.errors import BadInput, Revert
from consortia.types import codec

FORMATS = ("json", "html", "pdf", "xml")


def load_invoice(source: str | bytes | Path | dict[str, Any]) -> dict[str, Any]:
    """An invoice from JSON (text, bytes, a file or a mapping), completed and checked: line amounts
    from quantity x unit price, tax amounts, totals and the total in words are filled when missing,
    then every field and sum is checked (``InvoiceInvalid`` names the first bad field). Numbers in
    the JSON must be integers (fen) or strings (quantities, prices): a float is refused."""
    if isinstance(source, Path):
        source = source.read_bytes()
    if isinstance(source, (str, bytes)):
        try:
            source = codec.decode(source)
        except BadInput as exc:
            raise InvoiceInvalid("", f"not an invoice in JSON: {exc.message}") from None
    if type(source) is not dict:
        raise InvoiceInvalid("", f"expected an invoice object, got {type(source).__name__}")
    return check_invoice(complete_invoice(source))


def issue_invoice(client: Client, content: dict[str, Any]) -> dict[str, Any]:
    """Issue ``content`` (checked first) as the seller; returns the chain's record."""
    return client.call("invoice", "issue", {"content": check_invoice(content)})  # type: ignore[no-any-return]


def get_invoice(client: Client, number: str) -> dict[str, Any]:
    """The chain's record of an invoice (seller, buyer, tax authority, regulators)."""
    return client.query("invoice", "get", {"number": number}, signed=True)  # type: ignore[no-any-return]


def invoice_document(client: Client, number: str, fmt: str = "pdf") -> bytes:
    """The invoice as ``pdf``, ``html``, ``xml`` (UBL 2.1) or ``json`` bytes (signed read)."""
    if fmt not in FORMATS:
        raise BadInput(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r:.20}", code="BAD_FORMAT")
    return client.fetch(f"/invoice/invoices/{number}", params={"format": fmt}, signed=True)


def verify_invoice(client: Client, number: str, digest: str = "") -> dict[str, Any]:
    """The public check (no login): exists, matches ``digest``, status, and the issue proof."""
    return codec.decode(client.fetch(f"/invoice/verify/{number}", params={"digest": digest, "format": "json"}))  # type: ignore[no-any-return]


def claim_invoice(client: Client, number: str, content: dict[str, Any]) -> dict[str, Any]:
    """Claim an invoice for reimbursement as the buyer, presenting its content as received."""
    return client.call("invoice", "claim", {"number": number, "content": content})  # type: ignore[no-any-return]


def reverse_invoice(client: Client, original: dict[str, Any], number: str, issue_date: str, reason: str,
                    amount: int | None = None) -> dict[str, Any]:
    """Issue a red-letter invoice ``number`` against ``original`` (its content): the whole of it,
    or a net ``amount`` in fen at the first line's tax rate."""
    return issue_invoice(client, compute_red_letter(original, number, issue_date, reason, amount))


def compute_red_letter(original: dict[str, Any], number: str, issue_date: str, reason: str,
                       amount: int | None = None) -> dict[str, Any]:
    """The red-letter invoice reversing ``original`` in full (every line negated) or by a net ``amount``."""
    if amount is None:
        lines = []
        for line in original["lines"]:
            red = {k: v for k, v in line.items() if k not in ("amount", "tax_amount")}
            if "quantity" in line:
                quantity = -parse_decimal(line["quantity"], "quantity")
                red["quantity"] = format(quantity, "f")
                red["amount"] = compute_line_amount(quantity, parse_decimal(line["unit_price"], "unit_price"))
            else:
                red["amount"] = -line["amount"]
            lines.append(red)
    else:
        if type(amount) is not int or amount <= 0:
            raise BadInput("amount: a positive number of fen to reverse", code="BAD_AMOUNT")
        first = original["lines"][0]
        lines = [{"item": first["item"], "amount": -amount, "tax_rate": first["tax_rate"]}]
    content = {"number": number, "issue_date": issue_date, "type": original["type"], "seller": original["seller"],
               "buyer": original["buyer"], "lines": lines, "original": original["number"], "reason": reason}
    if original.get("drawer"):
        content["drawer"] = original["drawer"]
    return check_invoice(complete_invoice(content))


def register_for_financing(client: Client, number: str) -> dict[str, Any]:
    """Register an invoice as an underlying document for supply chain finance in one step: its
    seller (a registered scf party) records it with ``scf.register_document`` under its number,
    with the digest the invoice chain holds, for its total less what red-letter invoices took back.
    The scf contract then refuses financing it twice or above its amount, across every bank, and
    anyone can check the document against the invoice (``verify_invoice(number, digest)``)."""
    record = get_invoice(client, number)
    if record["kind"] != "blue" or record["status"] in ("voided", "reversed"):
        raise Revert(f"{number} is {record['status']} ({record['kind']}): it cannot back financing",
                     code="NOT_FINANCEABLE")
    return client.call("scf", "register_document", {  # type: ignore[no-any-return]
        "kind": "invoice", "number": number, "digest": record["digest"], "algorithm": record["algorithm"],
        "amount": record["total"] - record["reversed"], "counterparty": record["buyer"]})

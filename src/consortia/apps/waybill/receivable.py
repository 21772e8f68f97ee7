"""The check ``scf`` makes before it registers a waybill as an underlying document (ADR 0017).

A carrier finances a delivered waybill through supply chain finance: it registers the waybill
with ``scf.register_document(kind="waybill", number=<waybill number>, ...)``. ``scf`` keys its
documents by issuer, kind and number and refuses a second registration or a second use of a
digest, so a waybill's charges can be registered once; this check makes sure the registration
is the real receivable: a closed (delivered, undisputed) waybill, registered by its first carrier,
against its payer, for its charges, with the digest the waybill contract computed when it closed.
"""

from __future__ import annotations

from consortia.contracts.sdk import Context, refuse, require


def check_waybill_receivable(ctx: Context, number: str, issuer: str, digest: str, algorithm: str, amount: int,
                             counterparty: str) -> None:
    wb = ctx.read_other("waybill", f"wb/{number}") if 0 < len(number) <= 35 else None
    require(wb is not None, refuse("WAYBILL_NOT_FOUND", f"no waybill {number!r:.40}"))
    assert wb is not None  # for the type checker; require() raised otherwise
    require(wb["status"] == "closed" and wb["receivable"] is not None,
            refuse("WAYBILL_NOT_FINANCEABLE", f"waybill {number} is {wb['status']}: only a delivered, undisputed, "
                                              "closed waybill with charges is a receivable"))
    rec = wb["receivable"]
    require(issuer == rec["carrier"], refuse("NOT_CARRIER", f"the receivable of {number} belongs to {rec['carrier']}"))
    require(counterparty == rec["payer"], refuse("BAD_DOCUMENT", f"the charges of {number} are payable by {rec['payer']}"))
    require(amount == rec["amount"], refuse("BAD_DOCUMENT", f"the charges of {number} are {rec['amount']} fen"))
    require((algorithm, digest) == (rec["algorithm"], rec["digest"]),
            refuse("BAD_DIGEST", f"the digest of {number} is {rec['algorithm']}:{rec['digest']}"))

"""The ``invoice`` contract: fully digitalised VAT invoices (数电发票) issued on the chain, seen by
the tax authority in real time, reimbursed at most once across every organisation, and corrected
only by red-letter invoices.

An organisation first registers itself as a taxpayer (its USCC). The seller's organisation issues
an invoice whose content is checked field by field and sum by sum (``model.check_invoice``); the
chain keeps the content and its digest and never edits either. States::

    issued -> delivered -> claimed (locked to the claimant) -> reimbursed -> booked
                              \\-> released back to delivered by the claimant

``voided`` (by the tax authority) and ``reversed`` (red-letter invoices took back the whole
total) end the line. Only the buyer's organisation may claim, presenting the content as issued;
a second claim anywhere is refused with ``ALREADY_CLAIMED`` / ``ALREADY_REIMBURSED``, which the
regulator's alerts report. A red-letter invoice references the original and reverses all or part
of it; the reversals of one invoice never add up to more than its total.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from consortia.apps.invoice.model import check_invoice, is_red_letter, is_valid_number
from consortia.apps.scf.codes import is_valid_uscc
from consortia.contracts.sdk import Context, Contract, method, query, refuse, require
from consortia.crypto.suite import CryptoSuite, get_suite
from consortia.errors import Forbidden, NotFound
from consortia.types import codec

STATUSES = ("issued", "delivered", "claimed", "reimbursed", "booked", "reversed", "voided")
CLAIMABLE = ("delivered",)
SIGHTED_KINDS = ("tax_authority", "regulator")  # who sees every invoice
MAX_REASON = 500


@lru_cache(maxsize=4)
def _suite(name: str) -> CryptoSuite:
    return get_suite(name)


def compute_digest(suite_name: str, content: dict[str, Any]) -> str:
    """The digest of an invoice's content: the chain suite's hash over its canonical encoding."""
    return _suite(suite_name).hash(codec.encode(content)).hex()


def public_status(record: dict[str, Any]) -> str:
    """What a verifier is told: valid, reimbursed, partly reversed, reversed or void."""
    if record["status"] == "voided":
        return "void"
    if record["status"] == "reversed":
        return "reversed"
    if record["status"] in ("reimbursed", "booked"):
        return "reimbursed"
    return "partly reversed" if record["reversed"] else "valid"


class Invoices(Contract):
    name = "invoice"
    description = ("Electronic VAT invoices: issue, deliver, claim and reimburse once, red-letter reversal; "
                   "the tax authority sees every invoice and may void or flag one.")

    # -- reads shared by methods ------------------------------------------------------------

    def _invoice(self, ctx: Context, number: str) -> dict[str, Any]:
        require(is_valid_number(number), refuse("BAD_NUMBER", f"number: expected 20 digits, got {number!r:.40}"))
        record = ctx.get(f"inv/{number}")
        require(record is not None, refuse("INVOICE_NOT_FOUND", f"no invoice {number}"))
        return record  # type: ignore[no-any-return]

    def _save(self, ctx: Context, record: dict[str, Any]) -> None:
        """Every change to an invoice's record passes here, so a frozen invoice refuses them all."""
        require(not ctx.is_frozen(record["number"]),
                refuse("INVOICE_FROZEN", f"invoice {record['number']} is frozen by a governance vote"))
        ctx.put(f"inv/{record['number']}", record)

    def _taxpayer_org(self, ctx: Context, uscc: str) -> str | None:
        """The party that is taxpayer ``uscc``: a registered organisation, or an SME its operator
        hosts (``org/name``), whose USCC the operator verified at onboarding (ADR 0023)."""
        registered: str | None = ctx.get(f"tp/{uscc}")
        if registered is not None:
            return registered
        hosted = ctx.read_other("hosted", f"uscc/{uscc}")
        return hosted if type(hosted) is str and ctx.hosted_member(hosted) is not None else None

    def _taxpayer_record(self, ctx: Context, party: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = ctx.get(f"org/{party}")
        if found is None and (member := ctx.hosted_member(party)) is not None:
            found = {"org": party, "uscc": member["uscc"], "name": member.get("company", party), "hosted_by":
                     member["operator"], "since_ms": None}
        return found

    @staticmethod
    def _reason(reason: str) -> str:
        require(type(reason) is str and 0 < len(reason.strip()) and len(reason) <= MAX_REASON,
                refuse("BAD_ARGS", f"reason: 1 to {MAX_REASON} characters"))
        return reason

    # -- taxpayers ------------------------------------------------------------------------

    @method
    def register_taxpayer(self, ctx: Context, uscc: str, name: str) -> dict[str, Any]:
        """Register the caller's organisation as the taxpayer ``uscc`` (its admin signs). An SME
        hosted by an operator is a taxpayer already, by the USCC its operator verified."""
        caller = ctx.require_caller()
        require(ctx.hosted_member(caller.id) is None,
                refuse("HOSTED_TAXPAYER", f"{caller.id} is a taxpayer by its onboarding record; it needs no registration"))
        require(caller.has_role("admin"), refuse("NOT_ADMIN", "an organisation admin registers the taxpayer"))
        require(is_valid_uscc(uscc), refuse("BAD_USCC", f"{uscc!r:.40} is not a valid unified social credit code"))
        require(type(name) is str and 0 < len(name.strip()) and len(name) <= 200, refuse("BAD_ARGS", "name: 1 to 200 characters"))
        owner = self._taxpayer_org(ctx, uscc)
        require(owner in (None, caller.org), refuse("USCC_TAKEN", f"USCC {uscc} is registered to {owner}"))
        previous = ctx.get(f"org/{caller.org}")
        require(previous is None or previous["uscc"] == uscc,
                refuse("TAXPAYER_EXISTS", f"{caller.org} is registered as taxpayer {previous and previous['uscc']}"))
        taxpayer = {"org": caller.org, "uscc": uscc, "name": name, "since_ms": ctx.time_ms}
        ctx.put(f"org/{caller.org}", taxpayer)
        ctx.put(f"tp/{uscc}", caller.org)
        ctx.emit("TaxpayerRegistered", org=caller.org, uscc=uscc)
        return taxpayer

    # -- issue and reverse ----------------------------------------------------------------

    @method
    def issue(self, ctx: Context, content: dict[str, Any]) -> dict[str, Any]:
        """Issue an invoice (or a red-letter invoice naming its ``original``); the seller's
        organisation signs. Its sums must add up and its number be new."""
        org = ctx.acting_party()  # an organisation, or an SME its operator hosts
        check_invoice(content)
        number = content["number"]
        seller = self._taxpayer_org(ctx, content["seller"]["uscc"])
        require(seller == org, refuse("NOT_SELLER", f"{org} is not the taxpayer {content['seller']['uscc']} "
                                                    f"named as the seller"))
        buyer = self._taxpayer_org(ctx, content["buyer"]["uscc"])
        require(buyer is not None, refuse("UNKNOWN_BUYER", f"buyer.uscc: {content['buyer']['uscc']} is not a "
                                                           "registered taxpayer of this consortium"))
        require(not ctx.has(f"inv/{number}"), refuse("DUPLICATE_NUMBER", f"invoice {number} was issued already"))
        digest = compute_digest(ctx.suite, content)
        total = content["totals"]["total"]
        record = {"number": number, "kind": "red" if is_red_letter(content) else "blue", "content": content,
                  "digest": digest, "algorithm": _suite(ctx.suite).hash_name, "seller": org, "buyer": buyer,
                  "total": total, "status": "issued", "issued_ms": ctx.time_ms, "issued_tx": ctx.tx_id.hex(),
                  "height": ctx.height, "delivered_ms": None, "claimant": None, "claimed_by": None,
                  "claimed_ms": None, "reimbursed_ms": None, "reimbursed_amount": None, "booked_ms": None,
                  "reversed": 0, "reversals": [], "voided": None, "flags": []}
        if is_red_letter(content):
            self._reverse(ctx, record)
        self._save(ctx, record)
        ctx.put(f"sold/{org}/{number}", 1)
        ctx.put(f"bought/{buyer}/{number}", 1)
        ctx.emit("InvoiceIssued", number=number, kind=record["kind"], seller=org, buyer=buyer, total=total,
                 digest=digest)
        return record

    def _reverse(self, ctx: Context, red: dict[str, Any]) -> None:
        """Apply a red-letter invoice to its original: same parties, never more than is left."""
        content = red["content"]
        original = ctx.get(f"inv/{content['original']}")
        require(original is not None, refuse("ORIGINAL_NOT_FOUND", f"original: no invoice {content['original']}"))
        require(original["kind"] == "blue", refuse("BAD_REVERSAL", "original: a red-letter invoice cannot be reversed"))
        require(original["seller"] == red["seller"] and original["buyer"] == red["buyer"],
                refuse("BAD_REVERSAL", "a red-letter invoice is between the seller and buyer of its original"))
        require(original["status"] != "voided", refuse("INVOICE_VOID", f"{original['number']} was voided"))
        require(original["status"] != "claimed",
                refuse("INVOICE_LOCKED", f"{original['number']} is claimed by {original['claimant']}; "
                                         "reverse it once the claim is settled or released"))
        left = original["total"] - original["reversed"]
        require(-red["total"] <= left,
                refuse("OVER_REVERSAL", f"totals.total: {original['number']} has {left} fen left to reverse, "
                                        f"the red-letter invoice takes {-red['total']}"))
        original["reversed"] -= red["total"]
        original["reversals"] = [*original["reversals"], red["number"]]
        if original["reversed"] == original["total"] and original["status"] in ("issued", "delivered"):
            original["status"] = "reversed"
        self._save(ctx, original)
        ctx.emit("InvoiceReversed", number=original["number"], red=red["number"], amount=-red["total"],
                 reversed=original["reversed"])

    # -- deliver, claim, reimburse, book --------------------------------------------------

    @method
    def deliver(self, ctx: Context, number: str) -> dict[str, Any]:
        """The seller delivers an issued invoice to the buyer."""
        record = self._invoice(ctx, number)
        org = ctx.acting_party()
        require(org == record["seller"], refuse("NOT_SELLER", f"{number} was issued by {record['seller']}"))
        require(record["status"] == "issued", refuse("NOT_ISSUED", f"{number} is {record['status']}, not issued"))
        require(record["kind"] == "blue", refuse("NOT_CLAIMABLE", "a red-letter invoice is not delivered for claims"))
        record.update(status="delivered", delivered_ms=ctx.time_ms)
        self._save(ctx, record)
        ctx.emit("InvoiceDelivered", number=number, buyer=record["buyer"])
        return record

    @method
    def claim(self, ctx: Context, number: str, content: dict[str, Any]) -> dict[str, Any]:
        """The buyer's organisation claims a delivered invoice for reimbursement, presenting its
        content; the invoice is locked to the claimant. Anyone's second claim is refused."""
        record = self._invoice(ctx, number)
        caller = ctx.require_caller()
        party = ctx.acting_party()
        require(record["status"] != "claimed",
                refuse("ALREADY_CLAIMED", f"{number} is already claimed by {record['claimant']}"))
        require(record["status"] not in ("reimbursed", "booked"),
                refuse("ALREADY_REIMBURSED", f"{number} was already reimbursed by {record['claimant']}"))
        self._require_claimable(record)
        require(party == record["buyer"], refuse("NOT_BUYER", f"{number} was issued to {record['buyer']}, "
                                                               f"not {party}"))
        require(type(content) is dict and compute_digest(ctx.suite, content) == record["digest"],
                refuse("CONTENT_MISMATCH", f"the invoice presented differs from {number} as issued"))
        record.update(status="claimed", claimant=party, claimed_by=caller.name, claimed_ms=ctx.time_ms)
        self._save(ctx, record)
        ctx.emit("InvoiceClaimed", number=number, claimant=party, by=caller.name)
        return record

    @staticmethod
    def _require_claimable(record: dict[str, Any]) -> None:
        number = record["number"]
        require(record["kind"] == "blue", refuse("NOT_CLAIMABLE", f"{number} is a red-letter invoice"))
        require(record["status"] != "voided", refuse("INVOICE_VOID", f"{number} was voided by the tax authority"))
        require(record["status"] != "reversed", refuse("INVOICE_REVERSED", f"{number} was reversed in full"))
        require(record["status"] in CLAIMABLE, refuse("NOT_DELIVERED", f"{number} is {record['status']}, not delivered"))

    @method
    def release_claim(self, ctx: Context, number: str) -> dict[str, Any]:
        """The claimant withdraws its claim (refused by its finance desk); the invoice is delivered again."""
        record = self._invoice(ctx, number)
        org = ctx.acting_party()
        require(record["status"] == "claimed", refuse("NOT_CLAIMED", f"{number} is {record['status']}, not claimed"))
        require(record["claimant"] == org, refuse("NOT_CLAIMANT", f"{number} is claimed by {record['claimant']}"))
        record.update(status="delivered", claimant=None, claimed_by=None, claimed_ms=None)
        self._save(ctx, record)
        ctx.emit("ClaimReleased", number=number, by=org)
        return record

    @method
    def reimburse(self, ctx: Context, number: str) -> dict[str, Any]:
        """The claimant pays the claim: the invoice is reimbursed, once, for what is not reversed."""
        record = self._invoice(ctx, number)
        org = ctx.acting_party()
        require(record["status"] not in ("reimbursed", "booked"),
                refuse("ALREADY_REIMBURSED", f"{number} was already reimbursed by {record['claimant']}"))
        require(record["status"] == "claimed", refuse("NOT_CLAIMED", f"{number} is {record['status']}, not claimed"))
        require(org == record["claimant"], refuse("NOT_CLAIMANT", f"{number} is claimed by {record['claimant']}"))
        record.update(status="reimbursed", reimbursed_ms=ctx.time_ms,
                      reimbursed_amount=record["total"] - record["reversed"])
        self._save(ctx, record)
        ctx.put(f"reimbursed/{org}/{number}", record["reimbursed_amount"])
        ctx.emit("InvoiceReimbursed", number=number, claimant=org, amount=record["reimbursed_amount"])
        return record

    @method
    def book(self, ctx: Context, number: str) -> dict[str, Any]:
        """The claimant books the reimbursed invoice in its accounts (入账)."""
        record = self._invoice(ctx, number)
        org = ctx.acting_party()
        require(record["status"] == "reimbursed", refuse("NOT_REIMBURSED", f"{number} is {record['status']}"))
        require(org == record["claimant"], refuse("NOT_CLAIMANT", f"{number} was reimbursed by {record['claimant']}"))
        record.update(status="booked", booked_ms=ctx.time_ms)
        self._save(ctx, record)
        ctx.emit("InvoiceBooked", number=number, claimant=org)
        return record

    # -- the tax authority ----------------------------------------------------------------

    @method
    def void(self, ctx: Context, number: str, reason: str) -> dict[str, Any]:
        """The tax authority voids an invoice (作废): it can no longer be claimed."""
        by = ctx.require_org_kind("tax_authority", "NOT_TAX_AUTHORITY")
        record = self._invoice(ctx, number)
        self._reason(reason)
        require(record["status"] != "voided", refuse("INVOICE_VOID", f"{number} is already void"))
        record.update(status="voided", voided={"by": by, "reason": reason, "ms": ctx.time_ms,
                                               "previous": record["status"]})
        self._save(ctx, record)
        ctx.emit("InvoiceVoided", number=number, by=by, reason=reason, seller=record["seller"], buyer=record["buyer"])
        return record

    @method
    def flag(self, ctx: Context, number: str, reason: str) -> dict[str, Any]:
        """The tax authority flags an invoice for inspection (the regulator's alerts show it)."""
        by = ctx.require_org_kind("tax_authority", "NOT_TAX_AUTHORITY")
        record = self._invoice(ctx, number)
        self._reason(reason)
        record["flags"] = [*record["flags"], {"by": by, "reason": reason, "ms": ctx.time_ms}]
        self._save(ctx, record)
        ctx.emit("InvoiceFlagged", number=number, by=by, reason=reason, seller=record["seller"],
                 buyer=record["buyer"])
        return record

    # -- queries ----------------------------------------------------------------------------

    def _sees_all(self, ctx: Context, org: str) -> bool:
        return ctx.org_kind(org) in SIGHTED_KINDS

    @query
    def taxpayer(self, ctx: Context, uscc: str) -> dict[str, Any]:
        """Which organisation is the taxpayer ``uscc`` (public to members)."""
        ctx.require_caller()
        org = self._taxpayer_org(ctx, uscc) if is_valid_uscc(uscc) else None
        found = None if org is None else self._taxpayer_record(ctx, org)
        if found is None:
            raise NotFound(f"{uscc!r:.40} is not a registered taxpayer", code="UNKNOWN_TAXPAYER")
        return found

    @query
    def taxpayers(self, ctx: Context) -> list[dict[str, Any]]:
        ctx.require_caller()
        return [t for _, t in ctx.range("org/", limit=10_000)]

    @query
    def get(self, ctx: Context, number: str) -> dict[str, Any]:
        """An invoice with its content and history: for its seller, its buyer, the tax authority
        and regulators."""
        org = ctx.acting_party()
        record = ctx.get(f"inv/{number}") if is_valid_number(number) else None
        if record is None:
            raise NotFound(f"no invoice {number!r:.40}", code="INVOICE_NOT_FOUND")
        if org not in (record["seller"], record["buyer"]) and not self._sees_all(ctx, org):
            raise Forbidden(f"{org} may not see invoice {number}", code="NOT_VISIBLE")
        return record  # type: ignore[no-any-return]

    @query
    def verify(self, ctx: Context, number: str, digest: str = "") -> dict[str, Any]:
        """Public (no login): does invoice ``number`` exist, does ``digest`` match its content, its
        status. Tells nothing of the content itself."""
        record = ctx.get(f"inv/{number}") if is_valid_number(number) else None
        if record is None:
            return {"number": number if type(number) is str else "", "exists": False}
        return {"number": number, "exists": True, "kind": record["kind"], "status": public_status(record),
                "matches": (digest == record["digest"]) if digest else None, "algorithm": record["algorithm"],
                "issued_ms": record["issued_ms"], "issued_tx": record["issued_tx"], "height": record["height"],
                "reversed": record["reversed"], "total": record["total"],
                "reimbursed": record["status"] in ("reimbursed", "booked"), "flagged": bool(record["flags"]),
                "original": record["content"].get("original")}

    @query
    def mine(self, ctx: Context, role: str = "buyer", limit: int = 200, after: str = "") -> dict[str, Any]:
        """The caller's invoices as ``seller`` or ``buyer``, newest numbers last (summaries)."""
        org = ctx.acting_party()
        require(role in ("seller", "buyer"), refuse("BAD_ARGS", "role: expected seller or buyer"))
        require(type(limit) is int and 1 <= limit <= 1000, refuse("BAD_ARGS", "limit: 1 to 1000"))
        prefix = f"{'sold' if role == 'seller' else 'bought'}/{org}/"
        rows = ctx.range(prefix, limit=limit, after=prefix + after if after else "")
        mine = [k for k, _ in rows if "/" not in k[len(prefix):]]  # an operator's list leaves out its SMEs' own
        return {"org": org, "role": role, "invoices": [self._summary(ctx.get(f"inv/{k.rsplit('/', 1)[1]}"))
                                                        for k in mine]}

    @staticmethod
    def _summary(record: dict[str, Any]) -> dict[str, Any]:
        content = record["content"]
        return {"number": record["number"], "kind": record["kind"], "issue_date": content["issue_date"],
                "type": content["type"], "seller": record["seller"], "buyer": record["buyer"],
                "seller_name": content["seller"]["name"], "buyer_name": content["buyer"]["name"],
                "total": record["total"], "status": record["status"], "reversed": record["reversed"],
                "claimant": record["claimant"], "flags": len(record["flags"]), "issued_ms": record["issued_ms"]}

    @query
    def all(self, ctx: Context, limit: int = 200, after: str = "") -> dict[str, Any]:
        """Every invoice on the chain (summaries, by number): the tax authority's and regulators' view."""
        org = ctx.require_caller().org
        if not self._sees_all(ctx, org):
            raise Forbidden(f"{org} is neither the tax authority nor a regulator", code="NOT_VISIBLE")
        require(type(limit) is int and 1 <= limit <= 1000, refuse("BAD_ARGS", "limit: 1 to 1000"))
        rows = ctx.range("inv/", limit=limit, after=f"inv/{after}" if after else "")
        return {"invoices": [self._summary(r) for _, r in rows]}

    @query
    def overview(self, ctx: Context) -> dict[str, Any]:
        """Counts and sums by status, for the tax authority and regulators."""
        org = ctx.require_caller().org
        if not self._sees_all(ctx, org):
            raise Forbidden(f"{org} is neither the tax authority nor a regulator", code="NOT_VISIBLE")
        by_status: dict[str, dict[str, int]] = {}
        flagged, red, reversed_total = 0, 0, 0
        for _, record in ctx.range("inv/", limit=1_000_000):
            row = by_status.setdefault(record["status"], {"count": 0, "total": 0})
            row["count"] += 1
            row["total"] += record["total"]
            flagged += 1 if record["flags"] else 0
            red += 1 if record["kind"] == "red" else 0
            reversed_total += record["reversed"]
        return {"by_status": dict(sorted(by_status.items())), "flagged": flagged, "red_letter": red,
                "reversed_total": reversed_total, "taxpayers": len(ctx.range("org/", limit=100_000))}

"""The ``scf`` contract: receivable vouchers issued by a core enterprise against a bank's
credit line, split and passed down the supplier tiers, financed by funders, settled at maturity.

A voucher is a tree of *pieces*. The root is the voucher as issued; a split-transfer turns one
live piece into children (the pieces sent, and the remainder kept by the sender), so the leaves
of a tree always add up to the face amount. Amounts are integer fen (0.01 yuan); a piece is at
least 1 fen.

Piece statuses: ``offered`` (issued, awaiting the receiver), ``active``, ``transferring`` and
``financing`` (locked by a pending request), ``pledged`` (a funder holds a lien), ``overdue``,
``settled``; and the dead ends ``rejected`` (the receiver refused the issue) and ``split``.
"""

from __future__ import annotations

from typing import Any

from consortia.apps.scf.codes import is_valid_uscc
from consortia.apps.waybill.receivable import check_waybill_receivable
from consortia.contracts.sdk import Context, Contract, method, query, refuse, require
from consortia.errors import BadInput, Forbidden, NotFound

ROLES = ("core", "supplier", "funder", "regulator")
BOUND_ROLES = ("core", "funder", "regulator")  # seats only the organisation kind (genesis or a vote) gives
DOC_KINDS = ("contract", "invoice", "delivery", "customs", "waybill")
DIGEST_ALGORITHMS = {"sha-256": 64, "sm3": 64}
FINANCING_KINDS = ("factoring", "pledge")
DAY_MS = 24 * 3600 * 1000
MAX_TENOR_MS = 365 * DAY_MS
MAX_AMOUNT = 10**15  # fen: ten trillion yuan, far above any real voucher
MAX_OUTPUTS = 50
MAX_DOCS = 20
MAX_RATE_BP = 10_000  # 100 % a year
LIVE = ("offered", "active", "transferring", "financing", "pledged", "overdue")
USABLE = ("active",)


class SupplyChainFinance(Contract):
    name = "scf"
    description = ("Receivable vouchers: issue against a credit line, split-transfer down the tiers, "
                   "finance (factoring or pledge), settle at maturity.")

    # -- reads shared by methods ----------------------------------------------------------

    def _party(self, ctx: Context, org: str) -> dict[str, Any]:
        party = ctx.get(f"party/{org}")
        if party is None and (hosted := ctx.hosted_member(org)) is not None:  # an SME its operator onboarded
            party = {"org": org, "roles": ["supplier"], "uscc": hosted["uscc"], "name": hosted["company"],
                     "hosted_by": hosted["operator"]}
        require(party is not None, refuse("NOT_A_PARTY", f"{org} is not registered as a supply-chain party"))
        return self._bound(ctx, party)

    @staticmethod
    def _bound(ctx: Context, party: dict[str, Any]) -> dict[str, Any]:
        """The party with only the seats its organisation kind still gives it (a registration made
        before roles were bound, or an organisation since removed, keeps no privileged seat)."""
        kind = ctx.org_kind(party["org"])
        return {**party, "roles": [r for r in party["roles"] if r not in BOUND_ROLES or r == kind]}

    def _caller_with_role(self, ctx: Context, role: str) -> str:
        org = ctx.acting_party()
        party = self._party(ctx, org)
        require(role in party["roles"], refuse("WRONG_ROLE", f"{org} is not registered as a {role}"))
        return org

    def _piece(self, ctx: Context, piece_id: str) -> dict[str, Any]:
        require(type(piece_id) is str and 0 < len(piece_id) <= 64, refuse("BAD_ARGS", "voucher id: expected a string"))
        piece = ctx.get(f"v/{piece_id}")
        require(piece is not None, refuse("VOUCHER_NOT_FOUND", f"no voucher {piece_id!r}"))
        return piece  # type: ignore[no-any-return]

    def _holder_piece(self, ctx: Context, piece_id: str) -> dict[str, Any]:
        """A live piece the caller holds, usable now (not locked, not past due)."""
        piece = self._piece(ctx, piece_id)
        org = ctx.acting_party()
        require(piece["holder"] == org, refuse("NOT_HOLDER", f"{piece_id} is held by {piece['holder']}, not {org}"))
        require(ctx.time_ms < piece["due_ms"],
                refuse("PAST_DUE", f"{piece_id} reached its due date; only settlement is possible now"))
        require(piece["status"] in USABLE,
                refuse("VOUCHER_LOCKED" if piece["status"] in LIVE else "VOUCHER_NOT_LIVE",
                       f"{piece_id} is {piece['status']}, not active"))
        return piece

    @staticmethod
    def _amount(value: int, what: str) -> int:
        require(type(value) is int and 1 <= value <= MAX_AMOUNT,
                refuse("BAD_AMOUNT", f"{what}: expected an integer number of fen between 1 and {MAX_AMOUNT}, got {value!r}"))
        return value

    # -- bookkeeping ----------------------------------------------------------------------

    def _save_piece(self, ctx: Context, piece: dict[str, Any]) -> None:
        """Every change to a piece passes here, so a voucher frozen by vote refuses them all."""
        require(not (ctx.is_frozen(piece["root"]) or ctx.is_frozen(piece["id"])),
                refuse("VOUCHER_FROZEN", f"voucher {piece['root']} is frozen by a governance vote"))
        ctx.put(f"v/{piece['id']}", piece)
        held = f"hold/{piece['holder']}/{piece['id']}"
        if piece["status"] in LIVE:
            ctx.put(held, piece["root"])
        elif ctx.has(held):
            ctx.delete(held)

    def _move_holder(self, ctx: Context, piece: dict[str, Any], new_holder: str) -> None:
        old = f"hold/{piece['holder']}/{piece['id']}"
        if ctx.has(old):
            ctx.delete(old)
        piece["holder"] = new_holder

    def _new_piece(self, ctx: Context, parent: dict[str, Any], holder: str, amount: int) -> dict[str, Any]:
        piece_id = ctx.derive_id("piece", parent["id"])
        child = {"id": piece_id, "root": parent["root"], "parent": parent["id"], "issuer": parent["issuer"],
                 "holder": holder, "amount": amount, "due_ms": parent["due_ms"], "status": "active", "lien": None,
                 "pending": None, "children": [], "created_ms": ctx.time_ms, "height": ctx.height,
                 "tier": parent["tier"] + (0 if holder == parent["holder"] else 1)}
        ctx.put(f"tree/{parent['root']}/{piece_id}", 1)
        self._save_piece(ctx, child)
        return child

    def _exposure(self, ctx: Context, core: str) -> dict[str, Any]:
        return ctx.get(f"core/{core}", {"core": core, "outstanding": 0, "financed": 0, "settled": 0, "vouchers": 0})  # type: ignore[no-any-return]

    def _bump_exposure(self, ctx: Context, core: str, **deltas: int) -> None:
        exposure = self._exposure(ctx, core)
        for key, delta in deltas.items():
            exposure[key] += delta
        ctx.put(f"core/{core}", exposure)

    # -- parties, credit lines, documents -------------------------------------------------

    @method
    def register_party(self, ctx: Context, roles: list[str], uscc: str, name: str) -> dict[str, Any]:
        """Register the caller's organisation as a supply-chain party (its admin signs)."""
        caller = ctx.require_caller()
        require(caller.has_role("admin"), refuse("NOT_ADMIN", "an organisation admin registers the party"))
        require(roles and all(r in ROLES for r in roles) and len(set(roles)) == len(roles),
                refuse("BAD_ROLE", f"roles: expected a non-empty subset of {ROLES}, got {roles}"))
        ctx.require_regulator_kind(roles)
        for role in BOUND_ROLES:
            require(role not in roles or ctx.org_kind(caller.org) == role,
                    refuse("WRONG_ORG_KIND", f"{caller.org} is not a {role} organisation of this consortium (its kind "
                                             "is set at genesis or by a governance vote)"))
        require(is_valid_uscc(uscc), refuse("BAD_USCC", f"{uscc!r} is not a valid unified social credit code"))
        require(0 < len(name) <= 200, refuse("BAD_ARGS", "name: 1 to 200 characters"))
        owner = ctx.get(f"uscc/{uscc}")
        require(owner in (None, caller.org), refuse("USCC_TAKEN", f"USCC {uscc} is registered to {owner}"))
        previous = ctx.get(f"party/{caller.org}")
        if previous is not None and previous["uscc"] != uscc:
            ctx.delete(f"uscc/{previous['uscc']}")
        party = {"org": caller.org, "roles": sorted(roles), "uscc": uscc, "name": name, "since_ms": ctx.time_ms}
        ctx.put(f"party/{caller.org}", party)
        ctx.put(f"uscc/{uscc}", caller.org)
        ctx.emit("PartyRegistered", org=caller.org, roles=party["roles"], uscc=uscc)
        return party

    @method
    def grant_credit_line(self, ctx: Context, core: str, limit: int, expires_ms: int) -> dict[str, Any]:
        """A funder grants a core enterprise a limit (fen) until ``expires_ms``."""
        funder = self._caller_with_role(ctx, "funder")
        require("core" in self._party(ctx, core)["roles"], refuse("WRONG_ROLE", f"{core} is not a core enterprise"))
        self._amount(limit, "limit")
        require(type(expires_ms) is int and ctx.time_ms < expires_ms <= ctx.time_ms + 5 * MAX_TENOR_MS,
                refuse("BAD_EXPIRY", "expires_ms: expected a time after now and within five years"))
        line_id = ctx.derive_id("line", funder, core)
        line = {"id": line_id, "funder": funder, "core": core, "limit": limit, "used": 0, "expires_ms": expires_ms,
                "granted_ms": ctx.time_ms}
        ctx.put(f"line/{line_id}", line)
        ctx.put(f"lines_of/{core}/{line_id}", 1)
        ctx.emit("CreditLineGranted", id=line_id, funder=funder, core=core, limit=limit)
        return line

    @method
    def register_document(self, ctx: Context, kind: str, number: str, digest: str, algorithm: str, amount: int,
                          counterparty: str) -> dict[str, Any]:
        """Record an underlying trade document by its digest; the document stays off-chain."""
        issuer = self._party(ctx, ctx.acting_party())["org"]
        require(kind in DOC_KINDS, refuse("BAD_DOCUMENT", f"kind: expected one of {DOC_KINDS}, got {kind!r}"))
        require(0 < len(number) <= 64, refuse("BAD_DOCUMENT", "number: 1 to 64 characters"))
        require(algorithm in DIGEST_ALGORITHMS,
                refuse("BAD_DIGEST", f"algorithm: expected one of {sorted(DIGEST_ALGORITHMS)}, got {algorithm!r}"))
        require(len(digest) == DIGEST_ALGORITHMS[algorithm] and all(c in "0123456789abcdef" for c in digest),
                refuse("BAD_DIGEST", f"digest: expected {DIGEST_ALGORITHMS[algorithm]} lowercase hex characters"))
        self._amount(amount, "amount")
        self._party(ctx, counterparty)
        if kind == "waybill":  # a carrier's charges on a closed waybill (ADR 0017)
            check_waybill_receivable(ctx, number, issuer, digest, algorithm, amount, counterparty)
        doc_id = f"{issuer}:{kind}:{number}"
        require(not ctx.has(f"doc/{doc_id}"), refuse("DOCUMENT_EXISTS", f"{doc_id} is already registered"))
        seen = ctx.get(f"digest/{algorithm}:{digest}")
        require(seen is None, refuse("DOCUMENT_EXISTS", f"a document with this digest is already registered as {seen}"))
        doc = {"id": doc_id, "kind": kind, "number": number, "digest": digest, "algorithm": algorithm,
               "amount": amount, "issuer": issuer, "counterparty": counterparty, "financed": 0,
               "registered_ms": ctx.time_ms}
        ctx.put(f"doc/{doc_id}", doc)
        ctx.put(f"digest/{algorithm}:{digest}", doc_id)
        ctx.emit("DocumentRegistered", id=doc_id, kind=kind, amount=amount, issuer=issuer)
        return doc

    # -- issue, accept, reject ------------------------------------------------------------

    @method
    def issue(self, ctx: Context, to: str, amount: int, due_ms: int, credit_line: str, documents: list[str],
              memo: str = "") -> dict[str, Any]:
        """Issue a voucher to a tier-1 supplier against a credit line and underlying documents."""
        core = self._caller_with_role(ctx, "core")
        require("supplier" in self._party(ctx, to)["roles"], refuse("WRONG_ROLE", f"{to} is not a supplier"))
        self._amount(amount, "amount")
        require(type(due_ms) is int and ctx.time_ms < due_ms <= ctx.time_ms + MAX_TENOR_MS,
                refuse("BAD_TENOR", "due_ms: the due date must be after now and at most one year ahead"))
        require(len(memo) <= 500, refuse("BAD_ARGS", "memo: at most 500 characters"))
        line = ctx.get(f"line/{credit_line}")
        require(line is not None and line["core"] == core,
                refuse("CREDIT_LINE_NOT_FOUND", f"no credit line {credit_line!r} for {core}"))
        require(ctx.time_ms < line["expires_ms"], refuse("CREDIT_LINE_EXPIRED", f"credit line {credit_line} has expired"))
        require(line["used"] + amount <= line["limit"],
                refuse("OVER_LIMIT", f"credit line {credit_line} has {line['limit'] - line['used']} fen left, "
                                     f"the voucher needs {amount}"))
        require(0 < len(documents) <= MAX_DOCS and len(set(documents)) == len(documents),
                refuse("BAD_DOCUMENT", f"documents: 1 to {MAX_DOCS} distinct document ids"))
        for doc_id in documents:
            doc = ctx.get(f"doc/{doc_id}")
            require(doc is not None, refuse("DOCUMENT_NOT_FOUND", f"no document {doc_id!r}"))
            require(core in (doc["issuer"], doc["counterparty"]) and to in (doc["issuer"], doc["counterparty"]),
                    refuse("BAD_DOCUMENT", f"{doc_id} is not between {core} and {to}"))
            require(amount <= doc["amount"], refuse("OVER_DOCUMENT", f"voucher exceeds the amount of {doc_id}"))
        line["used"] += amount
        ctx.put(f"line/{credit_line}", line)
        voucher_id = ctx.derive_id("voucher", core, to)
        root = {"id": voucher_id, "root": voucher_id, "parent": None, "issuer": core, "holder": to,
                "amount": amount, "due_ms": due_ms, "status": "offered", "lien": None, "pending": None,
                "children": [], "created_ms": ctx.time_ms, "height": ctx.height, "tier": 1,
                "face": amount, "credit_line": credit_line, "documents": documents, "memo": memo}
        ctx.put(f"tree/{voucher_id}/{voucher_id}", 1)
        ctx.put(f"issued_by/{core}/{voucher_id}", 1)
        self._save_piece(ctx, root)
        self._bump_exposure(ctx, core, outstanding=amount, vouchers=1)
        ctx.emit("VoucherIssued", id=voucher_id, core=core, to=to, amount=amount, due_ms=due_ms)
        return root

    @method
    def accept(self, ctx: Context, voucher_id: str) -> dict[str, Any]:
        """The receiver accepts an offered voucher; it becomes active."""
        piece = self._offered_to_caller(ctx, voucher_id)
        piece["status"] = "active"
        self._save_piece(ctx, piece)
        ctx.emit("VoucherAccepted", id=voucher_id, holder=piece["holder"])
        return piece

    @method
    def reject(self, ctx: Context, voucher_id: str, reason: str = "") -> dict[str, Any]:
        """The receiver refuses an offered voucher; the credit line gets its amount back."""
        piece = self._offered_to_caller(ctx, voucher_id)
        piece["status"] = "rejected"
        self._save_piece(ctx, piece)
        line = ctx.get(f"line/{piece['credit_line']}")
        line["used"] -= piece["amount"]
        ctx.put(f"line/{piece['credit_line']}", line)
        self._bump_exposure(ctx, piece["issuer"], outstanding=-piece["amount"])
        ctx.emit("VoucherRejected", id=voucher_id, holder=piece["holder"], reason=reason[:500])
        return piece

    def _offered_to_caller(self, ctx: Context, voucher_id: str) -> dict[str, Any]:
        piece = self._piece(ctx, voucher_id)
        org = ctx.acting_party()
        require(piece["holder"] == org, refuse("NOT_HOLDER", f"{voucher_id} was offered to {piece['holder']}, not {org}"))
        require(piece["status"] == "offered", refuse("NOT_OFFERED", f"{voucher_id} is {piece['status']}, not offered"))
        require(ctx.time_ms < piece["due_ms"], refuse("PAST_DUE", f"{voucher_id} reached its due date"))
        return piece

    # -- split-transfer -------------------------------------------------------------------

    @method
    def propose_transfer(self, ctx: Context, voucher_id: str, outputs: list[dict[str, Any]]) -> dict[str, Any]:
        """Offer parts of a piece to other parties: ``outputs`` is ``[{"to": org, "amount": fen}]``.
        The piece is locked until every receiver has answered; the remainder stays with the sender."""
        piece = self._holder_piece(ctx, voucher_id)
        require(0 < len(outputs) <= MAX_OUTPUTS, refuse("BAD_OUTPUTS", f"outputs: 1 to {MAX_OUTPUTS} entries"))
        clean = []
        for i, out in enumerate(outputs):
            require(type(out) is dict and set(out) == {"to", "amount"},
                    refuse("BAD_OUTPUTS", f"outputs[{i}]: expected {{\"to\": org, \"amount\": fen}}"))
            require(type(out["to"]) is str and out["to"] != piece["holder"],
                    refuse("BAD_OUTPUTS", f"outputs[{i}].to: another party's organisation id"))
            roles = self._party(ctx, out["to"])["roles"]
            require("supplier" in roles or "funder" in roles,
                    refuse("WRONG_ROLE", f"{out['to']} is neither a supplier nor a funder"))
            clean.append({"to": out["to"], "amount": self._amount(out["amount"], f"outputs[{i}].amount"),
                          "decision": None})
        total = sum(o["amount"] for o in clean)
        require(total <= piece["amount"],
                refuse("SPLIT_EXCEEDS_BALANCE", f"outputs add up to {total} fen, the piece holds {piece['amount']}"))
        transfer_id = ctx.derive_id("transfer", voucher_id)
        transfer = {"id": transfer_id, "voucher": voucher_id, "root": piece["root"], "from": piece["holder"],
                    "outputs": clean, "status": "proposed", "created_ms": ctx.time_ms}
        ctx.put(f"xfer/{transfer_id}", transfer)
        for out in clean:
            ctx.put(f"inbox/{out['to']}/{transfer_id}", 1)
        piece["status"], piece["pending"] = "transferring", transfer_id
        self._save_piece(ctx, piece)
        ctx.emit("TransferProposed", id=transfer_id, voucher=voucher_id, sender=piece["holder"],
                 outputs=[{"to": o["to"], "amount": o["amount"]} for o in clean])
        return transfer

    @method
    def answer_transfer(self, ctx: Context, transfer_id: str, accept: bool) -> dict[str, Any]:
        """A receiver accepts or rejects its output; when all have answered the split happens."""
        transfer = self._open_transfer(ctx, transfer_id)
        org = ctx.acting_party()
        mine = [o for o in transfer["outputs"] if o["to"] == org and o["decision"] is None]
        require(mine, refuse("NOT_RECEIVER", f"{org} has nothing to answer in transfer {transfer_id}"))
        piece = self._piece(ctx, transfer["voucher"])
        require(ctx.time_ms < piece["due_ms"], refuse("PAST_DUE", "the voucher reached its due date"))
        for out in mine:
            out["decision"] = "accepted" if accept else "rejected"
        ctx.delete(f"inbox/{org}/{transfer_id}")
        ctx.emit("TransferAnswered", id=transfer_id, org=org, accepted=accept)
        if all(o["decision"] is not None for o in transfer["outputs"]):
            self._complete_transfer(ctx, transfer, piece)
        ctx.put(f"xfer/{transfer_id}", transfer)
        return transfer

    @method
    def cancel_transfer(self, ctx: Context, transfer_id: str) -> dict[str, Any]:
        """The sender withdraws a transfer nobody has answered yet; the piece is active again."""
        transfer = self._open_transfer(ctx, transfer_id)
        require(ctx.acting_party() == transfer["from"],
                refuse("NOT_HOLDER", f"only {transfer['from']} can cancel transfer {transfer_id}"))
        require(all(o["decision"] is None for o in transfer["outputs"]),
                refuse("TRANSFER_ANSWERED", "a receiver has already answered; the transfer can no longer be cancelled"))
        self._close_transfer(ctx, transfer, "cancelled")
        return transfer

    def _open_transfer(self, ctx: Context, transfer_id: str) -> dict[str, Any]:
        transfer = ctx.get(f"xfer/{transfer_id}")
        require(transfer is not None, refuse("TRANSFER_NOT_FOUND", f"no transfer {transfer_id!r}"))
        require(transfer["status"] == "proposed",
                refuse("TRANSFER_CLOSED", f"transfer {transfer_id} is {transfer['status']}"))
        return transfer  # type: ignore[no-any-return]

    def _close_transfer(self, ctx: Context, transfer: dict[str, Any], status: str) -> None:
        piece = self._piece(ctx, transfer["voucher"])
        for out in transfer["outputs"]:
            if ctx.has(f"inbox/{out['to']}/{transfer['id']}"):
                ctx.delete(f"inbox/{out['to']}/{transfer['id']}")
        transfer["status"] = status
        ctx.put(f"xfer/{transfer['id']}", transfer)
        piece["status"], piece["pending"] = ("overdue" if ctx.time_ms >= piece["due_ms"] else "active"), None
        self._save_piece(ctx, piece)
        ctx.emit("TransferClosed", id=transfer["id"], status=status)

    def _complete_transfer(self, ctx: Context, transfer: dict[str, Any], piece: dict[str, Any]) -> None:
        accepted = [o for o in transfer["outputs"] if o["decision"] == "accepted"]
        transfer["status"] = "completed"
        if not accepted:
            piece["status"], piece["pending"] = "active", None
            self._save_piece(ctx, piece)
            ctx.emit("TransferClosed", id=transfer["id"], status="completed")
            return
        children = [self._new_piece(ctx, piece, o["to"], o["amount"]) for o in accepted]
        remainder = piece["amount"] - sum(o["amount"] for o in accepted)
        if remainder:
            children.append(self._new_piece(ctx, piece, piece["holder"], remainder))
        piece["status"], piece["pending"] = "split", None
        piece["children"] = [c["id"] for c in children]
        self._save_piece(ctx, piece)
        ctx.emit("VoucherSplit", parent=piece["id"], root=piece["root"],
                 children=[{"id": c["id"], "holder": c["holder"], "amount": c["amount"]} for c in children])

    # -- financing ------------------------------------------------------------------------

    @method
    def apply_financing(self, ctx: Context, voucher_id: str, funder: str, kind: str) -> dict[str, Any]:
        """The holder asks a funder to factor (buy) or take a pledge on a whole piece."""
        piece = self._holder_piece(ctx, voucher_id)
        require(kind in FINANCING_KINDS, refuse("BAD_ARGS", f"kind: expected one of {FINANCING_KINDS}, got {kind!r}"))
        require("funder" in self._party(ctx, funder)["roles"], refuse("WRONG_ROLE", f"{funder} is not a funder"))
        require(funder != piece["holder"], refuse("BAD_ARGS", "a funder cannot finance its own piece"))
        financing_id = ctx.derive_id("financing", voucher_id, funder)
        financing = {"id": financing_id, "voucher": voucher_id, "root": piece["root"], "core": piece["issuer"],
                     "applicant": piece["holder"], "funder": funder, "kind": kind, "face": piece["amount"],
                     "status": "applied", "rate_bp": None, "fees": None, "advance": None,
                     "applied_ms": ctx.time_ms}
        ctx.put(f"fin/{financing_id}", financing)
        ctx.put(f"fin_by/{funder}/{financing_id}", 1)
        ctx.put(f"fin_root/{piece['root']}/{financing_id}", 1)
        piece["status"], piece["pending"] = "financing", financing_id
        self._save_piece(ctx, piece)
        ctx.emit("FinancingApplied", id=financing_id, voucher=voucher_id, funder=funder, kind=kind,
                 face=piece["amount"])
        return financing

    @method
    def approve_financing(self, ctx: Context, financing_id: str, rate_bp: int, fees: int) -> dict[str, Any]:
        """The funder prices the financing: annual discount rate in basis points, fees in fen.
        The face amount is reserved against every underlying document of the voucher."""
        financing = self._funder_financing(ctx, financing_id, "applied")
        piece = self._piece(ctx, financing["voucher"])
        require(ctx.time_ms < piece["due_ms"], refuse("PAST_DUE", "the voucher reached its due date"))
        require(type(rate_bp) is int and 0 <= rate_bp <= MAX_RATE_BP,
                refuse("BAD_RATE", f"rate_bp: expected 0..{MAX_RATE_BP} basis points a year"))
        require(type(fees) is int and 0 <= fees < financing["face"], refuse("BAD_AMOUNT", "fees: 0 up to the face amount"))
        days = -(-(piece["due_ms"] - ctx.time_ms) // DAY_MS)
        interest = financing["face"] * rate_bp * days // (10_000 * 360)
        advance = financing["face"] - interest - fees
        require(advance >= 1, refuse("BAD_RATE", "the discount and fees leave nothing to advance"))
        root = self._piece(ctx, financing["root"])
        for doc_id in root["documents"]:
            doc = ctx.get(f"doc/{doc_id}")
            require(doc["financed"] + financing["face"] <= doc["amount"],
                    refuse("DOUBLE_FINANCING", f"{doc_id} has {doc['amount'] - doc['financed']} fen left to finance, "
                                               f"this financing needs {financing['face']}"))
        for doc_id in root["documents"]:
            doc = ctx.get(f"doc/{doc_id}")
            doc["financed"] += financing["face"]
            ctx.put(f"doc/{doc_id}", doc)
        financing.update(status="approved", rate_bp=rate_bp, fees=fees, advance=advance, days=days,
                         approved_ms=ctx.time_ms)
        ctx.put(f"fin/{financing_id}", financing)
        ctx.emit("FinancingApproved", id=financing_id, rate_bp=rate_bp, fees=fees, advance=advance)
        return financing

    @method
    def decline_financing(self, ctx: Context, financing_id: str, reason: str = "") -> dict[str, Any]:
        """The funder declines an applied or approved (not yet disbursed) financing."""
        financing = self._funder_financing(ctx, financing_id, "applied", "approved")
        if financing["status"] == "approved":
            self._release_documents(ctx, financing)
        return self._end_financing(ctx, financing, "declined", reason)

    @method
    def withdraw_financing(self, ctx: Context, financing_id: str) -> dict[str, Any]:
        """The applicant withdraws a financing the funder has not approved yet."""
        financing = ctx.get(f"fin/{financing_id}")
        require(financing is not None, refuse("FINANCING_NOT_FOUND", f"no financing {financing_id!r}"))
        require(ctx.acting_party() == financing["applicant"],
                refuse("NOT_HOLDER", f"only {financing['applicant']} can withdraw it"))
        require(financing["status"] == "applied", refuse("FINANCING_CLOSED", f"financing is {financing['status']}"))
        return self._end_financing(ctx, financing, "withdrawn", "")

    @method
    def disburse(self, ctx: Context, financing_id: str) -> dict[str, Any]:
        """The funder pays the advance: factoring moves the piece to the funder, a pledge puts a lien on it."""
        financing = self._funder_financing(ctx, financing_id, "approved")
        piece = self._piece(ctx, financing["voucher"])
        require(ctx.time_ms < piece["due_ms"], refuse("PAST_DUE", "the voucher reached its due date"))
        if financing["kind"] == "factoring":
            self._move_holder(ctx, piece, financing["funder"])
            piece["status"] = "active"
        else:
            piece["status"], piece["lien"] = "pledged", financing["funder"]
        piece["pending"] = None
        self._save_piece(ctx, piece)
        financing.update(status="disbursed", disbursed_ms=ctx.time_ms)
        ctx.put(f"fin/{financing_id}", financing)
        self._bump_exposure(ctx, financing["core"], financed=financing["face"])
        ctx.emit("FinancingDisbursed", id=financing_id, funder=financing["funder"], kind=financing["kind"],
                 advance=financing["advance"], voucher=piece["id"])
        return financing

    @method
    def release_pledge(self, ctx: Context, financing_id: str) -> dict[str, Any]:
        """The funder lifts its lien once the loan is repaid; the piece is free again."""
        financing = self._funder_financing(ctx, financing_id, "disbursed")
        require(financing["kind"] == "pledge", refuse("NOT_PLEDGE", "only a pledge can be released"))
        piece = self._piece(ctx, financing["voucher"])
        require(piece["status"] == "pledged", refuse("VOUCHER_NOT_LIVE", f"the piece is {piece['status']}"))
        piece["status"], piece["lien"] = ("overdue" if ctx.time_ms >= piece["due_ms"] else "active"), None
        self._save_piece(ctx, piece)
        self._release_documents(ctx, financing)
        self._bump_exposure(ctx, financing["core"], financed=-financing["face"])
        financing.update(status="released", released_ms=ctx.time_ms)
        ctx.put(f"fin/{financing_id}", financing)
        ctx.emit("PledgeReleased", id=financing_id, voucher=piece["id"])
        return financing

    def _funder_financing(self, ctx: Context, financing_id: str, *statuses: str) -> dict[str, Any]:
        financing = ctx.get(f"fin/{financing_id}")
        require(financing is not None, refuse("FINANCING_NOT_FOUND", f"no financing {financing_id!r}"))
        org = ctx.acting_party()
        require(org == financing["funder"], refuse("NOT_FUNDER", f"financing {financing_id} belongs to {financing['funder']}"))
        require(financing["status"] in statuses,
                refuse("FINANCING_CLOSED", f"financing is {financing['status']}, expected {' or '.join(statuses)}"))
        return financing  # type: ignore[no-any-return]

    def _release_documents(self, ctx: Context, financing: dict[str, Any]) -> None:
        for doc_id in self._piece(ctx, financing["root"])["documents"]:
            doc = ctx.get(f"doc/{doc_id}")
            doc["financed"] -= financing["face"]
            ctx.put(f"doc/{doc_id}", doc)

    def _end_financing(self, ctx: Context, financing: dict[str, Any], status: str, reason: str) -> dict[str, Any]:
        piece = self._piece(ctx, financing["voucher"])
        piece["status"], piece["pending"] = ("overdue" if ctx.time_ms >= piece["due_ms"] else "active"), None
        self._save_piece(ctx, piece)
        financing.update(status=status, reason=reason[:500], closed_ms=ctx.time_ms)
        ctx.put(f"fin/{financing['id']}", financing)
        ctx.emit("FinancingClosed", id=financing["id"], status=status)
        return financing

    # -- maturity -------------------------------------------------------------------------

    @method
    def settle(self, ctx: Context, voucher_id: str) -> dict[str, Any]:
        """On or after the due date the core enterprise pays every live piece of the voucher:
        its holder, or the funder holding a lien on it. Pending requests are closed first."""
        core = ctx.acting_party()
        root = self._piece(ctx, voucher_id)
        require(root["id"] == root["root"], refuse("NOT_ROOT", f"settle the whole voucher {root['root']}"))
        require(root["issuer"] == core, refuse("NOT_ISSUER", f"{voucher_id} was issued by {root['issuer']}"))
        require(ctx.time_ms >= root["due_ms"], refuse("NOT_DUE", f"{voucher_id} is not due yet"))
        require(root["status"] not in ("rejected", "offered"),
                refuse("VOUCHER_NOT_LIVE", f"{voucher_id} is {root['status']}"))
        require(not ctx.has(f"settled/{voucher_id}"), refuse("ALREADY_SETTLED", f"{voucher_id} is already settled"))
        payments = []
        for piece in self._tree(ctx, voucher_id):
            if piece["status"] not in LIVE:
                continue
            if piece["pending"]:
                self._abandon_pending(ctx, piece)
                piece = self._piece(ctx, piece["id"])
            payee = piece["lien"] or piece["holder"]
            payments.append({"piece": piece["id"], "holder": piece["holder"], "payee": payee, "amount": piece["amount"]})
            piece["status"] = "settled"
            self._save_piece(ctx, piece)
        financed = 0
        for financing in self._financings_of(ctx, voucher_id):
            if financing["status"] == "disbursed":  # paid off by this settlement
                financed += financing["face"]
                financing.update(status="repaid" if financing["kind"] == "pledge" else "collected", closed_ms=ctx.time_ms)
                ctx.put(f"fin/{financing['id']}", financing)
        total = sum(p["amount"] for p in payments)
        line = ctx.get(f"line/{root['credit_line']}")
        line["used"] -= root["face"]
        ctx.put(f"line/{root['credit_line']}", line)
        self._bump_exposure(ctx, core, outstanding=-root["face"], settled=total, financed=-financed)
        record = {"voucher": voucher_id, "core": core, "paid_ms": ctx.time_ms, "total": total, "payments": payments}
        ctx.put(f"settled/{voucher_id}", record)
        ctx.emit("VoucherSettled", id=voucher_id, core=core, total=total, payments=len(payments))
        return record

    @method
    def mark_overdue(self, ctx: Context, voucher_id: str) -> dict[str, Any]:
        """Anyone may mark a voucher past its due date and still unpaid as overdue."""
        ctx.require_caller()
        root = self._piece(ctx, voucher_id)
        require(root["id"] == root["root"], refuse("NOT_ROOT", f"mark the whole voucher {root['root']}"))
        require(ctx.time_ms >= root["due_ms"], refuse("NOT_DUE", f"{voucher_id} is not due yet"))
        require(not ctx.has(f"settled/{voucher_id}"), refuse("ALREADY_SETTLED", f"{voucher_id} is settled"))
        require(root["status"] not in ("rejected", "offered"), refuse("VOUCHER_NOT_LIVE", f"{voucher_id} is {root['status']}"))
        marked = 0
        for piece in self._tree(ctx, voucher_id):
            if piece["status"] in ("active", "transferring", "financing"):
                if piece["pending"]:
                    self._abandon_pending(ctx, piece)
                    piece = self._piece(ctx, piece["id"])
                piece["status"] = "overdue"
                self._save_piece(ctx, piece)
                marked += 1
        require(marked, refuse("ALREADY_OVERDUE", f"{voucher_id} has no piece left to mark"))
        ctx.put(f"overdue/{root['issuer']}/{voucher_id}", ctx.time_ms)
        ctx.emit("VoucherOverdue", id=voucher_id, core=root["issuer"], pieces=marked)
        return {"voucher": voucher_id, "pieces_marked": marked}

    def _abandon_pending(self, ctx: Context, piece: dict[str, Any]) -> None:
        pending = piece["pending"]
        if piece["status"] == "transferring":
            self._close_transfer(ctx, ctx.get(f"xfer/{pending}"), "expired")
        elif piece["status"] == "financing":
            financing = ctx.get(f"fin/{pending}")
            if financing["status"] == "approved":
                self._release_documents(ctx, financing)
            self._end_financing(ctx, financing, "expired", "the voucher reached its due date")

    def _financings_of(self, ctx: Context, root_id: str) -> list[dict[str, Any]]:
        return [ctx.get(f"fin/{key.rsplit('/', 1)[1]}") for key, _ in ctx.range(f"fin_root/{root_id}/", limit=1_000_000)]

    def _tree(self, ctx: Context, root_id: str) -> list[dict[str, Any]]:
        ids = [key.rsplit("/", 1)[1] for key, _ in ctx.range(f"tree/{root_id}/", limit=1_000_000)]
        return [ctx.get(f"v/{piece_id}") for piece_id in ids]

    # -- queries (signed: who asks decides what they may see) -----------------------------

    def _viewer(self, ctx: Context) -> tuple[str, list[str]]:
        org = ctx.acting_party()
        party = ctx.get(f"party/{org}")
        return org, (self._bound(ctx, party)["roles"] if party else [])

    def _require_sight(self, ctx: Context, allowed: set[str], what: str) -> str:
        org, roles = self._viewer(ctx)
        if org not in allowed and "regulator" not in roles:
            raise Forbidden(f"{org} may not see {what}", code="NOT_VISIBLE")
        return org

    @query
    def party(self, ctx: Context, org: str) -> dict[str, Any]:
        """A registered party (public to members: who is who)."""
        found = ctx.get(f"party/{org}")
        if found is None:
            raise NotFound(f"{org} is not a registered party", code="NOT_A_PARTY")
        return found  # type: ignore[no-any-return]

    @query
    def parties(self, ctx: Context) -> list[dict[str, Any]]:
        return [p for _, p in ctx.range("party/", limit=10_000)]

    @query
    def voucher(self, ctx: Context, voucher_id: str) -> dict[str, Any]:
        """One piece (a unique prefix of its id will do), for its holder, issuer, a funder of its
        tree, or a regulator."""
        voucher_id = ctx.resolve_id("v/", voucher_id, "voucher", "VOUCHER_NOT_FOUND")
        piece = ctx.get(f"v/{voucher_id}")
        self._require_sight(ctx, self._tree_parties(ctx, piece["root"]), f"voucher {voucher_id}")
        return piece  # type: ignore[no-any-return]

    def _tree_parties(self, ctx: Context, root_id: str) -> set[str]:
        pieces = self._tree(ctx, root_id)
        parties = {p["holder"] for p in pieces} | {p["issuer"] for p in pieces}
        parties |= {f["funder"] for f in self._financings_of(ctx, root_id)}
        return parties

    @query
    def holdings(self, ctx: Context, org: str) -> dict[str, Any]:
        """Live pieces held by ``org`` and their total (for ``org`` itself or a regulator)."""
        self._require_sight(ctx, {org}, f"the holdings of {org}")
        pieces = [ctx.get(f"v/{key.rsplit('/', 1)[1]}") for key, _ in ctx.range(f"hold/{org}/", limit=100_000)]
        pieces = [p for p in pieces if p["holder"] == org]  # not the pieces of members hosted by ``org``
        return {"org": org, "total": sum(p["amount"] for p in pieces), "pieces": pieces}

    @query
    def lineage(self, ctx: Context, voucher_id: str) -> dict[str, Any]:
        """The whole tree of a voucher, from the root down the supplier tiers."""
        voucher_id = ctx.resolve_id("v/", voucher_id, "voucher", "VOUCHER_NOT_FOUND")
        piece = ctx.get(f"v/{voucher_id}")
        pieces = {p["id"]: p for p in self._tree(ctx, piece["root"])}
        financings = self._financings_of(ctx, piece["root"])
        allowed = {p["holder"] for p in pieces.values()} | {p["issuer"] for p in pieces.values()}
        self._require_sight(ctx, allowed | {f["funder"] for f in financings}, f"the lineage of {voucher_id}")

        # Flat, depth-first, each piece with its parent and depth: a holder who splits again and
        # again makes a deep tree, deeper than any nested document could carry.
        keep = ("id", "parent", "holder", "amount", "status", "tier", "lien", "pending", "created_ms", "children")
        flat: list[dict[str, Any]] = []
        stack = [(piece["root"], 0)]
        while stack:
            piece_id, depth = stack.pop()
            p = pieces[piece_id]
            flat.append({**{k: p[k] for k in keep}, "depth": depth})
            stack.extend((child, depth + 1) for child in reversed(p["children"]))
        root = pieces[piece["root"]]
        live = sum(p["amount"] for p in pieces.values() if not p["children"] and p["status"] in LIVE)
        settled = sum(p["amount"] for p in pieces.values() if p["status"] == "settled")
        return {"root": root["id"], "issuer": root["issuer"], "face": root["face"], "due_ms": root["due_ms"],
                "documents": root["documents"], "credit_line": root["credit_line"], "live": live, "settled": settled,
                "pieces": flat, "financings": financings}

    @query
    def resolve(self, ctx: Context, kind: str, prefix: str) -> dict[str, Any]:
        """The full id of a voucher, financing, transfer or credit line from a unique prefix (what
        the CLI and console print short); it tells only that such an id exists."""
        collections = {"voucher": ("v/", "VOUCHER_NOT_FOUND"), "financing": ("fin/", "FINANCING_NOT_FOUND"),
                       "transfer": ("xfer/", "TRANSFER_NOT_FOUND"), "credit_line": ("line/", "CREDIT_LINE_NOT_FOUND")}
        if kind not in collections:
            raise BadInput(f"kind: expected one of {', '.join(collections)}, got {kind!r:.40}", code="BAD_ARGS")
        collection, code = collections[kind]
        return {"kind": kind, "id": ctx.resolve_id(collection, prefix, kind.replace("_", " "), code)}

    @query
    def financed_by(self, ctx: Context, funder: str) -> dict[str, Any]:
        """What a funder has financed, for the funder itself or a regulator."""
        self._require_sight(ctx, {funder}, f"the financing book of {funder}")
        rows = [ctx.get(f"fin/{key.rsplit('/', 1)[1]}") for key, _ in ctx.range(f"fin_by/{funder}/", limit=100_000)]
        outstanding = sum(f["face"] for f in rows if f["status"] == "disbursed")
        return {"funder": funder, "outstanding": outstanding, "financings": rows}

    @query
    def exposure(self, ctx: Context, core: str) -> dict[str, Any]:
        """A core enterprise's outstanding vouchers, financing against them and credit lines:
        visible to the core itself, to any funder (its credit decision) and to a regulator."""
        org, roles = self._viewer(ctx)
        if org != core and "funder" not in roles and "regulator" not in roles:
            raise Forbidden(f"{org} may not see the exposure of {core}", code="NOT_VISIBLE")
        lines = [ctx.get(f"line/{key.rsplit('/', 1)[1]}") for key, _ in ctx.range(f"lines_of/{core}/", limit=10_000)]
        overdue = [key.rsplit("/", 1)[1] for key, _ in ctx.range(f"overdue/{core}/", limit=100_000)]
        return {**self._exposure(ctx, core), "credit_lines": lines,
                "limit": sum(line["limit"] for line in lines), "used": sum(line["used"] for line in lines),
                "overdue_vouchers": [v for v in overdue if not ctx.has(f"settled/{v}")]}

    @query
    def inbox(self, ctx: Context) -> dict[str, Any]:
        """What awaits the caller's answer: offered vouchers and transfer outputs."""
        org, _ = self._viewer(ctx)
        transfers = [ctx.get(f"xfer/{key.rsplit('/', 1)[1]}") for key, _ in ctx.range(f"inbox/{org}/", limit=10_000)
                     if key.count("/") == org.count("/") + 2]  # not the inbox of members hosted by ``org``
        offered = [p for p in (ctx.get(f"v/{key.rsplit('/', 1)[1]}") for key, _ in ctx.range(f"hold/{org}/", limit=100_000))
                   if p["status"] == "offered" and p["holder"] == org]
        return {"org": org, "offered": offered, "transfers": transfers}

    @query
    def document(self, ctx: Context, document_id: str) -> dict[str, Any]:
        """An underlying document's record (digest, amount, how much is financed against it)."""
        doc = ctx.get(f"doc/{document_id}")
        if doc is None:
            raise NotFound(f"no document {document_id!r}", code="DOCUMENT_NOT_FOUND")
        org, roles = self._viewer(ctx)
        if org not in (doc["issuer"], doc["counterparty"]) and "funder" not in roles and "regulator" not in roles:
            raise Forbidden(f"{org} may not see document {document_id}", code="NOT_VISIBLE")
        return doc  # type: ignore[no-any-return]

    @query
    def overview(self, ctx: Context) -> dict[str, Any]:
        """Everything, summarised, for the regulator: exposure per core, credit lines, financing."""
        org, roles = self._viewer(ctx)
        if "regulator" not in roles:
            raise Forbidden(f"{org} is not a regulator", code="NOT_VISIBLE")
        cores = [c for _, c in ctx.range("core/", limit=10_000)]
        lines = [line for _, line in ctx.range("line/", limit=100_000)]
        financings = [f for _, f in ctx.range("fin/", limit=1_000_000)]
        by_status: dict[str, int] = {}
        for f in financings:
            by_status[f["status"]] = by_status.get(f["status"], 0) + 1
        return {"parties": len(ctx.range("party/", limit=10_000)), "exposure": cores, "credit_lines": lines,
                "financings_by_status": dict(sorted(by_status.items())),
                "financed_outstanding": sum(f["face"] for f in financings if f["status"] == "disbursed")}

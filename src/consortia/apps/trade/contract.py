"""The ``trade`` contract: customs declarations, financing quota across banks, documentary credits.

- Customs (the organisation of kind ``customs``, set at genesis or by vote) attests each export
  declaration (报关单): number, exporter and its USCC, lines with HS codes, quantities and
  values, currency, port and date. No one else can.
- A bank (kind ``funder``) financing an export receivable, or issuing a credit or guarantee on
  it, *draws* quota against the declaration. Draws are counted in the declaration's currency at
  the exchange rate stated on the draw (an exact decimal, rounded up), and the sum of every
  bank's open draws never exceeds the declared value (``QUOTA_EXCEEDED``, which the node turns
  into a regulator alert). A bank releases its draw when the financing is repaid.
- Documentary credits: the importer applies to its bank, the bank issues the credit, the
  beneficiary presents documents by digest, the chain checks them against the credit's terms
  and names each discrepancy, the bank accepts (only a clean presentation) or refuses, and pays.
  Each step is signed by the party whose step it is.

Amounts are integers in each currency's minor units. Parties are organisations or members that
an operator hosts (``ctx.acting_party()``).
"""

from __future__ import annotations

import re
from typing import Any

from consortia.apps.scf.codes import is_valid_uscc
from consortia.apps.trade.money import block_date, convert_up, is_currency, parse_date, parse_rate
from consortia.contracts.sdk import Context, Contract, method, query, refuse, require
from consortia.errors import Forbidden, NotFound

DECLARATION_RE = re.compile(r"[0-9]{18}")  # the customs declaration number printed on the form
HS_RE = re.compile(r"[0-9]{6,10}")  # harmonised system code: 6 digits, up to 10 nationally
MAX_LINES = 50  # items on one declaration form
MAX_AMOUNT = 10**15
DRAW_KINDS = ("export_financing", "letter_of_credit", "guarantee")
DOCUMENT_KINDS = ("bill_of_lading", "commercial_invoice", "packing_list", "customs_declaration",
                  "certificate_of_origin", "insurance_certificate")
DIGESTS = {"sha-256": 64, "sm3": 64}


def _text(value: object, most: int) -> bool:
    return type(value) is str and 0 < len(value) <= most


class TradeFinance(Contract):
    name = "trade"
    description = ("Customs declarations attested by customs, financing quota drawn against them by every bank, "
                   "documentary credits from issue to payment.")

    # -- shared reads ---------------------------------------------------------------------

    @staticmethod
    def _amount(value: object, what: str) -> int:
        require(type(value) is int and 1 <= value <= MAX_AMOUNT,
                refuse("BAD_AMOUNT", f"{what}: expected a whole number of minor units from 1 to {MAX_AMOUNT}, got {value!r}"))
        return value  # type: ignore[return-value]

    @staticmethod
    def _currency(value: object, what: str = "currency") -> str:
        require(is_currency(value), refuse("BAD_CURRENCY", f"{what}: expected an ISO 4217 code the chain knows, got {value!r}"))
        return value  # type: ignore[return-value]

    @staticmethod
    def _date(value: object, what: str) -> str:
        date = parse_date(value)
        require(date is not None, refuse("BAD_DATE", f"{what}: expected a calendar date YYYY-MM-DD, got {value!r}"))
        return date  # type: ignore[return-value]

    def _party_exists(self, ctx: Context, party: object, what: str) -> str:
        known = type(party) is str and (ctx.member_org(party) is not None or ctx.hosted_member(party) is not None)
        require(known, refuse("NOT_A_PARTY", f"{what}: {party!r} is neither a member organisation nor a hosted member"))
        return party  # type: ignore[return-value]

    def _declaration(self, ctx: Context, number: object) -> dict[str, Any]:
        found: Any = ctx.get(f"decl/{number}") if type(number) is str and DECLARATION_RE.fullmatch(number) else None
        require(found is not None, refuse("DECLARATION_NOT_FOUND", f"no customs declaration {number!r}"))
        return found  # type: ignore[no-any-return]

    @staticmethod
    def _seat(ctx: Context, kind: str, code: str) -> str:
        """The caller's organisation when it acts for it (not a member hosted there) and has ``kind``."""
        me = ctx.acting_party()
        require(ctx.org_kind(me) == kind, refuse(code, f"{me} is not a {kind} organisation of this consortium "
                                                       "(kinds are set at genesis or by a governance vote)"))
        return me

    def _bank(self, ctx: Context) -> str:
        return self._seat(ctx, "funder", "NOT_BANK")

    # -- customs declarations -------------------------------------------------------------

    @method
    def declare(self, ctx: Context, number: str, exporter: str, exporter_uscc: str, lines: list[dict[str, Any]],
                currency: str, port: str, date: str, digest: str = "", algorithm: str = "") -> dict[str, Any]:
        """Customs attests an export declaration; its value is the sum of its lines."""
        customs = self._seat(ctx, "customs", "NOT_CUSTOMS")
        require(DECLARATION_RE.fullmatch(number), refuse("BAD_DECLARATION", "number: the 18-digit declaration number"))
        require(not ctx.has(f"decl/{number}"), refuse("DECLARATION_EXISTS", f"declaration {number} is already attested"))
        self._party_exists(ctx, exporter, "exporter")
        require(is_valid_uscc(exporter_uscc), refuse("BAD_USCC", f"{exporter_uscc!r} is not a valid unified social credit code"))
        hosted = ctx.hosted_member(exporter)
        require(hosted is None or hosted["uscc"] == exporter_uscc,
                refuse("BAD_USCC", f"{exporter} was onboarded with USCC {hosted['uscc'] if hosted else ''}"))
        self._currency(currency)
        require(0 < len(lines) <= MAX_LINES, refuse("BAD_DECLARATION", f"lines: 1 to {MAX_LINES} items"))
        clean = [self._line(i, line) for i, line in enumerate(lines)]
        value = sum(line["value"] for line in clean)
        self._amount(value, "declared value")
        require(_text(port, 64), refuse("BAD_DECLARATION", "port: 1 to 64 characters"))
        self._date(date, "date")
        require(date <= block_date(ctx.time_ms), refuse("BAD_DATE", f"date: {date} is after today ({block_date(ctx.time_ms)})"))
        require((digest, algorithm) == ("", "") or (algorithm in DIGESTS and len(digest) == DIGESTS[algorithm]
                                                     and set(digest) <= set("0123456789abcdef")),
                refuse("BAD_DIGEST", f"digest/algorithm: both empty, or lowercase hex under one of {sorted(DIGESTS)}"))
        record = {"number": number, "customs": customs, "exporter": exporter, "exporter_uscc": exporter_uscc,
                  "lines": clean, "currency": currency, "value": value, "port": port, "date": date,
                  "digest": digest, "algorithm": algorithm, "drawn": 0, "status": "attested",
                  "attested_ms": ctx.time_ms}
        ctx.put(f"decl/{number}", record)
        ctx.put(f"decl_of/{exporter}/{number}", 1)
        ctx.emit("DeclarationAttested", number=number, exporter=exporter, currency=currency, value=value)
        return record

    @staticmethod
    def _line(i: int, line: Any) -> dict[str, Any]:
        where = f"lines[{i}]"
        require(type(line) is dict and set(line) == {"hs_code", "description", "quantity", "unit", "value"},
                refuse("BAD_DECLARATION", f"{where}: expected hs_code, description, quantity, unit, value"))
        require(type(line["hs_code"]) is str and HS_RE.fullmatch(line["hs_code"]),
                refuse("BAD_HS_CODE", f"{where}.hs_code: 6 to 10 digits, got {line['hs_code']!r}"))
        require(_text(line["description"], 200), refuse("BAD_DECLARATION", f"{where}.description: 1 to 200 characters"))
        require(type(line["quantity"]) is int and 1 <= line["quantity"] <= MAX_AMOUNT,
                refuse("BAD_DECLARATION", f"{where}.quantity: a positive whole number"))
        require(_text(line["unit"], 16), refuse("BAD_DECLARATION", f"{where}.unit: 1 to 16 characters"))
        TradeFinance._amount(line["value"], f"{where}.value")
        return dict(line)

    @method
    def cancel_declaration(self, ctx: Context, number: str, reason: str) -> dict[str, Any]:
        """Customs withdraws a declaration nothing is drawn against any more."""
        customs = self._seat(ctx, "customs", "NOT_CUSTOMS")
        record = self._declaration(ctx, number)
        require(record["customs"] == customs, refuse("NOT_CUSTOMS", f"{number} was attested by {record['customs']}"))
        require(record["status"] == "attested", refuse("DECLARATION_CANCELLED", f"{number} is already cancelled"))
        require(record["drawn"] == 0, refuse("DECLARATION_IN_USE", f"{record['drawn']} is still drawn against {number}"))
        require(_text(reason, 500), refuse("BAD_ARGS", "reason: 1 to 500 characters"))
        record.update(status="cancelled", reason=reason, cancelled_ms=ctx.time_ms)
        ctx.put(f"decl/{number}", record)
        ctx.emit("DeclarationCancelled", number=number)
        return record

    # -- financing quota ------------------------------------------------------------------

    @method
    def draw(self, ctx: Context, declaration: str, amount: int, currency: str, fx_rate: str, kind: str,
             reference: str = "") -> dict[str, Any]:
        """A bank draws quota against a declaration for a financing, credit or guarantee of
        ``amount`` (minor units of ``currency``); ``fx_rate`` is units of ``currency`` per unit of
        the declaration's currency ("1" for the same currency)."""
        bank = self._bank(ctx)
        record = self._declaration(ctx, declaration)
        require(record["status"] == "attested", refuse("DECLARATION_CANCELLED", f"{declaration} is cancelled"))
        require(kind in DRAW_KINDS, refuse("BAD_ARGS", f"kind: expected one of {DRAW_KINDS}, got {kind!r}"))
        self._amount(amount, "amount")
        self._currency(currency)
        rate = parse_rate(fx_rate)
        require(rate is not None, refuse("BAD_RATE", f"fx_rate: a positive decimal like \"7.1025\", got {fx_rate!r}"))
        require(currency != record["currency"] or rate == (10 ** rate[1], rate[1]),  # type: ignore[index]
                refuse("BAD_RATE", "fx_rate: 1 when the draw is in the declaration's currency"))
        require(len(reference) <= 64, refuse("BAD_ARGS", "reference: at most 64 characters"))
        counted = convert_up(amount, currency, record["currency"], rate)  # type: ignore[arg-type]
        left = record["value"] - record["drawn"]
        require(counted <= left, refuse("QUOTA_EXCEEDED", f"{declaration} has {left} {record['currency']} minor units "
                                                          f"of quota left; this draw counts {counted}"))
        draw_id = ctx.derive_id("draw", declaration, bank)
        row = {"id": draw_id, "declaration": declaration, "bank": bank, "kind": kind, "amount": amount,
               "currency": currency, "fx_rate": fx_rate, "counted": counted, "reference": reference,
               "status": "open", "drawn_ms": ctx.time_ms}
        record["drawn"] += counted
        ctx.put(f"decl/{declaration}", record)
        ctx.put(f"draw/{draw_id}", row)
        ctx.put(f"draws_of/{declaration}/{draw_id}", 1)
        ctx.put(f"draws_by/{bank}/{draw_id}", 1)
        ctx.emit("QuotaDrawn", id=draw_id, declaration=declaration, bank=bank, counted=counted,
                 drawn=record["drawn"], value=record["value"])
        return row

    @method
    def release(self, ctx: Context, draw_id: str) -> dict[str, Any]:
        """The bank that drew gives the quota back (the financing is repaid or the credit closed)."""
        bank = self._bank(ctx)
        row: Any = ctx.get(f"draw/{draw_id}") if type(draw_id) is str and 0 < len(draw_id) <= 64 else None
        require(row is not None, refuse("DRAW_NOT_FOUND", f"no draw {draw_id!r}"))
        require(row["bank"] == bank, refuse("NOT_DRAWER", f"draw {draw_id} belongs to {row['bank']}"))
        require(row["status"] == "open", refuse("DRAW_CLOSED", f"draw {draw_id} is {row['status']}"))
        record = self._declaration(ctx, row["declaration"])
        record["drawn"] -= row["counted"]
        ctx.put(f"decl/{row['declaration']}", record)
        row.update(status="released", released_ms=ctx.time_ms)
        ctx.put(f"draw/{draw_id}", row)
        ctx.emit("QuotaReleased", id=draw_id, declaration=row["declaration"], bank=bank, drawn=record["drawn"])
        return row  # type: ignore[no-any-return]

    # -- documentary credits --------------------------------------------------------------

    @method
    def apply_credit(self, ctx: Context, bank: str, beneficiary: str, amount: int, currency: str,
                     latest_shipment: str, expiry: str, documents: list[str], goods: str) -> dict[str, Any]:
        """The importer asks its bank to issue a documentary credit in favour of ``beneficiary``."""
        applicant = ctx.acting_party()
        require(ctx.org_kind(bank) == "funder", refuse("NOT_BANK", f"{bank!r} is not a bank of this consortium"))
        self._party_exists(ctx, beneficiary, "beneficiary")
        require(beneficiary != applicant, refuse("BAD_ARGS", "the beneficiary is another party than the applicant"))
        self._amount(amount, "amount")
        self._currency(currency)
        self._date(latest_shipment, "latest_shipment")
        self._date(expiry, "expiry")
        today = block_date(ctx.time_ms)
        require(today <= latest_shipment <= expiry, refuse("BAD_DATE", f"expected today ({today}) <= latest shipment <= expiry"))
        require(0 < len(documents) <= len(DOCUMENT_KINDS) and len(set(documents)) == len(documents)
                and all(d in DOCUMENT_KINDS for d in documents),
                refuse("BAD_DOCUMENT", f"documents: distinct kinds among {DOCUMENT_KINDS}"))
        require(_text(goods, 500), refuse("BAD_ARGS", "goods: 1 to 500 characters"))
        credit_id = ctx.derive_id("credit", applicant, bank)
        credit = {"id": credit_id, "applicant": applicant, "bank": bank, "beneficiary": beneficiary, "amount": amount,
                  "currency": currency, "latest_shipment": latest_shipment, "expiry": expiry,
                  "documents": sorted(documents), "goods": goods, "status": "applied", "paid": 0,
                  "presentation": None, "applied_ms": ctx.time_ms}
        self._save_credit(ctx, credit)
        ctx.emit("CreditApplied", id=credit_id, applicant=applicant, bank=bank, beneficiary=beneficiary)
        return credit

    def _save_credit(self, ctx: Context, credit: dict[str, Any]) -> None:
        ctx.put(f"lc/{credit['id']}", credit)
        for party in ("applicant", "bank", "beneficiary"):
            ctx.put(f"lc_of/{credit[party]}/{credit['id']}", 1)

    def _credit(self, ctx: Context, credit_id: object) -> dict[str, Any]:
        found: Any = ctx.get(f"lc/{credit_id}") if type(credit_id) is str and 0 < len(credit_id) <= 64 else None
        require(found is not None, refuse("CREDIT_NOT_FOUND", f"no documentary credit {credit_id!r}"))
        return found  # type: ignore[no-any-return]

    def _bank_of(self, ctx: Context, credit: dict[str, Any]) -> None:
        me = ctx.acting_party()
        require(me == credit["bank"], refuse("NOT_ISSUING_BANK", f"credit {credit['id']} is with {credit['bank']}, not {me}"))

    @method
    def issue_credit(self, ctx: Context, credit_id: str) -> dict[str, Any]:
        """The importer's bank issues the credit applied for (its undertaking to pay against
        complying documents)."""
        credit = self._credit(ctx, credit_id)
        self._bank_of(ctx, credit)
        require(credit["status"] == "applied", refuse("CREDIT_CLOSED", f"credit {credit_id} is {credit['status']}"))
        require(block_date(ctx.time_ms) <= credit["latest_shipment"], refuse("CREDIT_EXPIRED", "the shipment date has passed"))
        credit.update(status="issued", issued_ms=ctx.time_ms)
        self._save_credit(ctx, credit)
        ctx.emit("CreditIssued", id=credit_id, bank=credit["bank"], amount=credit["amount"], currency=credit["currency"])
        return credit

    @method
    def present(self, ctx: Context, credit_id: str, amount: int, shipment_date: str, documents: list[dict[str, Any]],
                declaration: str = "") -> dict[str, Any]:
        """The beneficiary presents documents (kind, digest, algorithm) and claims ``amount``; the
        chain checks them against the credit and records every discrepancy by name."""
        credit = self._credit(ctx, credit_id)
        me = ctx.acting_party()
        require(me == credit["beneficiary"],
                refuse("NOT_BENEFICIARY", f"credit {credit_id} is in favour of {credit['beneficiary']}"))
        require(credit["status"] == "issued", refuse("CREDIT_CLOSED", f"credit {credit_id} is {credit['status']}"))
        require(credit["presentation"] is None, refuse("PRESENTATION_PENDING", "a presentation is being examined"))
        self._amount(amount, "amount")
        self._date(shipment_date, "shipment_date")
        require(0 < len(documents) <= len(DOCUMENT_KINDS), refuse("BAD_DOCUMENT", "documents: at least one"))
        kinds = []
        for i, doc in enumerate(documents):
            require(type(doc) is dict and set(doc) == {"kind", "digest", "algorithm"}
                    and doc["kind"] in DOCUMENT_KINDS and doc["algorithm"] in DIGESTS
                    and type(doc["digest"]) is str and len(doc["digest"]) == DIGESTS[doc["algorithm"]]
                    and set(doc["digest"]) <= set("0123456789abcdef"),
                    refuse("BAD_DOCUMENT", f"documents[{i}]: {{kind, digest, algorithm}} with a kind among "
                                           f"{DOCUMENT_KINDS} and a lowercase hex digest"))
            kinds.append(doc["kind"])
        require(len(set(kinds)) == len(kinds), refuse("BAD_DOCUMENT", "documents: one of each kind"))
        discrepancies = self._discrepancies(ctx, credit, amount, shipment_date, set(kinds), declaration)
        presentation_id = ctx.derive_id("presentation", credit_id)
        presentation = {"id": presentation_id, "credit": credit_id, "amount": amount, "shipment_date": shipment_date,
                        "documents": documents, "declaration": declaration, "discrepancies": discrepancies,
                        "status": "presented", "presented_ms": ctx.time_ms}
        ctx.put(f"pres/{presentation_id}", presentation)
        credit["presentation"] = presentation_id
        self._save_credit(ctx, credit)
        ctx.emit("DocumentsPresented", id=presentation_id, credit=credit_id, amount=amount,
                 discrepancies=[d["code"] for d in discrepancies])
        return presentation

    def _discrepancies(self, ctx: Context, credit: dict[str, Any], amount: int, shipment_date: str, kinds: set[str],
                       declaration: str) -> list[dict[str, str]]:
        found = []
        left = credit["amount"] - credit["paid"]
        if amount > left:
            found.append({"code": "AMOUNT_OVER_CREDIT", "detail": f"claims {amount}, the credit has {left} left"})
        if shipment_date > credit["latest_shipment"]:
            found.append({"code": "LATE_SHIPMENT", "detail": f"shipped {shipment_date}, latest {credit['latest_shipment']}"})
        today = block_date(ctx.time_ms)
        if today > credit["expiry"]:
            found.append({"code": "CREDIT_EXPIRED", "detail": f"presented {today}, the credit expired {credit['expiry']}"})
        for kind in credit["documents"]:
            if kind not in kinds:
                found.append({"code": "MISSING_DOCUMENT", "detail": kind})
        if "customs_declaration" in credit["documents"]:
            record: Any = ctx.get(f"decl/{declaration}") if DECLARATION_RE.fullmatch(declaration or "") else None
            if record is None or record["status"] != "attested":
                found.append({"code": "DECLARATION_NOT_ATTESTED", "detail": declaration or "no declaration number"})
            elif record["exporter"] != credit["beneficiary"]:
                found.append({"code": "DECLARATION_OTHER_EXPORTER", "detail": f"{declaration} names {record['exporter']}"})
            elif record["currency"] != credit["currency"] or record["value"] < amount:
                found.append({"code": "DECLARATION_BELOW_CLAIM",
                              "detail": f"{declaration} declares {record['value']} {record['currency']}"})
        return found

    def _pending(self, ctx: Context, presentation_id: object) -> tuple[dict[str, Any], dict[str, Any]]:
        ok = type(presentation_id) is str and 0 < len(presentation_id) <= 64
        found: Any = ctx.get(f"pres/{presentation_id}") if ok else None
        require(found is not None, refuse("PRESENTATION_NOT_FOUND", f"no presentation {presentation_id!r}"))
        credit = self._credit(ctx, found["credit"])
        self._bank_of(ctx, credit)
        return found, credit

    @method
    def accept_documents(self, ctx: Context, presentation_id: str) -> dict[str, Any]:
        """The issuing bank accepts a complying presentation (one without discrepancies)."""
        presentation, _ = self._pending(ctx, presentation_id)
        require(presentation["status"] == "presented",
                refuse("PRESENTATION_CLOSED", f"presentation {presentation_id} is {presentation['status']}"))
        require(not presentation["discrepancies"],
                refuse("DISCREPANT", "the presentation has discrepancies: "
                                     + ", ".join(d["code"] for d in presentation["discrepancies"])))
        presentation.update(status="accepted", accepted_ms=ctx.time_ms)
        ctx.put(f"pres/{presentation_id}", presentation)
        ctx.emit("DocumentsAccepted", id=presentation_id, credit=presentation["credit"])
        return presentation

    @method
    def refuse_documents(self, ctx: Context, presentation_id: str, reasons: list[str]) -> dict[str, Any]:
        """The issuing bank refuses a presentation, naming its reasons (the chain's discrepancies
        are kept beside them); the beneficiary may present again."""
        presentation, credit = self._pending(ctx, presentation_id)
        require(presentation["status"] == "presented",
                refuse("PRESENTATION_CLOSED", f"presentation {presentation_id} is {presentation['status']}"))
        require(all(_text(r, 300) for r in reasons) and len(reasons) <= 20
                and (reasons or presentation["discrepancies"]),
                refuse("BAD_ARGS", "reasons: up to 20 texts of 1 to 300 characters (needed for a clean presentation)"))
        presentation.update(status="refused", reasons=reasons, refused_ms=ctx.time_ms)
        ctx.put(f"pres/{presentation_id}", presentation)
        credit["presentation"] = None
        self._save_credit(ctx, credit)
        ctx.emit("DocumentsRefused", id=presentation_id, credit=credit["id"],
                 discrepancies=[d["code"] for d in presentation["discrepancies"]])
        return presentation

    @method
    def pay(self, ctx: Context, presentation_id: str) -> dict[str, Any]:
        """The issuing bank pays an accepted presentation; a credit paid in full is closed."""
        presentation, credit = self._pending(ctx, presentation_id)
        require(presentation["status"] == "accepted",
                refuse("NOT_ACCEPTED", f"presentation {presentation_id} is {presentation['status']}, not accepted"))
        presentation.update(status="paid", paid_ms=ctx.time_ms)
        ctx.put(f"pres/{presentation_id}", presentation)
        credit["paid"] += presentation["amount"]
        credit["presentation"] = None
        if credit["paid"] == credit["amount"]:
            credit["status"] = "paid"
        self._save_credit(ctx, credit)
        ctx.emit("CreditPaid", id=credit["id"], presentation=presentation_id, amount=presentation["amount"],
                 currency=credit["currency"], beneficiary=credit["beneficiary"])
        return {"credit": credit, "presentation": presentation}

    # -- queries --------------------------------------------------------------------------

    @staticmethod
    def _viewer(ctx: Context) -> tuple[str, str | None]:
        """Who asks, and the kind of its organisation when it asks for the organisation."""
        me = ctx.acting_party()
        return me, ctx.org_kind(me)

    @query
    def declaration(self, ctx: Context, number: str) -> dict[str, Any]:
        """A declaration and the quota left. Customs, the exporter and any bank see it (a bank
        decides on it); draws are listed whole for customs, the exporter and regulators, and a
        bank sees its own."""
        me, kind = self._viewer(ctx)
        found: Any = ctx.get(f"decl/{number}") if type(number) is str and DECLARATION_RE.fullmatch(number) else None
        if found is None:
            raise NotFound(f"no customs declaration {number!r}", code="DECLARATION_NOT_FOUND")
        whole = me == found["exporter"] or kind in ("regulator", "customs")
        if not whole and kind != "funder":
            raise Forbidden(f"{me} may not see declaration {number}", code="NOT_VISIBLE")
        draws = [ctx.get(f"draw/{k.rsplit('/', 1)[1]}") for k, _ in ctx.range(f"draws_of/{number}/", limit=10_000)]
        if not whole:
            draws = [d for d in draws if d["bank"] == me]
        return {**found, "left": found["value"] - found["drawn"], "draws": draws}

    @query
    def declarations_of(self, ctx: Context, exporter: str) -> list[dict[str, Any]]:
        """An exporter's declarations (for the exporter, banks, customs and regulators)."""
        me, kind = self._viewer(ctx)
        if me != exporter and kind not in ("funder", "regulator", "customs"):
            raise Forbidden(f"{me} may not list the declarations of {exporter}", code="NOT_VISIBLE")
        return [ctx.get(f"decl/{k.rsplit('/', 1)[1]}") for k, _ in ctx.range(f"decl_of/{exporter}/", limit=10_000)
                if k.count("/") == exporter.count("/") + 2]

    @query
    def book(self, ctx: Context, bank: str) -> dict[str, Any]:
        """A bank's draws (for the bank itself and regulators)."""
        me, kind = self._viewer(ctx)
        if me != bank and kind != "regulator":
            raise Forbidden(f"{me} may not see the book of {bank}", code="NOT_VISIBLE")
        draws = [ctx.get(f"draw/{k.rsplit('/', 1)[1]}") for k, _ in ctx.range(f"draws_by/{bank}/", limit=100_000)]
        return {"bank": bank, "draws": draws, "open": [d["id"] for d in draws if d["status"] == "open"]}

    @query
    def credit(self, ctx: Context, credit_id: str) -> dict[str, Any]:
        """A documentary credit and its presentations, for its parties and regulators."""
        me, kind = self._viewer(ctx)
        found: Any = ctx.get(f"lc/{credit_id}") if type(credit_id) is str and 0 < len(credit_id) <= 64 else None
        if found is None:
            raise NotFound(f"no documentary credit {credit_id!r}", code="CREDIT_NOT_FOUND")
        if me not in (found["applicant"], found["bank"], found["beneficiary"]) and kind != "regulator":
            raise Forbidden(f"{me} may not see credit {credit_id}", code="NOT_VISIBLE")
        return found  # type: ignore[no-any-return]

    @query
    def presentation(self, ctx: Context, presentation_id: str) -> dict[str, Any]:
        ok = type(presentation_id) is str and 0 < len(presentation_id) <= 64
        found: Any = ctx.get(f"pres/{presentation_id}") if ok else None
        if found is None:
            raise NotFound(f"no presentation {presentation_id!r}", code="PRESENTATION_NOT_FOUND")
        self.credit(ctx, found["credit"])  # same sight as the credit
        return found  # type: ignore[no-any-return]

    @query
    def credits_of(self, ctx: Context, party: str) -> list[dict[str, Any]]:
        """The credits ``party`` applied for, issued or benefits from (for itself and regulators)."""
        me, kind = self._viewer(ctx)
        if me != party and kind != "regulator":
            raise Forbidden(f"{me} may not list the credits of {party}", code="NOT_VISIBLE")
        return [ctx.get(f"lc/{k.rsplit('/', 1)[1]}") for k, _ in ctx.range(f"lc_of/{party}/", limit=10_000)
                if k.count("/") == party.count("/") + 2]

    @query
    def overview(self, ctx: Context) -> dict[str, Any]:
        """For the regulator (SAFE's seat): every declaration with what each bank drew against it."""
        me, kind = self._viewer(ctx)
        if kind != "regulator":
            raise Forbidden(f"{me} is not a regulator", code="NOT_VISIBLE")
        declarations = [d for _, d in ctx.range("decl/", limit=100_000)]
        draws = [d for _, d in ctx.range("draw/", limit=1_000_000)]
        by_bank: dict[str, int] = {}
        for d in draws:
            if d["status"] == "open":
                by_bank[d["bank"]] = by_bank.get(d["bank"], 0) + 1
        return {"declarations": [{**d, "left": d["value"] - d["drawn"]} for d in declarations], "draws": draws,
                "open_draws_by_bank": dict(sorted(by_bank.items())),
                "credits": [c for _, c in ctx.range("lc/", limit=100_000)]}

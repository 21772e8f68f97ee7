"""The ``waybill`` contract: electronic consignment notes (after CMR / eCMR) whose every step is
confirmed by the parties it involves, so that a carrier's delivered waybills can be financed.

A waybill names its consignor (who creates it), its consignee, the carriers in the order they
carry the goods, the place and time of taking over, the place of delivery, the goods (marks,
packages, packing, description, gross weight, volume, SSCC when GS1-labelled), documents by
digest, the charges and who pays them, and any cash on delivery.

States: ``created`` -> ``picked_up`` -> ``in_transit`` -> ``delivered`` -> ``closed`` or
``disputed``; a waybill nobody took over may be ``cancelled``. Custody passes only by a
*handover* signed twice, in two transactions (ADR 0017): the custodian proposes it
(``hand_over``), the next party confirms it with its own count of packages (``take_over``). The
consignor hands over to the first carrier (pickup), each carrier to the next one in the list
(hand-off), the last carrier to the consignee (delivery, with reservations if any). Invariants:

- exactly one custodian at any time, and only a handover changes it;
- the package count equals the declared count plus the recorded exceptions, so a count that
  differs at a handover needs an exception (shortage or surplus);
- nothing changes after delivery except closing, a dispute and its notes;
- a closed, undisputed waybill with charges carries a *receivable* (the first carrier's claim on
  the payer, with a digest of the waybill) that ``scf`` accepts once as a ``waybill`` document.

Who sees what: a waybill is visible to its parties, to the payer of its charges (the consignor,
the consignee or a third party), to regulators and to funders (a bank asked to finance it). The
steps of SSCC-labelled goods are public in the goods' journey (``journey_steps``): step, time,
place, carrier, temperature, and no commercial data.
"""

from __future__ import annotations

from typing import Any

from consortia.apps.waybill.fields import (
    EXCEPTION_KINDS,
    MAX_CARRIERS,
    MAX_DOCUMENTS,
    check_amount,
    check_charges,
    check_document,
    check_goods,
    check_number,
    check_place,
    check_reading,
    check_reservations,
    check_temperature,
    check_text,
    is_gs1_key,
)
from consortia.contracts.sdk import Context, Contract, method, query, refuse, require
from consortia.crypto import get_suite
from consortia.errors import BadInput, Forbidden, NotFound
from consortia.types import codec

DAY_MS = 24 * 3600 * 1000
SKEW_MS = 5 * 60 * 1000  # a step may be stamped up to five minutes past the block time
BACKDATE_MS = 30 * DAY_MS  # ... and recorded up to thirty days after it happened
DEFAULT_DISPUTE_WINDOW_MS = 7 * DAY_MS  # CMR art. 30: seven days for loss or damage not apparent
MAX_WINDOW_MS = 90 * DAY_MS
MAX_STEPS = 100_000
MAX_NOTES = 200
OPEN = ("created", "picked_up", "in_transit")
AFTER_DELIVERY = ("delivered", "closed", "disputed")
STATUSES = ("created", "picked_up", "in_transit", "delivered", "closed", "disputed", "cancelled")


def receivable_summary(wb: dict[str, Any]) -> dict[str, Any]:
    """What the receivable's digest covers: the waybill as delivered (not its later notes)."""
    keep = ("number", "consignor", "consignee", "carriers", "taking_over", "delivery_place", "goods",
            "packages_declared", "packages", "charges", "cash_on_delivery", "delivered_ms", "delivered_tx",
            "reservations")
    return {k: wb[k] for k in keep}


class Waybills(Contract):
    name = "waybill"
    description = ("Electronic consignment notes (CMR / eCMR): custody passed by two-signature handovers, location "
                   "checkpoints, delivery with reservations, disputes, and a financeable receivable once closed.")

    # -- reads shared by methods ----------------------------------------------------------

    def _waybill(self, ctx: Context, number: str) -> dict[str, Any]:
        require(type(number) is str and 0 < len(number) <= 35, refuse("BAD_NUMBER", "number: expected a waybill number"))
        wb = ctx.get(f"wb/{number}")
        require(wb is not None, refuse("WAYBILL_NOT_FOUND", f"no waybill {number!r}"))
        return wb  # type: ignore[no-any-return]

    def _open(self, ctx: Context, number: str) -> dict[str, Any]:
        """A waybill that can still change: not delivered, closed, disputed or cancelled."""
        wb = self._waybill(ctx, number)
        require(wb["status"] in OPEN, refuse("WAYBILL_SEALED" if wb["status"] in AFTER_DELIVERY else "WAYBILL_CANCELLED",
                                             f"waybill {number} is {wb['status']}; nothing about it can change now"))
        return wb

    def _parties(self, wb: dict[str, Any]) -> list[str]:
        return [wb["consignor"], *wb["carriers"], wb["consignee"]]

    def _party_caller(self, ctx: Context, wb: dict[str, Any]) -> str:
        org = ctx.require_caller().org
        require(org in self._parties(wb), refuse("NOT_A_PARTY", f"{org} is not a party to waybill {wb['number']}"))
        return org

    def _custodian_carrier(self, ctx: Context, wb: dict[str, Any]) -> str:
        org = ctx.require_caller().org
        require(org == wb["custodian"] and org in wb["carriers"],
                refuse("NOT_CUSTODIAN", f"{wb['number']} is in the custody of {wb['custodian']}, not {org}"))
        return org

    def _at(self, ctx: Context, wb: dict[str, Any], at_ms: int | None) -> int:
        """When a step happened: the block time unless given; never before the previous step."""
        at = ctx.time_ms if at_ms is None else at_ms
        require(type(at) is int and ctx.time_ms - BACKDATE_MS <= at <= ctx.time_ms + SKEW_MS,
                refuse("BAD_TIME", "at_ms: expected a time within thirty days before the block time"))
        require(at >= wb["last_ms"], refuse("STEP_OUT_OF_ORDER", f"at_ms: {at} is before the previous step ({wb['last_ms']})"))
        return at

    def _save(self, ctx: Context, wb: dict[str, Any]) -> None:
        """Every change to a waybill passes here, so a waybill frozen by vote refuses them all."""
        require(not ctx.is_frozen(wb["number"]),
                refuse("WAYBILL_FROZEN", f"waybill {wb['number']} is frozen by a governance vote"))
        ctx.put(f"wb/{wb['number']}", wb)

    def _count(self, ctx: Context, old: str | None, new: str) -> None:
        stats = ctx.get("stats", {s: 0 for s in STATUSES})
        if old is not None:
            stats[old] -= 1
        stats[new] += 1
        ctx.put("stats", stats)

    def _set_status(self, ctx: Context, wb: dict[str, Any], status: str) -> None:
        self._count(ctx, wb["status"], status)
        wb["status"] = status

    def _step(self, ctx: Context, wb: dict[str, Any], kind: str, at: int, place: dict[str, Any] | None,
              **extra: Any) -> dict[str, Any]:
        require(wb["steps"] < MAX_STEPS, refuse("TOO_MANY_STEPS", f"waybill {wb['number']} has {MAX_STEPS} steps"))
        step = {"seq": wb["steps"], "kind": kind, "at_ms": at, "place": place, "by": ctx.require_caller().org,
                "tx": ctx.tx_id.hex(), "height": ctx.height, "recorded_ms": ctx.time_ms, **extra}
        ctx.put(f"step/{wb['number']}/{wb['steps']:06d}", step)
        wb["steps"] += 1
        wb["last_ms"] = at
        return step

    def _release_ssccs(self, ctx: Context, wb: dict[str, Any]) -> None:
        for line in wb["goods"]:
            if line["sscc"] and ctx.get(f"sscc_open/{line['sscc']}") == wb["number"]:
                ctx.delete(f"sscc_open/{line['sscc']}")

    # -- create, cancel, documents --------------------------------------------------------

    @method
    def create(self, ctx: Context, number: str, consignee: str, carriers: list[str], taking_over: dict[str, Any],
               delivery_place: dict[str, Any], goods: list[dict[str, Any]], charges: list[dict[str, Any]] | None = None,
               charges_payer: str = "consignor", cash_on_delivery: int = 0,
               documents: list[dict[str, Any]] | None = None, temperature: dict[str, Any] | None = None,
               instructions: str = "", planned_pickup_ms: int | None = None,
               dispute_window_ms: int = DEFAULT_DISPUTE_WINDOW_MS) -> dict[str, Any]:
        """The consignor (the caller's organisation) issues a waybill; the goods stay in its custody
        until the first carrier takes them over."""
        consignor = ctx.require_caller().org
        check_number(number)
        require(not ctx.has(f"wb/{number}"), refuse("WAYBILL_EXISTS", f"waybill {number} already exists"))
        require(ctx.org_kind(consignee) is not None and consignee != consignor,
                refuse("BAD_PARTY", f"consignee: expected another member organisation, got {consignee!r:.64}"))
        require(0 < len(carriers) <= MAX_CARRIERS and len(set(carriers)) == len(carriers),
                refuse("BAD_CARRIERS", f"carriers: expected 1 to {MAX_CARRIERS} distinct organisations, in order"))
        for carrier in carriers:
            require(ctx.org_kind(carrier) is not None and carrier not in (consignor, consignee),
                    refuse("BAD_CARRIERS", f"carriers: {carrier!r:.64} is not a member organisation other than the "
                                           "consignor and the consignee"))
        lines = check_goods(goods)
        for line in lines:
            if line["sscc"]:
                other = ctx.get(f"sscc_open/{line['sscc']}")
                require(other is None, refuse("SSCC_IN_TRANSIT", f"SSCC {line['sscc']} travels on open waybill {other}"))
        docs = [check_document(d, f"documents[{i}]") for i, d in enumerate(documents or [])]
        require(len(docs) <= MAX_DOCUMENTS, refuse("BAD_DOCUMENT", f"documents: at most {MAX_DOCUMENTS}"))
        require(planned_pickup_ms is None or type(planned_pickup_ms) is int and planned_pickup_ms >= 0,
                refuse("BAD_TIME", "planned_pickup_ms: expected a time in milliseconds"))
        require(type(dispute_window_ms) is int and 0 <= dispute_window_ms <= MAX_WINDOW_MS,
                refuse("BAD_ARGS", f"dispute_window_ms: 0 to {MAX_WINDOW_MS}"))
        payment = check_charges(charges or [], charges_payer)
        payer = {"consignor": consignor, "consignee": consignee}.get(charges_payer, charges_payer)
        require(ctx.org_kind(payer) is not None and payer not in carriers,
                refuse("BAD_CHARGES", f"charges_payer: {charges_payer!r:.64} is neither the consignor, the consignee nor "
                                      "another member organisation that is not a carrier"))
        packages = sum(line["packages"] for line in lines)
        wb = {"number": number, "consignor": consignor, "consignee": consignee, "carriers": list(carriers),
              "status": "created", "custodian": consignor, "leg": -1,
              "taking_over": {"place": check_place(taking_over, "taking_over"), "planned_ms": planned_pickup_ms,
                              "at_ms": None},
              "delivery_place": check_place(delivery_place, "delivery_place"), "goods": lines,
              "packages_declared": packages, "packages": packages, "exceptions": [],
              "documents": [{**d, "by": consignor, "added_ms": ctx.time_ms} for d in docs],
              "charges": {**payment, "payer_org": payer},
              "cash_on_delivery": check_amount(cash_on_delivery, "cash_on_delivery", zero=True),
              "temperature": check_temperature(temperature), "excursions": 0,
              "instructions": check_text(instructions, "instructions", 1000, empty=True),
              "dispute_window_ms": dispute_window_ms, "pending": None, "steps": 0, "last_ms": 0,
              "created_ms": ctx.time_ms, "created_height": ctx.height, "created_tx": ctx.tx_id.hex(),
              "delivered_ms": None, "delivered_tx": None, "closed_ms": None, "reservations": [],
              "dispute": None, "receivable": None}
        self._count(ctx, None, "created")
        self._save(ctx, wb)
        for org in sorted({*self._parties(wb), payer}):
            ctx.put(f"of/{org}/{number}", 1)
        for line in lines:
            if line["sscc"]:
                ctx.put(f"sscc/{line['sscc']}/{number}", 1)
                ctx.put(f"sscc_open/{line['sscc']}", number)
        ctx.emit("WaybillCreated", number=number, consignor=consignor, consignee=consignee, carriers=list(carriers),
                 packages=packages)
        return wb

    @method
    def cancel(self, ctx: Context, number: str, reason: str = "") -> dict[str, Any]:
        """The consignor withdraws a waybill before any carrier took the goods over."""
        wb = self._open(ctx, number)
        require(ctx.require_caller().org == wb["consignor"], refuse("NOT_CONSIGNOR", f"only {wb['consignor']} may cancel it"))
        require(wb["status"] == "created", refuse("ALREADY_PICKED_UP", f"waybill {number} is {wb['status']}"))
        wb["pending"] = None
        self._set_status(ctx, wb, "cancelled")
        wb["cancel_reason"] = check_text(reason, "reason", 500, empty=True)
        self._save(ctx, wb)
        self._release_ssccs(ctx, wb)
        ctx.emit("WaybillCancelled", number=number)
        return wb

    @method
    def attach_document(self, ctx: Context, number: str, kind: str, digest: str, algorithm: str) -> dict[str, Any]:
        """A party attaches a document (invoice, certificate, temperature log...) by its digest, before delivery."""
        wb = self._open(ctx, number)
        org = self._party_caller(ctx, wb)
        doc = check_document({"kind": kind, "digest": digest, "algorithm": algorithm}, "document")
        require(len(wb["documents"]) < MAX_DOCUMENTS, refuse("BAD_DOCUMENT", f"at most {MAX_DOCUMENTS} documents"))
        require(all((d["algorithm"], d["digest"]) != (algorithm, digest) for d in wb["documents"]),
                refuse("DOCUMENT_EXISTS", "this document is attached already"))
        wb["documents"].append({**doc, "by": org, "added_ms": ctx.time_ms})
        self._save(ctx, wb)
        ctx.emit("DocumentAttached", number=number, kind=kind, by=org)
        return wb

    # -- custody: the two-signature handover ------------------------------------------------

    def _next_party(self, wb: dict[str, Any]) -> tuple[str, str]:
        """(kind, organisation) of the next handover from the current custodian."""
        if wb["status"] == "created":
            return "pickup", wb["carriers"][0]
        if wb["leg"] + 1 < len(wb["carriers"]):
            return "handoff", wb["carriers"][wb["leg"] + 1]
        return "delivery", wb["consignee"]

    @method
    def hand_over(self, ctx: Context, number: str, place: dict[str, Any] | None = None, at_ms: int | None = None,
                  note: str = "") -> dict[str, Any]:
        """The custodian proposes to hand the goods to the next party: the first carrier (pickup,
        at the place of taking over unless given), the next carrier (hand-off) or the consignee
        (delivery, at the place of delivery unless given). Custody moves when that party confirms."""
        wb = self._open(ctx, number)
        org = ctx.require_caller().org
        require(org == wb["custodian"], refuse("NOT_CUSTODIAN", f"{number} is in the custody of {wb['custodian']}, not {org}"))
        require(wb["pending"] is None, refuse("HANDOVER_PENDING", f"a handover to {(wb['pending'] or {}).get('to')} "
                                                                  "awaits confirmation"))
        kind, to = self._next_party(wb)
        default = wb["taking_over"]["place"] if kind == "pickup" else wb["delivery_place"] if kind == "delivery" else None
        require(place is not None or default is not None, refuse("BAD_PLACE", "place: a hand-off needs the place"))
        where = check_place(place, "place") if place is not None else default
        wb["pending"] = {"kind": kind, "from": org, "to": to, "place": where, "at_ms": self._at(ctx, wb, at_ms),
                         "note": check_text(note, "note", 500, empty=True), "proposed_tx": ctx.tx_id.hex(),
                         "proposed_ms": ctx.time_ms}
        self._save(ctx, wb)
        ctx.emit("HandoverProposed", number=number, kind=kind, giver=org, taker=to)
        return wb

    @method
    def cancel_handover(self, ctx: Context, number: str, reason: str = "") -> dict[str, Any]:
        """Either side of a proposed handover withdraws it (the taker declines; the giver changes its mind)."""
        wb = self._open(ctx, number)
        pending = wb["pending"]
        require(pending is not None, refuse("NO_HANDOVER", f"no handover of {number} is pending"))
        org = ctx.require_caller().org
        require(org in (pending["from"], pending["to"]), refuse("NOT_A_PARTY", f"{org} is not in this handover"))
        wb["pending"] = None
        self._save(ctx, wb)
        ctx.emit("HandoverCancelled", number=number, by=org, reason=check_text(reason, "reason", 500, empty=True))
        return wb

    @method
    def take_over(self, ctx: Context, number: str, packages: int, reservations: list[str] | None = None,
                  exception: dict[str, Any] | None = None, at_ms: int | None = None) -> dict[str, Any]:
        """The party a handover names confirms it with its own count of packages; a count that differs
        from the waybill's needs an ``exception`` (``{"kind": "shortage"|"surplus", "note"}``). The
        consignee's confirmation is the delivery; its reservations are kept with it."""
        wb = self._open(ctx, number)
        pending = wb["pending"]
        require(pending is not None, refuse("NO_HANDOVER", f"no handover of {number} is pending"))
        org = ctx.require_caller().org
        require(org == pending["to"], refuse("NOT_TAKER", f"the pending handover is to {pending['to']}, not {org}"))
        require(type(packages) is int and 0 <= packages <= 10**9, refuse("BAD_ARGS", "packages: a count"))
        notes = check_reservations(reservations or [])
        delta = packages - wb["packages"]
        recorded = None
        if delta or exception is not None:
            require(exception is not None, refuse("PACKAGE_MISMATCH", f"counted {packages} packages, the waybill has "
                                                                      f"{wb['packages']}: record an exception"))
            recorded = self._exception(ctx, wb, exception or {}, delta)
        at = self._at(ctx, wb, at_ms)
        require(at >= pending["at_ms"], refuse("STEP_OUT_OF_ORDER", "at_ms: before the proposed handover"))
        kind = pending["kind"]
        step = self._step(ctx, wb, kind, at, pending["place"], giver=pending["from"], taker=org,
                          proposed_tx=pending["proposed_tx"], packages=packages, reservations=notes,
                          exception=recorded, note=pending["note"])
        wb["custodian"], wb["pending"] = org, None
        if kind == "pickup":
            wb["leg"] = 0
            wb["taking_over"]["at_ms"] = at
            self._set_status(ctx, wb, "picked_up")
        elif kind == "handoff":
            wb["leg"] += 1
            self._set_status(ctx, wb, "in_transit")
        else:
            wb["reservations"] = notes
            wb["delivered_ms"], wb["delivered_tx"] = at, ctx.tx_id.hex()
            self._set_status(ctx, wb, "delivered")
            self._release_ssccs(ctx, wb)
        self._save(ctx, wb)
        ctx.emit("GoodsTakenOver", number=number, kind=kind, giver=pending["from"], taker=org, packages=packages,
                 seq=step["seq"])
        if kind == "delivery":
            ctx.emit("WaybillDelivered", number=number, consignee=org, reservations=len(notes), packages=packages)
        return wb

    def _exception(self, ctx: Context, wb: dict[str, Any], exception: dict[str, Any], delta: int) -> dict[str, Any]:
        """Record a change in the package count (or damage, with no change); the count never goes negative."""
        require(type(exception) is dict and set(exception) == {"kind", "note"} and exception["kind"] in EXCEPTION_KINDS,
                refuse("BAD_EXCEPTION", f"exception: expected {{\"kind\": one of {EXCEPTION_KINDS}, \"note\"}}"))
        kind = exception["kind"]
        require(kind == ("shortage" if delta < 0 else "surplus") if delta else kind in ("damage", "other"),
                refuse("BAD_EXCEPTION", f"exception: a change of {delta} packages is a "
                                        f"{'shortage' if delta < 0 else 'surplus' if delta else 'damage or other'}"))
        require(wb["packages"] + delta >= 0, refuse("BAD_EXCEPTION", "the package count cannot go below zero"))
        recorded = {"kind": kind, "delta": delta, "note": check_text(exception["note"], "exception.note", 500),
                    "by": ctx.require_caller().org, "tx": ctx.tx_id.hex(), "recorded_ms": ctx.time_ms}
        wb["exceptions"].append(recorded)
        wb["packages"] += delta
        ctx.emit("PackagesException", number=wb["number"], kind=kind, delta=delta, by=recorded["by"],
                 packages=wb["packages"])
        return recorded

    # -- on the road ------------------------------------------------------------------------

    @method
    def checkpoint(self, ctx: Context, number: str, place: dict[str, Any], at_ms: int | None = None,
                   temperature_c10: int | None = None, note: str = "") -> dict[str, Any]:
        """The carrier in custody records where the goods are (and the reefer's temperature, in
        tenths of a degree); a reading outside the waybill's range is an excursion."""
        wb = self._open(ctx, number)
        self._custodian_carrier(ctx, wb)
        where = check_place(place, "place")
        reading = check_reading(temperature_c10)
        at = self._at(ctx, wb, at_ms)
        bounds = wb["temperature"]
        excursion = reading is not None and bounds is not None and not bounds["min_c10"] <= reading <= bounds["max_c10"]
        step = self._step(ctx, wb, "checkpoint", at, where, temperature_c10=reading, excursion=excursion,
                          note=check_text(note, "note", 500, empty=True))
        if wb["status"] == "picked_up":
            self._set_status(ctx, wb, "in_transit")
        if excursion:
            wb["excursions"] += 1
        self._save(ctx, wb)
        ctx.emit("Checkpoint", number=number, seq=step["seq"], carrier=wb["custodian"])
        if excursion:
            ctx.emit("TemperatureExcursion", number=number, seq=step["seq"], carrier=wb["custodian"],
                     temperature_c10=reading, min_c10=bounds["min_c10"], max_c10=bounds["max_c10"])
        return step

    @method
    def record_exception(self, ctx: Context, number: str, kind: str, packages_delta: int, note: str) -> dict[str, Any]:
        """The carrier in custody records lost, found or damaged packages on the road."""
        wb = self._open(ctx, number)
        self._custodian_carrier(ctx, wb)
        require(type(packages_delta) is int and abs(packages_delta) <= 10**9, refuse("BAD_ARGS", "packages_delta: an integer"))
        recorded = self._exception(ctx, wb, {"kind": kind, "note": note}, packages_delta)
        self._save(ctx, wb)
        return recorded

    # -- after delivery: close or dispute ---------------------------------------------------

    @method
    def close(self, ctx: Context, number: str) -> dict[str, Any]:
        """Close a delivered waybill: the consignee at any time (accepting the goods), any party once
        the dispute window has passed if the delivery carried no reservations. A closed waybill with
        charges carries the first carrier's receivable."""
        wb = self._waybill(ctx, number)
        org = self._party_caller(ctx, wb)
        require(wb["status"] == "delivered", refuse("NOT_DELIVERED", f"waybill {number} is {wb['status']}"))
        if org != wb["consignee"]:
            require(ctx.time_ms >= wb["delivered_ms"] + wb["dispute_window_ms"],
                    refuse("DISPUTE_WINDOW_OPEN", "only the consignee may close it before the dispute window ends"))
            require(not wb["reservations"], refuse("RESERVATIONS", "the consignee made reservations: only it may close"))
        self._set_status(ctx, wb, "closed")
        wb["closed_ms"] = ctx.time_ms
        if wb["charges"]["total"]:
            suite = get_suite(ctx.suite)
            wb["receivable"] = {"carrier": wb["carriers"][0], "payer": wb["charges"]["payer_org"],
                                "amount": wb["charges"]["total"], "algorithm": suite.hash_name,
                                "digest": suite.hash(codec.encode(receivable_summary(wb))).hex()}
        self._save(ctx, wb)
        ctx.emit("WaybillClosed", number=number, by=org, receivable=wb["charges"]["total"])
        return wb

    @method
    def dispute(self, ctx: Context, number: str, note: str, digest: str | None = None,
                algorithm: str = "sha-256") -> dict[str, Any]:
        """A party disputes a delivered waybill within the dispute window, with a note and optionally
        the digest of its evidence (photos, a survey report)."""
        wb = self._waybill(ctx, number)
        org = self._party_caller(ctx, wb)
        require(wb["status"] == "delivered", refuse("NOT_DELIVERED", f"waybill {number} is {wb['status']}"))
        require(ctx.time_ms < wb["delivered_ms"] + wb["dispute_window_ms"],
                refuse("DISPUTE_WINDOW_CLOSED", "the dispute window has passed"))
        self._set_status(ctx, wb, "disputed")
        wb["dispute"] = {"by": org, "opened_ms": ctx.time_ms, "notes": [self._note(ctx, org, note, digest, algorithm)]}
        self._save(ctx, wb)
        ctx.emit("WaybillDisputed", number=number, by=org)
        return wb

    @method
    def add_dispute_note(self, ctx: Context, number: str, note: str, digest: str | None = None,
                         algorithm: str = "sha-256") -> dict[str, Any]:
        """A party or a regulator adds a note (and evidence digest) to a disputed waybill."""
        wb = self._waybill(ctx, number)
        org = ctx.require_caller().org
        require(org in self._parties(wb) or ctx.org_kind(org) == "regulator",
                refuse("NOT_A_PARTY", f"{org} is not a party to waybill {number}"))
        require(wb["status"] == "disputed", refuse("NOT_DISPUTED", f"waybill {number} is {wb['status']}"))
        require(len(wb["dispute"]["notes"]) < MAX_NOTES, refuse("TOO_MANY_NOTES", f"at most {MAX_NOTES} notes"))
        wb["dispute"]["notes"].append(self._note(ctx, org, note, digest, algorithm))
        self._save(ctx, wb)
        ctx.emit("DisputeNoted", number=number, by=org)
        return wb

    def _note(self, ctx: Context, org: str, note: str, digest: str | None, algorithm: str) -> dict[str, Any]:
        evidence = check_document({"kind": "other", "digest": digest, "algorithm": algorithm}, "evidence") \
            if digest is not None else None
        return {"by": org, "note": check_text(note, "note", 2000), "evidence": evidence, "tx": ctx.tx_id.hex(),
                "at_ms": ctx.time_ms}

    # -- queries ------------------------------------------------------------------------------

    def _require_sight(self, ctx: Context, wb: dict[str, Any]) -> str:
        org = ctx.require_caller().org
        if org not in (*self._parties(wb), wb["charges"]["payer_org"]) and ctx.org_kind(org) not in ("regulator", "funder"):
            raise Forbidden(f"{org} may not see waybill {wb['number']}", code="NOT_VISIBLE")
        return org

    def _found(self, ctx: Context, number: str) -> dict[str, Any]:
        wb = ctx.get(f"wb/{number}") if type(number) is str and 0 < len(number) <= 35 else None
        if wb is None:
            raise NotFound(f"no waybill {number!r:.60}", code="WAYBILL_NOT_FOUND")
        return wb  # type: ignore[no-any-return]

    def _steps(self, ctx: Context, number: str) -> list[dict[str, Any]]:
        return [s for _, s in ctx.range(f"step/{number}/", limit=MAX_STEPS)]

    @query
    def get(self, ctx: Context, number: str) -> dict[str, Any]:
        """One waybill with its steps, for its parties, regulators and funders."""
        wb = self._found(ctx, number)
        self._require_sight(ctx, wb)
        return {**wb, "step_list": self._steps(ctx, number)}

    @query
    def mine(self, ctx: Context, status: str = "") -> list[dict[str, Any]]:
        """The caller's waybills (as consignor, carrier or consignee), oldest first."""
        org = ctx.require_caller().org
        if status not in ("", *STATUSES):
            raise BadInput(f"status: expected one of {STATUSES}, got {status!r:.40}", code="BAD_ARGS")
        keep = ("number", "consignor", "consignee", "carriers", "status", "custodian", "packages", "steps",
                "created_ms", "delivered_ms", "pending", "excursions", "receivable")
        out = []
        for key, _ in ctx.range(f"of/{org}/", limit=100_000):
            wb = ctx.get(f"wb/{key.rsplit('/', 1)[1]}")
            if not status or wb["status"] == status:
                out.append({k: wb[k] for k in keep})
        return out

    @query
    def journey_steps(self, ctx: Context, ssccs: list[str]) -> list[dict[str, Any]]:
        """Public: the steps of every waybill that carried these SSCCs, as the goods' journey shows
        them (no parties' commercial data: step, time, place, carrier, temperature)."""
        if not (type(ssccs) is list and len(ssccs) <= 200 and all(is_gs1_key(s, 18) for s in ssccs)):
            raise BadInput("ssccs: up to 200 18-digit SSCCs with valid check digits", code="BAD_SSCC")
        out = []
        for sscc in sorted(set(ssccs)):
            for key, _ in ctx.range(f"sscc/{sscc}/", limit=1000):
                number = key.rsplit("/", 1)[1]
                wb = ctx.get(f"wb/{number}")
                labelled = [line["sscc"] for line in wb["goods"] if line["sscc"]]
                for step in self._steps(ctx, number):
                    if step["kind"] == "exception":
                        continue
                    out.append({"sscc": sscc, "waybill": number, "seq": step["seq"], "kind": step["kind"],
                                "at_ms": step["at_ms"], "place": step["place"], "by": step["by"],
                                "temperature_c10": step.get("temperature_c10"), "excursion": step.get("excursion", False),
                                "temperature": wb["temperature"], "ssccs": labelled, "tx": step["tx"],
                                "height": step["height"]})
        return sorted(out, key=lambda s: (s["at_ms"], s["sscc"], s["waybill"], s["seq"]))

    @query
    def receivable(self, ctx: Context, number: str) -> dict[str, Any]:
        """The receivable a closed waybill carries (for its parties, funders and regulators)."""
        wb = self._found(ctx, number)
        self._require_sight(ctx, wb)
        if wb["receivable"] is None:
            raise NotFound(f"waybill {number} carries no receivable (it is {wb['status']}, charges "
                           f"{wb['charges']['total']} fen)", code="NO_RECEIVABLE")
        return {"number": number, "status": wb["status"], **wb["receivable"], "summary": receivable_summary(wb)}

    @query
    def overview(self, ctx: Context) -> dict[str, Any]:
        """For a regulator: waybills by status, open disputes, temperature excursions and exceptions."""
        org = ctx.require_caller().org
        if ctx.org_kind(org) != "regulator":
            raise Forbidden(f"{org} is not a regulator", code="NOT_VISIBLE")
        disputed, flagged = [], []
        for _, wb in ctx.range("wb/", limit=100_000):
            if wb["status"] == "disputed":
                disputed.append({"number": wb["number"], "by": wb["dispute"]["by"], "opened_ms": wb["dispute"]["opened_ms"],
                                 "notes": len(wb["dispute"]["notes"])})
            if wb["excursions"] or wb["exceptions"]:
                flagged.append({"number": wb["number"], "status": wb["status"], "custodian": wb["custodian"],
                                "excursions": wb["excursions"], "exceptions": wb["exceptions"],
                                "packages_declared": wb["packages_declared"], "packages": wb["packages"]})
        return {"by_status": ctx.get("stats", {s: 0 for s in STATUSES}), "disputed": disputed, "flagged": flagged}

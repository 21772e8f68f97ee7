"""The ``charity`` contract: each donation followed from a need to its confirmed delivery.

Parties. The civil-affairs authority (an organisation of kind ``civil_affairs``, set at genesis or
by a governance vote) registers charities and beneficiary verifiers and publishes the key that
donor disclosures are sealed to. Nobody gives itself a seat.

A *need*: a registered charity publishes a purpose, a target (an amount in fen and/or items),
evidence by digest and a pseudonymous beneficiary (a salted digest the verifier can recompute; no
personal data on the chain). The verifier it names attests the beneficiary; the authority then
verifies the need, which opens it (or rejects it). Statuses: ``pending`` → ``open`` → ``closed``,
or ``rejected``.

A *donation* (integer fen) is earmarked for one need or given to the charity's general fund. An
organisation donates under its own name (``donate``: ``recorded``, then ``matched`` when the charity
confirms the money arrived); an individual's donation arrives through a payment channel and the
charity records it (``record_donation``, matched at once) with a salted donor tag in public and the
clear donor sealed to the authority (ADR 0018). Only matched money can be granted.

A *grant* gives funds or goods (whose value in fen counts like money; goods travel under a waybill
number kept as a reference) to the beneficiary or a vendor. It draws from the need's matched,
earmarked donations first, oldest first, then, if the charity says so, from its general fund; every
draw is recorded on both the grant and the donation, which is each donation's path. The
beneficiary's signer or the verifier confirms receipt with photo or receipt digests; the charity or
the verifier may instead record an exception (lost, refused, returned: returned money goes back to
the donations it came from). A grant still unconfirmed at its deadline (block time) raises the
regulator's ``grant_unconfirmed`` alert.

Invariants (tests/property/test_charity_properties.py): grants per need never exceed its matched
donations (earmarked plus general-fund draws); an earmarked donation is used only for its need;
each donation's remaining amount plus its live uses equals its amount; every disbursed grant ends
confirmed or in an exception.
"""

from __future__ import annotations

import re
from typing import Any

from consortia.contracts.sdk import Context, Contract, method, query, refuse, require
from consortia.errors import Forbidden, NotFound

DAY_MS = 24 * 3600 * 1000
MAX_FEN = 10**14  # one trillion yuan: far above any real donation
ALGORITHMS = ("sha-256", "sm3")
HEX64 = re.compile(r"[0-9a-f]{64}")
HEX = re.compile(r"(?:[0-9a-f]{2})+")
ROLES = ("charity", "verifier")
CHANNELS = ("bank-transfer", "alipay", "wechat-pay", "unionpay", "cash", "other")
GRANT_KINDS = ("funds", "goods")
EXCEPTIONS = ("lost", "refused", "damaged", "returned", "other")
MAX_EVIDENCE = 20
MAX_ITEMS = 50
MAX_LIST = 1000
MAX_SEALED_HEX = 1024
GENERAL = "_general"


# -- pure checks ----------------------------------------------------------------------------------

def check_text(value: object, what: str, limit: int, *, empty: bool = False) -> str:
    """Verify ``value`` is (non-empty unless ``empty``) text of at most ``limit`` characters."""
    require(type(value) is str and (empty or value.strip()) and len(value) <= limit,
            refuse("BAD_ARGS", f"{what}: expected {'' if empty else 'non-empty '}text of at most {limit} characters"))
    return value  # type: ignore[return-value]


def check_fen(value: object, what: str = "amount") -> int:
    """Verify an amount is a whole number of fen, at least 1."""
    require(type(value) is int and 0 < value <= MAX_FEN,
            refuse("BAD_AMOUNT", f"{what}: expected whole fen from 1 to {MAX_FEN}, got {value!r:.40}"))
    return value  # type: ignore[return-value]


def check_hex64(value: object, what: str) -> str:
    require(type(value) is str and HEX64.fullmatch(value) is not None,
            refuse("BAD_DIGEST", f"{what}: expected 64 lowercase hex characters, got {value!r:.80}"))
    return value  # type: ignore[return-value]


def check_evidence(items: object, what: str = "evidence", *, required: bool = False) -> list[dict[str, str]]:
    """Verify a list of ``{"algorithm", "digest", "label"}`` (a document, photo or receipt by digest)."""
    require(type(items) is list and len(items) <= MAX_EVIDENCE and (items or not required),
            refuse("BAD_EVIDENCE", f"{what}: expected {'1' if required else '0'} to {MAX_EVIDENCE} digests"))
    out = []
    listed: list[Any] = items  # type: ignore[assignment]
    for i, item in enumerate(listed):
        require(type(item) is dict and set(item) <= {"algorithm", "digest", "label"} and item.get("algorithm") in ALGORITHMS,
                refuse("BAD_EVIDENCE", f"{what}[{i}]: expected {{algorithm: {'|'.join(ALGORITHMS)}, digest, label}}"))
        check_hex64(item.get("digest"), f"{what}[{i}].digest")
        check_text(item.get("label", ""), f"{what}[{i}].label", 100, empty=True)
        out.append({"algorithm": item["algorithm"], "digest": item["digest"], "label": item.get("label", "")})
    return out


def check_items(items: object) -> list[dict[str, Any]]:
    """Verify a target list of goods: ``{"name", "quantity", "unit"}`` with a whole quantity."""
    require(type(items) is list and len(items) <= MAX_ITEMS, refuse("BAD_ITEMS", f"items: at most {MAX_ITEMS}"))
    out = []
    listed: list[Any] = items  # type: ignore[assignment]
    for i, item in enumerate(listed):
        require(type(item) is dict and set(item) <= {"name", "quantity", "unit"}
                and type(item.get("quantity")) is int and 0 < item["quantity"] <= 10**9,
                refuse("BAD_ITEMS", f"items[{i}]: expected {{name, quantity (whole, at least 1), unit}}"))
        check_text(item.get("name"), f"items[{i}].name", 100)
        check_text(item.get("unit", "piece"), f"items[{i}].unit", 20)
        out.append({"name": item["name"], "quantity": item["quantity"], "unit": item.get("unit", "piece")})
    return out


def check_id(value: object, what: str) -> str:
    require(type(value) is str and 0 < len(value) <= 64, refuse("BAD_ARGS", f"{what}: expected an id"))
    return value  # type: ignore[return-value]


def public_need(need: dict[str, Any]) -> dict[str, Any]:
    """A need as anyone may see it: no beneficiary pseudonym, no beneficiary signer."""
    return {k: v for k, v in need.items() if k not in ("beneficiary", "beneficiary_signer")}


def public_donation(donation: dict[str, Any]) -> dict[str, Any]:
    """A donation as anyone may see it: the donor's tag, never the sealed disclosure."""
    return {k: v for k, v in donation.items() if k != "sealed"}


class Charity(Contract):
    name = "charity"
    description = ("Charity tracking: needs verified by the civil-affairs authority, earmarked or general "
                   "donations, grants of funds or goods, confirmed receipt; every donation's path on the chain.")

    # -- reads shared by methods ------------------------------------------------------------

    def _role(self, ctx: Context, org: str, role: str) -> bool:
        return ctx.get(f"reg/{role}/{org}") is not None

    def _charity(self, ctx: Context) -> str:
        org = ctx.require_caller().org
        require(self._role(ctx, org, "charity"),
                Forbidden(f"{org} is not a charity registered by the civil-affairs authority", code="NOT_CHARITY"))
        return org

    def _need(self, ctx: Context, need_id: str) -> dict[str, Any]:
        check_id(need_id, "need id")
        need = ctx.get(f"need/{need_id}")
        require(need is not None, NotFound(f"no need {need_id!r}", code="NEED_NOT_FOUND"))
        return need  # type: ignore[no-any-return]

    def _live_need(self, ctx: Context, need_id: str) -> dict[str, Any]:
        """A need that may change: a governance vote (``freeze_object``) may freeze one under
        investigation, and then it refuses every change, its donations and grants included."""
        need = self._need(ctx, need_id)
        require(not ctx.is_frozen(need_id), refuse("NEED_FROZEN", f"need {need_id} is frozen by a governance vote"))
        return need

    def _own_need(self, ctx: Context, need_id: str) -> dict[str, Any]:
        need = self._live_need(ctx, need_id)
        org = ctx.require_caller().org
        require(org == need["charity"], Forbidden(f"need {need_id} belongs to {need['charity']}, not {org}",
                                                  code="NOT_OWN_NEED"))
        return need

    def _donation(self, ctx: Context, donation_id: str) -> dict[str, Any]:
        check_id(donation_id, "donation id")
        donation = ctx.get(f"don/{donation_id}")
        require(donation is not None, NotFound(f"no donation {donation_id!r}", code="DONATION_NOT_FOUND"))
        return donation  # type: ignore[no-any-return]

    def _grant(self, ctx: Context, grant_id: str) -> dict[str, Any]:
        check_id(grant_id, "grant id")
        grant = ctx.get(f"grant/{grant_id}")
        require(grant is not None, NotFound(f"no grant {grant_id!r}", code="GRANT_NOT_FOUND"))
        return grant  # type: ignore[no-any-return]

    def _is_overseer(self, ctx: Context) -> bool:
        """The civil-affairs authority or a regulator."""
        caller = ctx.caller
        return caller is not None and ctx.org_kind(caller.org) in ("civil_affairs", "regulator")

    def _target(self, ctx: Context, charity: str, need_id: str) -> dict[str, Any] | None:
        """The open need a donation goes to (None: the charity's general fund)."""
        require(self._role(ctx, charity, "charity"), refuse("NOT_CHARITY", f"{charity!r:.64} is not a registered charity"))
        if need_id == "":
            return None
        need = self._live_need(ctx, need_id)
        require(need["charity"] == charity, refuse("WRONG_CHARITY", f"need {need_id} belongs to {need['charity']}"))
        require(need["status"] == "open", refuse("NEED_NOT_OPEN", f"need {need_id} is {need['status']}, not open"))
        return need

    def _fund(self, ctx: Context, charity: str) -> dict[str, Any]:
        return ctx.get(f"fund/{charity}") or {"charity": charity, "raised": 0, "granted": 0, "donations": 0}

    def _next_seq(self, ctx: Context, charity: str) -> int:
        seq = int(ctx.get(f"seq/{charity}", 0)) + 1
        ctx.put(f"seq/{charity}", seq)
        return seq

    # -- the authority's seat -----------------------------------------------------------------

    @method
    def register(self, ctx: Context, org: str, role: str, name: str, licence: str = "") -> dict[str, Any]:
        """The civil-affairs authority registers a member organisation as a ``charity`` (with its
        registration certificate number) or as a beneficiary ``verifier``."""
        authority = ctx.require_org_kind("civil_affairs", "NOT_CIVIL_AFFAIRS")
        require(role in ROLES, refuse("BAD_ROLE", f"role: expected one of {ROLES}, got {role!r:.40}"))
        require(ctx.member_org(org) is not None, refuse("UNKNOWN_ORG", f"{org!r:.64} is not a member organisation"))
        require(not self._role(ctx, org, role), refuse("ALREADY_REGISTERED", f"{org} is already a {role}"))
        check_text(name, "name", 200)
        check_text(licence, "licence", 64, empty=True)
        record = {"org": org, "role": role, "name": name, "licence": licence, "registered_by": authority,
                  "since_ms": ctx.time_ms}
        ctx.put(f"reg/{role}/{org}", record)
        ctx.emit("Registered", org=org, role=role, by=authority)
        return record

    @method
    def publish_authority_key(self, ctx: Context, key: str) -> dict[str, Any]:
        """The authority publishes (or replaces) the public key that donor disclosures are sealed
        to: its organisation's key-wrapping key (ADR 0013), hex."""
        authority = ctx.require_org_kind("civil_affairs", "NOT_CIVIL_AFFAIRS")
        require(type(key) is str and 32 <= len(key) <= 256 and HEX.fullmatch(key) is not None,
                refuse("BAD_KEY", "key: expected a public key in hex (32 to 128 bytes)"))
        record = {"org": authority, "key": key, "since_height": ctx.height}
        ctx.put(f"authkey/{authority}", record)
        ctx.emit("AuthorityKeyPublished", org=authority)
        return record

    @query
    def authority_keys(self, ctx: Context) -> dict[str, Any]:
        """Public: the keys a donor disclosure must be sealed to, by authority organisation."""
        return {"keys": {rec["org"]: rec["key"] for _, rec in ctx.range("authkey/", limit=100)}}

    @query
    def registry(self, ctx: Context) -> dict[str, Any]:
        """Public: registered charities and verifiers."""
        return {role: [rec for _, rec in ctx.range(f"reg/{role}/", limit=MAX_LIST)] for role in ROLES}

    # -- needs --------------------------------------------------------------------------------

    @method
    def publish_need(self, ctx: Context, title: str, purpose: str, beneficiary: str, verifier: str,
                     target_fen: int = 0, items: list[dict[str, Any]] | None = None,
                     evidence: list[dict[str, Any]] | None = None, beneficiary_signer: str = "",
                     confirm_days: int = 14) -> dict[str, Any]:
        """A registered charity publishes a need; it opens once its verifier attested the
        beneficiary (a 64-hex pseudonym) and the civil-affairs authority verified it."""
        charity = self._charity(ctx)
        check_text(title, "title", 200)
        check_text(purpose, "purpose", 2000)
        check_hex64(beneficiary, "beneficiary (a salted digest, no personal data)")
        require(self._role(ctx, verifier, "verifier") and verifier != charity,
                refuse("NOT_VERIFIER", f"{verifier!r:.64} is not a registered verifier other than the charity"))
        require(type(target_fen) is int and 0 <= target_fen <= MAX_FEN, refuse("BAD_AMOUNT", "target_fen: whole fen"))
        goods = check_items(items or [])
        require(target_fen > 0 or goods, refuse("NO_TARGET", "a need states a target amount, items, or both"))
        docs = check_evidence(evidence or [])
        require(beneficiary_signer == "" or (type(beneficiary_signer) is str and beneficiary_signer.count("/") == 1
                                             and len(beneficiary_signer) <= 130),
                refuse("BAD_ARGS", "beneficiary_signer: expected an identity <org>/<name> or empty"))
        require(type(confirm_days) is int and 1 <= confirm_days <= 90,
                refuse("BAD_ARGS", "confirm_days: expected 1 to 90 days for a grant's receipt to be confirmed"))
        need_id = ctx.derive_id("need", charity, title)
        need = {"id": need_id, "charity": charity, "title": title, "purpose": purpose, "target_fen": target_fen,
                "items": goods, "evidence": docs, "beneficiary": beneficiary, "beneficiary_signer": beneficiary_signer,
                "verifier": verifier, "confirm_days": confirm_days, "status": "pending", "created_ms": ctx.time_ms,
                "tx": ctx.tx_id.hex(), "attested": None, "verified": None, "closed_ms": None,
                "pledged": 0, "raised": 0, "general_used": 0, "granted": 0, "confirmed": 0, "exceptions": 0,
                "donations": 0, "grants": 0}
        ctx.put(f"need/{need_id}", need)
        ctx.put(f"byc/{charity}/{ctx.height:012d}/{need_id}", 1)
        ctx.emit("NeedPublished", need=need_id, charity=charity, verifier=verifier, target_fen=target_fen)
        return need

    @method
    def attest_beneficiary(self, ctx: Context, need_id: str, beneficiary: str,
                           evidence: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The need's verifier attests it knows the beneficiary behind the pseudonym (it repeats the
        pseudonym, so a charity cannot swap it afterwards)."""
        need = self._live_need(ctx, need_id)
        caller = ctx.require_caller()
        require(caller.org == need["verifier"], Forbidden(f"{need_id} names {need['verifier']} as its verifier",
                                                          code="NOT_VERIFIER"))
        require(need["status"] == "pending" and need["attested"] is None,
                refuse("ALREADY_ATTESTED", f"need {need_id} is {need['status']}"
                       + (", attested already" if need["attested"] else "")))
        require(beneficiary == need["beneficiary"], refuse("BENEFICIARY_MISMATCH",
                                                           "the pseudonym differs from the one the charity published"))
        need["attested"] = {"by": caller.id, "at_ms": ctx.time_ms, "tx": ctx.tx_id.hex(),
                            "evidence": check_evidence(evidence or [])}
        ctx.put(f"need/{need_id}", need)
        ctx.emit("BeneficiaryAttested", need=need_id, verifier=caller.org)
        return need

    @method
    def verify_need(self, ctx: Context, need_id: str, approve: bool, note: str = "") -> dict[str, Any]:
        """The civil-affairs authority opens an attested need, or rejects it with a note."""
        authority = ctx.require_org_kind("civil_affairs", "NOT_CIVIL_AFFAIRS")
        need = self._live_need(ctx, need_id)
        require(need["status"] == "pending", refuse("NOT_PENDING", f"need {need_id} is {need['status']}, not pending"))
        require(type(approve) is bool, refuse("BAD_ARGS", "approve: expected true or false"))
        require(not approve or need["attested"] is not None,
                refuse("NOT_ATTESTED", f"need {need_id}'s beneficiary is not attested by {need['verifier']} yet"))
        check_text(note, "note", 1000, empty=True)
        require(approve or note.strip(), refuse("BAD_ARGS", "note: a rejection says why"))
        need["status"] = "open" if approve else "rejected"
        need["verified"] = {"by": ctx.require_caller().id, "org": authority, "at_ms": ctx.time_ms,
                            "approved": approve, "note": note, "tx": ctx.tx_id.hex()}
        ctx.put(f"need/{need_id}", need)
        ctx.emit("NeedVerified" if approve else "NeedRejected", need=need_id, by=authority)
        return need

    @method
    def close_need(self, ctx: Context, need_id: str) -> dict[str, Any]:
        """The charity stops taking donations for an open need (its raised money can still be granted)."""
        need = self._own_need(ctx, need_id)
        require(need["status"] == "open", refuse("NEED_NOT_OPEN", f"need {need_id} is {need['status']}, not open"))
        need["status"], need["closed_ms"] = "closed", ctx.time_ms
        ctx.put(f"need/{need_id}", need)
        ctx.emit("NeedClosed", need=need_id)
        return need

    # -- pledges and donations ----------------------------------------------------------------

    @method
    def pledge(self, ctx: Context, charity: str, amount: int, need: str = "") -> dict[str, Any]:
        """An organisation promises a donation to a charity's need (or its general fund)."""
        check_fen(amount)
        target = self._target(ctx, charity, need)
        donor = ctx.require_caller().org
        pledge_id = ctx.derive_id("pledge", donor, charity, need)
        record = {"id": pledge_id, "donor": donor, "charity": charity, "need": need or None, "amount": amount,
                  "status": "open", "pledged_ms": ctx.time_ms, "donation": None}
        if target is not None:
            target["pledged"] += amount
            ctx.put(f"need/{need}", target)
        ctx.put(f"pledge/{pledge_id}", record)
        ctx.emit("Pledged", pledge=pledge_id, donor=donor, charity=charity, need=need or None, amount=amount)
        return record

    def _new_donation(self, ctx: Context, charity: str, need_id: str, amount: int, fields: dict[str, Any]) -> dict[str, Any]:
        target = self._target(ctx, charity, need_id)
        seq = self._next_seq(ctx, charity)
        donation_id = ctx.derive_id("donation", charity, need_id, str(amount))
        donation = {"id": donation_id, "seq": seq, "charity": charity, "need": need_id or None, "amount": amount,
                    "remaining": amount, "uses": [], "recorded_by": ctx.require_caller().id, "recorded_ms": ctx.time_ms,
                    "tx": ctx.tx_id.hex(), "status": "recorded", "matched_ms": None, "match_tx": None, **fields}
        ctx.put(f"don/{donation_id}", donation)
        ctx.put(f"dn/{charity}/{need_id or GENERAL}/{seq:010d}", donation_id)
        if target is not None:
            target["donations"] += 1
            ctx.put(f"need/{need_id}", target)
        return donation

    def _match(self, ctx: Context, donation: dict[str, Any]) -> None:
        """The charity confirms the money arrived: the donation counts as raised and may be granted."""
        donation.update(status="matched", matched_ms=ctx.time_ms, match_tx=ctx.tx_id.hex())
        ctx.put(self._pool_key(donation), donation["id"])
        if donation["need"] is None:
            fund = self._fund(ctx, donation["charity"])
            fund["raised"] += donation["amount"]
            fund["donations"] += 1
            ctx.put(f"fund/{donation['charity']}", fund)
        else:
            need = self._live_need(ctx, donation["need"])
            need["raised"] += donation["amount"]
            ctx.put(f"need/{need['id']}", need)
        ctx.put(f"don/{donation['id']}", donation)
        ctx.emit("DonationMatched", donation=donation["id"], charity=donation["charity"], need=donation["need"],
                 amount=donation["amount"])

    @method
    def donate(self, ctx: Context, charity: str, amount: int, need: str = "",
               payment_ref: str = "", pledge_id: str = "") -> dict[str, Any]:
        """An organisation records a donation it paid, under its own name (``payment_ref``: the
        digest of its payment slip); it counts once the charity matched it to the money received."""
        check_fen(amount)
        require(payment_ref == "" or (type(payment_ref) is str and HEX64.fullmatch(payment_ref) is not None),
                refuse("BAD_DIGEST", "payment_ref: expected the payment slip's digest (64 hex) or empty"))
        donor = ctx.require_caller().org
        pledge = None
        if pledge_id:
            pledge = ctx.get(f"pledge/{check_id(pledge_id, 'pledge id')}")
            require(pledge is not None, NotFound(f"no pledge {pledge_id!r}", code="PLEDGE_NOT_FOUND"))
            require(pledge["donor"] == donor and pledge["charity"] == charity and (pledge["need"] or "") == need
                    and pledge["status"] == "open",
                    refuse("PLEDGE_MISMATCH", f"pledge {pledge_id} is not an open pledge of {donor} to this need"))
        donation = self._new_donation(ctx, charity, need, amount, {
            "donor": donor, "donor_tag": None, "sealed": {}, "channel": "bank-transfer", "payment_ref": payment_ref,
            "pledge": pledge_id or None})
        if pledge is not None:
            pledge.update(status="fulfilled", donation=donation["id"])
            ctx.put(f"pledge/{pledge_id}", pledge)
        ctx.emit("DonationRecorded", donation=donation["id"], charity=charity, need=need or None, amount=amount,
                 donor=donor)
        return donation

    @method
    def record_donation(self, ctx: Context, amount: int, donor_tag: str, sealed: dict[str, str],
                        need: str = "", channel: str = "bank-transfer", payment_ref: str = "") -> dict[str, Any]:
        """The charity records an individual's donation that reached its account: the donor is
        anonymous to the public (``donor_tag``, a salted digest) and known to the authority
        (``sealed``: the clear donor and salt sealed to every published authority key, ADR 0018)."""
        charity = self._charity(ctx)
        check_fen(amount)
        check_hex64(donor_tag, "donor_tag")
        require(channel in CHANNELS, refuse("BAD_CHANNEL", f"channel: expected one of {CHANNELS}"))
        require(payment_ref == "" or HEX64.fullmatch(payment_ref) is not None,
                refuse("BAD_DIGEST", "payment_ref: expected the payment record's digest (64 hex) or empty"))
        keys = sorted(rec["org"] for _, rec in ctx.range("authkey/", limit=100))
        require(keys, refuse("NO_AUTHORITY_KEY", "no civil-affairs authority has published a disclosure key"))
        require(sorted(sealed) == keys, refuse("MISSING_RECIPIENT", f"sealed: expected one disclosure for each of "
                                               f"{', '.join(keys)}, got {', '.join(sorted(sealed)) or 'none'}"))
        for org, text in sealed.items():
            require(len(text) <= MAX_SEALED_HEX and HEX.fullmatch(text) is not None,
                    refuse("BAD_SEALED", f"sealed.{org}: expected hex of at most {MAX_SEALED_HEX} characters"))
        donation = self._new_donation(ctx, charity, need, amount, {
            "donor": None, "donor_tag": donor_tag, "sealed": dict(sorted(sealed.items())), "channel": channel,
            "payment_ref": payment_ref, "pledge": None})
        ctx.emit("DonationRecorded", donation=donation["id"], charity=charity, need=need or None, amount=amount,
                 donor=None)
        self._match(ctx, donation)
        return public_donation(donation)

    @method
    def match_donation(self, ctx: Context, donation_id: str) -> dict[str, Any]:
        """The charity confirms an organisation's recorded donation arrived in its account."""
        donation = self._donation(ctx, donation_id)
        charity = self._charity(ctx)
        require(donation["charity"] == charity, Forbidden(f"donation {donation_id} is to {donation['charity']}",
                                                          code="NOT_OWN_DONATION"))
        require(donation["status"] == "recorded", refuse("NOT_RECORDED", f"donation {donation_id} is {donation['status']}"))
        self._match(ctx, donation)
        return public_donation(donation)

    @method
    def decline_donation(self, ctx: Context, donation_id: str, reason: str) -> dict[str, Any]:
        """The charity says a recorded donation never arrived (it is kept, with the reason)."""
        donation = self._donation(ctx, donation_id)
        charity = self._charity(ctx)
        require(donation["charity"] == charity, Forbidden(f"donation {donation_id} is to {donation['charity']}",
                                                          code="NOT_OWN_DONATION"))
        require(donation["status"] == "recorded", refuse("NOT_RECORDED", f"donation {donation_id} is {donation['status']}"))
        donation.update(status="declined", declined={"reason": check_text(reason, "reason", 500), "at_ms": ctx.time_ms})
        ctx.put(f"don/{donation_id}", donation)
        ctx.emit("DonationDeclined", donation=donation_id, charity=charity)
        return public_donation(donation)

    # -- grants ---------------------------------------------------------------------------------

    @staticmethod
    def _pool_key(donation: dict[str, Any]) -> str:
        """Where a matched donation with money left waits to be granted, oldest first."""
        return f"pool/{donation['charity']}/{donation['need'] or GENERAL}/{donation['seq']:010d}"

    def _available(self, ctx: Context, charity: str, pool: str, want: int) -> list[dict[str, Any]]:
        """Matched donations of one pool (a need id or the general fund) with money left, oldest
        first, until they cover ``want`` fen (all of them if they do not)."""
        taken: list[dict[str, Any]] = []
        have, after = 0, ""
        while have < want:
            rows = ctx.range(f"pool/{charity}/{pool}/", limit=200, after=after)
            for _, donation_id in rows:
                donation = ctx.get(f"don/{donation_id}")
                taken.append(donation)
                have += donation["remaining"]
                if have >= want:
                    break
            if len(rows) < 200:
                break
            after = rows[-1][0]
        return taken

    @method
    def grant(self, ctx: Context, need_id: str, kind: str, amount: int, vendor: str = "",
              items: list[dict[str, Any]] | None = None, waybill: str = "", use_general: bool = False,
              note: str = "") -> dict[str, Any]:
        """The charity grants funds or goods worth ``amount`` fen for a verified need, to its
        beneficiary (``vendor`` empty) or to a vendor; goods may name the waybill they travel under.
        It draws from the need's matched donations, then (``use_general``) from the general fund."""
        need = self._own_need(ctx, need_id)
        charity = need["charity"]
        require(need["status"] in ("open", "closed"), refuse("NEED_NOT_OPEN", f"need {need_id} is {need['status']}"))
        require(kind in GRANT_KINDS, refuse("BAD_KIND", f"kind: expected one of {GRANT_KINDS}, got {kind!r:.40}"))
        check_fen(amount)
        require(vendor == "" or (ctx.member_org(vendor) is not None and vendor != charity),
                refuse("UNKNOWN_ORG", f"vendor: expected another member organisation or empty, got {vendor!r:.64}"))
        goods = check_items(items or [])
        require(kind == "goods" or not (goods or waybill), refuse("BAD_ARGS", "items and waybill belong to goods"))
        require(kind == "funds" or goods, refuse("BAD_ITEMS", "a goods grant lists its items"))
        check_text(waybill, "waybill", 64, empty=True)
        check_text(note, "note", 500, empty=True)
        require(type(use_general) is bool, refuse("BAD_ARGS", "use_general: expected true or false"))
        pools = self._available(ctx, charity, need_id, amount)
        earmarked = sum(d["remaining"] for d in pools)
        if use_general and earmarked < amount:
            pools += self._available(ctx, charity, GENERAL, amount - earmarked)
        available = sum(d["remaining"] for d in pools)
        require(amount <= available, refuse("OVER_MATCHED", f"need {need_id} has {available} fen of matched donations "
                                            f"left{'' if use_general else ' (earmarked only)'}, the grant asks {amount}"))
        grant_id = ctx.derive_id("grant", need_id, str(amount))
        sources, left = [], amount
        for donation in pools:
            take = min(left, donation["remaining"])
            donation["remaining"] -= take
            if donation["remaining"] == 0:
                ctx.delete(self._pool_key(donation))
            donation["uses"] = [*donation["uses"], {"grant": grant_id, "need": need_id, "amount": take,
                                                    "returned": False}]
            ctx.put(f"don/{donation['id']}", donation)
            sources.append({"donation": donation["id"], "amount": take, "general": donation["need"] is None})
            left -= take
            if left == 0:
                break
        general = sum(s["amount"] for s in sources if s["general"])
        grant = {"id": grant_id, "need": need_id, "charity": charity, "kind": kind, "amount": amount,
                 "recipient": vendor or "beneficiary", "items": goods, "waybill": waybill, "note": note,
                 "sources": sources, "status": "disbursed", "disbursed_ms": ctx.time_ms, "tx": ctx.tx_id.hex(),
                 "confirm_by_ms": ctx.time_ms + need["confirm_days"] * DAY_MS, "confirmation": None, "exception": None}
        need["granted"] += amount
        need["general_used"] += general
        need["grants"] += 1
        if general:
            fund = self._fund(ctx, charity)
            fund["granted"] += general
            ctx.put(f"fund/{charity}", fund)
        ctx.put(f"need/{need_id}", need)
        ctx.put(f"grant/{grant_id}", grant)
        ctx.put(f"ng/{need_id}/{ctx.height:012d}/{grant_id}", 1)
        ctx.emit("GrantDisbursed", grant=grant_id, need=need_id, charity=charity, kind=kind, amount=amount,
                 recipient=grant["recipient"], waybill=waybill or None, confirm_by_ms=grant["confirm_by_ms"])
        return grant

    def _may_confirm(self, ctx: Context, need: dict[str, Any]) -> bool:
        caller = ctx.require_caller()
        return bool(caller.org == need["verifier"]
                    or (need["beneficiary_signer"] != "" and caller.id == need["beneficiary_signer"]))

    @method
    def confirm_receipt(self, ctx: Context, grant_id: str, evidence: list[dict[str, Any]], note: str = "") -> dict[str, Any]:
        """The beneficiary's signer or the need's verifier confirms the grant arrived, with photo or
        receipt digests."""
        grant = self._grant(ctx, grant_id)
        need = self._live_need(ctx, grant["need"])
        require(self._may_confirm(ctx, need), Forbidden(f"only the beneficiary's signer or {need['verifier']} confirms "
                                                        f"receipt of grant {grant_id}", code="NOT_CONFIRMER"))
        require(grant["status"] == "disbursed", refuse("NOT_DISBURSED", f"grant {grant_id} is {grant['status']}"))
        docs = check_evidence(evidence, "evidence", required=True)
        check_text(note, "note", 500, empty=True)
        grant["status"] = "confirmed"
        grant["confirmation"] = {"by": "beneficiary" if ctx.require_caller().org != need["verifier"] else "verifier",
                                 "org": ctx.require_caller().org, "at_ms": ctx.time_ms, "evidence": docs, "note": note,
                                 "late": ctx.time_ms > grant["confirm_by_ms"], "tx": ctx.tx_id.hex()}
        need["confirmed"] += grant["amount"]
        ctx.put(f"need/{need['id']}", need)
        ctx.put(f"grant/{grant_id}", grant)
        ctx.emit("GrantConfirmed", grant=grant_id, need=need["id"], amount=grant["amount"],
                 late=grant["confirmation"]["late"])
        return grant

    @method
    def record_exception(self, ctx: Context, grant_id: str, reason: str, note: str,
                         evidence: list[dict[str, Any]] | None = None, returned: bool = False) -> dict[str, Any]:
        """The charity or the need's verifier closes a disbursed grant that was not delivered as
        granted; with ``returned`` the money came back and goes back to the donations it came from."""
        grant = self._grant(ctx, grant_id)
        need = self._live_need(ctx, grant["need"])
        org = ctx.require_caller().org
        require(org in (need["charity"], need["verifier"]),
                Forbidden(f"only {need['charity']} or {need['verifier']} records an exception", code="NOT_CONFIRMER"))
        require(grant["status"] == "disbursed", refuse("NOT_DISBURSED", f"grant {grant_id} is {grant['status']}"))
        require(reason in EXCEPTIONS, refuse("BAD_REASON", f"reason: expected one of {EXCEPTIONS}"))
        check_text(note, "note", 500)
        require(type(returned) is bool, refuse("BAD_ARGS", "returned: expected true or false"))
        docs = check_evidence(evidence or [])
        grant["status"] = "exception"
        grant["exception"] = {"reason": reason, "note": note, "by": ctx.require_caller().id, "at_ms": ctx.time_ms,
                              "evidence": docs, "returned": returned, "tx": ctx.tx_id.hex()}
        need["exceptions"] += grant["amount"]
        if returned:
            self._give_back(ctx, grant, need)
        ctx.put(f"need/{need['id']}", need)
        ctx.put(f"grant/{grant_id}", grant)
        ctx.emit("GrantException", grant=grant_id, need=need["id"], reason=reason, amount=grant["amount"],
                 returned=returned)
        return grant

    def _give_back(self, ctx: Context, grant: dict[str, Any], need: dict[str, Any]) -> None:
        """Returned money goes back to each donation it was drawn from."""
        general = 0
        for source in grant["sources"]:
            donation = self._donation(ctx, source["donation"])
            donation["remaining"] += source["amount"]
            ctx.put(self._pool_key(donation), donation["id"])
            donation["uses"] = [{**use, "returned": True} if use["grant"] == grant["id"] else use
                                for use in donation["uses"]]
            ctx.put(f"don/{donation['id']}", donation)
            general += source["amount"] if source["general"] else 0
        need["granted"] -= grant["amount"]
        need["general_used"] -= general
        if general:
            fund = self._fund(ctx, grant["charity"])
            fund["granted"] -= general
            ctx.put(f"fund/{grant['charity']}", fund)

    # -- reads ------------------------------------------------------------------------------------

    @query
    def need(self, ctx: Context, need_id: str) -> dict[str, Any]:
        """Public: a need's purpose, target, status and totals (no beneficiary data)."""
        return public_need(self._need(ctx, need_id))

    @query
    def need_detail(self, ctx: Context, need_id: str) -> dict[str, Any]:
        """The whole need, with the beneficiary pseudonym: its charity, its verifier, the authority
        and regulators (a signed read)."""
        need = self._need(ctx, need_id)
        org = ctx.require_caller().org
        require(org in (need["charity"], need["verifier"]) or self._is_overseer(ctx),
                Forbidden(f"{org} may not see the beneficiary of need {need_id}", code="NOT_VISIBLE"))
        return need

    @query
    def needs(self, ctx: Context, charity: str = "", status: str = "") -> dict[str, Any]:
        """Public: needs, newest first, of one charity or all, optionally of one status."""
        if charity:
            ids = [key.rsplit("/", 1)[1] for key, _ in ctx.range(f"byc/{charity}/", limit=MAX_LIST)]
        else:
            ids = [key.split("/", 1)[1] for key, _ in ctx.range("need/", limit=MAX_LIST)]
        needs = [public_need(ctx.get(f"need/{i}")) for i in ids]
        needs = [n for n in needs if not status or n["status"] == status]
        return {"needs": sorted(needs, key=lambda n: (-n["created_ms"], n["id"]))}

    @query
    def donation(self, ctx: Context, donation_id: str) -> dict[str, Any]:
        """Public: a donation and where its money went (each use, with its grant's status)."""
        donation = public_donation(self._donation(ctx, donation_id))
        uses = []
        for use in donation["uses"]:
            grant = ctx.get(f"grant/{use['grant']}")
            uses.append({**use, "status": grant["status"], "kind": grant["kind"], "recipient": grant["recipient"],
                         "confirmed_ms": (grant["confirmation"] or {}).get("at_ms")})
        return {**donation, "uses": uses}

    @query
    def donations(self, ctx: Context, need_id: str = "", charity: str = "", after: str = "",
                  limit: int = 500) -> dict[str, Any]:
        """Public: the donations to a need (or to ``charity``'s general fund), oldest first, ``limit``
        at a time; ``next`` is the ``after`` of the next page."""
        require(type(limit) is int and 0 < limit <= MAX_LIST, refuse("BAD_ARGS", f"limit: 1 to {MAX_LIST}"))
        if need_id:
            charity = self._need(ctx, need_id)["charity"]
        else:
            require(self._role(ctx, charity, "charity"), refuse("NOT_CHARITY", f"{charity!r:.64} is not a charity"))
        prefix = f"dn/{charity}/{need_id or GENERAL}/"
        rows = ctx.range(prefix, limit=limit, after=prefix + after if after else "")
        return {"donations": [public_donation(ctx.get(f"don/{donation_id}")) for _, donation_id in rows],
                "next": rows[-1][0][len(prefix):] if len(rows) == limit else None}

    @query
    def grants(self, ctx: Context, need_id: str) -> dict[str, Any]:
        """Public: a need's grants, oldest first."""
        self._need(ctx, need_id)
        return {"grants": [ctx.get(f"grant/{key.rsplit('/', 1)[1]}") for key, _ in ctx.range(f"ng/{need_id}/", limit=MAX_LIST)]}

    @query
    def grant_record(self, ctx: Context, grant_id: str) -> dict[str, Any]:
        """Public: one grant, its sources and its confirmation or exception."""
        return self._grant(ctx, grant_id)

    @query
    def fund(self, ctx: Context, charity: str) -> dict[str, Any]:
        """Public: a charity's general fund (raised, granted)."""
        require(self._role(ctx, charity, "charity"), refuse("NOT_CHARITY", f"{charity!r:.64} is not a charity"))
        return self._fund(ctx, charity)

    @query
    def disclosure(self, ctx: Context, donation_id: str) -> dict[str, Any]:
        """The sealed donor disclosure for the caller's authority organisation (open it with its key)."""
        donation = self._donation(ctx, donation_id)
        org = ctx.require_caller().org
        require(ctx.org_kind(org) == "civil_affairs", Forbidden(f"{org} is not a civil-affairs authority",
                                                                code="NOT_CIVIL_AFFAIRS"))
        require(org in donation["sealed"], NotFound(f"donation {donation_id} has no disclosure sealed to {org}"
                                                    + (" (an organisation donated it by name)" if donation["donor"] else ""),
                                                    code="NO_DISCLOSURE"))
        return {"donation": donation_id, "donor_tag": donation["donor_tag"], "sealed": donation["sealed"][org]}

    @query
    def overview(self, ctx: Context) -> dict[str, Any]:
        """The authority's and regulators' view: totals per charity, needs by status, and grants
        past their confirmation deadline (block time)."""
        org = ctx.require_caller().org
        require(self._is_overseer(ctx), Forbidden(f"{org} is neither the civil-affairs authority nor a regulator",
                                                  code="NOT_VISIBLE"))
        needs = [n for _, n in ctx.range("need/", limit=100_000)]
        grants = [g for _, g in ctx.range("grant/", limit=100_000)]
        by_status: dict[str, int] = {}
        for need in needs:
            by_status[need["status"]] = by_status.get(need["status"], 0) + 1
        unmatched = [d for _, d in ctx.range("don/", limit=100_000) if d["status"] == "recorded"]
        overdue = [g for g in grants if g["status"] == "disbursed" and g["confirm_by_ms"] < ctx.time_ms]
        return {"charities": [self._fund(ctx, rec["org"]) | {"name": rec["name"]}
                              for _, rec in ctx.range("reg/charity/", limit=MAX_LIST)],
                "needs_by_status": dict(sorted(by_status.items())),
                "raised": sum(n["raised"] for n in needs), "granted": sum(n["granted"] for n in needs),
                "confirmed": sum(n["confirmed"] for n in needs), "exceptions": sum(n["exceptions"] for n in needs),
                "pending_needs": [public_need(n) for n in needs if n["status"] == "pending"],
                "unmatched_donations": [public_donation(d) for d in unmatched],
                "overdue_grants": sorted(overdue, key=lambda g: (g["confirm_by_ms"], g["id"]))}

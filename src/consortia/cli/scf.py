"""``consortia scf``: supply chain finance from the command line.

Amounts are typed in yuan ("1250000.00") and sent as integer fen; dates are calendar days
(midnight China Standard Time); rates are percent a year ("5.5" is 550 basis points).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import click

from consortia.apps.scf.codes import fen_to_yuan, yuan_to_fen
from consortia.cli.common import app_command, emit, time_zone
from consortia.errors import BadInput
from consortia.types.clock import day_start_ms, format_date

F = TypeVar("F", bound=Callable[..., Any])
CST = dt.timezone(dt.timedelta(hours=8), "CST")


scf_command = app_command


def fen(text: str) -> int:
    try:
        return yuan_to_fen(text)
    except ValueError as exc:
        raise BadInput(str(exc), code="BAD_AMOUNT") from None


# The zone dates are shown in: the chain's (see ``time_zone``), learnt by the command's client.
SHOWN_ZONE: list[str] = []


def day_ms(text: str) -> int:
    """``2027-03-31`` (midnight in the display zone, Asia/Shanghai unless CONSORTIA_TZ says
    otherwise) or ``+90d`` (90 days from now) to epoch ms."""
    if text.startswith("+") and text.endswith("d") and text[1:-1].isdigit():
        return int((dt.datetime.now(CST) + dt.timedelta(days=int(text[1:-1]))).timestamp() * 1000)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"expected a date like 2027-03-31 or +90d, got {text!r}", code="BAD_DATE") from None
    return day_start_ms(day, time_zone())


def show_day(ms: int) -> str:
    return format_date(ms, SHOWN_ZONE[-1] if SHOWN_ZONE else time_zone())


def _learn_zone(c: Any) -> None:
    SHOWN_ZONE.append(time_zone(c))


def rate_bp(text: str) -> int:
    try:
        value = Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise BadInput(f"expected a rate in percent a year like 5.5, got {text!r}", code="BAD_RATE") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise BadInput("rates have at most two decimals (basis points)", code="BAD_RATE")
    return int(value * 100)


def _client(home: Path, url: str, identity: str | None) -> Any:
    from consortia.cli.main import client_for

    return client_for(home, url, identity, need_identity=True)


# Which argument of a method names which kind of id: a unique prefix of one is resolved (a
# signed query) before signing, so the chain records the full id and a short one pastes back.
ID_ARGS = {"voucher_id": "voucher", "financing_id": "financing", "transfer_id": "transfer",
           "credit_line": "credit_line"}
FULL_ID_LENGTH = 32


def full_ids(c: Any, args: dict[str, Any]) -> dict[str, Any]:
    resolved = dict(args)
    for name, kind in ID_ARGS.items():
        value = args.get(name)
        if isinstance(value, str) and len(value) < FULL_ID_LENGTH:
            resolved[name] = c.query("scf", "resolve", {"kind": kind, "prefix": value}, signed=True)["id"]
    return resolved


def _send(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any], as_json: bool,
          human: Callable[[Any], None]) -> None:
    with _client(home, url, identity) as c:
        result = c.call("scf", method, full_ids(c, args))
        _learn_zone(c)
    emit(result, as_json, human)


def _ask(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any], as_json: bool,
         human: Callable[[Any], None]) -> None:
    with _client(home, url, identity) as c:
        result = c.query("scf", method, args, signed=True)
        _learn_zone(c)
    emit(result, as_json, human)



def _said(template: str) -> Callable[[Any], None]:
    return lambda r: click.echo(template.format(**{k: (fen_to_yuan(v) if k in ("amount", "face", "limit", "advance",
                                                                              "total", "fees") and isinstance(v, int)
                                                       else v) for k, v in r.items()}))


@click.group()
def scf() -> None:
    """Supply chain finance: credit lines, receivable vouchers, split-transfers, financing."""


@scf.group()
def party() -> None:
    """Supply-chain parties (one per organisation)."""


@scf_command(party, "register", "consortia scf party register --role supplier --uscc 91320500MA1JL0417R "
                                "--name 'Suzhou Jinglian Precision Parts' --as jinglian-parts/admin")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice(["core", "supplier", "funder", "regulator"]), help="Role(s); repeat for several.")
@click.option("--uscc", required=True, help="Unified social credit code (18 characters, check digit validated).")
@click.option("--name", required=True, help="Registered name.")
def party_register(roles: tuple[str, ...], uscc: str, name: str, home: Path, url: str, identity: str | None,
                   as_json: bool) -> None:
    """Register your organisation as a party (signed by its admin)."""
    _send(home, url, identity, "register_party", {"roles": list(roles), "uscc": uscc, "name": name}, as_json,
          lambda r: click.echo(f"registered {r['org']} as {', '.join(r['roles'])} (USCC {r['uscc']})"))


@scf_command(party, "list", "consortia scf party list")
def party_list(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """All registered parties."""
    def human(rows: list[dict[str, Any]]) -> None:
        for p in rows:
            click.echo(f"{p['org']:<20} {','.join(p['roles']):<12} {p['uscc']}  {p['name']}")
    _ask(home, url, identity, "parties", {}, as_json, human)


@scf.group()
def credit() -> None:
    """Credit lines granted by funders to core enterprises."""


@scf_command(credit, "grant", "consortia scf credit grant hongqiao-auto 50000000 --expires 2027-12-31 "
                              "--as pudong-bank/admin")
@click.argument("core")
@click.argument("limit")
@click.option("--expires", required=True, help="Last day of the line (2027-12-31) or +365d.")
def credit_grant(core: str, limit: str, expires: str, home: Path, url: str, identity: str | None,
                 as_json: bool) -> None:
    """Grant CORE a credit line of LIMIT yuan."""
    _send(home, url, identity, "grant_credit_line", {"core": core, "limit": fen(limit), "expires_ms": day_ms(expires)},
          as_json, _said("credit line {id}: {funder} -> {core}, limit {limit} yuan"))


@scf.group()
def doc() -> None:
    """Underlying trade documents (digest on-chain, the file stays with you)."""


@scf_command(doc, "register", "consortia scf doc register invoice JL-INV-0417 --file invoice.pdf --amount 1000000 "
                              "--counterparty hongqiao-auto --as jinglian-parts/admin")
@click.argument("kind", type=click.Choice(["contract", "invoice", "delivery", "customs"]))
@click.argument("number")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Hash this file locally (SHA-256); it is never sent.")
@click.option("--digest", help="Or give the digest (hex) directly.")
@click.option("--algorithm", default="sha-256", show_default=True, type=click.Choice(["sha-256", "sm3"]))
@click.option("--amount", required=True, help="Amount on the document, in yuan.")
@click.option("--counterparty", required=True, help="The other party's organisation id.")
def doc_register(kind: str, number: str, path: Path | None, digest: str | None, algorithm: str, amount: str,
                 counterparty: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Register a document by its digest."""
    if (path is None) == (digest is None):
        raise click.UsageError("give exactly one of --file or --digest")
    if path is not None:
        if algorithm != "sha-256":
            raise click.UsageError("--file hashes with sha-256; give --digest for sm3")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _send(home, url, identity, "register_document", {"kind": kind, "number": number, "digest": digest,
                                                     "algorithm": algorithm, "amount": fen(amount),
                                                     "counterparty": counterparty},
          as_json, _said("document {id}: {algorithm} {digest}, {amount} yuan"))


@scf_command(doc, "show", "consortia scf doc show jinglian-parts:invoice:JL-INV-0417")
@click.argument("document_id")
def docemit(document_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """A document's record and how much has been financed against it."""
    _ask(home, url, identity, "document", {"document_id": document_id}, as_json,
         lambda d: click.echo(f"{d['id']}  {d['algorithm']} {d['digest']}\n  amount {fen_to_yuan(d['amount'])} yuan, "
                              f"financed {fen_to_yuan(d['financed'])} yuan"))


@scf.group()
def voucher() -> None:
    """Receivable vouchers: issue, accept, split-transfer, settle."""


@scf_command(voucher, "issue", "consortia scf voucher issue jinglian-parts 1000000 --due +90d --line 3f2a... "
                               "--doc jinglian-parts:invoice:JL-INV-0417 --as hongqiao-auto/admin")
@click.argument("to")
@click.argument("amount")
@click.option("--due", required=True, help="Due date (2027-03-31) or +90d; at most one year ahead.")
@click.option("--line", "credit_line", required=True, help="Credit line id.")
@click.option("--doc", "documents", multiple=True, required=True, help="Underlying document id; repeat for several.")
@click.option("--memo", default="", help="Free text (500 characters at most).")
def voucher_issue(to: str, amount: str, due: str, credit_line: str, documents: tuple[str, ...], memo: str,
                  home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Issue a voucher of AMOUNT yuan to supplier TO."""
    _send(home, url, identity, "issue", {"to": to, "amount": fen(amount), "due_ms": day_ms(due),
                                         "credit_line": credit_line, "documents": list(documents), "memo": memo},
          as_json, _said("voucher {id}: {amount} yuan offered to {holder}"))


@scf_command(voucher, "accept", "consortia scf voucher accept 9c1e... --as jinglian-parts/admin")
@click.argument("voucher_id")
def voucher_accept(voucher_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Accept a voucher offered to you."""
    _send(home, url, identity, "accept", {"voucher_id": voucher_id}, as_json, _said("voucher {id} is now {status}"))


@scf_command(voucher, "reject", "consortia scf voucher reject 9c1e... --reason 'wrong quantity'")
@click.argument("voucher_id")
@click.option("--reason", default="")
def voucher_reject(voucher_id: str, reason: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Refuse a voucher offered to you; the core enterprise's credit line gets it back."""
    _send(home, url, identity, "reject", {"voucher_id": voucher_id, "reason": reason}, as_json,
          _said("voucher {id} rejected"))


@scf_command(voucher, "transfer", "consortia scf voucher transfer 9c1e... --to hengtai-castings:400000 "
                                  "--as jinglian-parts/admin")
@click.argument("voucher_id")
@click.option("--to", "outputs", multiple=True, required=True, help="ORG:AMOUNT_YUAN; repeat for several receivers.")
def voucher_transfer(voucher_id: str, outputs: tuple[str, ...], home: Path, url: str, identity: str | None,
                     as_json: bool) -> None:
    """Offer parts of a voucher you hold; the rest stays with you once all receivers answer."""
    parsed = []
    for out in outputs:
        org, sep, amount = out.partition(":")
        if not sep:
            raise click.UsageError(f"--to expects ORG:AMOUNT, got {out!r}")
        parsed.append({"to": org, "amount": fen(amount)})
    _send(home, url, identity, "propose_transfer", {"voucher_id": voucher_id, "outputs": parsed}, as_json,
          _said("transfer {id} proposed; waiting for the receivers"))


@scf_command(voucher, "show", "consortia scf voucher show 9c1e...")
@click.argument("voucher_id")
def voucheremit(voucher_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """One voucher piece."""
    _ask(home, url, identity, "voucher", {"voucher_id": voucher_id}, as_json,
         lambda p: click.echo(f"{p['id']}  {fen_to_yuan(p['amount'])} yuan  held by {p['holder']}  {p['status']}  "
                              f"due {show_day(p['due_ms'])}  tier {p['tier']}"))


@scf_command(voucher, "lineage", "consortia scf voucher lineage 9c1e...")
@click.argument("voucher_id")
def voucher_lineage(voucher_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The whole tree of a voucher down the supplier tiers."""
    def human(t: dict[str, Any]) -> None:
        click.echo(f"voucher {t['root']} by {t['issuer']}: face {fen_to_yuan(t['face'])} yuan, due {show_day(t['due_ms'])}"
                   f", live {fen_to_yuan(t['live'])}, settled {fen_to_yuan(t['settled'])}")

        for node in t["pieces"]:
            lien = f" (pledged to {node['lien']})" if node["lien"] else ""
            click.echo(f"{'  ' * (node['depth'] + 1)}- tier {node['tier']} {node['holder']:<20} "
                       f"{fen_to_yuan(node['amount']):>16} {node['status']}{lien}  {node['id']}")
        for f in t["financings"]:
            click.echo(f"  financing {f['id']} {f['kind']} by {f['funder']}: {fen_to_yuan(f['face'])} yuan, "
                       f"{f['status']}")
    _ask(home, url, identity, "lineage", {"voucher_id": voucher_id}, as_json, human)


@scf_command(voucher, "settle", "consortia scf voucher settle 9c1e... --as hongqiao-auto/admin")
@click.argument("voucher_id")
def voucher_settle(voucher_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Pay a due voucher: every live piece's holder (or its pledgee) is credited."""
    def human(r: dict[str, Any]) -> None:
        click.echo(f"settled {r['voucher']}: {fen_to_yuan(r['total'])} yuan in {len(r['payments'])} payments")
        for p in r["payments"]:
            click.echo(f"  {p['payee']:<20} {fen_to_yuan(p['amount']):>16}  (piece {p['piece']} held by {p['holder']})")
    _send(home, url, identity, "settle", {"voucher_id": voucher_id}, as_json, human)


@scf_command(voucher, "overdue", "consortia scf voucher overdue 9c1e... --as sh-regulator/admin")
@click.argument("voucher_id")
def voucher_overdue(voucher_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Mark a voucher that is past due and unpaid as overdue."""
    _send(home, url, identity, "mark_overdue", {"voucher_id": voucher_id}, as_json,
          _said("voucher {voucher}: {pieces_marked} piece(s) marked overdue"))


@scf.group()
def transfer() -> None:
    """Answer or cancel split-transfers."""


@scf_command(transfer, "answer", "consortia scf transfer answer 7d0b... --accept --as hengtai-castings/admin")
@click.argument("transfer_id")
@click.option("--accept/--reject", required=True)
def transfer_answer(transfer_id: str, accept: bool, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Accept or reject what a transfer offers you."""
    _send(home, url, identity, "answer_transfer", {"transfer_id": transfer_id, "accept": accept}, as_json,
          _said("transfer {id} is {status}"))


@scf_command(transfer, "cancel", "consortia scf transfer cancel 7d0b... --as jinglian-parts/admin")
@click.argument("transfer_id")
def transfer_cancel(transfer_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Withdraw a transfer nobody has answered yet."""
    _send(home, url, identity, "cancel_transfer", {"transfer_id": transfer_id}, as_json, _said("transfer {id} {status}"))


@scf.group()
def finance() -> None:
    """Financing: factoring or pledge of a voucher piece."""


@scf_command(finance, "apply", "consortia scf finance apply 9c1e... --funder pudong-bank --kind factoring "
                               "--as hengtai-castings/admin")
@click.argument("voucher_id")
@click.option("--funder", required=True)
@click.option("--kind", required=True, type=click.Choice(["factoring", "pledge"]))
def finance_apply(voucher_id: str, funder: str, kind: str, home: Path, url: str, identity: str | None,
                  as_json: bool) -> None:
    """Ask a funder to finance a whole piece you hold."""
    _send(home, url, identity, "apply_financing", {"voucher_id": voucher_id, "funder": funder, "kind": kind}, as_json,
          _said("financing {id}: {kind} of {face} yuan asked of {funder}"))


@scf_command(finance, "approve", "consortia scf finance approve 51aa... --rate 5.5 --fees 200 --as pudong-bank/admin")
@click.argument("financing_id")
@click.option("--rate", required=True, help="Discount rate, percent a year (5.5).")
@click.option("--fees", default="0", show_default=True, help="Fees in yuan.")
def finance_approve(financing_id: str, rate: str, fees: str, home: Path, url: str, identity: str | None,
                    as_json: bool) -> None:
    """Price a financing; its face amount is reserved against the underlying documents."""
    _send(home, url, identity, "approve_financing", {"financing_id": financing_id, "rate_bp": rate_bp(rate),
                                                     "fees": fen(fees)},
          as_json, _said("financing {id} approved: advance {advance} yuan"))


@scf_command(finance, "disburse", "consortia scf finance disburse 51aa... --as pudong-bank/admin")
@click.argument("financing_id")
def finance_disburse(financing_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Pay the advance (factoring takes the piece, a pledge puts a lien on it)."""
    _send(home, url, identity, "disburse", {"financing_id": financing_id}, as_json,
          _said("financing {id} disbursed: {advance} yuan"))


@scf_command(finance, "decline", "consortia scf finance decline 51aa... --reason 'limit reached'")
@click.argument("financing_id")
@click.option("--reason", default="")
def finance_decline(financing_id: str, reason: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Decline a financing before disbursement."""
    _send(home, url, identity, "decline_financing", {"financing_id": financing_id, "reason": reason}, as_json,
          _said("financing {id} {status}"))


@scf_command(finance, "withdraw", "consortia scf finance withdraw 51aa... --as hengtai-castings/admin")
@click.argument("financing_id")
def finance_withdraw(financing_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Withdraw your application before the funder approves it."""
    _send(home, url, identity, "withdraw_financing", {"financing_id": financing_id}, as_json,
          _said("financing {id} {status}"))


@scf_command(finance, "release", "consortia scf finance release 51aa... --as pudong-bank/admin")
@click.argument("financing_id")
def finance_release(financing_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Lift a pledge once its loan is repaid."""
    _send(home, url, identity, "release_pledge", {"financing_id": financing_id}, as_json, _said("pledge {id} released"))


@scf_command(scf, "holdings", "consortia scf holdings jinglian-parts --as jinglian-parts/admin")
@click.argument("org")
def holdings(org: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Live voucher pieces held by ORG (yours, or any as a regulator)."""
    def human(h: dict[str, Any]) -> None:
        click.echo(f"{h['org']} holds {fen_to_yuan(h['total'])} yuan in {len(h['pieces'])} piece(s)")
        for p in h["pieces"]:
            click.echo(f"  {p['id']}  {fen_to_yuan(p['amount']):>16}  {p['status']:<12} from {p['issuer']}, "
                       f"due {show_day(p['due_ms'])}")
    _ask(home, url, identity, "holdings", {"org": org}, as_json, human)


@scf_command(scf, "inbox", "consortia scf inbox --as hengtai-castings/admin")
def inbox(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Vouchers and transfers waiting for your answer."""
    def human(i: dict[str, Any]) -> None:
        for p in i["offered"]:
            click.echo(f"voucher  {p['id']}  {fen_to_yuan(p['amount'])} yuan from {p['issuer']}")
        for t in i["transfers"]:
            mine = sum(o["amount"] for o in t["outputs"] if o["to"] == i["org"] and o["decision"] is None)
            click.echo(f"transfer {t['id']}  {fen_to_yuan(mine)} yuan from {t['from']}")
        if not i["offered"] and not i["transfers"]:
            click.echo("nothing waiting")
    _ask(home, url, identity, "inbox", {}, as_json, human)


@scf_command(scf, "financed", "consortia scf financed pudong-bank --as pudong-bank/admin")
@click.argument("funder")
def financed(funder: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """What FUNDER has financed."""
    def human(f: dict[str, Any]) -> None:
        click.echo(f"{f['funder']}: {fen_to_yuan(f['outstanding'])} yuan outstanding")
        for row in f["financings"]:
            click.echo(f"  {row['id']} {row['kind']:<9} {fen_to_yuan(row['face']):>16} {row['status']:<9} "
                       f"for {row['applicant']} (core {row['core']})")
    _ask(home, url, identity, "financed_by", {"funder": funder}, as_json, human)


@scf_command(scf, "exposure", "consortia scf exposure hongqiao-auto --as pudong-bank/admin")
@click.argument("core")
def exposure(core: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """A core enterprise's outstanding vouchers, financing against them, and credit lines."""
    def human(e: dict[str, Any]) -> None:
        click.echo(f"{e['core']}: outstanding {fen_to_yuan(e['outstanding'])}, financed {fen_to_yuan(e['financed'])}, "
                   f"settled {fen_to_yuan(e['settled'])} yuan; credit used {fen_to_yuan(e['used'])} of "
                   f"{fen_to_yuan(e['limit'])}")
        if e["overdue_vouchers"]:
            click.echo(f"  overdue: {', '.join(e['overdue_vouchers'])}")
    _ask(home, url, identity, "exposure", {"core": core}, as_json, human)


@scf_command(scf, "overview", "consortia scf overview --as sh-regulator/admin")
def overview(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Everything, summarised (regulators only)."""
    def human(o: dict[str, Any]) -> None:
        counts = ", ".join(f"{n} {status}" for status, n in o["financings_by_status"].items()) or "none"
        click.echo(f"{o['parties']} parties; financed outstanding {fen_to_yuan(o['financed_outstanding'])} yuan; "
                   f"financings: {counts}")
        for e in o["exposure"]:
            click.echo(f"  core {e['core']}: outstanding {fen_to_yuan(e['outstanding'])}, "
                       f"financed {fen_to_yuan(e['financed'])} yuan, {e['vouchers']} vouchers")
    _ask(home, url, identity, "overview", {}, as_json, human)

"""``consortia trade``: customs declarations, financing quota and documentary credits.

Amounts are typed in the currency's major units ("120,000.00" USD, "1000" JPY) and sent as
integer minor units; exchange rates are exact decimals ("7.1025" CNY per USD)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import click

from consortia.apps.trade.money import format_minor, parse_major
from consortia.cli.common import app_command
from consortia.errors import BadInput

DOCUMENT_KINDS = ("bill_of_lading", "commercial_invoice", "packing_list", "customs_declaration",
                  "certificate_of_origin", "insurance_certificate")


def minor(text: str, currency: str) -> int:
    try:
        return parse_major(text, currency)
    except ValueError as exc:
        raise BadInput(str(exc), code="BAD_AMOUNT") from None


def _call(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any]) -> Any:
    from consortia.cli.main import client_for

    with client_for(home, url, identity, need_identity=True) as c:
        return c.call("trade", method, args)


def _ask(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any]) -> Any:
    from consortia.cli.main import client_for

    with client_for(home, url, identity, need_identity=True) as c:
        return c.query("trade", method, args, signed=True)


def _show(result: Any, as_json: bool, line: str) -> None:
    click.echo(json.dumps(result, indent=2, ensure_ascii=False) if as_json else line)


@click.group()
def trade() -> None:
    """Trade finance: customs declarations, quota drawn by banks, documentary credits."""


@app_command(trade, "declare", "consortia trade declare 223320260000123456 --exporter jinglian-parts "
                               "--uscc 91320500MA1JL0417R --line '8708301000:brake calipers:2000:set:120000.00' "
                               "--currency USD --port '2248 Yangshan' --date 2026-01-05 --as sh-customs/admin")
@click.argument("number")
@click.option("--exporter", required=True, help="The exporter: an organisation or a hosted member org/name.")
@click.option("--uscc", required=True, help="The exporter's unified social credit code.")
@click.option("--line", "lines", multiple=True, required=True,
              help="HS code:description:quantity:unit:value (value in major units); repeat per item.")
@click.option("--currency", required=True, help="ISO 4217 code of the declared value.")
@click.option("--port", required=True, help="Port of export (customs code and name).")
@click.option("--date", required=True, help="Date of the declaration, YYYY-MM-DD.")
@click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The declaration form; its SHA-256 digest goes on the chain.")
def declare(number: str, exporter: str, uscc: str, lines: tuple[str, ...], currency: str, port: str, date: str,
            file: Path | None, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Attest export declaration NUMBER (customs only)."""
    items = []
    for text in lines:
        parts = text.rsplit(":", 3)
        head = parts[0].split(":", 1) if parts else []
        if len(parts) != 4 or len(head) != 2 or not parts[1].isdigit():
            raise BadInput(f"--line {text!r}: expected HS:description:quantity:unit:value", code="BAD_ARGS")
        items.append({"hs_code": head[0], "description": head[1], "quantity": int(parts[1]), "unit": parts[2],
                      "value": minor(parts[3], currency)})
    digest = hashlib.sha256(file.read_bytes()).hexdigest() if file else ""
    result = _call(home, url, identity, "declare", {
        "number": number, "exporter": exporter, "exporter_uscc": uscc, "lines": items, "currency": currency,
        "port": port, "date": date, "digest": digest, "algorithm": "sha-256" if file else ""})
    _show(result, as_json, f"declaration {number} attested: {format_minor(result['value'], currency)} by {exporter}")


@app_command(trade, "show", "consortia trade show 223320260000123456 --as pudong-bank/admin")
@click.argument("number")
def show(number: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """A declaration, the quota drawn and left, and the draws you may see."""
    found = _ask(home, url, identity, "declaration", {"number": number})
    if as_json:
        _show(found, True, "")
        return
    cur = found["currency"]
    click.echo(f"declaration {number}  {found['status']}  exporter {found['exporter']}  port {found['port']}  {found['date']}")
    click.echo(f"  value {format_minor(found['value'], cur)}  drawn {format_minor(found['drawn'], cur)}  "
               f"left {format_minor(found['left'], cur)}")
    for d in found["draws"]:
        click.echo(f"  {d['id']}  {d['bank']:<14} {d['kind']:<17} {format_minor(d['amount'], d['currency'])} "
                   f"@ {d['fx_rate']} = {format_minor(d['counted'], cur)}  {d['status']}")


@app_command(trade, "draw", "consortia trade draw 223320260000123456 426150.00 --currency CNY --rate 7.1025 "
                            "--as pudong-bank/admin")
@click.argument("number")
@click.argument("amount")
@click.option("--currency", required=True, help="Currency of the financing.")
@click.option("--rate", default="1", show_default=True,
              help="Units of the financing's currency per unit of the declaration's currency.")
@click.option("--kind", type=click.Choice(["export_financing", "letter_of_credit", "guarantee"]),
              default="export_financing", show_default=True)
@click.option("--reference", default="", help="Your own reference of the financing.")
def draw(number: str, amount: str, currency: str, rate: str, kind: str, reference: str, home: Path, url: str,
         identity: str | None, as_json: bool) -> None:
    """Draw quota against declaration NUMBER for a financing of AMOUNT (banks only)."""
    result = _call(home, url, identity, "draw", {"declaration": number, "amount": minor(amount, currency),
                                                 "currency": currency, "fx_rate": rate, "kind": kind,
                                                 "reference": reference})
    _show(result, as_json, f"draw {result['id']}: {format_minor(result['amount'], currency)} counted "
                           f"{result['counted']} minor units against {number}")


@app_command(trade, "release", "consortia trade release 3f2a9c... --as pudong-bank/admin")
@click.argument("draw_id")
def release(draw_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Give back the quota of your draw DRAW_ID (the financing is repaid)."""
    result = _call(home, url, identity, "release", {"draw_id": draw_id})
    _show(result, as_json, f"draw {draw_id} released from {result['declaration']}")


@app_command(trade, "overview", "consortia trade overview --as sh-regulator/admin")
def overview(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Every declaration and every bank's draws against it (regulators)."""
    found = _ask(home, url, identity, "overview", {})
    if as_json:
        _show(found, True, "")
        return
    for d in found["declarations"]:
        click.echo(f"{d['number']}  {d['exporter']:<28} value {format_minor(d['value'], d['currency'])}  "
                   f"left {format_minor(d['left'], d['currency'])}")
    click.echo(f"open draws by bank: {found['open_draws_by_bank']}; credits: {len(found['credits'])}")


@trade.group()
def credit() -> None:
    """Documentary credits: apply, issue, present documents, accept or refuse, pay."""


@app_command(credit, "apply", "consortia trade credit apply --bank huitong-bank --beneficiary jinglian-parts "
                              "--amount 50000.00 --currency USD --latest-shipment 2027-03-31 --expiry 2027-04-30 "
                              "--doc bill_of_lading --doc commercial_invoice --goods 'brake calipers' "
                              "--as huanyu-trading/admin")
@click.option("--bank", required=True, help="Your bank, which issues the credit.")
@click.option("--beneficiary", required=True, help="Who is paid against complying documents.")
@click.option("--amount", required=True, help="Amount of the credit, major units.")
@click.option("--currency", required=True)
@click.option("--latest-shipment", required=True, help="YYYY-MM-DD")
@click.option("--expiry", required=True, help="YYYY-MM-DD")
@click.option("--doc", "docs", multiple=True, required=True, type=click.Choice(DOCUMENT_KINDS),
              help="A document the beneficiary must present; repeat.")
@click.option("--goods", required=True, help="Description of the goods.")
def credit_apply(bank: str, beneficiary: str, amount: str, currency: str, latest_shipment: str, expiry: str,
                 docs: tuple[str, ...], goods: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Apply to your bank for a documentary credit (the importer)."""
    result = _call(home, url, identity, "apply_credit", {
        "bank": bank, "beneficiary": beneficiary, "amount": minor(amount, currency), "currency": currency,
        "latest_shipment": latest_shipment, "expiry": expiry, "documents": list(docs), "goods": goods})
    _show(result, as_json, f"credit {result['id']} applied for at {bank}")


@app_command(credit, "issue", "consortia trade credit issue 9b1c... --as huitong-bank/admin")
@click.argument("credit_id")
def credit_issue(credit_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Issue the credit applied for (the importer's bank)."""
    result = _call(home, url, identity, "issue_credit", {"credit_id": credit_id})
    _show(result, as_json, f"credit {credit_id} issued: {format_minor(result['amount'], result['currency'])}")


@app_command(credit, "present", "consortia trade credit present 9b1c... --amount 50000.00 --shipped 2027-03-20 "
                                "--doc bill_of_lading=bl.pdf --doc commercial_invoice=inv.pdf "
                                "--declaration 223320260000123456 --as jinglian-parts/admin")
@click.argument("credit_id")
@click.option("--amount", required=True, help="Amount claimed, major units of the credit's currency.")
@click.option("--currency", default="USD", show_default=True, help="The credit's currency.")
@click.option("--shipped", required=True, help="Shipment date on the transport document, YYYY-MM-DD.")
@click.option("--doc", "docs", multiple=True, required=True,
              help="kind=file: the file's SHA-256 digest is presented; repeat per document.")
@click.option("--declaration", default="", help="The customs declaration number, if the credit asks for it.")
def credit_present(credit_id: str, amount: str, currency: str, shipped: str, docs: tuple[str, ...], declaration: str,
                   home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Present documents under a credit (the beneficiary); the chain names any discrepancy."""
    documents = []
    for text in docs:
        kind, sep, name = text.partition("=")
        if not sep or kind not in DOCUMENT_KINDS:
            raise BadInput(f"--doc {text!r}: expected kind=file with a kind among {DOCUMENT_KINDS}", code="BAD_ARGS")
        documents.append({"kind": kind, "digest": hashlib.sha256(Path(name).read_bytes()).hexdigest(),
                          "algorithm": "sha-256"})
    result = _call(home, url, identity, "present", {"credit_id": credit_id, "amount": minor(amount, currency),
                                                    "shipment_date": shipped, "documents": documents,
                                                    "declaration": declaration})
    found = ", ".join(f"{d['code']} ({d['detail']})" for d in result["discrepancies"]) or "none"
    _show(result, as_json, f"presentation {result['id']}: discrepancies {found}")


@app_command(credit, "accept", "consortia trade credit accept 51d0... --as huitong-bank/admin")
@click.argument("presentation_id")
def credit_accept(presentation_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Accept a complying presentation (the issuing bank)."""
    result = _call(home, url, identity, "accept_documents", {"presentation_id": presentation_id})
    _show(result, as_json, f"presentation {presentation_id} accepted")


@app_command(credit, "refuse", "consortia trade credit refuse 51d0... --reason 'late shipment' --as huitong-bank/admin")
@click.argument("presentation_id")
@click.option("--reason", "reasons", multiple=True, help="Why; repeat. Needed when the chain found no discrepancy.")
def credit_refuse(presentation_id: str, reasons: tuple[str, ...], home: Path, url: str, identity: str | None,
                  as_json: bool) -> None:
    """Refuse a presentation, naming the reasons (the issuing bank)."""
    result = _call(home, url, identity, "refuse_documents", {"presentation_id": presentation_id, "reasons": list(reasons)})
    _show(result, as_json, f"presentation {presentation_id} refused")


@app_command(credit, "pay", "consortia trade credit pay 51d0... --as huitong-bank/admin")
@click.argument("presentation_id")
def credit_pay(presentation_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Pay an accepted presentation (the issuing bank)."""
    result = _call(home, url, identity, "pay", {"presentation_id": presentation_id})
    c = result["credit"]
    _show(result, as_json, f"paid {format_minor(result['presentation']['amount'], c['currency'])} to {c['beneficiary']}; "
                           f"credit {c['id']} is {c['status']}")


@app_command(credit, "show", "consortia trade credit show 9b1c... --as huanyu-trading/admin")
@click.argument("credit_id")
def credit_show(credit_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """A documentary credit (its parties and regulators)."""
    _show(_ask(home, url, identity, "credit", {"credit_id": credit_id}), True, "")

"""``consortia invoice``: electronic VAT invoices (数电发票) from the command line.

Invoices are JSON files in the contract's shape (money in integer fen; quantities, unit prices and
tax rates as strings); line amounts, tax amounts, totals and the total in capital numerals may be
left out and are computed. Amounts typed on the command line are in yuan ("1250.00").
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click

from consortia.apps.invoice.model import yuan
from consortia.apps.scf.codes import yuan_to_fen
from consortia.cli.common import app_command, emit, example, handle_errors
from consortia.errors import BadInput

CST = dt.timezone(dt.timedelta(hours=8), "CST")


def _client(home: Path, url: str, identity: str | None, *, need_identity: bool = True) -> Any:
    from consortia.cli.main import client_for

    return client_for(home, url, identity, need_identity=need_identity)



def _said(record: dict[str, Any]) -> None:
    click.echo(f"{record['number']} {record['kind']} {record['status']}: ¥{yuan(record['total'])} "
               f"{record['seller']} -> {record['buyer']}"
               + (f", reversed ¥{yuan(record['reversed'])}" if record["reversed"] else "")
               + (f", claimed by {record['claimant']}" if record["claimant"] else ""))


def _rows(result: dict[str, Any]) -> None:
    for i in result["invoices"]:
        click.echo(f"{i['number']} {i['issue_date']} {i['kind']} {i['status']:<10} ¥{yuan(i['total']):>14} "
                   f"{i['seller']} -> {i['buyer']}" + (" FLAGGED" if i["flags"] else ""))


def _load(path: Path) -> dict[str, Any]:
    from consortia.apps.invoice.sdk import load_invoice

    if not path.is_file():
        raise BadInput(f"{path}: no such file", code="NO_FILE")
    return load_invoice(path)


def _send(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any], as_json: bool) -> None:
    with _client(home, url, identity) as c:
        result = c.call("invoice", method, args)
    emit(result, as_json, _said)


@click.group()
def invoice() -> None:
    """Electronic invoices: issue, deliver, claim and reimburse once, red-letter reversal, verification."""


@invoice.group()
def taxpayer() -> None:
    """Taxpayers (one USCC per organisation)."""


@app_command(taxpayer, "register", "consortia invoice taxpayer register --uscc 91320500MA1JL0417R "
                                   "--name 'Suzhou Jinglian Precision Parts Co., Ltd.' --as jinglian-parts/admin")
@click.option("--uscc", required=True, help="Unified social credit code (check character validated).")
@click.option("--name", required=True, help="Registered name.")
def taxpayer_register(uscc: str, name: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Register your organisation as a taxpayer (signed by its admin)."""
    with _client(home, url, identity) as c:
        result = c.call("invoice", "register_taxpayer", {"uscc": uscc, "name": name})
    emit(result, as_json, lambda r: click.echo(f"registered {r['org']} as taxpayer {r['uscc']}"))


@invoice.command("check", epilog=example("consortia invoice check invoice.json"))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the completed invoice as JSON.")
@handle_errors
def check(file: Path, as_json: bool) -> None:
    """Complete and check an invoice file locally (sums, numerals, USCC, number); nothing is sent."""
    content = _load(file)
    if as_json:
        click.echo(json.dumps(content, indent=2, ensure_ascii=False))
    else:
        totals = content["totals"]
        click.echo(f"{content['number']}: {len(content['lines'])} line(s), amount ¥{yuan(totals['amount'])}, "
                   f"tax ¥{yuan(totals['tax'])}, total ¥{yuan(totals['total'])} ({totals['total_in_words']})")


@app_command(invoice, "issue", "consortia invoice issue invoice.json --as jinglian-parts/admin")
@click.argument("file", type=click.Path(path_type=Path))
def issue(file: Path, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Issue the invoice in FILE (JSON import; a red-letter invoice names its `original`) as its seller."""
    _send(home, url, identity, "issue", {"content": _load(file)}, as_json)


@app_command(invoice, "deliver", "consortia invoice deliver 26442000000000000001 --as jinglian-parts/admin")
@click.argument("number")
def deliver(number: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Deliver an issued invoice to its buyer (the seller signs)."""
    _send(home, url, identity, "deliver", {"number": number}, as_json)


@app_command(invoice, "claim", "consortia invoice claim 26442000000000000001 invoice.json --as hongqiao-auto/clerk")
@click.argument("number")
@click.argument("file", type=click.Path(path_type=Path))
def claim(number: str, file: Path, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Claim an invoice for reimbursement as its buyer, presenting the invoice FILE as received."""
    if not file.is_file():
        raise BadInput(f"{file}: no such file", code="NO_FILE")
    from consortia.types import codec

    _send(home, url, identity, "claim", {"number": number, "content": codec.decode(file.read_bytes())}, as_json)


@app_command(invoice, "release", "consortia invoice release 26442000000000000001 --as hongqiao-auto/admin")
@click.argument("number")
def release(number: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Withdraw your claim on an invoice (it is delivered again)."""
    _send(home, url, identity, "release_claim", {"number": number}, as_json)


@app_command(invoice, "reimburse", "consortia invoice reimburse 26442000000000000001 --as hongqiao-auto/admin")
@click.argument("number")
def reimburse(number: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Pay a claim: the invoice is reimbursed, once across the whole chain."""
    _send(home, url, identity, "reimburse", {"number": number}, as_json)


@app_command(invoice, "book", "consortia invoice book 26442000000000000001 --as hongqiao-auto/admin")
@click.argument("number")
def book(number: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Book a reimbursed invoice in your accounts."""
    _send(home, url, identity, "book", {"number": number}, as_json)


@app_command(invoice, "reverse", "consortia invoice reverse 26442000000000000001 --number 26442000000000000002 "
                                 "--reason 销货退回 --amount 300.00 --as jinglian-parts/admin")
@click.argument("original")
@click.option("--number", "red_number", required=True, help="The red-letter invoice's own 20-digit number.")
@click.option("--reason", required=True, help="Why (销货退回, 开票有误, 服务中止, 销售折让...).")
@click.option("--amount", default=None, help="Net amount in yuan to reverse (default: the whole invoice).")
@click.option("--date", "issue_date", default=None, help="Issue date (default: today, China Standard Time).")
def reverse(original: str, red_number: str, reason: str, amount: str | None, issue_date: str | None, home: Path,
            url: str, identity: str | None, as_json: bool) -> None:
    """Issue a red-letter invoice reversing ORIGINAL in full or by a net amount (the seller signs)."""
    from consortia.apps.invoice.sdk import get_invoice, reverse_invoice

    fen = None
    if amount is not None:
        try:
            fen = yuan_to_fen(amount)
        except ValueError as exc:
            raise BadInput(str(exc), code="BAD_AMOUNT") from None
    day = issue_date or dt.datetime.now(CST).date().isoformat()
    with _client(home, url, identity) as c:
        result = reverse_invoice(c, get_invoice(c, original)["content"], red_number, day, reason, fen)
    emit(result, as_json, _said)


@app_command(invoice, "show", "consortia invoice show 26442000000000000001 --format pdf -o invoice.pdf")
@click.argument("number")
@click.option("--format", "fmt", type=click.Choice(["json", "html", "pdf", "xml"]), default="json", show_default=True,
              help="The chain's record, a printable page, a PDF in the official layout, or UBL 2.1 XML.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Write to this file.")
def show(number: str, fmt: str, output: Path | None, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """An invoice (seller, buyer, tax authority, regulators), as JSON, HTML, PDF or UBL 2.1 XML."""
    from consortia.apps.invoice.sdk import get_invoice, invoice_document

    with _client(home, url, identity) as c:
        if fmt == "json" and output is None:
            emit(get_invoice(c, number), True, _said)
            return
        data = invoice_document(c, number, fmt)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data)} bytes)")


@app_command(invoice, "verify", "consortia invoice verify 26442000000000000001 --file invoice.json")
@click.argument("number")
@click.option("--file", type=click.Path(path_type=Path), default=None, help="The invoice as received, to match.")
@click.option("--digest", default="", help="The digest from the invoice's QR code, to match.")
def verify(number: str, file: Path | None, digest: str, home: Path, url: str, identity: str | None,
           as_json: bool) -> None:
    """Check an invoice on the chain with no login: exists, matches, status, and the issue's Merkle proof."""
    from consortia.apps.invoice.contract import compute_digest
    from consortia.apps.invoice.sdk import verify_invoice

    with _client(home, url, identity, need_identity=False) as c:
        if file is not None:
            if not file.is_file():
                raise BadInput(f"{file}: no such file", code="NO_FILE")
            from consortia.types import codec

            digest = compute_digest(c.suite.name, codec.decode(file.read_bytes()))
        found = verify_invoice(c, number, digest)

    def human(r: dict[str, Any]) -> None:
        if not r["exists"]:
            click.echo(f"{number}: not issued on this chain")
            return
        match = {True: "matches the invoice as issued", False: "DOES NOT MATCH the invoice as issued",
                 None: "content not checked"}[r["matches"]]
        proof = r["proof"]
        click.echo(f"{number}: {r['status']}, total ¥{yuan(r['total'])}, {match}; issued in block {r['height']} "
                   f"(proof {'valid' if proof and proof['valid'] else 'INVALID'}, attested by "
                   f"{', '.join(proof['attested_by']) if proof else '-'})")

    emit(found, as_json, human)
    if found["exists"] and found["matches"] is False:
        sys.exit(6)


@app_command(invoice, "list", "consortia invoice list --role buyer --as hongqiao-auto/admin")
@click.option("--role", type=click.Choice(["buyer", "seller"]), default="buyer", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True)
def list_invoices(role: str, limit: int, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Your organisation's invoices as buyer or seller."""
    with _client(home, url, identity) as c:
        result = c.query("invoice", "mine", {"role": role, "limit": limit}, signed=True)
    emit(result, as_json, _rows)


@app_command(invoice, "all", "consortia invoice all --as sz-tax/admin")
@click.option("--limit", type=click.IntRange(1, 1000), default=200, show_default=True)
@click.option("--after", default="", help="Continue after this invoice number.")
def all_invoices(limit: int, after: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Every invoice on the chain (the tax authority and regulators)."""
    with _client(home, url, identity) as c:
        result = c.query("invoice", "all", {"limit": limit, "after": after}, signed=True)
    emit(result, as_json, _rows)


@app_command(invoice, "overview", "consortia invoice overview --as sh-regulator/admin")
def overview(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Counts and sums by status (the tax authority and regulators)."""
    with _client(home, url, identity) as c:
        result = c.query("invoice", "overview", {}, signed=True)

    def human(r: dict[str, Any]) -> None:
        for status, row in r["by_status"].items():
            click.echo(f"{status:<11} {row['count']:>7}  ¥{yuan(row['total']):>16}")
        click.echo(f"red-letter {r['red_letter']}, flagged {r['flagged']}, reversed ¥{yuan(r['reversed_total'])}, "
                   f"taxpayers {r['taxpayers']}")

    emit(result, as_json, human)


@app_command(invoice, "void", "consortia invoice void 26442000000000000001 --reason '虚开' --as sz-tax/admin")
@click.argument("number")
@click.option("--reason", required=True)
def void(number: str, reason: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Void an invoice (the tax authority)."""
    _send(home, url, identity, "void", {"number": number, "reason": reason}, as_json)


@app_command(invoice, "flag", "consortia invoice flag 26442000000000000001 --reason 'price far above market' "
                              "--as sz-tax/admin")
@click.argument("number")
@click.option("--reason", required=True)
def flag(number: str, reason: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Flag an invoice for inspection (the tax authority); the regulator's alerts show it."""
    _send(home, url, identity, "flag", {"number": number, "reason": reason}, as_json)


@app_command(invoice, "finance", "consortia invoice finance 26442000000000000001 --as jinglian-parts/admin")
@click.argument("number")
def finance(number: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Register an invoice as an underlying document for supply chain finance, in one step (its seller)."""
    from consortia.apps.invoice.sdk import register_for_financing

    with _client(home, url, identity) as c:
        doc = register_for_financing(c, number)
    emit(doc, as_json, lambda d: click.echo(f"registered {d['id']} for ¥{yuan(d['amount'])} "
                                             f"({d['algorithm']}:{d['digest'][:16]}…); vouchers may cite it"))

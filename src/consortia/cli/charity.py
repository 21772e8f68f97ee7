"""``consortia charity``: needs, donations, grants and confirmed receipt from the command line.

Amounts are typed in yuan ("200", "88.88") and sent as integer fen. Files given as evidence are
hashed here; only their digests go on the chain. Identifiers of beneficiaries and anonymous donors
are salted and hashed here too (ADR 0018); the clear donor is sealed to the authority.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from consortia.apps.scf.codes import fen_to_yuan, yuan_to_fen
from consortia.cli.common import app_command, emit
from consortia.errors import BadInput

command = app_command


def fen(text: str) -> int:
    try:
        return yuan_to_fen(text)
    except ValueError as exc:
        raise BadInput(str(exc), code="BAD_AMOUNT") from None


def _client(home: Path, url: str, identity: str | None) -> Any:
    from consortia.cli.main import client_for

    return client_for(home, url, identity, need_identity=True)


def _algorithm(home: Path) -> str:
    genesis = Path(home) / "genesis.json"
    return "sm3" if genesis.exists() and json.loads(genesis.read_text()).get("suite") == "sm2-sm3" else "sha-256"


def evidence_of(home: Path, refs: tuple[str, ...]) -> list[dict[str, str]]:
    """Each ``FILE`` (hashed here, labelled by its name) or ``LABEL=ALG:HEX``."""
    from consortia.client.certificates import file_digest

    out = []
    for ref in refs:
        label, _, rest = ref.rpartition("=") if "=" in ref else ("", "", ref)
        path = Path(rest)
        if path.is_file():
            algorithm = _algorithm(home)
            out.append({"algorithm": algorithm, "digest": file_digest(algorithm, path.read_bytes()),
                        "label": label or path.name})
        elif ":" in rest:
            algorithm, _, digest = rest.partition(":")
            out.append({"algorithm": algorithm, "digest": digest.lower(), "label": label})
        else:
            raise BadInput(f"{ref}: not a file, nor LABEL=ALG:HEX", code="NOT_A_FILE")
    return out


def items_of(specs: tuple[str, ...]) -> list[dict[str, Any]]:
    """``NAME:QUANTITY[:UNIT]`` for each item."""
    out = []
    for spec in specs:
        name, _, rest = spec.partition(":")
        quantity, _, unit = rest.partition(":")
        if not name or not quantity.isdigit():
            raise BadInput(f"--item {spec!r}: expected NAME:QUANTITY[:UNIT]", code="BAD_ITEMS")
        out.append({"name": name, "quantity": int(quantity), "unit": unit or "piece"})
    return out



def _send(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any], as_json: bool,
          human: Callable[[Any], None]) -> None:
    with _client(home, url, identity) as c:
        result = c.call("charity", method, args)
    emit(result, as_json, human)


def _ask(home: Path, url: str, identity: str | None, method: str, args: dict[str, Any], as_json: bool,
         human: Callable[[Any], None], signed: bool = False) -> None:
    with _client(home, url, identity) as c:
        result = c.query("charity", method, args, signed=signed)
    emit(result, as_json, human)


def _need_line(n: dict[str, Any]) -> str:
    return (f"{n['id']}  {n['status']:<8} raised {fen_to_yuan(n['raised'])} granted {fen_to_yuan(n['granted'])} "
            f"confirmed {fen_to_yuan(n['confirmed'])}  {n['title']}")


@click.group()
def charity() -> None:
    """Charity: needs verified by civil affairs, donations, grants and confirmed receipt."""


@command(charity, "register", "consortia charity register chunhui-foundation --role charity "
                              "--name 'Beijing Chunhui Children's Foundation' --as civil-affairs/admin")
@click.argument("org")
@click.option("--role", type=click.Choice(["charity", "verifier"]), required=True)
@click.option("--name", required=True, help="Registered name.")
@click.option("--licence", default="", help="Registration certificate number (charities).")
def register(org: str, role: str, name: str, licence: str, home: Path, url: str, identity: str | None,
             as_json: bool) -> None:
    """The civil-affairs authority registers ORG as a charity or a beneficiary verifier."""
    _send(home, url, identity, "register", {"org": org, "role": role, "name": name, "licence": licence}, as_json,
          lambda r: click.echo(f"registered {r['org']} as {r['role']}"))


@command(charity, "publish-key", "consortia charity publish-key --as civil-affairs/admin")
def publish_key(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The authority publishes its organisation's key-wrapping key, that donor disclosures are sealed to."""
    from consortia.node.home import create_sealing_key

    with _client(home, url, identity) as c:
        key = create_sealing_key(Path(home), c.suite, c.wallet.org)
        result = c.call("charity", "publish_authority_key", {"key": key.public_key.hex()})
    emit(result, as_json, lambda r: click.echo(f"published the disclosure key of {r['org']}"))


@charity.group()
def need() -> None:
    """Needs: publish, attest, verify, close, show."""


@command(need, "publish", "consortia charity need publish --title 'Heart surgery' --purpose 'Surgery for a child' "
                          "--beneficiary-id 'referral 2026-118' --verifier civil-affairs --target 60000 "
                          "--evidence diagnosis.pdf --as chunhui-foundation/admin")
@click.option("--title", required=True)
@click.option("--purpose", required=True)
@click.option("--beneficiary-id", required=True, help="The beneficiary's identifier: salted and hashed here, "
                                                       "never sent.")
@click.option("--verifier", required=True, help="The registered verifier organisation that attests the beneficiary.")
@click.option("--target", default="0", help="Target amount in yuan.")
@click.option("--item", "items", multiple=True, help="Target goods NAME:QUANTITY[:UNIT]; repeatable.")
@click.option("--evidence", multiple=True, help="FILE (hashed here) or LABEL=ALG:HEX; repeatable.")
@click.option("--signer", default="", help="The beneficiary's own identity <org>/<name>, which may confirm receipt.")
@click.option("--confirm-days", default=14, show_default=True, type=int, help="Days to confirm each grant's receipt.")
def need_publish(title: str, purpose: str, beneficiary_id: str, verifier: str, target: str, items: tuple[str, ...],
                 evidence: tuple[str, ...], signer: str, confirm_days: int, home: Path, url: str,
                 identity: str | None, as_json: bool) -> None:
    """A registered charity publishes a need; prints the salt to hand to the verifier."""
    from consortia.apps.charity.sdk import publish_need

    with _client(home, url, identity) as c:
        result = publish_need(c, title, purpose, beneficiary_id=beneficiary_id, verifier=verifier,
                              target_fen=fen(target) if target != "0" else 0, items=items_of(items),
                              evidence=evidence_of(home, evidence), beneficiary_signer=signer, confirm_days=confirm_days)
    emit(result, as_json, lambda r: click.echo(f"need {r['id']} pending; beneficiary {r['beneficiary']} "
                                                f"(salt {r['salt']}: give it to {r['verifier']})"))


@command(need, "attest", "consortia charity need attest 3f9a... --beneficiary 5c1e... --as civil-affairs/clerk")
@click.argument("need_id")
@click.option("--beneficiary", required=True, help="The pseudonym, as the verifier recomputed it.")
@click.option("--evidence", multiple=True, help="FILE or LABEL=ALG:HEX; repeatable.")
def need_attest(need_id: str, beneficiary: str, evidence: tuple[str, ...], home: Path, url: str,
                identity: str | None, as_json: bool) -> None:
    """The need's verifier attests the beneficiary behind the pseudonym."""
    _send(home, url, identity, "attest_beneficiary", {"need_id": need_id, "beneficiary": beneficiary,
                                                      "evidence": evidence_of(home, evidence)}, as_json,
          lambda r: click.echo(f"need {r['id']}: beneficiary attested"))


@command(need, "verify", "consortia charity need verify 3f9a... --approve --as civil-affairs/admin")
@click.argument("need_id")
@click.option("--approve/--reject", required=True)
@click.option("--note", default="")
def need_verify(need_id: str, approve: bool, note: str, home: Path, url: str, identity: str | None,
                as_json: bool) -> None:
    """The civil-affairs authority opens (or rejects, with a note) an attested need."""
    _send(home, url, identity, "verify_need", {"need_id": need_id, "approve": approve, "note": note}, as_json,
          lambda r: click.echo(f"need {r['id']} {r['status']}"))


@command(need, "close", "consortia charity need close 3f9a... --as chunhui-foundation/admin")
@click.argument("need_id")
def need_close(need_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The charity stops taking donations for a need."""
    _send(home, url, identity, "close_need", {"need_id": need_id}, as_json,
          lambda r: click.echo(f"need {r['id']} closed"))


@command(need, "show", "consortia charity need show 3f9a...")
@click.argument("need_id")
def needemit(need_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """A need's public page as text: totals, donations and their paths, grants (proofs checked by the node)."""
    from consortia.apps.charity.sdk import need_page

    with _client(home, url, identity) as c:
        page = need_page(c, need_id)

    def human(p: dict[str, Any]) -> None:
        click.echo(_need_line(p["need"]))
        bad = [t for t, proof in p["proofs"].items() if not proof["verified"]]
        click.echo(f"  {len(p['donations'])} donation(s), {len(p['grants'])} grant(s); "
                   f"{len(p['proofs']) - len(bad)}/{len(p['proofs'])} transactions proved against their blocks")
        for g in p["grants"]:
            click.echo(f"  grant {g['id']} {g['kind']} {fen_to_yuan(g['amount'])} to {g['recipient']}: {g['status']}")
    emit(page, as_json, human)


@command(need, "list", "consortia charity need list --status open")
@click.option("--charity", "charity_org", default="")
@click.option("--status", default="", type=click.Choice(["", "pending", "open", "closed", "rejected"]))
def need_list(charity_org: str, status: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Needs, newest first."""
    def human(r: dict[str, Any]) -> None:
        for n in r["needs"]:
            click.echo(_need_line(n))
    _ask(home, url, identity, "needs", {"charity": charity_org, "status": status}, as_json, human)


@command(charity, "pledge", "consortia charity pledge chunhui-foundation 20000 --need 3f9a... --as hongqiao-auto/admin")
@click.argument("charity_org")
@click.argument("amount")
@click.option("--need", default="", help="The need (default: the general fund).")
def pledge(charity_org: str, amount: str, need: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """An organisation promises AMOUNT yuan to a charity."""
    _send(home, url, identity, "pledge", {"charity": charity_org, "amount": fen(amount), "need": need}, as_json,
          lambda r: click.echo(f"pledge {r['id']}: {fen_to_yuan(r['amount'])} to {r['charity']}"))


@command(charity, "donate", "consortia charity donate chunhui-foundation 20000 --need 3f9a... --slip transfer.pdf "
                            "--as hongqiao-auto/admin")
@click.argument("charity_org")
@click.argument("amount")
@click.option("--need", default="", help="The need (default: the general fund).")
@click.option("--slip", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The payment slip (hashed here).")
@click.option("--pledge", "pledge_id", default="", help="The pledge this donation fulfils.")
def donate(charity_org: str, amount: str, need: str, slip: Path | None, pledge_id: str, home: Path, url: str,
           identity: str | None, as_json: bool) -> None:
    """An organisation records a donation it paid, under its own name."""
    import hashlib

    ref = hashlib.sha256(slip.read_bytes()).hexdigest() if slip else ""
    _send(home, url, identity, "donate", {"charity": charity_org, "amount": fen(amount), "need": need,
                                          "payment_ref": ref, "pledge_id": pledge_id}, as_json,
          lambda r: click.echo(f"donation {r['id']}: {fen_to_yuan(r['amount'])} recorded, awaiting the charity's match"))


@command(charity, "record", "consortia charity record 200 --donor 'Wang Fang, resident id 1101...' --need 3f9a... "
                            "--channel wechat-pay --as chunhui-foundation/admin")
@click.argument("amount")
@click.option("--donor", required=True, help="The donor's real name or id: sealed to the authority, tagged in public.")
@click.option("--need", default="", help="The need (default: the general fund).")
@click.option("--channel", default="bank-transfer",
              type=click.Choice(["bank-transfer", "alipay", "wechat-pay", "unionpay", "cash", "other"]))
def record(amount: str, donor: str, need: str, channel: str, home: Path, url: str, identity: str | None,
           as_json: bool) -> None:
    """The charity records an individual's donation that reached its account (anonymous in public)."""
    from consortia.apps.charity.sdk import record_anonymous_donation

    with _client(home, url, identity) as c:
        result = record_anonymous_donation(c, donor, fen(amount), need=need, channel=channel)
    emit(result, as_json, lambda r: click.echo(f"donation {r['donation']['id']}: {fen_to_yuan(r['donation']['amount'])} "
                                                f"matched; donor receipt salt {r['salt']}"))


@command(charity, "match", "consortia charity match 8e21... --as chunhui-foundation/admin")
@click.argument("donation_id")
def match(donation_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The charity confirms an organisation's donation arrived."""
    _send(home, url, identity, "match_donation", {"donation_id": donation_id}, as_json,
          lambda r: click.echo(f"donation {r['id']} matched"))


@command(charity, "decline", "consortia charity decline 8e21... --reason 'no transfer received' "
                             "--as chunhui-foundation/admin")
@click.argument("donation_id")
@click.option("--reason", required=True)
def decline(donation_id: str, reason: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The charity says a recorded donation never arrived."""
    _send(home, url, identity, "decline_donation", {"donation_id": donation_id, "reason": reason}, as_json,
          lambda r: click.echo(f"donation {r['id']} declined"))


@command(charity, "grant", "consortia charity grant 3f9a... 50000 --use-general --as chunhui-foundation/admin")
@click.argument("need_id")
@click.argument("amount")
@click.option("--goods", is_flag=True, help="Goods (worth AMOUNT yuan) rather than funds.")
@click.option("--vendor", default="", help="The vendor organisation paid (default: the beneficiary).")
@click.option("--item", "items", multiple=True, help="Goods NAME:QUANTITY[:UNIT]; repeatable.")
@click.option("--waybill", default="", help="The waybill number the goods travel under.")
@click.option("--use-general", is_flag=True, help="Top up from the general fund when the earmarked money is short.")
@click.option("--note", default="")
def grant(need_id: str, amount: str, goods: bool, vendor: str, items: tuple[str, ...], waybill: str, use_general: bool,
          note: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The charity grants funds or goods for a verified need, from matched donations."""
    _send(home, url, identity, "grant", {"need_id": need_id, "kind": "goods" if goods else "funds", "amount": fen(amount),
                                         "vendor": vendor, "items": items_of(items), "waybill": waybill,
                                         "use_general": use_general, "note": note}, as_json,
          lambda r: click.echo(f"grant {r['id']}: {fen_to_yuan(r['amount'])} from {len(r['sources'])} donation(s); "
                               f"to be confirmed by {r['confirm_by_ms']} (ms)"))


@command(charity, "confirm", "consortia charity confirm 7b40... --evidence invoice.pdf --evidence photo.jpg "
                             "--as civil-affairs/clerk")
@click.argument("grant_id")
@click.option("--evidence", multiple=True, required=True, help="Receipt or photo FILE, or LABEL=ALG:HEX; repeatable.")
@click.option("--note", default="")
def confirm(grant_id: str, evidence: tuple[str, ...], note: str, home: Path, url: str, identity: str | None,
            as_json: bool) -> None:
    """The beneficiary's signer or the verifier confirms a grant was received."""
    _send(home, url, identity, "confirm_receipt", {"grant_id": grant_id, "evidence": evidence_of(home, evidence),
                                                   "note": note}, as_json,
          lambda r: click.echo(f"grant {r['id']} confirmed" + (" (late)" if r["confirmation"]["late"] else "")))


@command(charity, "exception", "consortia charity exception 7b40... --reason returned --note 'refused at the door' "
                               "--returned --as chunhui-foundation/admin")
@click.argument("grant_id")
@click.option("--reason", required=True, type=click.Choice(["lost", "refused", "damaged", "returned", "other"]))
@click.option("--note", required=True)
@click.option("--returned", is_flag=True, help="The money came back: credit it to the donations it came from.")
@click.option("--evidence", multiple=True, help="FILE or LABEL=ALG:HEX; repeatable.")
def exception(grant_id: str, reason: str, note: str, returned: bool, evidence: tuple[str, ...], home: Path, url: str,
              identity: str | None, as_json: bool) -> None:
    """The charity or the verifier closes an undelivered grant as an exception."""
    _send(home, url, identity, "record_exception", {"grant_id": grant_id, "reason": reason, "note": note,
                                                    "returned": returned, "evidence": evidence_of(home, evidence)},
          as_json, lambda r: click.echo(f"grant {r['id']}: exception ({r['exception']['reason']})"))


@command(charity, "donation", "consortia charity donation 8e21...")
@click.argument("donation_id")
def donation(donation_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """Where a donation went: each grant it paid for and its receipt."""
    from consortia.apps.charity.sdk import donation_path

    with _client(home, url, identity) as c:
        page = donation_path(c, donation_id)

    def human(p: dict[str, Any]) -> None:
        d = p["donation"]
        click.echo(f"donation {d['id']}: {fen_to_yuan(d['amount'])} ({d['status']}), "
                   f"{fen_to_yuan(d['remaining'])} not granted yet")
        grants = {g["id"]: g for g in p["grants"]}
        for use in d["uses"]:
            g = grants[use["grant"]]
            click.echo(f"  {fen_to_yuan(use['amount'])} -> grant {g['id']} ({g['kind']} to {g['recipient']}): "
                       f"{'returned' if use['returned'] else g['status']}")
        bad = [t for t, proof in p["proofs"].items() if not proof["verified"]]
        click.echo(f"  {len(p['proofs']) - len(bad)}/{len(p['proofs'])} transactions proved against their blocks")
    emit(page, as_json, human)


@command(charity, "disclose", "consortia charity disclose 8e21... --as civil-affairs/admin")
@click.argument("donation_id")
def disclose(donation_id: str, home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The authority opens an anonymous donation's donor with its organisation's key (kept in --dir)."""
    from consortia.apps.charity.sdk import disclose_donor
    from consortia.errors import NotFound
    from consortia.node.home import load_sealing_key

    with _client(home, url, identity) as c:
        key = load_sealing_key(Path(home), c.suite, c.wallet.org)
        if key is None:
            raise NotFound(f"no key of {c.wallet.org} under {home} (orgs/{c.wallet.org}/sealing-key.pem)",
                           code="NO_SEALING_KEY")
        result = disclose_donor(c, key, donation_id)
    emit(result, as_json, lambda r: click.echo(f"donation {r['donation']}: {r['donor']} "
                                                f"({'matches' if r['verified'] else 'DOES NOT MATCH'} the public tag)"))


@command(charity, "overview", "consortia charity overview --as civil-affairs/admin")
def overview(home: Path, url: str, identity: str | None, as_json: bool) -> None:
    """The authority's and regulators' view: totals, pending needs, unmatched donations, overdue grants."""
    def human(r: dict[str, Any]) -> None:
        click.echo(f"raised {fen_to_yuan(r['raised'])}, granted {fen_to_yuan(r['granted'])}, "
                   f"confirmed {fen_to_yuan(r['confirmed'])}, in exception {fen_to_yuan(r['exceptions'])}")
        click.echo(f"needs: {r['needs_by_status']}; {len(r['unmatched_donations'])} unmatched donation(s)")
        for g in r["overdue_grants"]:
            click.echo(f"  OVERDUE grant {g['id']} of need {g['need']}: {fen_to_yuan(g['amount'])}")
    _ask(home, url, identity, "overview", {}, as_json, human, signed=True)

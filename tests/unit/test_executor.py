"""Block execution: every rejection and revert path, governance, and block header chaining.

Runs the real ``Executor`` over a real SQLite store; no node threads.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from consortia.contracts.sdk import Context, Contract, Revert, method, query
from consortia.errors import Fault, NotFound, TxRejected
from consortia.execution.executor import Executor
from consortia.identity import x509 as ids
from consortia.identity.wallet import Wallet
from consortia.ledger.records import (
    SIG_DOMAIN,
    ZERO_HASH,
    Receipt,
    SignedTx,
    compute_receipts_root,
    compute_tx_root,
)
from consortia.ledger.store import Store
from consortia.node.node import default_contracts
from consortia.types import codec
from tests.unit.helpers import ORGS, Chain, Consortium

ADMIN = f"{ORGS[0]}/admin"
CLERK = f"{ORGS[0]}/clerk"
YEAR_MS = 365 * 24 * 3600 * 1000


class Probe(Contract):
    """A test contract exercising every way a call can end."""

    name = "probe"

    @method
    def set(self, ctx: Context, key: str, n: int) -> int:
        ctx.put(key, n)
        return n

    @method
    def set_then_revert(self, ctx: Context, key: str, n: int) -> None:
        ctx.put(key, n)
        ctx.put("side-effect", n)
        ctx.emit("Never", n=n)
        raise Revert("changed my mind", code="CHANGED_MIND")

    @method
    def store_float(self, ctx: Context, key: str) -> None:
        ctx.put(key, 1)
        ctx.put(key + "-float", 1.5)

    @method
    def return_float(self, ctx: Context) -> Any:
        ctx.put("returned", 1)
        return {"ratio": 0.5}

    @method
    def emit_float(self, ctx: Context) -> None:
        ctx.put("emitted", 1)
        ctx.emit("Bad", ratio=0.5)

    @method
    def crash(self, ctx: Context) -> None:
        ctx.put("crashed", 1)
        raise ZeroDivisionError("boom")

    @method
    def not_found(self, ctx: Context) -> None:
        ctx.put("nf", 1)
        raise NotFound("nothing here", code="NOTHING_HERE")

    @method
    def options(self, ctx: Context, flag: bool, count: int = 0, tags: list[str] | None = None) -> dict[str, Any]:
        return {"flag": flag, "count": count, "tags": tags}

    @method
    def _hidden(self, ctx: Context) -> None:
        ctx.put("hidden", 1)

    @query
    def peek(self, ctx: Context, key: str) -> Any:
        return ctx.get(key)


@pytest.fixture
def probe(consortium: Consortium, tmp_path: Path) -> Any:
    ch = consortium.chain(tmp_path / "probe", {**default_contracts(), "probe": Probe()})
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    """A second consortium with the same chain id, org ids and suite but its own CAs."""
    return Consortium(tmp_path_factory.mktemp("stranger") / "c", suite_name=suite_name)


@pytest.fixture(scope="module")
def consortium5(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("five") / "c", orgs=5, suite_name=suite_name)


def unchecked_tx(wallet: Wallet, body: dict[str, Any]) -> SignedTx:
    """Sign ``body`` without the shape check (to reach execution with names SignedTx.create refuses)."""
    raw = codec.encode(body)
    return SignedTx(tx=body, raw=raw, id=wallet.signer.suite.hash(raw), sig=wallet.signer.sign(SIG_DOMAIN + raw))


def expect_rejected(chain: Chain, tx: SignedTx, code: str, **kw: Any) -> Receipt:
    before = chain.rows()
    height = chain.store.height()
    block = chain.block(tx, **kw)
    receipt = block.receipts[0]
    assert (receipt.status, receipt.code) == ("rejected", code), receipt
    assert receipt.tx_id == tx.id.hex()
    assert receipt.events == () and receipt.result is None and receipt.message
    assert chain.rows() == before
    # the rejected transaction still sits in the committed block, but it never ran, so it does
    # not claim its id in the index (only an earlier executed copy can hold it)
    assert chain.store.height() == height + 1
    assert chain.store.get_block(height + 1).txs == [tx.to_wire()]  # type: ignore[union-attr]
    assert chain.store.tx_location(tx.id) != (height + 1, 0)
    if code != "TX_DUPLICATE":
        assert chain.store.tx_location(tx.id) is None
    return receipt


def expect_reverted(chain: Chain, tx: SignedTx, code: str) -> Receipt:
    before = chain.rows()
    receipt = chain.block(tx).receipts[0]
    assert (receipt.status, receipt.code) == ("reverted", code), receipt
    assert receipt.events == () and receipt.result is None
    assert chain.rows() == before
    return receipt


# -- rejections ---------------------------------------------------------------------------


def test_accepted_put_changes_state(chain: Chain) -> None:
    receipt = chain.run(ADMIN, "kv", "put", {"key": "a", "value": {"n": 1}})
    assert (receipt.status, receipt.code) == ("ok", "OK")
    assert [(e.contract, e.name, e.data) for e in receipt.events] == [("kv", "Put", {"key": "a", "by": ADMIN})]
    assert chain.kv("a") == {"n": 1}
    assert ("kv/a", b'{"n":1}', 1, 0) in chain.rows()


def test_wrong_chain(chain: Chain) -> None:
    tx = chain.raw_tx(ADMIN, chain="another-chain")
    expect_rejected(chain, tx, "WRONG_CHAIN")


def test_bad_signature(chain: Chain, consortium: Consortium) -> None:
    good = chain.tx(ADMIN, "kv", "put", {"key": "k", "value": 1})
    wallet = consortium.wallet(ADMIN)
    other = consortium.wallet(CLERK)
    forgeries = [
        wallet.signer.sign(b"another message"),  # right key, wrong message
        wallet.signer.sign(good.raw),  # right key, missing domain prefix
        other.signer.sign(SIG_DOMAIN + good.raw),  # right message, another member's key
        good.sig[:-1],  # truncated
        bytes(64),
    ]
    for sig in forgeries:
        expect_rejected(chain, SignedTx(tx=good.tx, raw=good.raw, id=good.id, sig=sig), "BAD_SIGNATURE")
    # also through the wire format
    wire = {**good.to_wire(), "sig": good.sig[::-1].hex()}
    expect_rejected(chain, SignedTx.from_wire(chain.suite, wire, 1 << 20), "BAD_SIGNATURE")
    # a tampered body under the original signature
    body = {**good.tx, "args": {"key": "k", "value": 2}}
    raw = codec.encode(body)
    expect_rejected(chain, SignedTx(tx=body, raw=raw, id=chain.suite.hash(raw), sig=good.sig), "BAD_SIGNATURE")


def test_verification_cache_does_not_cover_a_forged_copy(chain: Chain) -> None:
    good = chain.tx(ADMIN, "kv", "put", {"key": "k", "value": 1})
    chain.executor.admission().check_all([good])  # the genuine copy was admitted
    forged = SignedTx(tx=good.tx, raw=good.raw, id=good.id, sig=bytes(64))
    assert chain.block(forged).receipts[0].code == "BAD_SIGNATURE"


def test_forged_copy_does_not_burn_the_genuine_tx(chain: Chain) -> None:
    good = chain.tx(ADMIN, "kv", "put", {"key": "k", "value": 1})
    forged = SignedTx(tx=good.tx, raw=good.raw, id=good.id, sig=bytes(64))
    block = chain.block(forged, good)
    assert [r.code for r in block.receipts] == ["BAD_SIGNATURE", "OK"]


def test_precheck_raises_what_execution_records(chain: Chain) -> None:
    good = chain.tx(ADMIN, "kv", "put", {"key": "k", "value": 1})
    forged = SignedTx(tx=good.tx, raw=good.raw, id=good.id, sig=bytes(64))
    with pytest.raises(TxRejected) as info:
        chain.executor.admission().check_all([forged])
    assert info.value.code == "BAD_SIGNATURE"
    chain.executor.admission().check_all([good])
    chain.block(good)
    with pytest.raises(TxRejected) as info:
        chain.executor.admission().check_all([good])
    assert info.value.code == "TX_DUPLICATE"


def test_unknown_identity_from_a_foreign_ca(chain: Chain, stranger: Consortium) -> None:
    outsider = stranger.wallet(ADMIN)  # same org id, different CA
    assert outsider.cert.issuer == chain.c.wallet(ADMIN).cert.issuer
    expect_rejected(chain, chain.raw_tx(outsider), "UNKNOWN_IDENTITY")


def test_unknown_identity_for_garbage_sender_and_ca_cert(chain: Chain, consortium: Consortium) -> None:
    expect_rejected(chain, chain.raw_tx(ADMIN, sender="AAAA"), "UNKNOWN_IDENTITY")
    # the organisation's CA certificate, signed with the CA key, is not a member
    ca_dir = consortium.home / "orgs" / ORGS[0]
    ca_signer = consortium.suite.load_signer((ca_dir / "ca.key").read_bytes())
    ca_wallet = Wallet(ORGS[0], "ca", ca_signer, ids.load_pem((ca_dir / "ca.pem").read_bytes()))
    expect_rejected(chain, chain.raw_tx(ca_wallet), "UNKNOWN_IDENTITY")


def test_identity_revoked(chain: Chain, consortium: Consortium) -> None:
    clerk = consortium.wallet(CLERK)
    fp = ids.fingerprint(consortium.suite, clerk.cert)
    # another organisation's admin cannot revoke our clerk: the record lands under its own org
    chain.ok(f"{ORGS[1]}/admin", "members", "revoke", {"fingerprint": fp, "reason": "not ours"})
    assert chain.run(CLERK, "kv", "put", {"key": "a", "value": 1}).status == "ok"
    # our own admin can
    receipt = chain.run(ADMIN, "members", "revoke", {"fingerprint": fp, "reason": "left the company"})
    assert [e.name for e in receipt.events] == ["CertificateRevoked"]
    assert chain.executor.query("members", "revoked", {"org": ORGS[0]}, None) == [fp]
    expect_rejected(chain, chain.tx(CLERK, "kv", "put", {"key": "b", "value": 1}), "IDENTITY_REVOKED")
    assert chain.run(ADMIN, "kv", "put", {"key": "c", "value": 1}).status == "ok"
    again = chain.run(ADMIN, "members", "revoke", {"fingerprint": fp})
    assert (again.status, again.code) == ("reverted", "ALREADY_REVOKED")
    bad = chain.run(ADMIN, "members", "revoke", {"fingerprint": fp.upper()})
    assert (bad.status, bad.code) == ("reverted", "BAD_ARGS")
    clerk_revokes = chain.run(f"{ORGS[1]}/clerk", "members", "revoke", {"fingerprint": fp})
    assert (clerk_revokes.status, clerk_revokes.code) == ("reverted", "NOT_ADMIN")


def test_revocation_applies_to_later_txs_in_the_same_block(chain: Chain, consortium: Consortium) -> None:
    fp = ids.fingerprint(consortium.suite, consortium.wallet(CLERK).cert)
    block = chain.block(chain.tx(CLERK, "kv", "put", {"key": "before", "value": 1}),
                        chain.tx(ADMIN, "members", "revoke", {"fingerprint": fp}),
                        chain.tx(CLERK, "kv", "put", {"key": "after", "value": 1}))
    assert [r.code for r in block.receipts] == ["OK", "OK", "IDENTITY_REVOKED"]
    assert chain.kv("before") == 1 and chain.kv("after") is None


def test_identity_frozen_by_majority(chain: Chain) -> None:
    orgs = chain.c.org_ids
    proposal = chain.ok(ADMIN, "gov", "propose", {"action": "freeze_identity", "params": {"id": CLERK}})
    assert proposal["status"] == "open" and proposal["votes"] == {orgs[0]: True}
    proposal = chain.ok(f"{orgs[1]}/admin", "gov", "vote", {"proposal_id": proposal["id"], "approve": True})
    assert proposal["status"] == "open"
    assert chain.run(CLERK, "kv", "put", {"key": "still", "value": 1}).status == "ok"
    proposal = chain.ok(f"{orgs[2]}/admin", "gov", "vote", {"proposal_id": proposal["id"], "approve": True})
    assert proposal["status"] == "open"  # a majority, but enforcement also needs the regulator's yes
    proposal = chain.ok(f"{orgs[3]}/admin", "gov", "vote", {"proposal_id": proposal["id"], "approve": True})
    assert (proposal["status"], proposal["outcome"]) == ("passed", "applied")
    assert chain.executor.query("gov", "frozen", {}, None) == {"identities": [CLERK], "contracts": [], "objects": []}
    expect_rejected(chain, chain.tx(CLERK, "kv", "put", {"key": "frozen", "value": 1}), "IDENTITY_FROZEN")
    # only that identity: the same org's admin still transacts
    assert chain.run(ADMIN, "kv", "put", {"key": "admin", "value": 1}).status == "ok"
    chain.govern("unfreeze_identity", {"id": CLERK}, yes=4)
    assert chain.run(CLERK, "kv", "put", {"key": "thawed", "value": 1}).status == "ok"


def reissue(consortium: Consortium, org: str, name: str, roles: list[str]) -> Wallet:
    """A second certificate for the same member name, from the organisation's CA key on disk."""
    ca_dir = consortium.home / "orgs" / org
    ca_signer = consortium.suite.load_signer((ca_dir / "ca.key").read_bytes())
    signer = consortium.suite.generate_signer()
    cert = ids.issue_member(ca_signer, ids.load_pem((ca_dir / "ca.pem").read_bytes()), name, roles, signer.public_key,
                            int(time.time() * 1000))
    return Wallet(org, name, signer, cert)


def test_freeze_covers_reissued_certificates_but_revocation_does_not(chain: Chain, consortium: Consortium) -> None:
    fp = ids.fingerprint(consortium.suite, consortium.wallet(CLERK).cert)
    chain.ok(ADMIN, "members", "revoke", {"fingerprint": fp})
    fresh = reissue(consortium, ORGS[0], "clerk", ["client"])
    assert chain.block(chain.raw_tx(fresh, nonce=1)).receipts[0].code == "OK"  # revocation is per certificate
    chain.govern("freeze_identity", {"id": CLERK}, yes=4)
    expect_rejected(chain, chain.raw_tx(fresh, nonce=2), "IDENTITY_FROZEN")  # a freeze is per identity id


def test_tx_expired(chain: Chain) -> None:
    expect_rejected(chain, chain.tx(ADMIN, "kv", "put", {"key": "k", "value": 1}, not_after_height=0), "TX_EXPIRED")
    # the height bound is inclusive: valid up to and including not_after_height
    height = chain.store.height() + 1
    assert chain.run(ADMIN, "kv", "put", {"key": "k", "value": 1}, not_after_height=height).status == "ok"
    stale = chain.raw_tx(ADMIN, not_after_ms=chain.time_ms)  # the next block is later than this
    expect_rejected(chain, stale, "TX_EXPIRED")
    edge = chain.raw_tx(ADMIN, nonce=2, not_after_ms=chain.time_ms + 1000)
    assert chain.block(edge).receipts[0].code == "OK"


def test_cert_expired(chain: Chain) -> None:
    tx = chain.tx(ADMIN, "kv", "put", {"key": "k", "value": 1}, ttl_ms=0, not_after_height=10**6)
    expect_rejected(chain, tx, "CERT_EXPIRED", time_ms=chain.time_ms + 3 * YEAR_MS)


def test_block_time_never_goes_backwards(chain: Chain) -> None:
    first = chain.block(time_ms=chain.time_ms + 5000)
    second = chain.block(time_ms=chain.time_ms - 60_000)
    assert second.header.time_ms == first.header.time_ms


def test_tx_duplicate_across_blocks_and_within_a_block(chain: Chain) -> None:
    tx = chain.tx(ADMIN, "kv", "put", {"key": "dup", "value": 1})
    assert chain.block(tx).receipts[0].code == "OK"
    expect_rejected(chain, tx, "TX_DUPLICATE")
    twin = chain.tx(ADMIN, "kv", "put", {"key": "twin", "value": 1})
    before = chain.rows()
    block = chain.block(twin, twin)
    assert [(r.status, r.code) for r in block.receipts] == [("ok", "OK"), ("rejected", "TX_DUPLICATE")]
    assert chain.kv("twin") == 1
    assert len(chain.rows()) == len(before) + 1
    # the index keeps the first position
    assert chain.store.tx_location(twin.id) == (block.header.height, 0)


def test_unknown_contract(chain: Chain) -> None:
    expect_rejected(chain, chain.tx(ADMIN, "nosuch", "put", {}), "UNKNOWN_CONTRACT")


def test_unknown_method(probe: Chain, consortium: Consortium) -> None:
    for contract, name in (("kv", "nosuch"), ("kv", "get"), ("kv", "range"), ("gov", "config"), ("probe", "peek"),
                           ("kv", "entries"), ("kv", "entry"), ("gov", "state_prefix")):
        expect_rejected(probe, probe.tx(ADMIN, contract, name, {}), "UNKNOWN_METHOD")
    wallet = consortium.wallet(ADMIN)
    for contract, name in (("probe", "_hidden"), ("gov", "_cast"), ("gov", "_apply"), ("kv", "__init__")):
        tx = unchecked_tx(wallet, {**probe.raw_tx(wallet).tx, "contract": contract, "method": name, "args": {}})
        expect_rejected(probe, tx, "UNKNOWN_METHOD")
        with pytest.raises(TxRejected) as info:
            SignedTx.from_wire(probe.suite, tx.to_wire(), 1 << 20)
        assert info.value.code == "BAD_TX"
    assert "_hidden" not in Probe.entries()
    assert probe.executor.query("probe", "peek", {"key": "hidden"}, None) is None


def test_contract_frozen(chain: Chain) -> None:
    proposal = chain.govern("freeze_contract", {"name": "kv"}, yes=4)
    assert proposal["status"] == "passed"
    expect_rejected(chain, chain.tx(CLERK, "kv", "put", {"key": "k", "value": 1}), "CONTRACT_FROZEN")
    # system contracts cannot be frozen, so governance can always unfreeze
    for name in ("gov", "members"):
        receipt = chain.run(ADMIN, "gov", "propose", {"action": "freeze_contract", "params": {"name": name}})
        assert (receipt.status, receipt.code) == ("reverted", "BAD_PARAMS")
    chain.govern("unfreeze_contract", {"name": "kv"}, yes=4)
    assert chain.run(CLERK, "kv", "put", {"key": "k", "value": 1}).status == "ok"


@pytest.mark.parametrize(
    ("contract", "method_name", "args"),
    [
        ("kv", "put", {"key": 1, "value": 1}),  # wrong type
        ("kv", "put", {"key": "k"}),  # missing argument
        ("kv", "put", {"key": "k", "value": 1, "extra": True}),  # unknown argument
        ("kv", "delete", {}),
        ("gov", "vote", {"proposal_id": "x", "approve": 1}),  # int for bool
        ("probe", "set", {"key": "k", "n": True}),  # bool for int
        ("probe", "set", {"key": "k", "n": "1"}),
        ("probe", "options", {"flag": True, "tags": ["a", 1]}),  # wrong list item
        ("probe", "options", {"flag": True, "tags": "a"}),
        ("probe", "options", {"flag": None}),
    ],
)
def test_bad_args(probe: Chain, contract: str, method_name: str, args: dict[str, Any]) -> None:
    receipt = expect_rejected(probe, probe.tx(ADMIN, contract, method_name, args), "BAD_ARGS")
    assert method_name in receipt.message or "expected" in receipt.message


def test_optional_and_union_args_accepted(probe: Chain) -> None:
    assert probe.ok(ADMIN, "probe", "options", {"flag": False}) == {"flag": False, "count": 0, "tags": None}
    assert probe.ok(ADMIN, "probe", "options", {"flag": True, "count": -5, "tags": ["x"]}) == {
        "flag": True, "count": -5, "tags": ["x"]}


def test_forbidden_role(chain: Chain) -> None:
    for node in (f"{org}/node" for org in ORGS):
        expect_rejected(chain, chain.tx(node, "kv", "put", {"key": "k", "value": 1}), "FORBIDDEN_ROLE")
    assert chain.run("sh-regulator/inspector", "kv", "put", {"key": "k", "value": 1}).status == "ok"


def test_tx_too_large(chain: Chain) -> None:
    limit = 20_000
    assert chain.govern("set_config", {"key": "max_tx_bytes", "value": limit})["status"] == "passed"
    base = len(chain.raw_tx(ADMIN, nonce=10, args={"key": "big", "value": ""}).raw)
    exact = chain.raw_tx(ADMIN, nonce=10, args={"key": "big", "value": "x" * (limit - base)})
    over = chain.raw_tx(ADMIN, nonce=11, args={"key": "big", "value": "y" * (limit - base + 1)})
    assert (len(exact.raw), len(over.raw)) == (limit, limit + 1)
    expect_rejected(chain, over, "TX_TOO_LARGE")
    assert chain.block(exact).receipts[0].code == "OK"
    assert chain.kv("big") == "x" * (limit - base)


# -- reverts ------------------------------------------------------------------------------


def test_delete_missing_key_reverts(chain: Chain) -> None:
    receipt = expect_reverted(chain, chain.tx(ADMIN, "kv", "delete", {"key": "ghost"}), "NO_SUCH_KEY")
    assert "ghost" in receipt.message
    chain.ok(ADMIN, "kv", "put", {"key": "real", "value": 1})
    chain.ok(ADMIN, "kv", "delete", {"key": "real"})
    assert chain.kv("real") is None
    assert all(not key.startswith("kv/") for key, *_ in chain.rows())


def test_revert_in_the_middle_keeps_neighbours(chain: Chain) -> None:
    chain.ok(ADMIN, "kv", "put", {"key": "old", "value": 0})
    block = chain.block(
        chain.tx(ADMIN, "kv", "put", {"key": "a", "value": 1}),
        chain.tx(ADMIN, "kv", "delete", {"key": "ghost"}),
        chain.tx(ADMIN, "kv", "delete", {"key": "old"}),
        chain.tx(CLERK, "kv", "delete", {"key": "old"}),  # already deleted earlier in this block
        chain.tx(ADMIN, "kv", "put", {"key": "b", "value": 2}),
    )
    assert [r.code for r in block.receipts] == ["OK", "NO_SUCH_KEY", "OK", "NO_SUCH_KEY", "OK"]
    assert [r.status for r in block.receipts] == ["ok", "reverted", "ok", "reverted", "ok"]
    assert (chain.kv("a"), chain.kv("b"), chain.kv("old")) == (1, 2, None)
    rows = {key: (height, idx) for key, _, height, idx in chain.rows()}
    assert rows["kv/a"] == (block.header.height, 0) and rows["kv/b"] == (block.header.height, 4)
    assert "kv/old" not in rows


def test_reverted_call_restores_earlier_writes_of_the_same_block(probe: Chain) -> None:
    probe.ok(ADMIN, "probe", "set", {"key": "k", "n": 1})
    block = probe.block(
        probe.tx(ADMIN, "probe", "set", {"key": "k", "n": 2}),
        probe.tx(ADMIN, "probe", "set_then_revert", {"key": "k", "n": 3}),
        probe.tx(ADMIN, "probe", "set", {"key": "j", "n": 4}),
    )
    assert [(r.status, r.code) for r in block.receipts] == [("ok", "OK"), ("reverted", "CHANGED_MIND"), ("ok", "OK")]
    assert block.receipts[1].events == ()
    peek = probe.executor.query
    assert (peek("probe", "peek", {"key": "k"}, None), peek("probe", "peek", {"key": "j"}, None)) == (2, 4)
    assert peek("probe", "peek", {"key": "side-effect"}, None) is None


@pytest.mark.parametrize(
    ("method_name", "args", "code"),
    [
        ("store_float", {"key": "f"}, "BAD_ENCODING"),
        ("return_float", {}, "BAD_ENCODING"),
        ("emit_float", {}, "BAD_ENCODING"),
        ("crash", {}, "CONTRACT_ERROR"),
        ("not_found", {}, "NOTHING_HERE"),
    ],
)
def test_contract_failures_revert_cleanly(probe: Chain, method_name: str, args: dict[str, Any], code: str) -> None:
    receipt = expect_reverted(probe, probe.tx(ADMIN, "probe", method_name, args), code)
    if code == "CONTRACT_ERROR":
        assert receipt.message == "contract raised ZeroDivisionError"  # no internals leak
    # the chain keeps going
    assert probe.run(ADMIN, "probe", "set", {"key": "after", "n": 1}).status == "ok"


# -- governance ---------------------------------------------------------------------------


def propose(chain: Chain, who: str, action: str, params: dict[str, Any]) -> Receipt:
    return chain.run(who, "gov", "propose", {"action": action, "params": params})


def vote(chain: Chain, org: str, proposal_id: str, approve: bool = True, **kw: Any) -> Receipt:
    return chain.run(f"{org}/admin", "gov", "vote", {"proposal_id": proposal_id, "approve": approve}, **kw)


def test_non_admin_cannot_propose_or_vote(chain: Chain) -> None:
    expect_reverted(chain, chain.tx(CLERK, "gov", "propose", {"action": "freeze_contract", "params": {"name": "kv"}}),
                    "NOT_ADMIN")
    proposal = chain.ok(ADMIN, "gov", "propose", {"action": "freeze_contract", "params": {"name": "kv"}})
    expect_reverted(chain, chain.tx(f"{ORGS[1]}/clerk", "gov", "vote", {"proposal_id": proposal["id"], "approve": True}),
                    "NOT_ADMIN")
    expect_reverted(chain, chain.tx("sh-regulator/inspector", "gov", "vote",
                                    {"proposal_id": proposal["id"], "approve": True}), "NOT_ADMIN")


def test_double_vote(chain: Chain) -> None:
    proposal = chain.ok(ADMIN, "gov", "propose", {"action": "freeze_contract", "params": {"name": "kv"}})
    expect_reverted(chain, chain.tx(ADMIN, "gov", "vote", {"proposal_id": proposal["id"], "approve": False}),
                    "ALREADY_VOTED")
    assert vote(chain, ORGS[1], proposal["id"]).result["status"] == "open"
    expect_reverted(chain, chain.tx(f"{ORGS[1]}/admin", "gov", "vote", {"proposal_id": proposal["id"], "approve": True}),
                    "ALREADY_VOTED")
    expect_reverted(chain, chain.tx(ADMIN, "gov", "vote", {"proposal_id": "nope", "approve": True}), "PROPOSAL_NOT_FOUND")


def test_proposal_rejected_when_enough_orgs_vote_no(chain: Chain) -> None:
    proposal = chain.govern("freeze_contract", {"name": "kv"}, yes=1, no=1)
    assert proposal["status"] == "open"  # 1 yes, 1 no, 2 undecided: 3 of 4 still reachable
    proposal = vote(chain, ORGS[2], proposal["id"], approve=False).result
    assert (proposal["status"], proposal["outcome"]) == ("rejected", "not enough votes can remain")
    assert proposal["votes"] == {ORGS[0]: True, ORGS[1]: False, ORGS[2]: False}
    closed = vote(chain, ORGS[3], proposal["id"])
    assert (closed.status, closed.code) == ("reverted", "PROPOSAL_CLOSED")
    assert chain.run(CLERK, "kv", "put", {"key": "k", "value": 1}).status == "ok"  # nothing was frozen
    assert [p["status"] for p in chain.executor.query("gov", "proposals", {}, None)] == ["rejected"]


def test_policy_all(chain: Chain) -> None:
    assert chain.govern("set_config", {"key": "gov_policy", "value": "all"})["status"] == "passed"
    assert chain.executor.query("gov", "config", {}, None)["gov_policy"] == "all"
    proposal = chain.govern("freeze_contract", {"name": "kv"}, yes=3)
    assert proposal["status"] == "open"
    assert vote(chain, ORGS[3], proposal["id"]).result["status"] == "passed"
    # under "all" one "no" rejects at once
    proposal = chain.govern("unfreeze_contract", {"name": "kv"}, yes=1, no=1)
    assert proposal["status"] == "rejected"


def test_policy_two_thirds(consortium5: Consortium, tmp_path: Path) -> None:
    chain = consortium5.chain(tmp_path / "five")
    try:
        orgs = consortium5.org_ids
        ttl = {"key": "proposal_ttl_ms", "value": 3_600_000}
        # majority of 5 is 3
        assert chain.govern("set_config", ttl, yes=3)["status"] == "passed"
        assert chain.govern("set_config", {"key": "gov_policy", "value": "two_thirds"}, yes=3)["status"] == "passed"
        # two thirds of 5 is 4
        proposal = chain.govern("set_config", {**ttl, "value": 7_200_000}, yes=3)
        assert proposal["status"] == "open"
        assert vote(chain, orgs[3], proposal["id"]).result["status"] == "passed"
        # 2 "no" of 5 leave only 3 possible "yes": rejected
        assert chain.govern("set_config", ttl, yes=1, no=2)["status"] == "rejected"
    finally:
        chain.close()


def test_required_org_must_approve(chain: Chain) -> None:
    params = {"key": "gov_required_orgs", "value": ["sh-regulator"]}
    assert chain.govern("set_config", params)["status"] == "passed"
    proposal = chain.govern("freeze_contract", {"name": "kv"}, yes=3)  # hongqiao, jinglian, pudong
    assert proposal["status"] == "open"
    assert vote(chain, "sh-regulator", proposal["id"]).result["status"] == "passed"
    vetoed = chain.ok(ADMIN, "gov", "propose", {"action": "unfreeze_contract", "params": {"name": "kv"}})
    assert vote(chain, "sh-regulator", vetoed["id"], approve=False).result["status"] == "rejected"


def test_add_org_then_its_member_transacts(chain: Chain) -> None:
    now = int(time.time() * 1000)
    ca_signer = chain.suite.generate_signer()
    ca = ids.create_ca(ca_signer, "new-org", "New Org", now)
    member_signer = chain.suite.generate_signer()
    cert = ids.issue_member(ca_signer, ca, "alice", ["admin", "client"], member_signer.public_key, now)
    alice = Wallet("new-org", "alice", member_signer, cert)
    expect_rejected(chain, chain.raw_tx(alice), "UNKNOWN_IDENTITY")
    proposal = chain.govern("add_org", {"id": "new-org", "ca_cert": ids.cert_pem(ca), "name": "New Org", "kind": "supplier"})
    assert (proposal["status"], proposal["outcome"]) == ("passed", "applied")
    orgs = chain.executor.query("members", "orgs", {}, None)
    assert [o["id"] for o in orgs] == sorted([*ORGS, "new-org"])
    assert next(o for o in orgs if o["id"] == "new-org")["kind"] == "supplier"
    receipt = chain.block(chain.raw_tx(alice, nonce=2)).receipts[0]
    assert (receipt.status, [e.data["by"] for e in receipt.events]) == ("ok", ["new-org/alice"])
    # a second add of the same id is refused at propose time
    again = propose(chain, ADMIN, "add_org", {"id": "new-org", "ca_cert": ids.cert_pem(ca)})
    assert (again.status, again.code) == ("reverted", "ORG_EXISTS")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"id": "Bad Org", "ca_cert": "x"}, "BAD_ORG"),
        ({"id": "x-org", "ca_cert": "not a pem"}, "BAD_ORG"),
        ({"id": "x-org"}, "BAD_PARAMS"),
        ({"id": "x-org", "ca_cert": "x", "extra": 1}, "BAD_PARAMS"),
    ],
)
def test_add_org_bad_params(chain: Chain, params: dict[str, Any], code: str) -> None:
    expect_reverted(chain, chain.tx(ADMIN, "gov", "propose", {"action": "add_org", "params": params}), code)


def test_add_org_with_ca_for_another_id_is_refused(chain: Chain) -> None:
    ca = ids.create_ca(chain.suite.generate_signer(), "org-one", "One", int(time.time() * 1000))
    expect_reverted(chain, chain.tx(ADMIN, "gov", "propose",
                                    {"action": "add_org", "params": {"id": "org-two", "ca_cert": ids.cert_pem(ca)}}),
                    "BAD_ORG")


def test_remove_org_makes_its_members_unknown(chain: Chain) -> None:
    gone = ORGS[1]
    assert chain.run(f"{gone}/clerk", "kv", "put", {"key": "k", "value": 1}).status == "ok"
    assert chain.govern("remove_org", {"id": gone})["status"] == "passed"
    for who in ("clerk", "admin"):
        expect_rejected(chain, chain.tx(f"{gone}/{who}", "kv", "put", {"key": "k", "value": 2}), "UNKNOWN_IDENTITY")
    assert [o["id"] for o in chain.executor.query("members", "orgs", {}, None)] == [ORGS[0], ORGS[2], ORGS[3]]
    # three members left: a majority is two
    ttl = {"key": "proposal_ttl_ms", "value": 3_600_000}
    proposal = chain.ok(ADMIN, "gov", "propose", {"action": "set_config", "params": ttl})
    assert vote(chain, ORGS[2], proposal["id"]).result["status"] == "passed"
    gone_again = propose(chain, ADMIN, "remove_org", {"id": gone})
    assert (gone_again.status, gone_again.code) == ("reverted", "ORG_NOT_FOUND")


def test_passed_proposal_that_no_longer_applies_fails(chain: Chain) -> None:
    first = chain.ok(ADMIN, "gov", "propose", {"action": "remove_org", "params": {"id": ORGS[2]}})
    second = chain.ok(ADMIN, "gov", "propose", {"action": "remove_org", "params": {"id": ORGS[2]}})
    vote(chain, ORGS[1], first["id"])
    assert vote(chain, ORGS[3], first["id"]).result["status"] == "passed"
    result = vote(chain, ORGS[1], second["id"]).result
    assert result["status"] == "failed" and result["outcome"].startswith("ORG_NOT_FOUND")


def test_vote_after_expiry(chain: Chain) -> None:
    proposal = chain.ok(ADMIN, "gov", "propose", {"action": "freeze_contract", "params": {"name": "kv"}})
    late = chain.block(chain.tx(f"{ORGS[1]}/admin", "gov", "vote", {"proposal_id": proposal["id"], "approve": True},
                                ttl_ms=0, not_after_height=10**6), time_ms=proposal["expires_ms"] + 1).receipts[0]
    assert (late.status, late.code) == ("reverted", "PROPOSAL_EXPIRED")
    assert chain.executor.query("gov", "proposal", {"proposal_id": proposal["id"]}, None)["status"] == "expired"


@pytest.mark.parametrize(
    "params",
    [
        {"key": "no_such_key", "value": 1},
        {"key": "block_max_txs", "value": "10"},
        {"key": "block_max_txs", "value": True},
        {"key": "block_max_txs", "value": 0},
        {"key": "max_tx_bytes", "value": -1},
        {"key": "gov_policy", "value": "unanimous"},
        {"key": "gov_required_orgs", "value": [1]},
        {"key": "gov_required_orgs", "value": "sh-regulator"},
    ],
)
def test_set_config_checked_at_propose_time(chain: Chain, params: dict[str, Any]) -> None:
    expect_reverted(chain, chain.tx(ADMIN, "gov", "propose", {"action": "set_config", "params": params}), "BAD_CONFIG")


def test_set_config_params_shape_and_unknown_action(chain: Chain) -> None:
    expect_reverted(chain, chain.tx(ADMIN, "gov", "propose", {"action": "set_config", "params": {"key": "gov_policy"}}),
                    "BAD_PARAMS")
    expect_reverted(chain, chain.tx(ADMIN, "gov", "propose", {"action": "self_destruct", "params": {}}), "BAD_ACTION")
    expect_reverted(chain, chain.tx(ADMIN, "gov", "propose", {"action": "freeze_identity", "params": {"id": "no-slash"}}),
                    "BAD_PARAMS")


def test_set_config_with_non_string_key_is_bad_config(chain: Chain) -> None:
    expect_reverted(chain, chain.tx(ADMIN, "gov", "propose",
                                    {"action": "set_config", "params": {"key": ["gov_policy"], "value": "all"}}),
                    "BAD_CONFIG")


# -- blocks -------------------------------------------------------------------------------


def test_block_headers_chain_and_roots_recompute(chain: Chain) -> None:
    chain.block(chain.tx(ADMIN, "kv", "put", {"key": "a", "value": 1}), chain.tx(CLERK, "kv", "delete", {"key": "x"}))
    chain.block()
    chain.block(*(chain.tx(ADMIN, "kv", "put", {"key": f"k{i}", "value": i}) for i in range(7)),
                chain.tx("pudong-bank/node", "kv", "put", {"key": "n", "value": 1}))
    assert chain.store.height() == 3
    genesis = chain.store.get_block(0)
    assert genesis is not None
    assert (genesis.header.prev_hash, genesis.header.proposer, genesis.txs) == (ZERO_HASH, "genesis", [])
    assert genesis.hash == chain.genesis_block.hash
    prev = genesis
    for block in chain.store.iter_blocks(1):
        header = block.header
        assert header.height == prev.height + 1
        assert header.prev_hash == prev.hash
        assert header.time_ms >= prev.header.time_ms
        assert block.hash == header.hash(chain.suite)
        assert header.state_root != prev.header.state_root
        assert (header.chain, header.suite, header.proposer) == (chain.c.chain_id, chain.suite.name, "unit")
        txs = [SignedTx.from_wire(chain.suite, wire, 1 << 20) for wire in block.txs]
        assert header.tx_count == len(txs) == len(block.receipts)
        assert header.tx_root == compute_tx_root(chain.suite, [t.id for t in txs])
        assert header.receipts_root == compute_receipts_root(chain.suite, block.receipts)
        assert [r.tx_id for r in block.receipts] == [t.id.hex() for t in txs]
        for i, tx in enumerate(txs):
            if block.receipts[i].status != "rejected":
                assert chain.store.tx_location(tx.id) == (block.height, i)
        assert chain.store.get_block_by_hash(block.hash) == block
        prev = block
    assert [r.code for r in chain.store.get_block(3).receipts][-1] == "FORBIDDEN_ROLE"  # type: ignore[union-attr]


def test_empty_block_keeps_state_root_chained(chain: Chain) -> None:
    a = chain.block()
    b = chain.block()
    assert a.header.tx_root == b.header.tx_root == chain.suite.hash(b"").hex()
    assert a.header.state_root != b.header.state_root  # the root chains the previous one
    assert a.hash != b.hash


def test_apply_block_before_genesis_is_a_fault(tmp_path: Path, consortium: Consortium) -> None:
    store = Store(tmp_path / "empty.db")
    try:
        executor = Executor(store, consortium.suite, consortium.chain_id, default_contracts())
        with pytest.raises(Fault):
            executor.apply_block([], 1, "p")
        assert store.height() == -1
    finally:
        store.close()

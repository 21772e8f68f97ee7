"""Masking a committed field's display by governance vote (ADR 0012): the stored block never
changes, proofs and replay still verify, the digest checks against the clear value."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from consortia.api.app import create_app, masked_block_view, transaction_view
from consortia.api.events import block_events
from consortia.client.proofs import ProofError, verify_transaction
from consortia.crypto.merkle import MerkleProof, is_valid_proof
from consortia.identity.read_auth import HEADER, sign_read
from consortia.ledger.records import BlockHeader
from consortia.node import Node
from consortia.node.replay import verify_data_dir
from consortia.types import codec
from tests.apps.scf_harness import CORE, DAY, T1, Scf
from tests.unit.helpers import Chain, Consortium

MEMO = "pay 张三, ID 310101199001011234"
ORG, TIER1, BANK, REGULATOR = "hongqiao-auto", "jinglian-parts", "pudong-bank", "sh-regulator"


def gov(chain: Chain, org: str, method: str, args: dict[str, Any]) -> Any:
    receipt = chain.run(f"{org}/admin", "gov", method, args)
    assert receipt.code == "OK", receipt
    return receipt.result


def propose(chain: Chain, action: str, params: dict[str, Any], reason: str = "personal data") -> Any:
    return chain.run(f"{ORG}/admin", "gov", "propose", {"action": action, "params": params, "reason": reason})


def vote_through(chain: Chain, action: str, params: dict[str, Any], voters: tuple[str, ...]) -> dict[str, Any]:
    """Org 0 proposes, each of ``voters`` approves; the proposal as it stands after."""
    receipt = propose(chain, action, params)
    assert receipt.code == "OK", receipt
    proposal: dict[str, Any] = receipt.result
    for org in voters:
        proposal = gov(chain, org, "vote", {"proposal_id": proposal["id"], "approve": True})
    return proposal


def display(chain: Chain) -> Any:
    """What the API's display functions need of a node."""
    return SimpleNamespace(store=chain.store, suite=chain.suite)


def put_memo(chain: Chain) -> str:
    block = chain.block(chain.tx(f"{TIER1}/clerk", "kv", "put", {"key": "order/1", "value": {"memo": MEMO, "qty": 3}}))
    assert block.receipts[0].code == "OK"
    return block.receipts[0].tx_id


def test_a_vote_with_the_regulator_masks_a_field_and_it_stays_verifiable(chain: Chain, tmp_path: Path) -> None:
    tx_id = put_memo(chain)
    params = {"tx": tx_id, "path": "args.value.memo"}
    stored = chain.store.get_block(chain.store.tx_location(bytes.fromhex(tx_id))[0])  # type: ignore[index]
    proposal = vote_through(chain, "mask", params, (TIER1, BANK))
    assert proposal["status"] == "open"  # a majority, but enforcement needs the regulator's yes
    assert "masked" not in transaction_view(display(chain), tx_id)
    proposal = gov(chain, REGULATOR, "vote", {"proposal_id": proposal["id"], "approve": True})
    assert (proposal["status"], proposal["outcome"]) == ("passed", "applied")

    view = transaction_view(display(chain), tx_id)
    marker = view["tx"]["args"]["value"]["memo"]
    digest = chain.suite.hash(codec.encode(MEMO)).hex()
    assert marker == {"masked": True, "proposal": proposal["id"], "digest": digest,
                      "algorithm": chain.suite.hash_name}
    assert view["tx"]["args"]["value"]["qty"] == 3 and view["masked"] == [{"path": "args.value.memo", **marker}]
    assert MEMO not in codec.encode(view).decode()
    # The id still sits in the block's tx_root, and the header still hashes to the block hash...
    header = BlockHeader.from_dict(view["header"])
    assert is_valid_proof(chain.suite.hash, bytes.fromhex(tx_id), MerkleProof.from_dict(view["proof"]["tx"]),
                          bytes.fromhex(header.tx_root), header.tx_count)
    assert header.hash(chain.suite) == view["block_hash"]
    # ...the shown content does not hash to the id, so a masked view verifies the id and header
    # only (the SDK's check), and fails if it is passed off as clear; with the value put back it verifies.
    verify_transaction(chain.suite, view)
    with pytest.raises(ProofError):
        verify_transaction(chain.suite, {**view, "masked": []})
    with pytest.raises(ProofError):
        verify_transaction(chain.suite, {**view, "tx_id": "00" * 32})
    assert chain.suite.hash(codec.encode(MEMO)).hex() == marker["digest"]
    restored = {**view, "tx": {**view["tx"], "args": {"key": "order/1", "value": {"memo": MEMO, "qty": 3}}}}
    verify_transaction(chain.suite, restored)
    assert chain.store.get_block(stored.height) == stored  # type: ignore[union-attr]
    # The block, shown, is masked too; the record is public through gov.masks.
    block = masked_block_view(display(chain), {"hash": stored.hash, "header": stored.header.to_dict(),  # type: ignore[union-attr]
                                               "txs": stored.txs, "receipts": [r.to_dict() for r in stored.receipts]},  # type: ignore[union-attr]
                              clear=False)
    assert block["txs"][0]["tx"]["args"]["value"]["memo"] == marker and block["masked"] == {"0": view["masked"]}
    [record] = chain.executor.query("gov", "masks", {}, None)
    assert record["tx"] == tx_id and record["fields"]["args.value.memo"]["digest"] == digest
    assert record["fields"]["args.value.memo"]["reason"] == "personal data"


def test_a_rejected_vote_or_no_regulator_yes_masks_nothing(chain: Chain) -> None:
    tx_id = put_memo(chain)
    params = {"tx": tx_id, "path": "args.value.memo"}
    assert vote_through(chain, "mask", params, (TIER1, BANK))["status"] == "open"
    vetoed = vote_through(chain, "mask", params, (TIER1,))
    vetoed = gov(chain, REGULATOR, "vote", {"proposal_id": vetoed["id"], "approve": False})
    assert vetoed["status"] == "rejected"
    assert chain.executor.query("gov", "masks", {}, None) == []
    assert transaction_view(display(chain), tx_id)["tx"]["args"]["value"]["memo"] == MEMO


@pytest.mark.parametrize(("params", "code"), [
    ({"tx": "ab" * 32, "path": "args.value.memo"}, "MASK_TX_NOT_FOUND"),
    ({"tx": "AB" * 32, "path": "args.value.memo"}, "BAD_PARAMS"),
    ({"tx": "{tx}", "path": "args.value.note"}, "MASK_PATH_NOT_FOUND"),
    ({"tx": "{tx}", "path": "args.value.memo[0]"}, "MASK_PATH_NOT_FOUND"),
    ({"tx": "{tx}", "path": "args.value.qty"}, "MASK_NOT_TEXT"),
    ({"tx": "{tx}", "path": "args.value"}, "MASK_NOT_TEXT"),
    ({"tx": "{tx}", "path": "sender"}, "BAD_PARAMS"),
    ({"tx": "{tx}", "path": "args..memo"}, "BAD_PARAMS"),
    ({"tx": "{tx}", "path": "args.value.memo", "why": "x"}, "BAD_PARAMS"),
    ({"contract": "kv", "key": "order/404", "path": "memo"}, "MASK_KEY_NOT_FOUND"),
    ({"contract": "gov", "key": "config", "path": "filing"}, "MASK_KEY_NOT_FOUND"),
    ({"contract": "kv", "key": "order/1", "path": "qty"}, "MASK_NOT_TEXT"),
])
def test_bad_targets_are_refused_with_a_code_and_change_nothing(chain: Chain, params: dict[str, Any], code: str) -> None:
    tx_id = put_memo(chain)
    before = chain.rows()
    receipt = propose(chain, "mask", {k: v.replace("{tx}", tx_id) for k, v in params.items()})
    assert (receipt.status, receipt.code) == ("reverted", code), receipt
    assert chain.rows() == before


def test_a_mask_needs_a_reason_and_a_vote_and_unmask_needs_a_mask(chain: Chain) -> None:
    tx_id = put_memo(chain)
    params = {"tx": tx_id, "path": "args.value.memo"}
    before = chain.rows()
    assert propose(chain, "mask", params, reason=" ").code == "BAD_ARGS"
    assert propose(chain, "unmask", params).code == "NOT_MASKED"
    direct = chain.run(f"{REGULATOR}/admin", "gov", "mask", params)  # no way around the vote
    assert (direct.status, direct.code) == ("rejected", "UNKNOWN_METHOD")
    clerk = chain.run(f"{REGULATOR}/clerk", "gov", "propose", {"action": "mask", "params": params, "reason": "x"})
    assert clerk.code == "NOT_ADMIN"
    assert chain.rows() == before


def test_unmask_restores_the_display_and_replay_still_verifies(consortium: Consortium, tmp_path: Path) -> None:
    node = Node(consortium.genesis, tmp_path / "node")
    chain = Chain.__new__(Chain)  # drive the node's own executor and store, as its orderer would
    chain.c, chain.suite, chain.store, chain.executor = consortium, consortium.suite, node.store, node.executor
    chain.time_ms = consortium.genesis["time_ms"]
    try:
        tx_id = put_memo(chain)
        params = {"tx": tx_id, "path": "args.value.memo"}
        vote_through(chain, "mask", params, (TIER1, BANK, REGULATOR))
        assert propose(chain, "mask", params).code == "ALREADY_MASKED"
        assert "masked" in transaction_view(node, tx_id)
        def read(who: str | None) -> dict[str, Any]:
            headers = {} if who is None else {HEADER: sign_read(consortium.wallet(who), consortium.suite.hash,
                                                                consortium.chain_id, "GET", f"/transactions/{tx_id}", b"")}

            async def get() -> dict[str, Any]:
                transport = httpx.ASGITransport(app=create_app(node, manage_node=False))
                async with httpx.AsyncClient(transport=transport, base_url="http://node") as http:
                    return (await http.get(f"/transactions/{tx_id}", headers=headers)).json()  # type: ignore[no-any-return]
            return asyncio.run(get())

        assert read(None)["tx"]["args"]["value"]["memo"]["masked"] is True
        assert read(f"{BANK}/admin")["tx"]["args"]["value"]["memo"]["masked"] is True
        for who in (f"{REGULATOR}/admin", f"{BANK}/node"):  # a regulator, and a node copying blocks
            seen = read(who)
            assert seen["tx"]["args"]["value"]["memo"] == MEMO and seen["clear"] is True
            verify_transaction(consortium.suite, seen)
        [audited] = [e for e in node.audit.entries() if e["action"] == "transactions.clear"]
        assert audited["org"] == REGULATOR and audited["detail"] == {"tx_id": tx_id, "paths": ["args.value.memo"]}
        assert vote_through(chain, "unmask", params, (TIER1, BANK, REGULATOR))["status"] == "passed"
        view = transaction_view(node, tx_id)
        assert "masked" not in view and view["tx"]["args"]["value"]["memo"] == MEMO
        verify_transaction(consortium.suite, view)
        assert chain.executor.query("gov", "masks", {}, None) == []
        vote_through(chain, "mask", params, (TIER1, BANK, REGULATOR))  # masked again, then replayed
    finally:
        node.stop()
    report = verify_data_dir(tmp_path / "node")
    assert report.ok, report.to_dict()


@pytest.fixture(scope="module")
def seven(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("scf") / "c", orgs=7, suite_name=suite_name)


def test_a_voucher_memo_copied_into_state_and_the_receipt_is_masked_too(seven: Consortium, tmp_path: Path) -> None:
    scf = Scf(seven, tmp_path / "chain")
    try:
        chain = scf.chain
        doc = scf.document("INV-9", 1_000_00)
        line = scf.credit_line()
        issued = chain.block(chain.tx(f"{CORE}/admin", "scf", "issue", {
            "to": T1, "amount": 1_000_00, "due_ms": scf.now + 30 * DAY, "credit_line": line, "documents": [doc],
            "memo": MEMO})).receipts[0]
        voucher = issued.result["id"]
        voters = tuple(seven.org_ids[1:4])  # with the proposer a majority of seven, the regulator among them
        proposal = vote_through(chain, "mask", {"tx": issued.tx_id, "path": "args.memo"}, voters)
        assert proposal["status"] == "passed"
        view = transaction_view(display(chain), issued.tx_id)
        assert view["tx"]["args"]["memo"]["masked"] and view["receipt"]["result"]["memo"] == view["tx"]["args"]["memo"]
        assert MEMO not in codec.encode(view).decode()
        assert [e for e in block_events(display(chain), view["height"], None, None, None)]  # events shown as before
        assert scf.query(CORE, "voucher", {"voucher_id": voucher})["memo"] == MEMO  # the state copy is its own target
        state = {"contract": "scf", "key": f"v/{voucher}", "path": "memo"}
        assert vote_through(chain, "mask", state, voters)["status"] == "passed"
        shown = scf.query(CORE, "voucher", {"voucher_id": voucher})["memo"]
        assert shown["masked"] and shown["digest"] == seven.suite.hash(codec.encode(MEMO)).hex()
        regulator = scf.identity(seven.org_ids[3])
        assert chain.executor.query("scf", "voucher", {"voucher_id": voucher}, regulator, clear=True)["memo"] == MEMO
        scf.ok(T1, "accept", {"voucher_id": voucher})  # execution still sees the clear value
        assert scf.query(T1, "voucher", {"voucher_id": voucher})["status"] == "active"
    finally:
        scf.chain.close()

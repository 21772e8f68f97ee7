"""Tests of the warehouse-receipt contract, in plain pytest, on a chain made for each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.testing import ContractChain

HERE = Path(__file__).parent
C = "warehouse_receipt"


@pytest.fixture
def chain() -> Iterator[ContractChain]:
    with ContractChain({"cosco-warehouse": "member", "steelco": "supplier", "ningbo-bank": "funder",
                        "other-bank": "funder"}) as c:
        c.deploy(HERE, access={"issue": ["cosco-warehouse"]})
        yield c


def issue(chain: ContractChain, lot: str = "L-001") -> str:
    receipt = chain.ok("cosco-warehouse", C, "issue", owner="steelco", lot=lot, goods="hot-rolled coil",
                       quantity=120, unit="t", location="Ningbo bonded zone, shed 4")
    return str(receipt["id"])


def test_issue_pledge_release_withdraw(chain: ContractChain) -> None:
    receipt_id = issue(chain)
    assert chain.query(C, "receipt", receipt_id=receipt_id)["state"] == "held"
    pledged = chain.call("steelco", C, "pledge", receipt_id=receipt_id, bank="ningbo-bank")
    assert [e.name for e in pledged.events] == ["ReceiptPledged"]
    chain.advance(days=90)
    assert chain.ok("ningbo-bank", C, "release", receipt_id=receipt_id)["state"] == "held"
    done = chain.ok("cosco-warehouse", C, "withdraw", receipt_id=receipt_id)
    assert done["state"] == "withdrawn"
    assert [h[0] for h in done["history"]] == ["issued", "pledged", "released", "withdrawn"]


def test_the_same_goods_cannot_back_two_loans(chain: ContractChain) -> None:
    receipt_id = issue(chain)
    chain.ok("steelco", C, "pledge", receipt_id=receipt_id, bank="ningbo-bank")
    chain.refused("ALREADY_PLEDGED", "steelco", C, "pledge", receipt_id=receipt_id, bank="other-bank")
    chain.refused("NOT_HELD", "steelco", C, "transfer", receipt_id=receipt_id, to="other-bank")
    chain.refused("NOT_HELD", "cosco-warehouse", C, "withdraw", receipt_id=receipt_id)
    chain.refused("DUPLICATE_LOT", "cosco-warehouse", C, "issue", owner="steelco", lot="L-001", goods="coil",
                  quantity=1, unit="t")


def test_only_the_party_whose_step_it_is(chain: ContractChain) -> None:
    receipt_id = issue(chain)
    chain.refused("NOT_OWNER", "ningbo-bank", C, "pledge", receipt_id=receipt_id, bank="ningbo-bank")
    chain.refused("METHOD_RESTRICTED", "steelco", C, "issue", owner="steelco", lot="L-9", goods="coil", quantity=1,
                  unit="t")
    chain.refused("NOT_A_BANK", "steelco", C, "pledge", receipt_id=receipt_id, bank="cosco-warehouse")
    chain.ok("steelco", C, "pledge", receipt_id=receipt_id, bank="ningbo-bank")
    chain.refused("NOT_PLEDGEE", "other-bank", C, "release", receipt_id=receipt_id)


def test_bad_input_is_refused(chain: ContractChain) -> None:
    chain.refused("BAD_QUANTITY", "cosco-warehouse", C, "issue", owner="steelco", lot="L-2", goods="coil",
                  quantity=0, unit="t")
    chain.refused("UNKNOWN_ORG", "cosco-warehouse", C, "issue", owner="nobody", lot="L-2", goods="coil",
                  quantity=1, unit="t")
    chain.refused("BAD_ARGS", "cosco-warehouse", C, "issue", owner="steelco", lot="L-2", goods="coil",
                  quantity="1", unit="t")
    chain.refused("RECEIPT_NOT_FOUND", "steelco", C, "pledge", receipt_id="nope", bank="ningbo-bank")

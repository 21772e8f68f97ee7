"""Issue 19, item 2: a privileged role in an app is bound to the organisation kind that genesis or
a vote set; an organisation cannot give itself the funder, core or regulator seat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.errors import Forbidden
from tests.apps.scf_harness import BANK, CORE, REG, T1, USCC, Scf
from tests.unit.helpers import Consortium


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory, suite_name: str) -> Consortium:
    return Consortium(tmp_path_factory.mktemp("roles") / "c", orgs=7, suite_name=suite_name)


@pytest.fixture
def scf(consortium: Consortium, tmp_path: Path) -> Iterator[Scf]:
    harness = Scf(consortium, tmp_path / "chain")
    yield harness
    harness.chain.close()


@pytest.mark.parametrize("claimed", [["supplier", "funder"], ["funder"], ["core"], ["supplier", "core"]])
def test_a_supplier_cannot_register_as_funder_or_core(scf: Scf, claimed: list[str]) -> None:
    scf.refused(T1, "register_party", {"roles": claimed, "uscc": USCC[T1], "name": "x"}, "WRONG_ORG_KIND")


def test_a_funder_cannot_claim_the_core_seat_nor_a_core_the_funder_seat(scf: Scf) -> None:
    scf.refused(BANK, "register_party", {"roles": ["funder", "core"], "uscc": USCC[BANK], "name": "x"}, "WRONG_ORG_KIND")
    scf.refused(CORE, "register_party", {"roles": ["core", "funder"], "uscc": USCC[CORE], "name": "x"}, "WRONG_ORG_KIND")
    scf.refused(REG, "register_party", {"roles": ["regulator", "funder"], "uscc": USCC[REG], "name": "x"},
                "WRONG_ORG_KIND")
    scf.ok(CORE, "register_party", {"roles": ["core", "supplier"], "uscc": USCC[CORE], "name": "x"})


def test_the_probe_of_the_issue_reads_nothing(scf: Scf) -> None:
    scf.voucher(1_000_00)
    scf.refused(T1, "register_party", {"roles": ["supplier", "funder"], "uscc": USCC[T1], "name": "x"},
                "WRONG_ORG_KIND")
    with pytest.raises(Forbidden):
        scf.query(T1, "exposure", {"core": CORE})
    assert scf.query(BANK, "exposure", {"core": CORE})["outstanding"] == 1_000_00

"""Test a contract in plain pytest, against a real chain in a temporary directory.

``ContractChain`` makes a consortium of named organisations (each with an ``admin`` and a
``clerk``), executes every call in its own block through the same executor a node runs, and
installs contracts the way a network does: a governance proposal that every organisation
approves. A member's contract runs in the same sandbox and under the same meter as on a node::

    from consortia.testing import ContractChain

    def test_issue() -> None:
        chain = ContractChain(["warehouse", "owner", "bank"])
        chain.deploy("contracts/warehouse-receipt")
        receipt_id = chain.ok("warehouse", "warehouse-receipt", "issue", owner="owner", goods="steel", quantity=10)
        chain.refused("NOT_OWNER", "bank", "warehouse-receipt", "pledge", receipt_id=receipt_id, bank="bank")
        chain.advance(days=30)
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from consortia.client.txbuild import build_tx
from consortia.contracts.usercode import ENTRY_FILE, compute_code_hash, make_archive
from consortia.crypto.suite import get_suite
from consortia.errors import BadInput, Fault
from consortia.execution.executor import Executor
from consortia.execution.genesis import check_genesis
from consortia.identity.wallet import Wallet, load_wallet
from consortia.ledger.records import Event, Receipt
from consortia.ledger.store import Store
from consortia.node.home import init_consortium
from consortia.node.node import default_contracts
from consortia.types import codec

__all__ = ["ContractChain", "read_contract"]

DAY_MS = 24 * 3600 * 1000


def read_contract(source: str | Path) -> str:
    """A contract's source from a directory holding ``contract.py``, a ``.py`` file, or the text itself."""
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and len(source) < 4096):
        path = Path(source)
        if path.is_dir():
            path = path / ENTRY_FILE
        if not path.is_file():
            raise BadInput(f"no contract at {path} (expected a directory with {ENTRY_FILE} or a .py file)",
                           code="NO_CONTRACT")
        return path.read_text(encoding="utf-8")
    return source


class ContractChain:
    """A fresh chain of ``orgs`` (ids, or ``{id: kind}``) in its own directory, driven call by call.

    Every organisation gets ``<org>/admin`` (roles admin, client) and ``<org>/clerk`` (client).
    ``who`` in the calls below is ``org`` (its admin) or ``org/member``.
    """

    def __init__(self, orgs: list[str] | dict[str, str] = ("org-a", "org-b", "org-c"), *,  # type: ignore[assignment]
                 suite: str = "ed25519-sha256", path: Path | None = None, start_ms: int | None = None) -> None:
        kinds = dict(orgs) if isinstance(orgs, dict) else {o: "member" for o in orgs}
        if not kinds:
            raise BadInput("a chain needs at least one organisation", code="BAD_ARGS")
        self._own_dir = path is None
        self.path = Path(tempfile.mkdtemp(prefix="consortia-test-")) if path is None else Path(path)
        plans = [{"id": org, "name": org, "kind": kind} for org, kind in kinds.items()]
        self.genesis = init_consortium(self.path / "consortium", org_plans=plans, suite_name=suite,
                                       chain_id="sandbox-contract-test", sandbox=True)
        self.suite = get_suite(self.genesis["suite"])
        self.orgs = list(kinds)
        self.store = Store(self.path / "chain.db")
        self.executor = Executor(self.store, self.suite, self.genesis["chain_id"], default_contracts())
        self.executor.apply_genesis(check_genesis(self.genesis))
        self.time_ms: int = self.genesis["time_ms"] if start_ms is None else start_ms
        self._wallets: dict[str, Wallet] = {}
        self._nonce = 0

    def close(self) -> None:
        self.store.close()
        if self._own_dir:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> ContractChain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- identities and time ------------------------------------------------------------

    def wallet(self, who: str) -> Wallet:
        identity = who if "/" in who else f"{who}/admin"
        if identity not in self._wallets:
            self._wallets[identity] = load_wallet(self.path / "consortium", self.suite, identity)
        return self._wallets[identity]

    def advance(self, ms: int = 0, *, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> int:
        """Move block time forward; returns the new time (ms since the epoch)."""
        self.time_ms += ms + ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000
        return self.time_ms

    @property
    def height(self) -> int:
        return self.store.height()

    # -- calls --------------------------------------------------------------------------

    def call(self, who: str, contract: str, method: str, **args: Any) -> Receipt:
        """Sign ``contract.method(**args)`` as ``who`` and commit it in its own block; its receipt."""
        self._nonce += 1
        tx = build_tx(self.suite, self.wallet(who), self.genesis["chain_id"], contract, method, args, ttl_ms=0,
                      not_after_height=10**12, nonce=self._nonce)
        self.time_ms += 1
        block = self.executor.apply_block([tx], self.time_ms, "test")
        return block.receipts[0]

    def ok(self, who: str, contract: str, method: str, **args: Any) -> Any:
        """``call`` that must succeed; returns the method's result."""
        receipt = self.call(who, contract, method, **args)
        if receipt.status != "ok":
            raise AssertionError(f"{contract}.{method} as {who}: {receipt.status} {receipt.code}: {receipt.message}")
        return receipt.result

    def refused(self, code: str, who: str, contract: str, method: str, **args: Any) -> Receipt:
        """``call`` that must be refused with ``code`` and leave every state entry as it was."""
        before = self.snapshot()
        receipt = self.call(who, contract, method, **args)
        if receipt.code != code or receipt.status == "ok":
            raise AssertionError(f"{contract}.{method} as {who}: expected {code}, got {receipt.status} "
                                 f"{receipt.code}: {receipt.message}")
        if receipt.events or self.snapshot() != before:
            raise AssertionError(f"{contract}.{method} was refused with {code} but changed state")
        return receipt

    def query(self, contract: str, method: str, *, who: str | None = None, **args: Any) -> Any:
        """Run a ``@query`` on committed state, as ``who`` when given (a signed read)."""
        caller = None
        if who is not None:
            from consortia.execution.executor import Reader

            wallet = self.wallet(who)
            reader = Reader(lambda k: (v.value if (v := self.store.state_read(k)) else None))
            caller = self.executor.identity(reader, wallet.sender, self.time_ms)
        return self.executor.query(contract, method, args, caller)

    def state(self, contract: str, key: str) -> Any:
        """The committed value under ``key`` in ``contract``'s state (None if absent)."""
        found = self.store.state_read(f"{contract}/{key}")
        return None if found is None else codec.decode_trusted(found.value)

    def snapshot(self) -> dict[str, bytes]:
        """Every committed state entry (to compare before and after a call)."""
        return {k: v.value for k, v in self.store.state_range("", "\U0010ffff", 10**7, writer=False)}

    @staticmethod
    def events(receipt: Receipt, name: str | None = None) -> list[Event]:
        return [e for e in receipt.events if name is None or e.name == name]

    # -- governance ---------------------------------------------------------------------

    def govern(self, action: str, params: dict[str, Any], *, reason: str = "", voters: list[str] | None = None,
               proposer: str | None = None) -> dict[str, Any]:
        """Propose ``action`` and have organisations vote yes (default: all) until it closes."""
        proposer = proposer or self.orgs[0]
        receipt = self.call(proposer, "gov", "propose", action=action, params=params, reason=reason)
        if receipt.status != "ok":
            raise AssertionError(f"gov.propose {action}: {receipt.code}: {receipt.message}")
        proposal = receipt.result
        for org in voters if voters is not None else self.orgs:
            if proposal["status"] != "open" or org == proposer.split("/")[0]:
                continue
            proposal = self.ok(org, "gov", "vote", proposal_id=proposal["id"], approve=True)
        return proposal  # type: ignore[no-any-return]

    def deploy(self, source: str | Path, *, access: dict[str, list[str]] | None = None) -> dict[str, Any]:
        """Install (or upgrade to) the contract at ``source`` by a vote of every organisation; its
        installed record. Raises if the proposal is refused or fails."""
        from consortia.contracts.usercode import check_archive

        archive = make_archive(read_contract(source))
        outline, _ = check_archive(archive)
        installed = self.store.state_read(f"sys/contract/{outline.name}") is not None
        params = {"name": outline.name, "version": outline.version, "archive": archive,
                  "code_hash": compute_code_hash(self.suite.hash, self.suite.hash_name, archive),
                  "access": access or {}}
        proposal = self.govern("upgrade_contract" if installed else "install_contract", params)
        if proposal["status"] != "passed":
            raise Fault(f"deploying {outline.name}: proposal {proposal['status']}: {proposal['outcome']}")
        return self.query("gov", "contract", name=outline.name)  # type: ignore[no-any-return]

    def freeze(self, contract: str) -> dict[str, Any]:
        return self.govern("freeze_contract", {"name": contract})

    def unfreeze(self, contract: str) -> dict[str, Any]:
        return self.govern("unfreeze_contract", {"name": contract})

"""Dependencies point one way: types <- crypto <- identity <- ledger <- contracts <- execution
<- consensus <- node <- api. The SDK and CLI reach a node through the API only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "consortia"
ORDER = ["errors", "types", "crypto", "identity", "ledger", "contracts", "execution", "consensus", "node", "api"]
# What each package may import besides the layers below it.
EXTRA = {
    # genesis check only; and a member's contract is checked and hashed before it is proposed
    "client": {"errors", "types", "crypto", "identity", "ledger", "execution", "contracts"},
    "cli": set(ORDER) | {"client", "apps"},
    # an app's CLI talks through the SDK; the evidence file vault seals with the chain's suite
    "apps": {"errors", "types", "crypto", "contracts", "client"},
}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("consortia."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("consortia."))
    return found


COMPOSITION = {"node", "api"}  # the composition root wires the apps in


def allowed(package: str) -> set[str]:
    if package in EXTRA:
        return EXTRA[package] | {package}
    return set(ORDER[: ORDER.index(package) + 1]) | ({"apps"} if package in COMPOSITION else set())


@pytest.mark.parametrize("path", sorted(p for p in SRC.rglob("*.py") if p.parent != SRC),
                         ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_layers(path: Path) -> None:
    package = path.relative_to(SRC).parts[0]
    bad = imports_of(path) - allowed(package) - {"__init__"}
    assert not bad, f"{path.relative_to(SRC)} ({package}) imports {sorted(bad)}"

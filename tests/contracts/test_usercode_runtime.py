"""Run-time limits: each adversarial contract passes the deploy checks, then reverts with its code,
changes nothing, and leaves the chain executing the next transaction as before."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest

from consortia.testing import ContractChain

HEADER = '''from __future__ import annotations

from decimal import Decimal
from typing import Any

from consortia.contracts.sdk import Context, Contract, method, query, refuse, require


class Counter:
    calls = 0


def forever(n: int) -> int:
    return forever(n + 1)


class Probe(Contract):
    name = "probe"
    version = "1"

    @method
    def touch(self, ctx: Context, key: str) -> None:
        ctx.put(key, ctx.height)

    @method
    def bump(self) -> int:
        return 0
'''

CASES = {
    "endless loop": ("while True:\n    pass", "OUT_OF_STEPS"),
    "endless loop, limit caught": ("try:\n    while True:\n        pass\nexcept Exception:\n    ctx.put('caught', 1)",
                                   "OUT_OF_STEPS"),
    "deep recursion": ("return forever(0)", "RECURSION_LIMIT"),
    "lambda recursion": ("f = lambda n: f(n + 1)\nreturn f(0)", "RECURSION_LIMIT"),
    "a 1 GB list": ("xs = [0] * (1024 * 1024 * 128)\nreturn len(xs)", "OUT_OF_MEMORY"),
    "a list doubled in a loop": ("xs = [0]\nfor _ in range(64):\n    xs = xs + xs\nreturn len(xs)", "OUT_OF_MEMORY"),
    "a list extended by itself": ("xs = [0]\nfor _ in range(64):\n    xs.extend(xs)\nreturn len(xs)", "OUT_OF_MEMORY"),
    "a string doubled by replace": ("s = 'ab'\nfor _ in range(64):\n    s = s.replace('a', 'aa')\nreturn len(s)",
                                    "OUT_OF_MEMORY"),
    "an f-string doubled": ("s = 'x'\nfor _ in range(64):\n    s = f'{s}{s}'\nreturn len(s)", "OUT_OF_MEMORY"),
    "a huge integer": ("return 10 ** 10 ** 9", "OUT_OF_MEMORY"),
    "a huge shift": ("return 1 << (1 << 40)", "OUT_OF_MEMORY"),
    "a range too long to walk": ("return sum(range(10 ** 12))", "OUT_OF_STEPS"),
    "copies kept in a loop": ("big = list(range(100000))\nkeep = []\nfor _ in range(100000):\n"
                              "    keep.append(big[:])\nreturn len(keep)", "OUT_OF_STEPS"),
    "int division makes a float": ("return 7 / 2", "FLOAT_REFUSED"),
    "a negative power makes a float": ("return 2 ** -1", "FLOAT_REFUSED"),
    "%-formatting": ("return '%s' % ctx.height", "NOT_ALLOWED"),
    "a float from a Decimal": ("return Decimal(1) / Decimal(3) > 0", None),
    "too many writes": ("for i in range(2000):\n    ctx.put(f'k{i}', i)", "TOO_MANY_WRITES"),
    "a value too large": ("ctx.put('big', 'x' * 300000)", "VALUE_TOO_LARGE"),
    "an event too large": ("ctx.emit('Big', blob='x' * 20000)", "EVENT_TOO_LARGE"),
    "too many events": ("for i in range(101):\n    ctx.emit('E', i=i)", "TOO_MANY_EVENTS"),
    "a quadratic scan": ("xs = [0] * 500000\nn = 0\nfor i in range(500000):\n    if i in xs:\n        n += 1\n"
                         "return n", "OUT_OF_STEPS"),
    "a quadratic method": ("s = 'a' * 900000\nn = 0\nfor i in range(900000):\n    n += s.count('b')\nreturn n",
                           "OUT_OF_STEPS"),
    "sum of lists": ("return len(sum([[0] * 1000] * 1000, []))", "NOT_ALLOWED"),
    "a refusal with a huge message": ("require(False, refuse('NOPE', 'x' * 500000))", "NOPE"),
    "a refusal with a malformed code": ("require(False, refuse('bad code ' * 20, 'no'))", "CONTRACT_ERROR"),
    "a contract bug": ("return {}['missing']", "CONTRACT_ERROR"),
    "another contract's state": ("return ctx.get('../scf/party/x')", None),
}


def probe_source() -> str:
    methods = []
    for i, (code, _) in enumerate(CASES.values()):
        lines = "".join(f"        {line}\n" for line in code.splitlines())
        methods.append(f"\n    @method\n    def case{i}(self, ctx: Context) -> Any:\n{lines}")
    return HEADER.replace("    @method\n    def bump(self) -> int:\n        return 0\n", "") + "".join(methods)


@pytest.fixture(scope="module")
def chain() -> Iterator[ContractChain]:
    with ContractChain(["alpha", "beta", "gamma"]) as c:
        c.deploy(probe_source())
        c.ok("alpha", "probe", "touch", key="before")
        yield c


@pytest.mark.parametrize("case", list(CASES))
def test_adversarial_call_reverts_and_changes_nothing(chain: ContractChain, case: str) -> None:
    index = list(CASES).index(case)
    code = CASES[case][1]
    if code is None:  # allowed, and confined: Decimal is exact; a key cannot climb out of the contract
        receipt = chain.call("beta", "probe", f"case{index}")
        assert receipt.status == "ok" and receipt.result in (True, None), receipt
    else:
        tracemalloc.start()
        try:
            receipt = chain.refused(code, "beta", "probe", f"case{index}")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert receipt.status == "reverted" and len(receipt.message) <= 1000
        assert peak < 256 * 1024 * 1024, f"{case} allocated {peak:,} bytes before it was stopped"
    assert chain.ok("gamma", "probe", "touch", key=f"after-{index}") is None  # the chain goes on
    assert chain.state("probe", f"after-{index}") == chain.height


def test_nothing_survives_from_one_call_to_the_next(chain: ContractChain) -> None:
    source = HEADER.replace("    @method\n    def bump(self) -> int:\n        return 0\n", '''    @method
    def bump(self, ctx: Context) -> int:
        Counter.calls += 1
        return Counter.calls
''').replace('version = "1"', 'version = "2"')
    chain.deploy(source)
    assert [chain.ok("alpha", "probe", "bump") for _ in range(3)] == [1, 1, 1]


def test_an_endless_query_is_stopped(chain: ContractChain) -> None:
    source = HEADER.replace('version = "1"', 'version = "3"') + '''
    @query
    def spin(self, ctx: Context) -> int:
        n = 0
        while True:
            n += 1
'''
    chain.deploy(source)
    from consortia.errors import Revert

    with pytest.raises(Revert) as stopped:
        chain.query("probe", "spin")
    assert stopped.value.code == "OUT_OF_STEPS"


def test_the_step_budget_is_chain_config(chain: ContractChain) -> None:
    source = HEADER.replace('version = "1"', 'version = "4"') + '''
    @method
    def count(self, ctx: Context, n: int) -> int:
        total = 0
        for i in range(n):
            total += i
        return total
'''
    chain.deploy(source)
    assert chain.ok("alpha", "probe", "count", n=20_000) == sum(range(20_000))
    chain.govern("set_config", {"key": "contract_max_steps", "value": 10_000})
    chain.refused("OUT_OF_STEPS", "alpha", "probe", "count", n=20_000)
    chain.govern("set_config", {"key": "contract_max_steps", "value": 1_000_000})

"""Deploy-time checks: each adversarial source is refused with CONTRACT_REFUSED naming its line."""

from __future__ import annotations

import pytest

from consortia.contracts.usercode import ContractRefused, check_source, compile_archive, make_archive

HEADER = '''from __future__ import annotations

from typing import Any

from consortia.contracts.sdk import Context, Contract, method, query, refuse, require


class Probe(Contract):
    name = "probe"
    version = "1"

    @method
    def run(self, ctx: Context) -> Any:
'''


def body(code: str) -> str:
    return HEADER + "".join(f"        {line}\n" for line in code.strip("\n").splitlines())


def line_of(source: str, needle: str) -> int:
    return next(i for i, text in enumerate(source.splitlines(), 1) if needle in text)


ADVERSARIAL = {
    "import os": ("import os\n" + body("return 1"), "import os", "operating system"),
    "from os import path": ("from os import path\n" + body("return 1"), "from os import path", "operating system"),
    "import time": (body("return 1").replace("from typing", "import time\nfrom typing"), "import time", "block time"),
    "random": ("from random import randint\n" + body("return randint(1, 6)"), "from random", "derive_id"),
    "dunder escape": (body("return ().__class__.__bases__[0].__subclasses__()"), "__class__", "private"),
    "getattr globals": (body('return getattr(ctx, "__globals__")'), "getattr", "interpreter"),
    "eval": (body('return eval("1 + 1")'), "eval", "runs code"),
    "exec": (body('exec("x = 1")\nreturn 1'), "exec", "runs code"),
    "open": (body('return open("/etc/passwd").read()'), "open(", "input/output"),
    "__import__": (body('return __import__("os")'), "__import__", "interpreter"),
    "float literal": (body("return 0.1 + 0.2"), "0.1", "float"),
    "float()": (body('return float("1.5")'), "float(", "float"),
    "set iteration": (body('out = []\nfor x in {"b", "a", "c"}:\n    out.append(x)\nreturn out'), "for x in",
                      "set"),
    "set to list": (body('s = set(["b", "a"])\nreturn list(s)'), "return list(s)", "set"),
    "a list extended by a set": (body('xs = []\nxs.extend({"b", "a"})\nreturn xs'), "xs.extend", "set"),
    "dict.fromkeys of a set": (body('return dict.fromkeys({"b", "a"})'), "fromkeys", "set"),
    "+= a set": (body('xs = []\nxs += {"b", "a"}\nreturn xs'), "xs +=", "set"),
    "mutable default": (HEADER.replace("def run(self, ctx: Context)", "def run(self, ctx: Context, seen: list[str] = [])")
                        + "        seen.append(ctx.tx_id)\n        return len(seen)\n", "def run", "default"),
    "module global": (HEADER.replace("class Probe", "CALLS = [0]\n\n\nclass Probe")
                      + "        return 1\n", "CALLS = [0]", "module-level value"),
    "global statement": (HEADER.replace("class Probe", "COUNT = 0\n\n\nclass Probe")
                         + "        global COUNT\n        COUNT += 1\n        return COUNT\n", "global COUNT", "global"),
    "private attribute of ctx": (body("return ctx._state"), "ctx._state", "private"),
    "str.format": (body('return "{0.__class__}".format(ctx)'), ".format", "f-string"),
    "assert": (body("assert ctx.height > 0\nreturn 1"), "assert", "python -O"),
    "bare except": (body("try:\n    return 1\nexcept:\n    return 2"), "except:", "bare"),
    "catch BaseException": (body("try:\n    return 1\nexcept BaseException:\n    return 2"), "except BaseException",
                            "cannot be caught"),
    "return in finally": (body("try:\n    return 1\nfinally:\n    return 2"), "return 2", "finally"),
    "async": (HEADER.replace("    def run", "    async def run") + "        return 1\n", "async def", "synchronously"),
    "print": (body('print("hi")\nreturn 1'), "print", "input/output"),
    "hash": (body('return hash("a")'), "hash(", "PYTHONHASHSEED"),
    "alias a shared class": (body("c = Contract\nreturn 1"), "c = Contract", "shared"),
    "alias a builder": (body("f = list\nreturn f()"), "f = list", "call it directly"),
    "type()": (body("return type(self)"), "type(self)", "interpreter"),
    "with": (body("with ctx:\n    return 1"), "with ctx", "context managers"),
    "wide format": (body('return f"{1:>100000000}"'), "100000000", "five digits"),
    "metaclass": (HEADER.replace("class Probe(Contract):", "class Probe(Contract, metaclass=object):")
                  + "        return 1\n", "metaclass", "metaclass"),
    "__del__": (HEADER.replace("    @method\n    def run", "    def __del__(self) -> None:\n        pass\n\n    @method\n"
                               "    def run") + "        return 1\n", "__del__", "special methods"),
    "a generator's frame": (body("def g() -> Any:\n    yield 1\nit = g()\nreturn it.gi_frame.f_back"), "gi_frame",
                            "frame"),
    "a traceback's frame": (body("try:\n    return {}[1]\nexcept KeyError as e:\n    return e.__traceback__"),
                            "__traceback__", "private"),
    "mro to the shared base": (body("return Probe.mro()[2]"), "mro", "shares"),
    "a pattern reading a dunder": (body("match ctx:\n    case Probe(__class__=c):\n        return c\nreturn 1"),
                                   "case Probe", "pattern"),
    "translate": (body('return "a".translate({97: "b"})'), "translate", "replace"),
    "max passed around": (body("f = max\nreturn f([1])"), "f = max", "call it directly"),
    "namespace": (HEADER.replace('    version = "1"', '    version = "1"\n    namespace = "scf"') + "        return 1\n",
                  "class Probe", "namespace"),
}


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_adversarial_source_is_refused_naming_the_line(case: str) -> None:
    source, needle, words = ADVERSARIAL[case]
    with pytest.raises(ContractRefused) as refused:
        compile_archive(make_archive(source))
    assert refused.value.code == "CONTRACT_REFUSED"
    findings = refused.value.details["findings"]
    expected = line_of(source, needle)
    assert any(f["line"] == expected and words in f["message"] for f in findings), findings


def test_a_plain_contract_passes_and_names_itself() -> None:
    outline, findings = check_source(body('xs = sorted({"b", "a"})\nreturn [x.upper() for x in xs]'))
    assert findings == [] and outline is not None
    assert (outline.class_name, outline.name, outline.version) == ("Probe", "probe", "1")


def test_every_finding_is_listed_not_only_the_first() -> None:
    source = "import os\nimport sys\n" + body("return 0.5")
    _, findings = check_source(source)
    assert [f.line for f in findings][:2] == [1, 2] and any("float" in f.message for f in findings)


@pytest.mark.parametrize("source, words", [
    ("def f(:\n", "syntax error"),
    ("x = 1\n", "exactly one class deriving from Contract"),
    (HEADER.replace('    name = "probe"\n', "") + "        return 1\n", "name ="),
    (HEADER.replace('name = "probe"', 'name = "Bad-Name"') + "        return 1\n", "name ="),
    (HEADER.replace('    version = "1"\n', "") + "        return 1\n", "version ="),
    ("(" * 300 + ")" * 300 + "\n", ""),
    ("x" * (300 * 1024) + "\n", "larger than"),
])
def test_malformed_sources_are_refused_with_a_reason(source: str, words: str) -> None:
    outline, findings = check_source(source)
    assert outline is None and findings and words in " ".join(f.message for f in findings)


def test_an_archive_must_hold_exactly_the_contract_module() -> None:
    for archive in ({"format": "zip", "files": {}}, {"format": "consortia-contract/1", "files": {"a.py": "x"}},
                    {"format": "consortia-contract/1", "files": {"contract.py": 7}}, [], "text"):
        with pytest.raises(ContractRefused):
            compile_archive(archive)


def test_arguments_must_be_json_values() -> None:
    source = HEADER.replace("def run(self, ctx: Context)", "def run(self, ctx: Context, when: set[str]) -> Any:\n"
                            "        return 1\n\n    def unused(self)")
    with pytest.raises(ContractRefused) as refused:
        compile_archive(make_archive(source + "        return 1\n"))
    assert "run(when): arguments are JSON values" in refused.value.message

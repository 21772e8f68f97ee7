"""A member's contract as the chain keeps it: a canonical archive, its hash, and the compiled,
metered program every node runs from it (ADR 0014).

The archive is ``{"format": "consortia-contract/1", "files": {"contract.py": source}}`` in
the canonical encoding; its hash, under the chain's suite, is written ``<algorithm>:<hex>``
(``sha-256:…`` or ``sm3:…``). Installing puts the archive on the chain, so a node that joins
later reads the code from the chain like any other state.
"""

from __future__ import annotations

import ast
import decimal
import re
import traceback
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from consortia.contracts.sdk import Context, Contract, Entry, collect_entries
from consortia.contracts.usercode.instrument import instrument
from consortia.contracts.usercode.rules import ENTRY_FILE, Finding, Outline, check_source
from consortia.contracts.usercode.runtime import (
    DECIMAL_CONTEXT,
    DEFAULT_MAX_STEPS,
    MAX_RESULT_BYTES,
    SAFE_BUILTINS,
    LimitExceeded,
    Meter,
    SandboxContext,
)
from consortia.errors import ConsortiaError, Revert
from consortia.types import codec

ARCHIVE_FORMAT = "consortia-contract/1"
MIGRATE = "migrate"  # an optional plain method run once when a version is installed


class ContractRefused(Revert):
    """The source breaks a deploy-time rule; ``details["findings"]`` names each line."""

    code = "CONTRACT_REFUSED"


def make_archive(source: str) -> dict[str, Any]:
    return {"format": ARCHIVE_FORMAT, "files": {ENTRY_FILE: source}}


def compute_code_hash(hasher: Callable[[bytes], bytes], algorithm: str, archive: dict[str, Any]) -> str:
    """``<algorithm>:<hex>`` of the archive's canonical encoding."""
    return f"{algorithm}:{hasher(codec.encode(archive)).hex()}"


def deployment(hasher: Callable[[bytes], bytes], algorithm: str, source: str,
               access: dict[str, list[str]] | None = None) -> tuple[Outline, dict[str, Any]]:
    """The checked outline and the ``install_contract`` / ``upgrade_contract`` params of ``source``:
    name and version as its class declares them, the canonical archive and its hash, and the
    author's access list (method -> organisations that may call it)."""
    archive = make_archive(source)
    outline, _ = check_archive(archive)
    return outline, {"name": outline.name, "version": outline.version, "archive": archive,
                     "code_hash": compute_code_hash(hasher, algorithm, archive), "access": access or {}}


def archive_source(archive: Any) -> str:
    """The contract source of a well-formed archive; raises ``ContractRefused`` otherwise."""
    if type(archive) is not dict or set(archive) != {"format", "files"} or archive["format"] != ARCHIVE_FORMAT:
        raise ContractRefused(f"archive: expected {{format: {ARCHIVE_FORMAT!r}, files}}")
    files = archive["files"]
    if type(files) is not dict or set(files) != {ENTRY_FILE} or type(files[ENTRY_FILE]) is not str:
        raise ContractRefused(f"archive: a contract is one module, files: {{{ENTRY_FILE!r}: source}}")
    return files[ENTRY_FILE]  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """A method or query as listed: name, kind, docstring and arguments."""

    name: str
    kind: str
    doc: str
    entry: Entry


@dataclass(frozen=True)
class Program:
    """A checked, instrumented, compiled contract."""

    outline: Outline
    source: str
    code: Any  # a code object
    entries: dict[str, Entry]
    has_migrate: bool

    def run(self, ctx: Context, method: str, args: dict[str, Any], budget: int) -> Any:
        """Run ``method`` in a fresh module (nothing survives from one call to the next), metered."""
        meter = Meter(budget)
        namespace: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, "__name__": f"contract_{self.outline.name}",
                                     "__cx_imports__": {}, **meter.helpers()}
        sandbox = SandboxContext(ctx, meter)
        try:
            with decimal.localcontext(DECIMAL_CONTEXT):
                exec(self.code, namespace)  # noqa: S102 - checked and metered source, restricted builtins
                cls = namespace[self.outline.class_name]
                fn = getattr(cls, method)
                result = fn(cls(), sandbox, **args)
        except LimitExceeded:
            raise
        except ConsortiaError as exc:
            if meter.failure is not None:
                raise meter.failure from None
            raise _bounded(exc) from None
        except (MemoryError, RecursionError):
            if meter.failure is not None:
                raise meter.failure from None
            raise
        except Exception as exc:
            if meter.failure is not None:
                raise meter.failure from None
            raise Revert(f"contract raised {type(exc).__name__}{_where(exc)}", code="CONTRACT_ERROR") from None
        finally:
            sandbox.close()
        if meter.failure is not None:  # a limit the contract caught and swallowed still reverts
            raise meter.failure
        if result is not None and len(codec.encode(result)) > MAX_RESULT_BYTES:
            raise Revert(f"the result is larger than {MAX_RESULT_BYTES:,} bytes", code="RESULT_TOO_LARGE")
        return result


_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
MAX_MESSAGE = 1000


def _bounded(exc: ConsortiaError) -> ConsortiaError:
    """A contract's refusal as a receipt shows it: a well-formed code and at most 1,000 characters."""
    code = exc.code if _CODE.fullmatch(exc.code) else "CONTRACT_ERROR"
    message = exc.message if type(exc.message) is str else "refused"
    if code == exc.code and len(message) <= MAX_MESSAGE:
        return exc
    return type(exc)(message[:MAX_MESSAGE], code=code) if isinstance(exc, Revert) else Revert(message[:MAX_MESSAGE],
                                                                                             code=code)


def _where(exc: BaseException) -> str:
    """`` at line N`` of the contract's source, where it raised (deterministic, unlike messages
    that may hold object addresses)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == ENTRY_FILE]
    return f" at line {frames[-1].lineno}" if frames else ""


def _supported(annotation: Any) -> bool:
    """Whether ``bind_args`` can check an argument annotated so (the JSON data model)."""
    if annotation in (int, str, bool, list, dict, type(None), Any, object):
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return all(_supported(a) for a in args)
    if origin is list:
        return len(args) <= 1 and all(_supported(a) for a in args)
    if origin is dict:
        return not args or (args[0] is str and _supported(args[1]))
    return False


def check_archive(archive: Any) -> tuple[Outline, str]:
    """The outline and source of an archive whose contract passes every deploy-time rule."""
    source = archive_source(archive)
    outline, findings = check_source(source)
    if findings or outline is None:
        raise refusal(findings or [Finding(1, "no contract class")])
    return outline, source


def refusal(findings: list[Finding]) -> ContractRefused:
    shown = "; ".join(str(f) for f in findings[:10]) + (f"; and {len(findings) - 10} more" if len(findings) > 10 else "")
    return ContractRefused(f"{ENTRY_FILE}: {shown}", findings=[{"line": f.line, "message": f.message} for f in findings])


def compile_archive(archive: Any) -> Program:
    """Check, instrument and compile; then load it once to learn its methods and queries."""
    outline, source = check_archive(archive)
    tree = ast.parse(source, filename=ENTRY_FILE)
    code = compile(instrument(tree), ENTRY_FILE, "exec", dont_inherit=True)
    meter = Meter(DEFAULT_MAX_STEPS)
    namespace: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, "__name__": f"contract_{outline.name}",
                                 "__cx_imports__": {}, **meter.helpers()}
    try:
        with decimal.localcontext(DECIMAL_CONTEXT):
            exec(code, namespace)  # noqa: S102 - definitions only (the rules allow nothing else at module level)
    except (Exception, LimitExceeded) as exc:
        raise ContractRefused(f"{ENTRY_FILE}: loading it raised {type(exc).__name__}{_where(exc)}: {exc}"[:500]) from None
    cls = namespace.get(outline.class_name)
    if not (isinstance(cls, type) and issubclass(cls, Contract)):
        raise ContractRefused(f"{ENTRY_FILE}: {outline.class_name} is not a Contract")
    entries = collect_entries(cls)
    if MIGRATE in entries:
        raise ContractRefused(f"{ENTRY_FILE}: {MIGRATE} is run once at install; it cannot be a @method or @query")
    if not entries:
        raise ContractRefused(f"{ENTRY_FILE}: {outline.class_name} has no @method or @query")
    for entry in entries.values():
        for arg in entry.args:
            if not _supported(arg.annotation):
                raise ContractRefused(f"{ENTRY_FILE}: {entry.name}({arg.name}): arguments are JSON values; annotate "
                                      "them with int, str, bool, list[...], dict[str, ...], Any or X | None")
    return Program(outline, source, code, entries, callable(getattr(cls, MIGRATE, None)))


class InstalledContract(Contract):
    """A member's contract installed by vote: the executor calls it like a built-in app, through
    the same SDK, but every call runs in a fresh, metered module (ADR 0014)."""

    name = "installed"  # replaced per instance

    def __init__(self, program: Program, record: dict[str, Any]) -> None:
        self.program = program
        self.record = record
        self.name = record["name"]  # type: ignore[misc]
        self.description = program.outline.description  # type: ignore[misc]

    def entry(self, name: str) -> Entry | None:  # type: ignore[override]
        return self.program.entries.get(name)

    def entries(self) -> dict[str, Entry]:  # type: ignore[override]
        return dict(self.program.entries)

    @property
    def state_prefix(self) -> str:
        return self.record["name"] + "/"  # type: ignore[no-any-return]

    def allowed(self, method: str, org: str) -> bool:
        """Whether ``org`` may call ``method`` (the author's access list, approved with the code)."""
        orgs = (self.record.get("access") or {}).get(method)
        return orgs is None or org in orgs

    def call(self, ctx: Context, method: str, args: dict[str, Any], budget: int) -> Any:
        return self.program.run(ctx, method, args, budget)

    def migrate(self, ctx: Context, from_version: str, budget: int) -> None:
        if self.program.has_migrate:
            self.program.run(ctx, MIGRATE, {"from_version": from_version}, budget)

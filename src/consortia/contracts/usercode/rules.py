"""Deploy-time checks of a member's contract source (ADR 0014).

The source is parsed, never run, and every rule below is a pure function of its syntax tree,
so every node refuses or accepts the same source. A refusal names each offending line.
The rules keep out what would let a contract reach outside its sandbox (imports, dunder
attributes, introspection builtins, I/O) or make two nodes compute different results (floats,
the clock, randomness, iterating a set, ``assert`` that ``python -O`` drops, state kept in the
module between calls). What is metered at run time (steps, sizes, depth) is in ``runtime.py``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

MAX_SOURCE_BYTES = 256 * 1024
ENTRY_FILE = "contract.py"
NAME_RE = re.compile(r"[a-z][a-z0-9_]{1,31}")  # as a transaction names a contract
VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+-]{0,31}")

# What a contract may import, by module, name by name (``from X import a, b`` only).
ALLOWED_IMPORTS: dict[str, frozenset[str]] = {
    "__future__": frozenset({"annotations"}),
    "consortia.contracts.sdk": frozenset({"Contract", "Context", "method", "query", "require", "refuse", "Revert"}),
    # X | None and list[str] cover the rest of typing.
    "typing": frozenset({"Any"}),
    "dataclasses": frozenset({"dataclass", "field", "asdict", "astuple", "replace"}),
    "enum": frozenset({"Enum", "IntEnum", "StrEnum", "auto", "unique"}),
    # Exact decimal arithmetic; every call runs under one fixed context (runtime.DECIMAL_CONTEXT),
    # so getcontext / setcontext / localcontext are not offered.
    "decimal": frozenset({"Decimal", "InvalidOperation", "ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_HALF_DOWN",
                          "ROUND_DOWN", "ROUND_UP", "ROUND_FLOOR", "ROUND_CEILING"}),
}

# Builtins a contract may not name, and why (everything else outside runtime.SAFE_BUILTINS is
# simply undefined at run time).
DENIED_NAMES: dict[str, str] = {
    **{n: "runs code from a string" for n in ("eval", "exec", "compile")},
    **{n: "is input/output" for n in ("open", "input", "print", "breakpoint", "help", "exit", "quit")},
    **{n: "reaches the interpreter's internals" for n in (
        "globals", "locals", "vars", "dir", "getattr", "setattr", "delattr", "hasattr", "type", "object", "super",
        "classmethod", "memoryview", "iter")},
    "id": "differs between processes",
    "hash": "differs between processes (PYTHONHASHSEED)",
    "float": "floats round differently across platforms; use int (fen) or Decimal",
    "complex": "floats round differently across platforms; use int (fen) or Decimal",
    "bytearray": "is not part of the contract data model",
}

# Modules worth a precise message when someone tries them.
KNOWN_FORBIDDEN_MODULES = {
    "time": "read the block time from ctx.time_ms", "datetime": "read the block time from ctx.time_ms",
    "random": "derive ids with ctx.derive_id()", "uuid": "derive ids with ctx.derive_id()",
    "os": "contracts have no operating system access", "sys": "contracts have no interpreter access",
    "threading": "contracts run in one thread", "asyncio": "contracts run in one thread",
    "math": "floats round differently across platforms; use int or Decimal",
    "re": "regular expressions backtrack in C, out of reach of the step meter",
}

# Builtins that copy or build sequences: only called directly (so the runtime can charge for
# what they allocate), named as types in annotations and isinstance, never passed around.
BUILDERS = frozenset({"list", "tuple", "dict", "set", "frozenset", "sorted", "str", "repr", "range", "pow", "bytes",
                      "reversed", "enumerate", "zip", "map", "filter", "sum", "min", "max", "any", "all"})
TYPE_NAMES = frozenset({"list", "tuple", "dict", "set", "frozenset", "str", "bytes", "int", "bool"})
# Methods of str / bytes / list whose result may be much larger than their inputs.
GUARDED_METHODS = frozenset({"join", "replace", "extend", "ljust", "rjust", "center", "zfill", "expandtabs", "copy",
                             "encode", "split", "splitlines", "insert"})
REFUSED_METHODS = {"format": "str.format reads attributes by name; use an f-string",
                   "format_map": "str.format_map reads attributes by name; use an f-string",
                   "translate": "its output has no bound the meter can check first; use replace",
                   "maketrans": "its output has no bound the meter can check first; use replace",
                   "to_bytes": "its length has no bound the meter can check first",
                   "mro": "reaches the classes the node shares with every contract"}
# Attributes of frames, code, generators and tracebacks: the way from a value back to the node.
INTROSPECTION_PREFIXES = ("gi_", "cr_", "ag_", "f_", "tb_", "co_")
ALLOWED_DUNDER_DEFS = frozenset({"__init__", "__post_init__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__",
                                 "__ge__", "__repr__", "__str__", "__len__", "__contains__", "__bool__", "__hash__"})
SAFE_BUILTIN_NAMES = frozenset({
    "abs", "all", "any", "bool", "dict", "divmod", "enumerate", "filter", "frozenset", "int", "isinstance", "len",
    "list", "map", "max", "min", "pow", "range", "repr", "reversed", "round", "set", "sorted", "str", "sum", "tuple",
    "zip", "bytes", "chr", "ord", "bin", "oct", "hex", "issubclass", "callable", "next", "property", "staticmethod",
    "True", "False", "None", "Exception", "ValueError", "KeyError", "IndexError", "TypeError", "ArithmeticError",
    "ZeroDivisionError", "LookupError", "NotImplementedError", "StopIteration", "NotImplemented",
})
UNCATCHABLE = frozenset({"BaseException", "MemoryError", "RecursionError", "SystemExit", "KeyboardInterrupt",
                         "GeneratorExit"})
SET_METHODS = frozenset({"union", "intersection", "difference", "symmetric_difference", "copy"})
# Calls whose result depends on the order their argument is iterated in.
ORDER_SENSITIVE_CALLS = frozenset({"list", "tuple", "enumerate", "zip", "map", "filter", "next", "str", "repr",
                                   "reversed", "bytes"})
# Methods that take their argument's items in its order.
ORDER_SENSITIVE_METHODS = frozenset({"join", "extend", "fromkeys"})
_WIDE_SPEC = re.compile(r"\d{5,}")


@dataclass(frozen=True, slots=True)
class Finding:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Outline:
    """What the checks learnt of an accepted source: the contract class and its declared name and version."""

    class_name: str
    name: str
    version: str
    description: str


def check_source(source: str) -> tuple[Outline | None, list[Finding]]:
    """Every rule the source breaks (empty if none), and its outline when it has one."""
    if len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        return None, [Finding(1, f"source is larger than {MAX_SOURCE_BYTES} bytes")]
    try:
        tree = ast.parse(source, filename=ENTRY_FILE, type_comments=False)
    except SyntaxError as exc:
        return None, [Finding(exc.lineno or 1, f"syntax error: {exc.msg}")]
    except (ValueError, RecursionError, MemoryError) as exc:
        return None, [Finding(1, f"cannot parse: {type(exc).__name__}")]
    checker = _Checker()
    try:
        checker.check_module(tree)
    except RecursionError:
        return None, [Finding(1, "expressions are nested too deeply")]
    outline = checker.outline(tree)
    findings = sorted(set(checker.findings), key=lambda f: (f.line, f.message))
    return (outline if not findings else None), findings


def _is_constant(node: ast.expr | None) -> bool:
    """Literal numbers, strings, bytes, booleans, None and tuples of them (immutable values)."""
    if node is None or isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _is_constant(node.operand)
    if isinstance(node, ast.Tuple):
        return all(_is_constant(e) for e in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "frozenset" \
            and not node.keywords and len(node.args) <= 1:
        return not node.args or isinstance(node.args[0], ast.Tuple | ast.Set) and all(
            _is_constant(e) for e in node.args[0].elts)
    return False


def _contains_yield(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> bool:
    for node in ast.walk(fn):
        if node is not fn and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
    return False


class _Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._parents: dict[int, ast.AST] = {}
        self._set_names: list[set[str]] = [set()]  # names bound to sets, per function scope
        self._in_annotation = 0
        self._finally_depth = 0
        self._loop_depth_in_finally: list[int] = []
        self._imported: set[str] = set()

    def refuse(self, node: ast.AST, message: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 1), message))

    # -- module and class shape ---------------------------------------------------------

    def check_module(self, tree: ast.Module) -> None:
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self._parents[id(child)] = parent
        for stmt in tree.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                continue  # the module docstring
            if isinstance(stmt, ast.ImportFrom | ast.Import | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
                if isinstance(stmt, ast.ClassDef):
                    self._check_class_body(stmt)
                self.visit(stmt)
            elif isinstance(stmt, ast.Assign | ast.AnnAssign):
                value = stmt.value
                if not _is_constant(value):
                    self.refuse(stmt, "a module-level value must be a constant (number, string, tuple, frozenset): "
                                      "module state would outlive the call that changed it")
                self.visit(stmt)
            else:
                self.refuse(stmt, f"only imports, constants, functions and classes at module level, got "
                                  f"{type(stmt).__name__.lower()}")
        contracts = [s for s in tree.body if isinstance(s, ast.ClassDef) and any(
            isinstance(b, ast.Name) and b.id == "Contract" for b in s.bases)]
        if len(contracts) != 1:
            self.refuse(tree.body[0] if tree.body else tree, f"expected exactly one class deriving from Contract, "
                                                             f"found {len(contracts)}")
            return
        attrs = self._class_constants(contracts[0])
        name, version = attrs.get("name"), attrs.get("version")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            self.refuse(contracts[0], f"the contract class needs name = \"...\" matching {NAME_RE.pattern}")
        if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
            self.refuse(contracts[0], f"the contract class needs version = \"...\" matching {VERSION_RE.pattern}")
        if "namespace" in attrs:
            self.refuse(contracts[0], "a contract's state lives under its name; namespace cannot be set")

    @staticmethod
    def _class_constants(cls: ast.ClassDef) -> dict[str, object]:
        out: dict[str, object] = {}
        for stmt in cls.body:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
                stmt, ast.AnnAssign) else []
            value = getattr(stmt, "value", None)
            for target in targets:
                if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
                    out[target.id] = value.value
        return out

    def outline(self, tree: ast.Module) -> Outline | None:
        for stmt in tree.body:
            if isinstance(stmt, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id == "Contract" for b in stmt.bases):
                attrs = self._class_constants(stmt)
                name, version = attrs.get("name"), attrs.get("version")
                if type(name) is str and type(version) is str:
                    description = attrs.get("description")
                    doc = ast.get_docstring(stmt) or ""
                    return Outline(stmt.name, name, version, description if type(description) is str else doc)
        return None

    def _check_class_body(self, cls: ast.ClassDef) -> None:
        for stmt in cls.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.Pass):
                continue
            if isinstance(stmt, ast.Assign | ast.AnnAssign):
                value = stmt.value
                allowed_call = isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
                    value.func.id in ("field", "auto")
                if not (_is_constant(value) or allowed_call):
                    self.refuse(stmt, "a class attribute must be a constant (number, string, tuple), field() or "
                                      "auto(): class state would be shared by every call")
                continue
            self.refuse(stmt, f"only constants, fields and methods in a class body, got {type(stmt).__name__.lower()}")

    # -- imports ----------------------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.split(".")[0]
            hint = KNOWN_FORBIDDEN_MODULES.get(root)
            self.refuse(node, f"import {alias.name}: " + (hint or "only 'from <module> import <names>' of the allowed "
                                                                  f"modules ({', '.join(sorted(ALLOWED_IMPORTS))})"))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:
            self.refuse(node, "relative imports: a contract is one module")
            return
        allowed = ALLOWED_IMPORTS.get(module)
        if allowed is None:
            hint = KNOWN_FORBIDDEN_MODULES.get(module.split(".")[0])
            self.refuse(node, f"from {module} import ...: " + (hint or f"not an allowed module; allowed: "
                                                                       f"{', '.join(sorted(ALLOWED_IMPORTS))}"))
            return
        for alias in node.names:
            self._imported.add(alias.asname or alias.name)
            if alias.name == "*":
                self.refuse(node, f"from {module} import *: name what you import")
            elif alias.name not in allowed:
                self.refuse(node, f"from {module} import {alias.name}: not offered to contracts; allowed: "
                                  f"{', '.join(sorted(allowed))}")
            if alias.asname is not None:
                self.refuse(node, f"import ... as {alias.asname}: import names as they are")

    # -- names and attributes -----------------------------------------------------------

    def visit_Name(self, node: ast.Name) -> None:
        name = node.id
        if isinstance(node.ctx, ast.Load) and name in self._imported and not self._in_annotation \
                and not self._is_use_position(node):
            self.refuse(node, f"{name} is shared with the node: call it, subclass it, decorate with it, raise or "
                              "catch it, or name it as a type; it cannot be stored or passed around")
        if isinstance(node.ctx, ast.Store | ast.Del) and name in self._imported:
            self.refuse(node, f"{name}: an imported name cannot be rebound")
        if name.startswith("__"):
            self.refuse(node, f"{name}: names starting with __ are the interpreter's")
        elif name in DENIED_NAMES:
            self.refuse(node, f"{name} {DENIED_NAMES[name]}")
        elif isinstance(node.ctx, ast.Store | ast.Del) and name in SAFE_BUILTIN_NAMES:
            self.refuse(node, f"{name}: a builtin cannot be rebound")
        elif isinstance(node.ctx, ast.Load) and name in BUILDERS and not self._in_annotation:
            parent = self._parents.get(id(node))
            called = isinstance(parent, ast.Call) and parent.func is node
            as_type = name in TYPE_NAMES and self._is_type_position(node)
            factory = isinstance(parent, ast.keyword) and parent.arg == "default_factory"
            if not (called or as_type or factory):
                self.refuse(node, f"{name}: call it directly (it is metered by what it builds), or name it as a "
                                  "type in isinstance()")

    def _is_use_position(self, node: ast.Name) -> bool:
        parent = self._parents.get(id(node))
        if isinstance(parent, ast.Call) and parent.func is node:
            return True
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node in parent.decorator_list:
            return True
        if isinstance(parent, ast.ClassDef) and node in parent.bases:
            return True
        if isinstance(parent, ast.Raise) and parent.exc is node:
            return True
        if isinstance(parent, ast.Tuple) and isinstance(self._parents.get(id(parent)), ast.ExceptHandler):
            return True
        return isinstance(parent, ast.ExceptHandler) or self._is_type_position(node)

    def _is_type_position(self, node: ast.AST) -> bool:
        parent = self._parents.get(id(node))
        if isinstance(parent, ast.Tuple):
            parent = self._parents.get(id(parent))
        return isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and \
            parent.func.id in ("isinstance", "issubclass") and len(parent.args) == 2 and (
                parent.args[1] is node or node in getattr(parent.args[1], "elts", ()))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = node.attr
        if attr.startswith("__") or (attr.startswith("_") and not (isinstance(node.value, ast.Name)
                                                                    and node.value.id == "self")):
            self.refuse(node, f".{attr}: attributes starting with _ are private (only self._name is allowed)")
        elif attr in REFUSED_METHODS:
            self.refuse(node, f".{attr}: {REFUSED_METHODS[attr]}")
        elif attr.startswith(INTROSPECTION_PREFIXES):
            self.refuse(node, f".{attr}: frame, code and traceback attributes reach the interpreter's internals")
        elif attr in GUARDED_METHODS:
            parent = self._parents.get(id(node))
            if not (isinstance(parent, ast.Call) and parent.func is node):
                self.refuse(node, f".{attr}: call it directly (it is metered by what it builds)")
        elif attr == "pop" and self._is_set(node.value):
            self.refuse(node, "set.pop() takes an arbitrary element: the order differs between nodes")
        self.generic_visit(node)

    # -- functions, classes, control flow -----------------------------------------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._check_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.refuse(node, f"async def {node.name}: contracts run synchronously")
        self._check_function(node)

    def _check_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name.startswith("__") and node.name not in ALLOWED_DUNDER_DEFS:
            self.refuse(node, f"def {node.name}: only these special methods may be defined: "
                              f"{', '.join(sorted(ALLOWED_DUNDER_DEFS))}")
        elif node.name in SAFE_BUILTIN_NAMES and isinstance(self._parents.get(id(node)), ast.Module):
            self.refuse(node, f"def {node.name}: a builtin cannot be rebound")
        args = node.args
        for default in [*args.defaults, *[d for d in args.kw_defaults if d is not None]]:
            if not _is_constant(default):
                self.refuse(default, f"def {node.name}: a default value must be a constant; a mutable default "
                                     "is shared by every call (use None and make it inside)")
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                self._check_arg_name(arg)
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_annotations(node)
        self._set_names.append(set())
        saved = self._finally_depth
        self._finally_depth = 0
        for stmt in node.body:
            self.visit(stmt)
        self._finally_depth = saved
        self._set_names.pop()

    def _check_arg_name(self, arg: ast.arg) -> None:
        if arg.arg.startswith("__"):
            self.refuse(arg, f"{arg.arg}: names starting with __ are the interpreter's")
        elif arg.arg in SAFE_BUILTIN_NAMES or arg.arg in DENIED_NAMES:
            self.refuse(arg, f"{arg.arg}: a builtin cannot be rebound")

    def _visit_annotations(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._in_annotation += 1
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit(arg.annotation)
        if node.returns is not None:
            self.visit(node.returns)
        self._in_annotation -= 1

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        self._in_annotation += 1
        self.visit(node.annotation)
        self._in_annotation -= 1
        if node.value is not None:
            self.visit(node.value)
            self._note_binding(node.target, node.value)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if not isinstance(self._parents.get(id(node)), ast.Module):
            self.refuse(node, f"class {node.name}: classes are defined at module level")
        for keyword in node.keywords:
            self.refuse(keyword, f"class {node.name}: class keywords (metaclass=...) are not allowed")
        self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for default in node.args.defaults:
            if not _is_constant(default):
                self.refuse(default, "lambda: a default value must be a constant")
        for arg in [*node.args.args, *node.args.kwonlyargs]:
            self._check_arg_name(arg)
        self.generic_visit(node)

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for attr in node.kwd_attrs:
            if attr.startswith("_") or attr.startswith(INTROSPECTION_PREFIXES) or attr in REFUSED_METHODS:
                self.refuse(node, f"case ...({attr}=...): a pattern reads attributes like .{attr}, which is not allowed")
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.refuse(node, "global: module state would outlive the call that changed it")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.refuse(node, "nonlocal: keep state in local variables or in contract state")

    def visit_Assert(self, node: ast.Assert) -> None:
        self.refuse(node, "assert is removed under python -O, so nodes could differ: use require(condition, "
                          "refuse(\"CODE\", \"message\"))")

    def visit_With(self, node: ast.With) -> None:
        self.refuse(node, "with: contracts have no context managers")
        self.generic_visit(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self.refuse(node, "async with: contracts run synchronously")

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self.refuse(node, "async for: contracts run synchronously")

    def visit_Await(self, node: ast.Await) -> None:
        self.refuse(node, "await: contracts run synchronously")

    def visit_TryStar(self, node: ast.AST) -> None:
        self.refuse(node, "except*: not allowed in contracts")
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        for handler in node.handlers:
            caught = handler.type
            names = [] if caught is None else [caught] if not isinstance(caught, ast.Tuple) else caught.elts
            if caught is None:
                self.refuse(handler, "a bare except: would catch the meter's limits; name the exceptions")
            for name in names:
                if isinstance(name, ast.Name) and name.id in UNCATCHABLE:
                    self.refuse(handler, f"except {name.id}: the meter's limits cannot be caught")
        for stmt in node.body:
            self.visit(stmt)
        for handler in node.handlers:
            self.visit(handler)
        for stmt in node.orelse:
            self.visit(stmt)
        self._finally_depth += 1
        self._loop_depth_in_finally.append(0)
        for stmt in node.finalbody:
            self.visit(stmt)
        self._loop_depth_in_finally.pop()
        self._finally_depth -= 1

    def visit_Return(self, node: ast.Return) -> None:
        if self._finally_depth:
            self.refuse(node, "return inside finally would swallow the meter's limits")
        self.generic_visit(node)

    def _loop_exit(self, node: ast.Break | ast.Continue) -> None:
        if self._finally_depth and not self._loop_depth_in_finally[-1]:
            self.refuse(node, f"{type(node).__name__.lower()} inside finally would swallow the meter's limits")

    def visit_Break(self, node: ast.Break) -> None:
        self._loop_exit(node)

    def visit_Continue(self, node: ast.Continue) -> None:
        self._loop_exit(node)

    def _visit_loop_body(self, body: list[ast.stmt], orelse: list[ast.stmt]) -> None:
        if self._loop_depth_in_finally:
            self._loop_depth_in_finally[-1] += 1
        for stmt in body:
            self.visit(stmt)
        if self._loop_depth_in_finally:
            self._loop_depth_in_finally[-1] -= 1
        for stmt in orelse:
            self.visit(stmt)

    def visit_For(self, node: ast.For) -> None:
        self._check_iteration(node.iter)
        self.visit(node.target)
        self.visit(node.iter)
        self._visit_loop_body(node.body, node.orelse)

    def visit_While(self, node: ast.While) -> None:
        self.visit(node.test)
        self._visit_loop_body(node.body, node.orelse)

    # -- values ------------------------------------------------------------------------

    def visit_Constant(self, node: ast.Constant) -> None:
        if type(node.value) in (float, complex):
            self.refuse(node, f"float literal {node.value!r}: floats round differently across platforms; use int "
                              "(fen) or Decimal(\"...\")")

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                if self._is_set(part.value):
                    self.refuse(part, "formatting a set: its order differs between nodes; format sorted(...)")
                spec = part.format_spec
                if spec is not None:
                    for piece in spec.values:  # type: ignore[attr-defined]
                        if not isinstance(piece, ast.Constant):
                            self.refuse(part, "a format spec must be written out, not computed")
                        elif _WIDE_SPEC.search(str(piece.value)):
                            self.refuse(part, "a format width or precision of five digits or more")
        self.generic_visit(node)

    def visit_Starred(self, node: ast.Starred) -> None:
        if self._is_set(node.value):
            self.refuse(node, "unpacking a set: its order differs between nodes; unpack sorted(...)")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ORDER_SENSITIVE_CALLS:
            for arg in node.args:
                if self._is_set(arg):
                    self.refuse(arg, f"{func.id}() of a set: its order differs between nodes; use sorted(...)")
        if isinstance(func, ast.Attribute) and func.attr in ORDER_SENSITIVE_METHODS and node.args \
                and self._is_set(node.args[0]):
            self.refuse(node, f".{func.attr}() of a set: its order differs between nodes; use sorted(...)")
        self.generic_visit(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            self.refuse(node.iter, "async comprehensions: contracts run synchronously")
        self._check_iteration(node.iter)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.op, ast.Add) and self._is_set(node.value):
            self.refuse(node, "+= a set: its order differs between nodes; add sorted(...)")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        for target in node.targets:
            self._note_binding(target, node.value)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        self._note_binding(node.target, node.value)

    # -- sets: iterate only through sorted() --------------------------------------------

    def _note_binding(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            if self._is_set(value):
                self._set_names[-1].add(target.id)
            else:
                self._set_names[-1].discard(target.id)

    def _is_set(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Set | ast.SetComp):
            return True
        if isinstance(node, ast.Name):
            return node.id in self._set_names[-1]
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in ("set", "frozenset"):
                return True
            return isinstance(func, ast.Attribute) and func.attr in SET_METHODS and self._is_set(func.value)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr | ast.BitAnd | ast.Sub | ast.BitXor):
            return self._is_set(node.left) or self._is_set(node.right)
        return False

    def _check_iteration(self, node: ast.expr) -> None:
        if self._is_set(node):
            self.refuse(node, "iterating a set: its order differs between nodes (PYTHONHASHSEED); iterate sorted(...)")

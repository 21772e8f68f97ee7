"""Rewrite a checked contract's syntax tree so that the meter sees what it does (ADR 0014).

- every function entry calls ``__cx_enter__()`` (a step, and one level deeper; the body is
  wrapped so that leaving it returns the level) and every loop iteration ``__cx_step__()``;
  a comprehension draws its items through ``__cx_iter__``, one step each;
- ``a + b``, ``a * b``, ``a ** b``, ``a << b``, ``a % b`` and ``a / b`` become guarded calls
  that refuse floats and values beyond the size limits before building them;
- calls of ``list``, ``range``, ``sorted``, ``str``, ``sum``... and every method call go through
  the meter, charged by the size of what they work on (and those that can build more than they
  are given, ``join``, ``replace``, ``extend``..., checked first), and so do ``in`` tests, slices,
  f-strings and displays that unpack.

The rewrite is a pure function of the tree, so every node runs the same instrumented code.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

from consortia.contracts.usercode.rules import BUILDERS

_BINOPS: dict[type[ast.operator], str] = {ast.Add: "add", ast.Mult: "mul", ast.Pow: "pow", ast.LShift: "lshift",
                                          ast.Mod: "mod", ast.Div: "div"}
_INPLACE = {"add": "iadd", "mul": "imul"}


def _name(helper: str) -> ast.Name:
    return ast.Name(id=f"__cx_{helper}__", ctx=ast.Load())


def _call(helper: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(helper), args=list(args), keywords=[])


def _stmt(helper: str) -> ast.Expr:
    return ast.Expr(value=_call(helper))


def _is_generator(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Yield | ast.YieldFrom):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False


class _Instrument(ast.NodeTransformer):
    # Annotations are left as written: they name types, run nothing, and become the strings
    # that `from __future__ import annotations` keeps.
    def visit_arg(self, node: ast.arg) -> Any:
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        returns = node.returns
        self.generic_visit(node)
        node.returns = returns
        body = list(node.body)
        doc = [body.pop(0)] if body and isinstance(body[0], ast.Expr) and isinstance(
            body[0].value, ast.Constant) and isinstance(body[0].value.value, str) else []
        if _is_generator(node):  # runs later, step by step: count its steps, not its depth
            node.body = [*doc, _stmt("step"), *(body or [ast.Pass()])]
        else:
            node.body = [*doc, _stmt("enter"),
                         ast.Try(body=body or [ast.Pass()], handlers=[], orelse=[], finalbody=[_stmt("leave")])]
        return node

    def _loop(self, node: ast.For | ast.While) -> Any:
        self.generic_visit(node)
        node.body = [_stmt("step"), *node.body]
        return node

    visit_For = _loop
    visit_While = _loop

    def visit_comprehension(self, node: ast.comprehension) -> Any:
        self.generic_visit(node)
        node.iter = _call("iter", node.iter)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        self.generic_visit(node)
        helper = _BINOPS.get(type(node.op))
        return node if helper is None else ast.copy_location(_call(helper, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        self.generic_visit(node)
        helper = _BINOPS.get(type(node.op))
        if helper is None:
            return node
        load = copy.deepcopy(node.target)
        for sub in ast.walk(load):
            if hasattr(sub, "ctx"):
                sub.ctx = ast.Load()
        for sub in ast.walk(node.target):
            if hasattr(sub, "ctx") and sub is not node.target:
                sub.ctx = ast.Load()
        value = _call(_INPLACE.get(helper, helper), load, node.value)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id in BUILDERS:
            return ast.copy_location(ast.Call(func=_name("build"), args=[func, *node.args], keywords=node.keywords),
                                     node)
        if isinstance(func, ast.Attribute):  # charged by the size of what it works on, guarded if it can grow
            return ast.copy_location(ast.Call(func=_name("call"), args=[func.value, ast.Constant(func.attr), *node.args],
                                              keywords=node.keywords), node)
        return node

    def visit_Compare(self, node: ast.Compare) -> Any:
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.In | ast.NotIn):
            found = _call("in", node.left, node.comparators[0])
            shown = found if isinstance(node.ops[0], ast.In) else ast.UnaryOp(op=ast.Not(), operand=found)
            return ast.copy_location(shown, node)
        return node

    def visit_Subscript(self, node: ast.Subscript) -> Any:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Slice):
            s = node.slice
            none = ast.Constant(None)
            return ast.copy_location(_call("slice", node.value, s.lower or none, s.upper or none, s.step or none), node)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Any:
        return ast.copy_location(_call("sized", node), node)  # format specs are checked constants

    def _display(self, node: ast.List | ast.Tuple | ast.Set) -> Any:
        self.generic_visit(node)
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load) and any(isinstance(e, ast.Starred) for e in node.elts):
            return ast.copy_location(_call("sized", node), node)
        return node

    visit_List = _display
    visit_Tuple = _display
    visit_Set = _display

    def visit_Dict(self, node: ast.Dict) -> Any:
        self.generic_visit(node)
        if any(k is None for k in node.keys):
            return ast.copy_location(_call("sized", node), node)
        return node


def instrument(tree: ast.Module) -> ast.Module:
    """The metered copy of a checked module's tree."""
    out = _Instrument().visit(copy.deepcopy(tree))
    return ast.fix_missing_locations(out)  # type: ignore[no-any-return]

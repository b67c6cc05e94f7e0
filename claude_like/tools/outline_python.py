"""The outline of Python source, from the standard library's ``ast``: classes, functions and
methods with their signatures, decorators and line ranges (nested functions left out: they
are details of the function that holds them)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

MAX_SIGNATURE_CHARS = 160
"""Longer signatures (big default values, long annotations) are cut with ``...``."""


@dataclass(frozen=True)
class Symbol:
    """One definition: how deep it is nested, where it is, and its one-line signature."""

    depth: int
    line: int
    end: int
    text: str


class OutlineError(ValueError):
    """The source cannot be parsed (the message says where)."""


def python_outline(source: str) -> list[Symbol]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise OutlineError(f"Python syntax error at line {exc.lineno}: {exc.msg}") from exc
    except ValueError as exc:  # e.g. NUL bytes
        raise OutlineError(f"not parsable as Python: {exc}") from exc
    out: list[Symbol] = []
    _visit(tree.body, 0, out)
    return out


def _visit(body: list[ast.stmt], depth: int, out: list[Symbol]) -> None:
    for node in body:
        if isinstance(node, ast.ClassDef):
            out.append(_symbol(node, depth, _class_line(node)))
            _visit(node.body, depth + 1, out)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out.append(_symbol(node, depth, _def_line(node)))
        elif isinstance(node, ast.If | ast.Try):  # definitions under `if TYPE_CHECKING:` etc.
            blocks = [node.body, node.orelse]
            if isinstance(node, ast.Try):
                blocks += [h.body for h in node.handlers] + [node.finalbody]
            for block in blocks:
                _visit(block, depth, out)


def _symbol(node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef, depth: int,
            text: str) -> Symbol:
    decorators = " ".join("@" + _short(ast.unparse(d)) for d in node.decorator_list)
    text = f"{decorators} {text}" if decorators else text
    if len(text) > MAX_SIGNATURE_CHARS:
        text = text[: MAX_SIGNATURE_CHARS - 3] + "..."
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return Symbol(depth, first, node.end_lineno or node.lineno, text)


def _class_line(node: ast.ClassDef) -> str:
    bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    return f"class {node.name}({', '.join(bases)})" if bases else f"class {node.name}"


def _def_line(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def _short(decorator: str) -> str:
    """``@app.get("/x", response_model=Y)`` keeps its name and a short argument list."""
    return decorator if len(decorator) <= 40 else decorator[:37] + "..."

"""The outline of JavaScript, TypeScript, Go, Rust and Java source through tree-sitter.

The grammars are the tree-sitter project's own wheels (``tree-sitter-javascript``, ...,
the ``outline`` extra), which carry the compiled parser: nothing is fetched at run time
(``tree-sitter-language-pack`` 1.x downloads its parsers on first use, which a machine
without network cannot do). A missing grammar is an :class:`OutlineError` that says what
to install.
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass
from typing import Any

from claude_like.tools.outline_python import MAX_SIGNATURE_CHARS, OutlineError, Symbol


@dataclass(frozen=True)
class Grammar:
    """Where a language's parser lives and which nodes are definitions."""

    name: str
    module: str
    function: str
    containers: frozenset[str]
    """Definitions whose members are listed too (classes, traits, impl blocks)."""
    leaves: frozenset[str]
    """Definitions listed without their insides (functions, methods, type aliases)."""


_JS_CONTAINERS = frozenset({"class_declaration", "abstract_class_declaration",
                            "interface_declaration", "enum_declaration", "internal_module"})
_JS_LEAVES = frozenset({"function_declaration", "generator_function_declaration",
                        "method_definition", "method_signature", "abstract_method_signature",
                        "function_signature", "type_alias_declaration"})


def _js(name: str, module: str, function: str) -> Grammar:
    return Grammar(name, module, function, _JS_CONTAINERS, _JS_LEAVES)


GRAMMARS: dict[str, Grammar] = {
    ".js": _js("JavaScript", "tree_sitter_javascript", "language"),
    ".mjs": _js("JavaScript", "tree_sitter_javascript", "language"),
    ".cjs": _js("JavaScript", "tree_sitter_javascript", "language"),
    ".jsx": _js("JavaScript", "tree_sitter_javascript", "language"),
    ".ts": _js("TypeScript", "tree_sitter_typescript", "language_typescript"),
    ".mts": _js("TypeScript", "tree_sitter_typescript", "language_typescript"),
    ".tsx": _js("TypeScript", "tree_sitter_typescript", "language_tsx"),
    ".go": Grammar("Go", "tree_sitter_go", "language", frozenset(),
                   frozenset({"function_declaration", "method_declaration", "type_spec"})),
    ".rs": Grammar("Rust", "tree_sitter_rust", "language",
                   frozenset({"impl_item", "trait_item", "mod_item"}),
                   frozenset({"function_item", "function_signature_item", "struct_item",
                              "enum_item", "type_item", "union_item"})),
    ".java": Grammar("Java", "tree_sitter_java", "language",
                     frozenset({"class_declaration", "interface_declaration",
                                "enum_declaration", "record_declaration"}),
                     frozenset({"method_declaration", "constructor_declaration"})),
}
"""By file extension. Add one by naming a tree-sitter grammar wheel and its node types."""

_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function"})
_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"(\s*(=>|[{:;=]))+\s*$")
_LANGUAGES: dict[str, Any] = {}
_LOCK = threading.Lock()


def _language(grammar: Grammar) -> Any:
    key = f"{grammar.module}.{grammar.function}"
    with _LOCK:
        if key not in _LANGUAGES:
            try:
                import tree_sitter

                module = importlib.import_module(grammar.module)
            except ImportError as exc:
                raise OutlineError(
                    f"the {grammar.name} grammar is not installed (pip install "
                    f"'claude-like[outline]', which brings tree-sitter and "
                    f"{grammar.module.replace('_', '-')})"
                ) from exc
            _LANGUAGES[key] = tree_sitter.Language(getattr(module, grammar.function)())
        return _LANGUAGES[key]


def treesitter_outline(source: bytes, grammar: Grammar) -> list[Symbol]:
    import tree_sitter

    tree = tree_sitter.Parser(_language(grammar)).parse(source)
    out: list[Symbol] = []
    _visit(tree.root_node, 0, grammar, source, out)
    return out


def _visit(node: Any, depth: int, grammar: Grammar, source: bytes, out: list[Symbol]) -> None:
    for child in node.named_children:
        kind = child.type
        if kind in grammar.containers:
            out.append(_symbol(child, depth, source))
            _visit(child.child_by_field_name("body") or child, depth + 1, grammar, source, out)
        elif kind in grammar.leaves:
            out.append(_symbol(child, depth, source))
        elif kind == "variable_declarator" and _is_function(child):
            out.append(_symbol(child, depth, source, child.child_by_field_name("value")))
        elif not _is_function(child):  # descend through exports, declarations, blocks
            _visit(child, depth, grammar, source, out)


def _is_function(node: Any) -> bool:
    if node.type in _FUNCTION_VALUES:
        return True
    value = node.child_by_field_name("value") if node.type == "variable_declarator" else None
    return value is not None and value.type in _FUNCTION_VALUES


def _symbol(node: Any, depth: int, source: bytes, holder: Any = None) -> Symbol:
    """The node's text up to its body (or its first line), on one line."""
    body = (holder or node).child_by_field_name("body")
    end = body.start_byte if body is not None and body.start_byte > node.start_byte else None
    raw = source[node.start_byte : end if end is not None else node.end_byte]
    text = raw.decode("utf-8", "replace")
    if end is None:
        text = text.split("\n", 1)[0]
    text = _TRAILING.sub("", _SPACES.sub(" ", text).strip())
    if node.type == "type_spec":
        text = "type " + text
    elif node.type == "variable_declarator" and node.parent is not None:
        keyword = node.parent.children[0].type  # const, let or var
        text = f"{keyword} {text}" if keyword in ("const", "let", "var") else text
    if len(text) > MAX_SIGNATURE_CHARS:
        text = text[: MAX_SIGNATURE_CHARS - 3] + "..."
    return Symbol(depth, node.start_point[0] + 1, node.end_point[0] + 1, text)

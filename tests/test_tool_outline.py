"""Outline: Python through ast, JavaScript/TypeScript/Go/Rust/Java through tree-sitter,
folders one block per file within the output limit, clear refusals (unknown language,
syntax error, missing grammar), read-only; the standard LangChain suites; a scripted
agent run that outlines and then reads only the lines it needs."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from claude_like import ClaudeLikeAgent
from claude_like.sandbox import LocalSandbox, Sandbox
from claude_like.testing import ScriptedChatModel, say, tool_call
from claude_like.tools import ToolContext, make_tools
from claude_like.tools import outline_treesitter as ts
from claude_like.tools.outline import Outline

PY = '''\
"""A module."""
from typing import TYPE_CHECKING

LIMIT = 3


class Store(Base, metaclass=Meta):
    """Keeps things."""

    def __init__(self, root: str, *, size: int = 10) -> None:
        def helper():
            return 1
        self.root = root

    @property
    def count(self) -> int:
        return 0

    class Entry:
        pass


async def fetch(url, timeout=5.0):
    return url


if TYPE_CHECKING:
    def typed() -> None: ...
'''


def outline(ws: Path, path: str = ".", limit: int | None = None, **files: str) -> ToolMessage:
    for name, text in files.items():
        target = ws / name.replace("__", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    ctx = ToolContext(LocalSandbox(ws)) if limit is None else ToolContext(
        LocalSandbox(ws), output_limit=limit)
    msg = Outline(ctx=ctx).invoke({"type": "tool_call", "id": "o1", "name": "Outline",
                                   "args": {"path": path}})
    assert isinstance(msg, ToolMessage)
    return msg


def test_python_file_signatures_nesting_and_line_ranges(workspace: Path) -> None:
    msg = outline(workspace, "store.py", **{"store.py": PY})
    assert msg.status == "success", msg.content
    assert msg.content.splitlines() == [
        "store.py (28 lines)",
        "   7-20 class Store(Base, metaclass=Meta)",
        "  10-13   def __init__(self, root: str, *, size: int=10) -> None",
        "  15-17   @property def count(self) -> int",
        "  19-20   class Entry",
        "  23-24 async def fetch(url, timeout=5.0)",
        "     28 def typed() -> None",
    ]
    assert "helper" not in msg.content and "Keeps things" not in msg.content


def test_python_syntax_error_is_a_clear_error(workspace: Path) -> None:
    msg = outline(workspace, "bad.py", **{"bad.py": "def f(:\n    pass\n"})
    assert msg.status == "error"
    assert msg.content == "Cannot outline bad.py: Python syntax error at line 1: invalid syntax."


@pytest.mark.parametrize("name, source, expected", [
    ("app.ts", "export class Api<T> extends Base {\n  constructor(private n: number) {}\n"
               "  get(id: string): Promise<T> { return null as any; }\n}\n"
               "export const load = async (id: string): Promise<void> => {\n  await 1;\n};\n"
               "type Id = string | number;\n",
     ["app.ts (8 lines)", "  1-4 class Api<T> extends Base",
      "    2   constructor(private n: number)", "    3   get(id: string): Promise<T>",
      "  5-7 const load = async (id: string): Promise<void>", "    8 type Id = string | number"]),
    ("ui.js", "function render(el, props) {\n  const inner = () => 1;\n}\n"
              "describe('x', () => { it('y', () => {}); });\nclass View { show() {} }\n",
     ["ui.js (5 lines)", "  1-3 function render(el, props)", "    5 class View",
      "    5   show()"]),
    ("main.go", "package main\n\ntype Server struct {\n\taddr string\n}\n\n"
                "func (s *Server) Start(port int) error {\n\treturn nil\n}\n",
     ["main.go (9 lines)", "  3-5 type Server struct", "  7-9 func (s *Server) Start(port int) "
      "error"]),
    ("lib.rs", "pub trait Area {\n    fn area(&self) -> f64;\n}\nimpl Area for Point {\n"
               "    fn area(&self) -> f64 { 0.0 }\n}\npub fn copy<T: Clone>(v: &[T]) -> Vec<T> "
               "{ v.to_vec() }\n",
     ["lib.rs (7 lines)", "  1-3 pub trait Area", "    2   fn area(&self) -> f64",
      "  4-6 impl Area for Point", "    5   fn area(&self) -> f64",
      "    7 pub fn copy<T: Clone>(v: &[T]) -> Vec<T>"]),
    ("A.java", "public class A extends B {\n    public A(int x) { }\n    @Override\n"
               "    public String toString() { return \"\"; }\n}\n",
     ["A.java (5 lines)", "  1-5 public class A extends B", "    2   public A(int x)",
      "  3-4   @Override public String toString()"]),
])
def test_other_languages_through_tree_sitter(workspace: Path, name: str, source: str,
                                             expected: list[str]) -> None:
    msg = outline(workspace, name, **{name: source})
    assert msg.status == "success", msg.content
    assert msg.content.splitlines() == expected


def test_unknown_language_says_what_is_known(workspace: Path) -> None:
    msg = outline(workspace, "Main.hs", **{"Main.hs": "main = print 1\n"})
    assert msg.status == "error"
    assert "Outline does not know the language of Main.hs (.hs); it knows Python, " \
        "JavaScript, TypeScript, Go, Rust, Java." in msg.content
    assert "Use Grep" in msg.content


def test_missing_grammar_says_what_to_install(workspace: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ts.GRAMMARS, ".zig", ts.Grammar(
        "Zig", "tree_sitter_zig_not_installed", "language", frozenset(), frozenset()))
    msg = outline(workspace, "a.zig", **{"a.zig": "fn main() void {}\n"})
    assert msg.status == "error"
    assert "the Zig grammar is not installed (pip install 'claude-like[outline]'" in msg.content


def test_folder_one_block_per_file_skipping_ignored(workspace: Path) -> None:
    msg = outline(workspace, ".", **{
        "src__a.py": "def a():\n    pass\n", "src__b.ts": "function b() {}\n",
        "src__empty.py": "X = 1\n", "README.md": "# hi\n", "build__gen.py": "def gen(): ...\n",
        "node_modules__dep__x.js": "function dep() {}\n", ".gitignore": "build/\n"})
    assert msg.status == "success", msg.content
    assert msg.content.splitlines() == [
        "src/a.py (2 lines)", "  1-2 def a()", "src/b.ts (1 lines)", "    1 function b()",
        "src/empty.py (1 lines): no classes or functions",
        "[2 files of other kinds not outlined.]"]


def test_folder_outline_stops_at_the_output_limit(workspace: Path) -> None:
    files = {f"m{i:02}.py": "".join(f"def f{i}_{j}(x):\n    return x\n" for j in range(20))
             for i in range(30)}
    msg = outline(workspace, ".", limit=3000, **files)
    text = str(msg.content)
    assert msg.status == "success" and len(text) < 3000
    done = text.count(" lines)")
    assert 1 <= done < 30
    assert f"[Outlined {done} of 30 source files; the output limit was reached. Call " \
        f"Outline on a subfolder or file for the rest: m{done:02}.py" in text
    assert text.count("def f") == 20 * done  # whole blocks only


def test_folder_without_sources_and_missing_path(workspace: Path) -> None:
    msg = outline(workspace, "docs", **{"docs__a.md": "x\n"})
    assert msg.status == "success"
    assert msg.content.startswith("No source files to outline in docs (1 other files).")
    missing = outline(workspace, "nowhere.py")
    assert missing.status == "error" and "File does not exist: nowhere.py" in missing.content


def test_outline_is_no_read_for_edit(workspace: Path) -> None:
    (workspace / "a.py").write_text("def a():\n    pass\n")
    tools = {t.name: t for t in make_tools(ToolContext(LocalSandbox(workspace)),
                                           extra=("Outline",))}
    assert tools["Outline"].read_only
    tools["Outline"].invoke({"path": "a.py"})
    msg = tools["Edit"].invoke({"type": "tool_call", "id": "e", "name": "Edit", "args": {
        "file_path": "a.py", "old_string": "pass", "new_string": "return 1"}})
    assert msg.status == "error" and "have not Read it" in msg.content


def test_outline_through_the_docker_sandbox_too(workspace: Path, sandbox: Sandbox) -> None:
    (workspace / "pkg").mkdir()
    (workspace / "pkg" / "m.py").write_text(PY)
    out = Outline(ctx=ToolContext(sandbox)).invoke({"path": "pkg"})
    assert out.startswith("pkg/m.py (28 lines)\n   7-20 class Store(Base, metaclass=Meta)")


def test_scripted_agent_outlines_then_reads_the_lines(workspace: Path) -> None:
    (workspace / "store.py").write_text(PY)
    sandbox = LocalSandbox(workspace)
    model = ScriptedChatModel(script=[
        say("", tool_call("Outline", {"path": "."})),
        say("", tool_call("Read", {"file_path": "store.py", "offset": 23, "limit": 2})),
        say("fetch is at store.py:23."),
    ])
    tools = make_tools(ToolContext(sandbox), extra=("Outline",))
    with ClaudeLikeAgent(model, workspace=workspace, sandbox=sandbox, tools=tools,
                         permission_mode="bypassPermissions", persist=False) as agent:
        result = agent.run("Where is fetch defined?")
    assert result.stop_reason == "done" and result.text == "fetch is at store.py:23."
    outline_result, read_result = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert outline_result.status == "success"
    assert "23-24 async def fetch(url, timeout=5.0)" in outline_result.content
    assert "async def fetch(url, timeout=5.0):" in read_result.content


# -- LangChain's standard suites -------------------------------------------------------------
_FOLDER = tempfile.mkdtemp(prefix="claude-like-outline-std-")
Path(_FOLDER, "src").mkdir()
Path(_FOLDER, "src", "store.py").write_text(PY)
_CTX = ToolContext(LocalSandbox(_FOLDER))


@pytest.fixture(scope="module", autouse=True)
def _remove_suite_folder() -> Iterator[None]:
    yield
    _CTX.sandbox.close()
    shutil.rmtree(_FOLDER, ignore_errors=True)


class _Setup:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return Outline

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"ctx": _CTX}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"path": "src"}


class TestOutlineUnit(_Setup, ToolsUnitTests):
    pass


class TestOutlineIntegration(_Setup, ToolsIntegrationTests):
    def test_example_call_succeeds(self, tool: BaseTool) -> None:
        msg = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name,
                           "args": {"path": "src"}})
        assert msg.status == "success" and "class Store" in msg.content

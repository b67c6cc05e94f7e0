"""LangChain's standard tool suites, unit and integration, for each built-in tool.

The integration suite invokes every tool with its example arguments against a real sandbox
(local, and Docker), in a workspace reset before each test so that each example call
succeeds; ``test_example_call_succeeds`` checks that it does (the standard suite accepts
an error result too).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from claude_like.sandbox import LocalSandbox, Sandbox
from claude_like.tools import LS, Bash, Edit, Glob, Grep, Read, ToolContext, Write

# The suites build tools from class-level properties (no fixtures there), so the tools of
# one sandbox kind share one context, made on first use and closed with the module.
_CONTEXTS: dict[str, ToolContext] = {}
_FOLDERS: list[str] = []

FILES = {
    "src/app.py": "".join(f"def f{i}():\n    return {i}\n" for i in range(40)),
    "a.py": "x = 1\n",
}


def _context(kind: str) -> ToolContext:
    if kind not in _CONTEXTS:
        folder = tempfile.mkdtemp(prefix="claude-like-std-")
        _FOLDERS.append(folder)
        sandbox: Sandbox
        if kind == "docker":
            from docker_helpers import docker_sandbox_for

            sandbox = docker_sandbox_for(folder)  # type: ignore[arg-type]
        else:
            sandbox = LocalSandbox(folder)
        _CONTEXTS[kind] = ToolContext(sandbox)
    return _CONTEXTS[kind]


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    for ctx in _CONTEXTS.values():
        ctx.sandbox.close()
    _CONTEXTS.clear()
    for folder in _FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


class _Setup:
    kind = "local"
    tool_class: type[BaseTool]
    example: dict[str, Any]

    @property
    def tool_constructor(self) -> type[BaseTool]:
        return self.tool_class

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"ctx": _context(self.kind)}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return dict(self.example)

    @pytest.fixture(autouse=True)
    def _fresh_workspace(self) -> None:
        """The files the examples use, as the model would have Read them."""
        ctx = _context(self.kind)
        sandbox = ctx.sandbox
        sandbox.execute("rm -f notes.txt")
        for path, text in FILES.items():
            sandbox.write_bytes(path, text.encode())
        read = Read(ctx=ctx)
        for path in FILES:
            read.invoke({"file_path": path})


class _Unit(_Setup, ToolsUnitTests):
    pass


class _Integration(_Setup, ToolsIntegrationTests):
    def test_example_call_succeeds(self, tool: BaseTool) -> None:
        call = {"type": "tool_call", "id": "1", "name": tool.name, "args": self.example}
        msg = tool.invoke(call)
        assert isinstance(msg, ToolMessage)
        assert msg.status == "success", msg.content
        assert isinstance(msg.content, str) and msg.content.strip()


EXAMPLES: dict[type[BaseTool], dict[str, Any]] = {
    Read: {"file_path": "src/app.py", "offset": 10, "limit": 50},
    Write: {"file_path": "notes.txt", "content": "hello\n"},
    Edit: {"file_path": "a.py", "old_string": "x = 1", "new_string": "x = 2"},
    Glob: {"pattern": "**/*.py", "path": "src"},
    Grep: {"pattern": r"def \w+", "glob": "*.py", "output_mode": "content", "context": 2},
    LS: {"path": ".", "ignore": ["*.pyc"]},
    Bash: {"command": "echo hello", "timeout": 30, "description": "Say hello"},
}


def _suite(base: type, tool_class: type[BaseTool], kind: str, suffix: str) -> type:
    attrs: dict[str, Any] = {
        "tool_class": tool_class,
        "example": EXAMPLES[tool_class],
        "kind": kind,
        "__module__": __name__,
    }
    if kind == "docker":
        attrs["pytestmark"] = pytest.mark.docker
    name = f"Test{tool_class.__name__}{suffix}"
    return type(name, (base,), attrs)


for _tool in EXAMPLES:
    for _cls in (
        _suite(_Unit, _tool, "local", "Unit"),
        _suite(_Integration, _tool, "local", "Integration"),
        _suite(_Integration, _tool, "docker", "IntegrationDocker"),
    ):
        globals()[_cls.__name__] = _cls

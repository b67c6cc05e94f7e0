"""LangChain's standard tool test-suite, for each built-in tool."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.tools import BaseTool
from langchain_tests.unit_tests import ToolsUnitTests

from claude_like.sandbox import LocalSandbox
from claude_like.tools import LS, Bash, Edit, Glob, Grep, Read, ToolContext, Write

# The suite builds tools from class-level properties (no fixtures there), so the tools
# share one sandbox for the module; its shell is only started if a command runs.
_WORKSPACE = tempfile.mkdtemp(prefix="claude-like-std-")
_CTX = ToolContext(LocalSandbox(_WORKSPACE))


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _CTX.sandbox.close()
    shutil.rmtree(_WORKSPACE, ignore_errors=True)


class _Base(ToolsUnitTests):
    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"ctx": _CTX}


class TestRead(_Base):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return Read

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"file_path": "src/app.py", "offset": 10, "limit": 50}


class TestWrite(_Base):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return Write

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"file_path": "notes.txt", "content": "hello\n"}


class TestEdit(_Base):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return Edit

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"file_path": "a.py", "old_string": "x = 1", "new_string": "x = 2"}


class TestGlob(_Base):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return Glob

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"pattern": "**/*.py", "path": "src"}


class TestGrep(_Base):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return Grep

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"pattern": r"def \w+", "glob": "*.py", "output_mode": "content", "context": 2}


class TestLS(_Base):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return LS

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"path": ".", "ignore": ["*.pyc"]}


class TestBash(_Base):
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return Bash

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"command": "echo hello", "timeout": 30, "description": "Say hello"}

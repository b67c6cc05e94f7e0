"""LangChain's standard tool suites for the tools that act on the agent's state rather
than on files: TodoWrite, and Task (its sub-agent on a scripted model)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from claude_like import ClaudeLikeAgent
from claude_like.sandbox import LocalSandbox
from claude_like.testing import ScriptedChatModel, say
from claude_like.tools import ToolContext
from claude_like.tools.task import Task
from claude_like.tools.todo_write import TodoWrite

_AGENT: list[ClaudeLikeAgent] = []


def _runner() -> Any:
    if not _AGENT:
        model = ScriptedChatModel(script=[say("the report")], repeat_last=True)
        _AGENT.append(ClaudeLikeAgent(model, workspace=tempfile.mkdtemp(), persist=False,
                                      agents=True))
    return _AGENT[0].subagents


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    for agent in _AGENT:
        agent.close()


class _TodoSetup:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return TodoWrite

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"ctx": ToolContext(LocalSandbox(tempfile.mkdtemp()))}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"todos": [{"content": "Fix the test", "status": "in_progress"},
                          {"content": "Run the tests", "status": "pending"}]}


class _TaskSetup:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return Task

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"runner": _runner()}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"description": "find the bug", "prompt": "Find the failing test.",
                "subagent_type": "general-purpose"}


def _succeeds(tool: BaseTool, args: dict[str, Any]) -> None:
    msg = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": args})
    assert isinstance(msg, ToolMessage) and msg.status == "success", msg.content
    assert isinstance(msg.content, str) and msg.content.strip()


class TestTodoWriteUnit(_TodoSetup, ToolsUnitTests):
    pass


class TestTodoWriteIntegration(_TodoSetup, ToolsIntegrationTests):
    def test_example_call_succeeds(self, tool: BaseTool) -> None:
        _succeeds(tool, self.tool_invoke_params_example)


class TestTaskUnit(_TaskSetup, ToolsUnitTests):
    pass


class TestTaskIntegration(_TaskSetup, ToolsIntegrationTests):
    def test_example_call_succeeds(self, tool: BaseTool) -> None:
        _succeeds(tool, self.tool_invoke_params_example)

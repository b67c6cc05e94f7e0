"""Task: hand a self-contained job to a sub-agent with a fresh context; only its final
report comes back, so the caller's context stays small (see :mod:`claude_like.subagents`).

Several Task calls of one turn run at the same time (the tool counts as read-only for
scheduling and permissions: the sub-agent's own calls are the ones checked). Its result
carries the sub-agent's token usage, which the tool node adds to the thread's totals.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, Field

from claude_like.stream import stream_writer
from claude_like.tools.base import ToolInput


class TaskInput(ToolInput):
    description: str = Field(description="The job in 3-5 words.")
    prompt: str = Field(description="Everything the sub-agent needs to know to do the job "
                                    "alone, and what to report back.")
    subagent_type: str = Field(default="general-purpose", description="Which sub-agent.")


def _report(result: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    artifact = {"state": {"usage": result["usage"]}, "subagent": kind,
                "stop_reason": result["stop_reason"], "turns": result["turns"]}
    if result["stop_reason"] == "error":
        raise ToolException(f"The {kind} sub-agent failed: {result['error']}")
    text = result["text"] or "(the sub-agent gave no report)"
    if result["stop_reason"] == "max_turns":
        text += "\n[the sub-agent stopped at its turn limit; its work may be unfinished]"
    return text, artifact


class Task(BaseTool):
    """The runner (:class:`claude_like.subagents.SubagentRunner`) is given by the agent,
    so this module does not reach up into the agent's layer."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "Task"
    description: str = "Give a self-contained job to a sub-agent; you get only its report."
    args_schema: type[BaseModel] = TaskInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool = True
    read_only: ClassVar[bool] = True
    delegates: ClassVar[bool] = True
    """Its sub-agent may change files: the repeat guard counts it as a change."""
    runner: Any

    def _kind(self, subagent_type: str) -> str:
        kind = subagent_type or "general-purpose"
        try:
            self.runner.check(kind)
        except KeyError as exc:
            raise ToolException(str(exc.args[0])) from exc
        return kind

    def _run(self, description: str, prompt: str, subagent_type: str = "general-purpose", *,
             config: RunnableConfig, **_: Any) -> tuple[str, dict[str, Any]]:
        kind = self._kind(subagent_type)
        tag = {"type": kind, "description": description, "task_id": call_id(config)}
        return _report(self.runner.run(kind, prompt, stream_writer(), tag), kind)

    async def _arun(self, description: str, prompt: str,
                    subagent_type: str = "general-purpose", *,
                    config: RunnableConfig, **_: Any
                    ) -> tuple[str, dict[str, Any]]:
        kind = self._kind(subagent_type)
        tag = {"type": kind, "description": description, "task_id": call_id(config)}
        return _report(await self.runner.arun(kind, prompt, stream_writer(), tag), kind)


def call_id(config: RunnableConfig | None) -> str:
    """The id of the call being run (the tool node puts it in the config's metadata), to
    tag the sub-agent's events with; "" when the tool is invoked on its own."""
    return str(((config or {}).get("metadata") or {}).get("tool_call_id") or "")

"""An MCP server's tool as the agent sees it: ``mcp__<server>__<tool>``, errors as results.

The adapters' tools are bound to a session on the MCP loop and are async only (their sync
``invoke`` raises ``NotImplementedError``), and a lost connection or a timeout escapes them
as an exception. :class:`McpTool` wraps one: it runs in the sync path (``agent.run``) and
the async one alike by handing the call to the MCP loop, and everything that goes wrong
comes back as an error result the model can read.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Protocol

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException
from pydantic import ConfigDict, Field

from claude_like.budget import DEFAULT_TOOL_OUTPUT_LIMIT, clip_end, clip_middle
from claude_like.mcp.errors import McpCallError
from claude_like.text_safety import visible

MAX_DESCRIPTION = 2048
"""Characters of a server's tool description kept (Claude Code cuts them at 2 KB too):
every description is sent with every request."""

NO_OUTPUT = "(the tool finished without output)"

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(server: str, tool: str) -> str:
    """``mcp__<server>__<tool>``, Claude Code's name for an MCP tool: other characters than
    letters, digits, ``_`` and ``-`` become ``_`` (what model APIs accept in a name)."""
    return f"mcp__{_UNSAFE_NAME.sub('_', server)}__{_UNSAFE_NAME.sub('_', tool)}"


class McpCaller(Protocol):
    """What runs a call on the MCP loop (:class:`claude_like.mcp.tools.McpTools`)."""

    def call(self, server: str, tool: str, args: dict[str, Any]) -> ToolMessage: ...

    async def acall(self, server: str, tool: str, args: dict[str, Any]) -> ToolMessage: ...


def _block_text(block: Any) -> str:
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return str(block)
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    mime = block.get("mime_type") or "unknown type"
    if block.get("url"):
        return f"[{kind} ({mime}) at {block['url']}]"
    size = len(block.get("base64") or "") * 3 // 4
    return f"[{kind} ({mime}, about {size:,} bytes): not shown, only text reaches the model]"


def result_text(content: Any) -> str:
    """The text of an adapters' result: text blocks joined, other blocks named."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_block_text(b) for b in content)
    return str(content)


class McpTool(BaseTool):
    """One tool of one MCP server, called through the agent's MCP loop."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    read_only: ClassVar[bool] = False
    """A server's ``readOnlyHint`` is not trusted: its calls go through permissions as
    writes (Claude Code does not auto-allow them either), and run one at a time."""

    server: str
    remote_name: str
    """The tool's name on its server."""
    caller: Any = Field(exclude=True, repr=False)
    output_limit: int = DEFAULT_TOOL_OUTPUT_LIMIT
    handle_tool_error: bool = True

    @classmethod
    def wrap(cls, inner: BaseTool, *, server: str, caller: McpCaller,
             output_limit: int = DEFAULT_TOOL_OUTPUT_LIMIT) -> McpTool:
        """The agent's tool for the adapters' ``inner`` (same schema, namespaced name)."""
        description = clip_end(inner.description.strip(), MAX_DESCRIPTION) or (
            f"The {inner.name} tool of the {server} MCP server.")
        return cls(name=tool_name(server, inner.name), description=description,
                   args_schema=inner.args_schema, server=server, remote_name=inner.name,
                   caller=caller, output_limit=output_limit, metadata=inner.metadata)

    # The arguments arrive as keyword arguments, whatever their names (no ``config``
    # or ``run_manager`` parameter here, so a tool argument of that name passes through).
    def _run(self, **arguments: Any) -> str:
        try:
            msg = self.caller.call(self.server, self.remote_name, arguments)
        except Exception as exc:
            raise self._failure(exc) from exc
        return self._outcome(msg)

    async def _arun(self, **arguments: Any) -> str:
        try:
            msg = await self.caller.acall(self.server, self.remote_name, arguments)
        except Exception as exc:
            raise self._failure(exc) from exc
        return self._outcome(msg)

    def _failure(self, exc: Exception) -> ToolException:
        text = str(exc) if isinstance(exc, McpCallError) else (
            f"{self.name} failed: {type(exc).__name__}: {exc}")
        return ToolException(self._fit(text))

    def _fit(self, text: str) -> str:
        return clip_middle(visible(text), self.output_limit)

    def _outcome(self, msg: ToolMessage) -> str:
        """The result's text (a server's ``structuredContent`` is left out: its text
        content carries the same, and an artifact would be stored with the transcript)."""
        text = self._fit(result_text(msg.content).strip())
        if msg.status == "error":
            raise ToolException(text or f"{self.name} reported an error without a message.")
        return text or NO_OUTPUT

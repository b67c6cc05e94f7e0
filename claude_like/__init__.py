"""claude-like: a Claude-Code-style coding agent on LangGraph, for the models you choose."""

from claude_like.agent import ClaudeLikeAgent
from claude_like.events import AgentEvent, AgentResult, Final, TextDelta, ToolFinished, ToolStarted
from claude_like.graph import build_graph
from claude_like.sandbox import ExecResult, LocalSandbox, Sandbox

__all__ = [
    "AgentEvent",
    "AgentResult",
    "ClaudeLikeAgent",
    "ExecResult",
    "Final",
    "LocalSandbox",
    "Sandbox",
    "TextDelta",
    "ToolFinished",
    "ToolStarted",
    "build_graph",
]
__version__ = "0.1.0"

"""build_graph(): the planner and tool nodes wired into a LangGraph StateGraph.

    START ─► [prompt_hooks] ─► planner ─┬─ tool calls ─► [permissions ─► (approval)] ─► tools
                                       │                   ─► planner ... (END on a refusal
                                       │                      that stops the run)
                                       ├─ tool calls at the turn limit ─► turn_limit ─► END
                                       └─ final answer ─► [stop_hooks ─► planner] ─► END
                                          (or model error ─► END)

Bracketed nodes exist when a permission gate or hooks for those events are given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from claude_like.budget import DEFAULT_TOOL_OUTPUT_LIMIT
from claude_like.context.manager import ContextManager
from claude_like.context.offload import ResultStore
from claude_like.hook_nodes import HookNodes, route_after_prompt, route_after_stop
from claude_like.models.tool_call_repair import answer_calls
from claude_like.permission_node import PermissionNode, approval_node, route_after_permissions
from claude_like.permissions.gate import PermissionGate
from claude_like.planner import Planner, Recover
from claude_like.state import AgentState
from claude_like.tool_node import DEFAULT_REPEAT_LIMIT, ToolNode

DEFAULT_MAX_TURNS = 30


Route = Literal["tools", "turn_limit", "answered", "__end__"]


def route_after_planner(state: AgentState, max_turns: int) -> Route:
    if state.get("stop_reason") == "error":
        return END
    last = state["messages"][-1] if state.get("messages") else None
    if isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls):
        return "turn_limit" if state.get("turns", 0) >= max_turns else "tools"
    return "answered"


def route_after_tools(state: AgentState) -> Literal["planner", "__end__"]:
    """Back to the planner, unless a refusal asked to end the run."""
    return END if state.get("stop_reason") == "denied" else "planner"


def turn_limit_node(max_turns: int):
    """Answer the last calls without running them, so the thread stays valid to continue."""

    def node(state: AgentState) -> dict[str, Any]:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        notes = answer_calls(last, f"Not run: the turn limit ({max_turns}) was reached.")
        return {"messages": notes, "stop_reason": "max_turns"}

    return node


def build_graph(
    model: BaseChatModel,
    tools: Sequence[BaseTool],
    system_prompt: str,
    *,
    max_turns: int = DEFAULT_MAX_TURNS,
    output_limit: int = DEFAULT_TOOL_OUTPUT_LIMIT,
    repeat_limit: int = DEFAULT_REPEAT_LIMIT,
    recover: Recover | None = None,
    checkpointer: BaseCheckpointSaver | None = None,
    name: str = "claude_like",
    context: ContextManager | None = None,
    results: ResultStore | None = None,
    result_tokens: int | Callable[[], int] | None = None,
    tool_node: ToolNode | None = None,
    gate: PermissionGate | None = None,
    hooks: Any = None,
) -> CompiledStateGraph:
    """The agent's compiled graph: a Runnable over ``AgentState``. ``context`` manages the
    window (default: a budget from what the model's factory learnt, compaction on);
    ``results`` keeps tool results over ``result_tokens`` whole in a file (see ToolNode).
    Pass your own ``tool_node`` to close its thread pool yourself (``ToolNode.close()``);
    one built here is shut down when the graph is garbage-collected. ``gate`` adds the
    permission step (and approvals through ``interrupt()``); ``hooks``
    (:class:`claude_like.hooks.Hooks`) adds the UserPromptSubmit and Stop nodes and the
    PostToolUse hooks of a tool node built here."""
    planner = Planner(model, tools, system_prompt, recover=recover, context=context)
    if tool_node is None:
        tool_node = ToolNode(tools, output_limit=output_limit, repeat_limit=repeat_limit,
                             results=results, result_tokens=result_tokens, hooks=hooks)
    builder = StateGraph(AgentState)
    builder.add_node("planner", RunnableLambda(planner, afunc=planner.acall, name="planner"))
    builder.add_node("tools", RunnableLambda(tool_node, afunc=tool_node.acall, name="tools"))
    builder.add_node("turn_limit", turn_limit_node(max_turns))
    hook_nodes = HookNodes(hooks, max_turns) if hooks is not None else None
    if hook_nodes is not None and hooks.has("UserPromptSubmit"):
        builder.add_node("prompt_hooks", RunnableLambda(hook_nodes.prompt, afunc=hook_nodes.aprompt,
                                                        name="prompt_hooks"))
        builder.add_edge(START, "prompt_hooks")
        builder.add_conditional_edges("prompt_hooks", route_after_prompt)
    else:
        builder.add_edge(START, "planner")
    done = END
    if hook_nodes is not None and hooks.has("Stop"):
        builder.add_node("stop_hooks", RunnableLambda(hook_nodes.stop, afunc=hook_nodes.astop,
                                                      name="stop_hooks"))
        builder.add_conditional_edges("stop_hooks", route_after_stop)
        done = "stop_hooks"
    run_calls = "tools"
    if gate is not None:
        node = PermissionNode(gate, tool_node.check)
        builder.add_node("permissions", RunnableLambda(node, afunc=node.acall,
                                                       name="permissions"))
        builder.add_node("approval", approval_node)
        builder.add_conditional_edges("permissions", route_after_permissions)
        builder.add_edge("approval", "tools")
        run_calls = "permissions"
    builder.add_conditional_edges(
        "planner",
        lambda s: route_after_planner(s, max_turns),
        {"tools": run_calls, "turn_limit": "turn_limit",
         END: END, "answered": done},
    )
    builder.add_conditional_edges("tools", route_after_tools)
    builder.add_edge("turn_limit", END)
    return builder.compile(checkpointer=checkpointer, name=name)

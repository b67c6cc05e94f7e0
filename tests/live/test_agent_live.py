"""The agent on a real llama-server (bundled SmolLM2-135M): the whole loop, for real.

A real tool call with valid arguments goes out, the tool's real result comes back (the
same text the tool gives when run again on the same workspace), and the loop ends (a final
answer or the turn limit: the tiny model proves the pipeline, not its wits). In native mode
the call is forced by llama-server's grammar (``tool_choice``), on both wire formats.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from claude_like import ClaudeLikeAgent
from claude_like.events import Final, ToolFinished, ToolStarted
from claude_like.models import make_chat_model
from claude_like.models.forced_choice import force_tool_choice
from claude_like.models.llama_server import ManagedLlamaServer
from claude_like.sandbox import LocalSandbox
from claude_like.tools import ToolContext, make_tools

pytestmark = pytest.mark.live

TASK = "Read the file notes.txt and tell me the secret word."
MAX_TURNS = 4


@pytest.fixture
def workspace_with_notes(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("The secret word is pineapple.\n")
    return tmp_path


@contextmanager
def _agent(server: ManagedLlamaServer, workspace: Path, force: str | None = None,
           only: list[str] | None = None, max_turns: int = MAX_TURNS,
           mode: str = "bypassPermissions", ask_tools: tuple[str, ...] | list[str] = (),
           **model_kw: Any) -> Iterator[ClaudeLikeAgent]:
    model = make_chat_model(f"llamacpp:{server.alias}", base_url=server.base_url,
                            max_tokens=model_kw.pop("max_tokens", 256), temperature=0,
                            **model_kw)
    if force:
        model = force_tool_choice(model, force)
    with LocalSandbox(workspace) as sandbox:
        tools = make_tools(ToolContext(sandbox), include=only) if only else None
        with ClaudeLikeAgent(model=model, sandbox=sandbox, tools=tools, max_turns=max_turns,
                             permission_mode=mode, ask_tools=ask_tools,
                             persist=False) as agent:
            yield agent


def _check_round_trip(agent: ClaudeLikeAgent, messages: list[Any]) -> None:
    """Every call names a real tool and is answered; the first call's arguments are valid
    for its tool, and its result is the tool's real output: the same call run again on the
    same workspace (read-only tools) gives the same text and status -- a tiny model may
    well ask for a file that is not there, and the tool's true answer is then an error."""
    tools = {t.name: t for t in agent.tools}
    calls = [c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    assert calls, "the model made no tool call"
    assert all(c["name"] in tools for c in calls), [c["name"] for c in calls]
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    assert all(c["id"] in results for c in calls), "a call was left without its result"
    first = calls[0]
    tool = tools[first["name"]]
    tool.args_schema.model_validate(first["args"])  # type: ignore[union-attr]
    result = results[first["id"]]
    assert result.content, "empty result"
    if getattr(tool, "read_only", False):
        again = tool.invoke({**first, "type": "tool_call"})
        assert (result.content, result.status) == (again.content, again.status)


def test_constrained_agent_run(plain_server: ManagedLlamaServer,
                               workspace_with_notes: Path) -> None:
    with _agent(plain_server, workspace_with_notes, tool_calling="constrained") as agent:
        result = agent.run(TASK)
        assert result.stop_reason in ("done", "max_turns"), result.error
        assert 1 <= result.turns <= MAX_TURNS
        _check_round_trip(agent, result.messages)
        assert result.usage["input_tokens"] > 0 and result.usage["output_tokens"] > 0
        stats = result.turn_stats
        assert len(stats) == result.turns
        assert all("cache_n" in s and "prompt_n" in s for s in stats)
        if len(stats) > 1:  # the stable prefix is served from the KV cache
            assert stats[1]["cache_n"] > stats[1]["prompt_n"]


def test_constrained_agent_stream(plain_server: ManagedLlamaServer,
                                  workspace_with_notes: Path) -> None:
    with _agent(plain_server, workspace_with_notes, tool_calling="constrained") as agent:
        events = list(agent.stream(TASK))
        assert isinstance(events[-1], Final)
        result = events[-1].result
        assert result.stop_reason in ("done", "max_turns"), result.error
        started = [e for e in events if isinstance(e, ToolStarted)]
        finished = [e for e in events if isinstance(e, ToolFinished)]
        assert started and len(finished) >= len(started)  # blocked repeats only finish
        _check_round_trip(agent, result.messages)


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_native_agent_run_makes_a_real_call(tool_server: ManagedLlamaServer,
                                            workspace_with_notes: Path, api: str) -> None:
    """Native tool calling through a tool-aware template, on both wire formats: every turn's
    call is forced, so the run is real calls and real results until the turn limit, which
    answers the last calls and ends the loop with the thread valid to continue."""
    force = "required" if api == "openai" else "any"
    # One tool: with several, this template's forced grammar lets SmolLM2 write no call.
    with _agent(tool_server, workspace_with_notes, force, only=["Read"], max_turns=2,
                max_tokens=96, tool_calling="native", api=api) as agent:
        result = agent.run(TASK)
        assert result.stop_reason == "max_turns", result.error
        assert result.turns == 2
        _check_round_trip(agent, result.messages)
        assert isinstance(result.messages[-1], ToolMessage)
        assert "turn limit" in str(result.messages[-1].content)
        assert result.usage["output_tokens"] > 0


@pytest.mark.parametrize("answer", ["allow", "deny"])
def test_a_real_call_caught_by_an_ask_rule_waits_and_the_answer_decides(
        tool_server: ManagedLlamaServer, workspace_with_notes: Path, answer: str) -> None:
    """The real model's forced call meets an ask rule (``Read``): the run pauses with the
    call's own arguments and nothing runs meanwhile; allowed, the real tool runs (its result
    is the tool's real output); refused, the model reads the refusal. The next forced call
    meets the turn limit, which ends the loop. (Read, because SmolLM2 fills the optional
    ``description`` of Bash and ``content`` of Write until its token cap.)"""
    with _agent(tool_server, workspace_with_notes, "required", only=["Read"], max_turns=2,
                max_tokens=96, tool_calling="native", mode="default",
                ask_tools=["Read"]) as agent:
        asked = agent.run(TASK)
        assert asked.stop_reason == "interrupted", asked.error
        (request,) = asked.pending
        call = next(c for m in asked.messages if isinstance(m, AIMessage) for c in m.tool_calls)
        assert request["tool"] == "Read" and request["tool_call_id"] == call["id"]
        assert request["input"] == call["args"] and request["rule"] == "Read"
        agent.tools[0].args_schema.model_validate(call["args"])  # type: ignore[union-attr]
        assert not [m for m in asked.messages if isinstance(m, ToolMessage)]
        done = agent.resume(answer)
        assert done.stop_reason == "max_turns", done.error
        result = next(m for m in done.messages
                      if isinstance(m, ToolMessage) and m.tool_call_id == call["id"])
        if answer == "deny":
            assert result.status == "error" and "Permission denied" in str(result.content)
        else:
            again = agent.tools[0].invoke({**call, "type": "tool_call"})
            assert (result.content, result.status) == (again.content, again.status)

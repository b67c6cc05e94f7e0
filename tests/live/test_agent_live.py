"""The agent on a real llama-server (bundled SmolLM2-135M): the whole loop, for real.

In constrained mode a real tool call goes out, its result comes back, and the loop ends
(a final answer or the turn limit: the tiny model proves the pipeline, not its wits).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage

from claude_like import ClaudeLikeAgent
from claude_like.events import Final, ToolFinished, ToolStarted
from claude_like.models import make_chat_model
from claude_like.models.llama_server import ManagedLlamaServer

pytestmark = pytest.mark.live

TASK = "Read the file notes.txt and tell me the secret word."
MAX_TURNS = 4


@pytest.fixture
def workspace_with_notes(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("The secret word is pineapple.\n")
    return tmp_path


def _agent(server: ManagedLlamaServer, workspace: Path, **model_kw: Any) -> ClaudeLikeAgent:
    model = make_chat_model(f"llamacpp:{server.alias}", base_url=server.base_url,
                            max_tokens=256, temperature=0, **model_kw)
    return ClaudeLikeAgent(model=model, workspace=workspace, sandbox="local",
                           max_turns=MAX_TURNS)


def _check_round_trip(messages: list[Any], tool_names: set[str]) -> None:
    """At least one valid call of a real tool, answered by a ToolMessage with its id."""
    calls = [c for m in messages if isinstance(m, AIMessage) for c in m.tool_calls]
    assert calls, "the constrained model made no tool call"
    assert all(c["name"] in tool_names for c in calls)
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    assert calls[0]["id"] in answered


def test_constrained_agent_run(plain_server: ManagedLlamaServer,
                               workspace_with_notes: Path) -> None:
    with _agent(plain_server, workspace_with_notes, tool_calling="constrained") as agent:
        result = agent.run(TASK)
        assert result.stop_reason in ("done", "max_turns"), result.error
        assert 1 <= result.turns <= MAX_TURNS
        _check_round_trip(result.messages, {t.name for t in agent.tools})
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
        _check_round_trip(result.messages, {t.name for t in agent.tools})


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_native_agent_run_ends(tool_server: ManagedLlamaServer, workspace_with_notes: Path,
                               api: str) -> None:
    """Native tool calling through a tool-aware template, on both wire formats: the run
    ends cleanly (SmolLM2 seldom calls tools natively; recovered text calls count)."""
    with _agent(tool_server, workspace_with_notes, tool_calling="native", api=api) as agent:
        result = agent.run(TASK)
        assert result.stop_reason in ("done", "max_turns"), result.error
        assert result.usage["output_tokens"] > 0

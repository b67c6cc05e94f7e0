"""Context management end to end, against a fake model that enforces its window the way
llama-server does (``WindowedChatModel``): long sessions finish, nothing overflows, calls and
results stay paired, stubs and summaries appear, the transcript keeps everything."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from claude_like import ClaudeLikeAgent
from claude_like.context import ContextBudget
from claude_like.events import Compacted, ContextUsage, Final
from claude_like.testing import WindowedChatModel, say, tool_call

LINE = "value_{n:04d} = compute_something(alpha, beta, gamma)  # a line of code\n"


@pytest.fixture
def big_workspace(tmp_path: Path) -> Path:
    """40 files of 200 lines: far more than any of the windows tested."""
    ws = tmp_path / "ws"
    ws.mkdir()
    for f in range(40):
        (ws / f"mod{f:02d}.py").write_text("".join(LINE.format(n=n) for n in range(200)))
    return ws


def reader(turns: int, tool: str = "Read") -> Any:
    """A script: read a different file each turn, then answer."""
    count = {"n": 0}

    def reply(_messages: list[BaseMessage]) -> AIMessage:
        n = count["n"]
        count["n"] += 1
        if n >= turns:
            return say("All files read.")
        if tool == "Read":
            return say("", tool_call("Read", {"file_path": f"mod{n % 40:02d}.py"}))
        return say("", tool_call("Bash", {"command": f"cat mod{n % 40:02d}.py"}))

    return reply


def model_for(turns: int, window: int = 4096, **kw: Any) -> WindowedChatModel:
    return WindowedChatModel(script=[reader(turns, kw.pop("tool", "Read"))], repeat_last=True,
                             window=window, max_tokens=window // 4, **kw)


def agent_for(model: WindowedChatModel, ws: Path, **kw: Any) -> ClaudeLikeAgent:
    return ClaudeLikeAgent(model, workspace=ws, max_turns=kw.pop("max_turns", 200),
                           permission_mode=kw.pop("permission_mode", "bypassPermissions"), **kw)


def _pairs_ok(messages: list[BaseMessage]) -> bool:
    pending: set[str] = set()
    for m in messages:
        if isinstance(m, ToolMessage):
            if m.tool_call_id not in pending:
                return False
            pending.discard(m.tool_call_id)
        elif pending:
            return False
        elif isinstance(m, AIMessage):
            pending = {c["id"] for c in m.tool_calls}
    return not pending


def test_hundred_turns_of_large_outputs_finish_in_a_4k_window(big_workspace: Path) -> None:
    model = model_for(100)
    events: list[Any] = []
    with agent_for(model, big_workspace) as agent:
        events = list(agent.stream("Read every module."))
    result = events[-1].result
    assert result.stop_reason == "done", result.error
    assert result.turns == 101
    assert model.refused == []  # not one request over the window
    assert max(model.requests) + model.max_tokens <= model.window
    # Every request the model saw kept calls and results together.
    turn_requests = [c for c in model.calls if "compress a coding agent" not in str(c[0].content)]
    assert all(_pairs_ok(r[1:]) for r in turn_requests)
    # The summary reached the model (in a window this small, older results are cleared and
    # then summarised at once; the stubs show in the 16K test below).
    assert any("# Summary of the earlier conversation" in str(r[0].content)
               for r in turn_requests)
    compactions = [e for e in events if isinstance(e, Compacted)]
    assert compactions and all(e.tokens_after < e.tokens_before for e in compactions)
    assert {"clear", "summary"} <= {s for e in compactions for s in e.stages}
    # The transcript keeps everything: every call and its whole result.
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert len(results) == 100
    assert all("value_0000" in str(m.content) and "cleared" not in str(m.content)
               for m in results)


def test_every_turn_reports_its_share_of_the_window(big_workspace: Path) -> None:
    model = model_for(12)
    with agent_for(model, big_workspace) as agent:
        events = list(agent.stream("Read."))
    usage = [e for e in events if isinstance(e, ContextUsage)]
    assert [e.turn for e in usage] == list(range(1, 14))
    assert all(e.window == 4096 and e.limit == 3072 for e in usage)
    assert all(e.tokens == real and not e.estimated
               for e, real in zip(usage, _turn_requests(model), strict=True))
    assert all(abs(e.share - e.tokens / 4096) < 1e-9 for e in usage)
    assert any(e.warning for e in usage)  # a 4K window fills up fast
    totals = events[-1].result.usage
    assert totals["input_tokens"] == sum(_turn_requests(model))


def _turn_requests(model: WindowedChatModel) -> list[int]:
    return [n for n, c in zip(model.requests, model.calls, strict=True)
            if "compress a coding agent" not in str(c[0].content)]


def test_prefix_stays_byte_stable_between_compactions(big_workspace: Path) -> None:
    model = model_for(40, window=16384)
    with agent_for(model, big_workspace) as agent:
        events = list(agent.stream("Read."))
    assert events[-1].result.stop_reason == "done"
    requests = [c for c in model.calls if "compress a coding agent" not in str(c[0].content)]
    stable = grown = 0
    for before, after in itertools.pairwise(requests):
        same = [m.content for m in after[: len(before)]] == [m.content for m in before]
        stable += same
        grown += 1
    compactions = sum(isinstance(e, Compacted) for e in events)
    assert compactions >= 1
    texts = ["\n".join(str(m.content) for m in r) for r in requests]
    assert any("[result of Read mod" in t and "cleared to save context" in t for t in texts)
    # Only a compaction may change what was sent before.
    assert grown - stable <= compactions


def test_thresholds_follow_the_window() -> None:
    small = ContextBudget(window=4096, max_tokens=1024)
    large = ContextBudget(window=32768, max_tokens=4096)
    assert (small.limit, small.compact_tokens, small.warn_tokens) == (3072, 2764, 2304)
    assert large.compact_tokens == int(0.9 * (32768 - 4096))
    assert small.result_tokens < large.result_tokens
    with pytest.raises(ValueError, match="smaller than the context window"):
        ContextBudget(window=4096, max_tokens=4096)


def test_a_users_own_model_gets_a_window_from_the_user_the_table_or_the_default() -> None:
    from langchain_openai import ChatOpenAI

    from claude_like.testing import ScriptedChatModel

    own = ScriptedChatModel(script=["hi"])
    default = ContextBudget.for_model(own)
    assert (default.window, default.max_tokens) == (8192, 2048)  # never the whole window
    given = ContextBudget.for_model(own, context_window=16384, compact_at=0.8)
    assert (given.window, given.max_tokens, given.compact_tokens) == (16384, 4096, 9830)
    cloud = ChatOpenAI(model="gpt-4o-2024-08-06", api_key="sk-test")  # no factory info
    assert ContextBudget.for_model(cloud).window == 128_000
    assert ContextBudget.for_model(cloud).max_tokens == 8192


def test_bigger_windows_compact_less(big_workspace: Path) -> None:
    counts = {}
    for window in (4096, 32768):
        with agent_for(model_for(30, window=window), big_workspace) as agent:
            events = list(agent.stream("Read."))
        assert events[-1].result.stop_reason == "done"
        counts[window] = sum(isinstance(e, Compacted) for e in events)
    assert counts[4096] > counts[32768]


def test_window_exceeded_error_compacts_and_retries(big_workspace: Path) -> None:
    # The server holds less than it reports (a slot of 4,096 tokens behind n_ctx 8,192):
    # the agent's own threshold comes too late, the server refuses, the agent compacts
    # and retries, and the run goes on.
    model = model_for(25, window=4096, reported_window=8192)
    with agent_for(model, big_workspace) as agent:
        events = list(agent.stream("Read."))
    result = events[-1].result
    assert model.refused, "the scenario must make the server refuse at least once"
    assert result.stop_reason == "done", result.error
    assert any(isinstance(e, Compacted) and e.reason == "overflow" for e in events)


def test_failed_summary_drops_the_oldest_turns(big_workspace: Path) -> None:
    model = model_for(30, summary=RuntimeError("the summary call failed"))
    with agent_for(model, big_workspace) as agent:
        events = list(agent.stream("Read."))
    assert events[-1].result.stop_reason == "done"
    stages = {s for e in events if isinstance(e, Compacted) for s in e.stages}
    assert "drop" in stages and "summary" not in stages
    last = [c for c in model.calls if "compress" not in str(c[0].content)][-1]
    assert "earlier messages were removed from your view" in str(last[0].content)


def test_a_rambling_summary_is_cut_to_its_room_keeping_task_and_what_remains(
    big_workspace: Path
) -> None:
    rambling = "Task: read every module.\n" + "and then more words " * 400 + "\nRemaining: mod29."
    model = model_for(30, window=6144, summary=rambling)
    with agent_for(model, big_workspace) as agent:
        events = list(agent.stream("Read."))
    assert events[-1].result.stop_reason == "done", events[-1].result.error
    compactions = [e for e in events if isinstance(e, Compacted)]
    assert any("summary" in e.stages for e in compactions)
    assert not any({"drop", "clip"} & set(e.stages) for e in compactions)
    last = [c for c in model.calls if "compress" not in str(c[0].content)][-1]
    system = str(last[0].content)
    assert "Task: read every module." in system and "Remaining: mod29." in system
    assert system.count("and then more words") < 400 and model.refused == []


def test_a_turn_bigger_than_the_window_is_clipped(big_workspace: Path) -> None:
    huge = "x" * 30_000
    model = WindowedChatModel(script=["Done."], window=4096, max_tokens=1024)
    with agent_for(model, big_workspace) as agent:
        result = agent.run(f"Look at this: {huge}")
    assert result.stop_reason == "done" and model.refused == []
    assert result.messages[0].content.endswith("x" * 100)  # the transcript is whole
    assert len(result.messages[0].content) > 30_000


def test_replies_cut_off_at_the_cap_as_content_blocks_are_clipped_too(
    big_workspace: Path
) -> None:
    """A small model on the Anthropic route rambles until the cap: each reply is ~1,500
    tokens of text blocks with a torn call. Only clipping those replies makes room."""
    from langchain_core.messages.tool import invalid_tool_call

    count = itertools.count()

    def ramble(_messages: list[BaseMessage]) -> AIMessage:
        torn = invalid_tool_call(name="Read", args='{"file_path": "mod', id=f"t{next(count)}",
                                 error="cut off")
        return AIMessage(content=[{"type": "text", "text": "I will read the file. " * 270}],
                         invalid_tool_calls=[torn],
                         response_metadata={"stop_reason": "max_tokens"})

    model = WindowedChatModel(script=[ramble], repeat_last=True, window=4096, max_tokens=1024)
    with agent_for(model, big_workspace, max_turns=8) as agent:
        events = list(agent.stream("Read mod00.py."))
    result = events[-1].result
    assert result.stop_reason == "max_turns", result.error
    assert model.refused == [] or any(
        isinstance(e, Compacted) and e.reason == "overflow" for e in events)
    assert any("clip" in e.stages for e in events if isinstance(e, Compacted))
    # Every torn call got its result; the transcript keeps each reply whole.
    assert sum(isinstance(m, ToolMessage) for m in result.messages) == 8
    assert all(len(m.text) > 5000 for m in result.messages if isinstance(m, AIMessage))


def test_without_compaction_the_same_session_dies(big_workspace: Path) -> None:
    model = model_for(30)
    with agent_for(model, big_workspace, compaction=False) as agent:
        result = agent.run("Read.")
    assert result.stop_reason == "error"
    assert "exceeds the available context size" in result.error


def test_async_path_compacts_too(big_workspace: Path) -> None:
    model = model_for(30)

    async def go() -> list[Any]:
        with agent_for(model, big_workspace) as agent:
            return [e async for e in agent.astream("Read.")]

    events = asyncio.run(go())
    assert events[-1].result.stop_reason == "done" and model.refused == []
    assert any(isinstance(e, Compacted) for e in events)


def test_a_resumed_thread_continues_from_its_compacted_state(big_workspace: Path) -> None:
    saver = InMemorySaver()
    with agent_for(model_for(30), big_workspace, checkpointer=saver,
                   thread_id="t1") as agent:
        first = agent.run("Read.")
    assert first.stop_reason == "done"
    model = WindowedChatModel(script=["Still here."], window=4096, max_tokens=1024)
    with agent_for(model, big_workspace, checkpointer=saver, thread_id="t1") as agent:
        again = agent.run("Anything else?")
    assert again.stop_reason == "done" and model.refused == []
    sent = next(c for c in model.calls if "compress a coding agent" not in str(c[0].content))
    assert "# Summary of the earlier conversation" in str(sent[0].content)
    assert len(sent) < len(again.messages) // 4  # not the whole transcript
    assert len(again.messages) == len(first.messages) + 2


def test_compact_on_demand(big_workspace: Path) -> None:
    model = model_for(4, window=32768)
    with agent_for(model, big_workspace, thread_id="t") as agent:
        agent.run("Read.")
        event = agent.compact(thread_id="t")
        assert isinstance(event, Compacted) and event.reason == "manual"
        assert event.tokens_after < event.tokens_before
        model.script.append("ok")
        agent.run("Next?")
    last = model.calls[-1]
    assert isinstance(last[0], SystemMessage)
    assert "# Summary of the earlier conversation" in str(last[0].content)
    assert sum(len(str(m.content)) for m in last) < sum(len(str(m.content))
                                                       for m in model.calls[4])


def test_final_event_still_ends_the_stream(big_workspace: Path) -> None:
    with agent_for(model_for(2), big_workspace) as agent:
        events = list(agent.stream("Read."))
    assert isinstance(events[-1], Final)


def _saved_path(text: str) -> str:
    import re

    match = re.search(r'file_path="([^"]+)"', text)
    assert match, text
    return match.group(1)


@pytest.mark.parametrize("keep", [False, True])
def test_a_result_over_its_share_of_the_window_is_saved_and_paged_back(
    big_workspace: Path, keep: bool
) -> None:
    seen: dict[str, str] = {}

    def script(messages: list[BaseMessage]) -> AIMessage:
        last = messages[-1]
        if not isinstance(last, ToolMessage):
            return say("", tool_call("Bash", {"command": "cat mod00.py mod01.py"}))
        if "file_path" not in seen:  # the cut result: page into the saved file as it says
            seen["bash"] = str(last.content)
            seen["file_path"] = _saved_path(str(last.content))
            return say("", tool_call("Read", {"file_path": seen["file_path"], "offset": 390,
                                              "limit": 5}))
        seen["read"] = str(last.content)
        return say("Done.")

    model = WindowedChatModel(script=[script], repeat_last=True, window=4096, max_tokens=1024)
    with agent_for(model, big_workspace, keep_results=keep) as agent:
        result = agent.run("Show both modules.")
        assert result.stop_reason == "done", result.error
        budget_chars = agent.budget.result_chars
        saved = big_workspace / seen["file_path"]
        whole = (big_workspace / "mod00.py").read_text() + (big_workspace / "mod01.py").read_text()
        assert saved.read_text() == whole.rstrip("\n")  # nothing the tool produced is lost
    assert result.stop_reason == "done", result.error
    assert len(seen["bash"]) <= budget_chars  # the model got head + tail + the way in
    assert "value_0000" in seen["bash"] and "value_0199" in seen["bash"]
    assert seen["file_path"].startswith(".claude-like/results/Bash-")
    assert "value_0189" in seen["read"] and "value_0194" not in seen["read"]
    assert model.refused == []
    assert saved.exists() is keep  # removed on close unless asked to keep


def test_the_latest_result_reaches_the_model_unclipped_when_it_fits(big_workspace: Path) -> None:
    # A window where the latest turn lies between the compaction's aim and its threshold.
    model = model_for(20, window=6144, tool="Bash")
    with agent_for(model, big_workspace) as agent:
        result = agent.run("Show every module.")
    assert result.stop_reason == "done", result.error
    whole = {m.tool_call_id: m.content for m in result.messages if isinstance(m, ToolMessage)}
    turns = [c for c in model.calls if "compress a coding agent" not in str(c[0].content)]
    latest = [c[-1] for c in turns if isinstance(c[-1], ToolMessage)]
    assert len(latest) == 20
    # Each fresh result (head, tail and the note on where the rest is) is sent as produced.
    assert all(m.content == whole[m.tool_call_id] and "is saved in" in m.content
               for m in latest)

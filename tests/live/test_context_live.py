"""Context management against a real llama-server with a 4,096-token slot.

A thread first fills up with large tool results (a scripted model reads big files, with no
compaction), far beyond the slot. The real model then continues that thread: without
compaction its first request is refused (HTTP 400, the request exceeds the context size);
with compaction the agent compacts before sending, makes a real tool call, gets its result
and ends the loop; on the OpenAI-compatible (constrained) and the Anthropic routes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from claude_like import ClaudeLikeAgent
from claude_like.events import Compacted, ContextUsage, ToolFinished
from claude_like.models import make_chat_model, model_info
from claude_like.models.llama_server import ManagedLlamaServer
from claude_like.testing import ScriptedChatModel, say, tool_call

pytestmark = pytest.mark.live

SLOT = 4096
TASK = "Read the file notes.txt and tell me the secret word."


@pytest.fixture(scope="module")
def small_server(llama_binary: Path, gguf: Path) -> Iterator[ManagedLlamaServer]:
    """SmolLM2 with one 4,096-token slot."""
    server = ManagedLlamaServer(gguf, binary=llama_binary, ctx_size=SLOT, alias="smollm2-4k")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def long_thread(tmp_path: Path) -> tuple[Path, InMemorySaver]:
    """A workspace of big files and a thread holding 16 reads of them (over 4x the slot)."""
    for n in range(16):
        (tmp_path / f"mod{n:02d}.py").write_text(
            "".join(f"value_{i:04d} = compute(alpha, beta)  # line {i}\n" for i in range(200)))
    (tmp_path / "notes.txt").write_text("The secret word is pineapple.\n")
    reads = [say("", tool_call("Read", {"file_path": f"mod{n:02d}.py"})) for n in range(16)]
    saver = InMemorySaver()
    scripted = ScriptedChatModel(script=[*reads, say("I have read the modules.")])
    with ClaudeLikeAgent(scripted, workspace=tmp_path, checkpointer=saver, thread_id="long",
                         compaction=False) as agent:
        result = agent.run("Read every module.")
    assert result.stop_reason == "done"
    assert sum(len(str(m.content)) for m in result.messages) > 4 * SLOT * 3.5
    return tmp_path, saver


def _model(server: ManagedLlamaServer, api: str) -> Any:
    mode = "constrained" if api == "openai" else "native"
    return make_chat_model(f"llamacpp:{server.alias}", base_url=server.base_url, api=api,
                           tool_calling=mode, temperature=0)


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_a_long_thread_fits_a_4k_slot_with_compaction(
    small_server: ManagedLlamaServer, long_thread: tuple[Path, InMemorySaver], api: str
) -> None:
    workspace, saver = long_thread
    model = _model(small_server, api)
    info = model_info(model)
    assert info is not None and info.context_window == SLOT
    assert info.max_tokens == SLOT // 4  # derived, never the whole window
    with ClaudeLikeAgent(model, workspace=workspace, checkpointer=saver, thread_id="long",
                         max_turns=3) as agent:
        events = list(agent.stream(TASK))
    result = events[-1].result
    assert result.stop_reason in ("done", "max_turns"), result.error
    compactions = [e for e in events if isinstance(e, Compacted)]
    assert compactions and compactions[0].tokens_after < compactions[0].tokens_before
    usage = [e for e in events if isinstance(e, ContextUsage)]
    assert usage and all(e.tokens + info.max_tokens <= SLOT for e in usage)
    # The transcript is whole: the 16 old reads are still there, with their content.
    reads = [m for m in result.messages if isinstance(m, ToolMessage)
             and "value_0000" in str(m.content)]
    assert len(reads) >= 16
    if api == "openai":  # constrained decoding: a real, valid call and its real result
        new = result.messages[len(result.messages) - result.turns * 3:]
        calls = [c for m in new if isinstance(m, AIMessage) for c in m.tool_calls]
        assert calls and calls[0]["name"] in {t.name for t in agent.tools}
        finished = [e for e in events if isinstance(e, ToolFinished)]
        assert finished and finished[0].id == calls[0]["id"]
        answered = {m.tool_call_id for m in result.messages if isinstance(m, ToolMessage)}
        assert calls[0]["id"] in answered


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_the_same_thread_overflows_without_compaction(
    small_server: ManagedLlamaServer, long_thread: tuple[Path, InMemorySaver], api: str
) -> None:
    workspace, saver = long_thread
    with ClaudeLikeAgent(_model(small_server, api), workspace=workspace, checkpointer=saver,
                         thread_id="long", max_turns=3, compaction=False) as agent:
        result = agent.run(TASK)
    assert result.stop_reason == "error"
    assert "exceed" in result.error and "context" in result.error

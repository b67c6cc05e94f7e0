"""The ``claude-code:`` backend: ChatClaudeCode runs the real Claude Code CLI (through
claude-agent-sdk), pointed at our gateway on a scripted backend, so the whole loop runs
offline: the CLI's requests, its own tools, its errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from claude_code_helpers import SCRIPTED_WINDOW, claude_cli, gateway
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from claude_like.models import ModelUnavailableError, make_chat_model
from claude_like.models.claude_cli import (
    CLI_ENV,
    ClaudeCodeAuthError,
    ClaudeCodeError,
    offline_env,
)
from claude_like.models.claude_code import ChatClaudeCode, ClaudeCodeToolsNotSupported
from claude_like.testing import ScriptedChatModel, say, tool_call

pytestmark = pytest.mark.claude_code

ANSWER = "Hello from the scripted backend, through Claude Code."


@pytest.fixture(autouse=True)
def _cli() -> None:
    claude_cli()


def chat(url: str, tmp_path: Path, **fields: Any) -> ChatClaudeCode:
    """A ChatClaudeCode working in ``tmp_path/ws`` against the gateway at ``url``."""
    (tmp_path / "ws").mkdir(exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    env = offline_env(url, api_key=fields.pop("api_key", "test-key"),
                      home=str(tmp_path / "home"))
    env.update({"ANTHROPIC_AUTH_TOKEN": "", "CLAUDE_CODE_OAUTH_TOKEN": ""})  # no other login
    return ChatClaudeCode(**{"permission_mode": "bypassPermissions",
                             "cwd": str(tmp_path / "ws"), "env": env, **fields})


def expected_usage(backend: ScriptedChatModel, replies: list[str]) -> dict[str, int]:
    """What the scripted backend reported, summed over Claude Code's requests."""
    prompt = sum(sum(len(str(m.content)) for m in call) // 4 for call in backend.calls)
    out = sum(max(len(text) // 4, 1) for text in replies)
    return {"input_tokens": prompt, "output_tokens": out, "total_tokens": prompt + out}


def test_invoke_returns_the_backends_text_and_usage(tmp_path: Path) -> None:
    backend = ScriptedChatModel(script=[ANSWER])
    with gateway(backend, window=SCRIPTED_WINDOW) as url:
        reply = chat(url, tmp_path, model="sonnet").invoke("Say hello")
    assert reply.content == ANSWER
    usage = dict(reply.usage_metadata or {})
    usage.pop("input_token_details")
    assert usage == expected_usage(backend, [ANSWER])
    meta = reply.response_metadata
    assert meta["model_name"] == "claude-sonnet-5-5"  # `model` reached the CLI
    assert meta["session_id"] and meta["claude_code"]["session_id"] == meta["session_id"]
    assert meta["claude_code"]["tool_activity"] == []
    assert "Say hello" in str(backend.calls[0][-1].content)


async def test_astream_yields_pieces_of_the_text_then_usage(tmp_path: Path) -> None:
    backend = ScriptedChatModel(script=[ANSWER], chunk_size=5)
    with gateway(backend, window=SCRIPTED_WINDOW) as url:
        chunks = [c async for c in chat(url, tmp_path).astream("Say hello")]
    texts = [c.content for c in chunks if c.content]
    assert "".join(texts) == ANSWER
    assert len(texts) > 1  # the CLI's partial messages, not one final block
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].usage_metadata["output_tokens"] == expected_usage(
        backend, [ANSWER])["output_tokens"]
    total = sum(chunks[1:], chunks[0])
    assert total.response_metadata["claude_code"]["session_id"]


def test_sync_stream_and_system_messages_join_the_system_prompt(tmp_path: Path) -> None:
    backend = ScriptedChatModel(script=["Noted."])
    conversation = [SystemMessage("Answer in one word."), HumanMessage("What is 2+2?"),
                    AIMessage("Four."), HumanMessage("And 3+3?")]
    with gateway(backend, window=SCRIPTED_WINDOW) as url:
        chunks = list(chat(url, tmp_path, system_prompt="You are terse.").stream(conversation))
    assert "".join(str(c.content) for c in chunks) == "Noted."
    sent = backend.calls[0]
    system = str(sent[0].content)
    assert sent[0].type == "system" and "You are terse." in system \
        and "Answer in one word." in system
    prompt = str(sent[-1].content)
    assert "User: What is 2+2?" in prompt and "Assistant: Four." in prompt
    assert "The user's new message:\nAnd 3+3?" in prompt


async def test_claude_code_runs_its_own_write_tool_and_reports_it(tmp_path: Path) -> None:
    target = tmp_path / "ws" / "made.txt"
    backend = ScriptedChatModel(script=[
        say("I'll write it.", tool_call("Write", {"file_path": str(target),
                                                   "content": "written by Claude Code\n"})),
        "Done: made.txt written."])
    events: list[dict[str, Any]] = []
    with gateway(backend, window=SCRIPTED_WINDOW) as url:
        model = chat(url, tmp_path)
        text = ""
        async for event in model.astream_events("Write made.txt", version="v2"):
            if event["event"] == "on_chat_model_start":
                run_id = event["run_id"]
            elif event["event"] == "on_custom_event":
                events.append(event)
            elif event["event"] == "on_chat_model_end":
                final = event["data"]["output"]
                text = final.content
    assert target.read_text() == "written by Claude Code\n"
    assert text == "I'll write it.\n\nDone: made.txt written."
    activity = final.response_metadata["claude_code"]["tool_activity"]
    use, result = activity
    assert use["type"] == "tool_use" and use["name"] == "Write"
    assert use["input"] == {"file_path": str(target), "content": "written by Claude Code\n"}
    assert result["type"] == "tool_result" and result["tool_use_id"] == use["id"]
    assert result["is_error"] is False
    assert [e["name"] for e in events] == ["claude_code_tool_use", "claude_code_tool_result"]
    assert [e["data"] for e in events] == activity
    assert all(e["run_id"] == run_id for e in events)  # events of this model run
    # what the backend was told is Claude Code's tool result, in its next request
    assert "created successfully" in str(backend.calls[1][-1].content)


def test_max_turns_reaches_claude_code(tmp_path: Path) -> None:
    loop = say("", tool_call("Bash", {"command": "echo again", "description": "loop"}))
    backend = ScriptedChatModel(script=[loop], repeat_last=True)
    with gateway(backend, window=SCRIPTED_WINDOW) as url, \
            pytest.raises(ClaudeCodeError, match="turn limit") as caught:
        chat(url, tmp_path, max_turns=2).invoke("Loop")
    assert caught.value.subtype == "error_max_turns"
    assert len(backend.calls) == 2


def test_a_refused_key_says_to_log_in(tmp_path: Path) -> None:
    backend = ScriptedChatModel(script=[ANSWER])
    with gateway(backend, window=SCRIPTED_WINDOW, token="the-right-token") as url, \
            pytest.raises(ClaudeCodeAuthError) as caught:
        chat(url, tmp_path, api_key="a-wrong-key").invoke("Say hello")
    message = str(caught.value)
    assert "run `claude login` or set ANTHROPIC_API_KEY" in message
    assert "Invalid API key" in message  # what the CLI said, after the gateway's 401
    assert isinstance(caught.value, ModelUnavailableError)
    assert backend.calls == []


def test_no_credentials_at_all_says_to_log_in(tmp_path: Path) -> None:
    with gateway(ScriptedChatModel(script=[ANSWER]), window=SCRIPTED_WINDOW) as url:
        model = chat(url, tmp_path, api_key="")
        with pytest.raises(ClaudeCodeAuthError, match="Not logged in") as caught:
            model.invoke("Say hello")
    assert "claude login" in str(caught.value)


def test_a_missing_cli_names_what_to_install(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    model = ChatClaudeCode(cli_path=str(tmp_path / "no-such-claude"))
    with pytest.raises(ModelUnavailableError, match="Claude Code CLI not found") as caught:
        model.invoke("hi")
    assert "claude-like[claude-code]" in str(caught.value)
    monkeypatch.setenv(CLI_ENV, str(tmp_path / "nothing-here"))
    with pytest.raises(ModelUnavailableError, match=CLI_ENV):
        make_chat_model("claude-code:sonnet")


def test_a_missing_sdk_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "claude_agent_sdk", None)  # import fails
    with pytest.raises(ModelUnavailableError, match="claude-agent-sdk is not installed") as e:
        make_chat_model("claude-code:sonnet")
    assert 'pip install "claude-like[claude-code]"' in str(e.value)


def test_the_spec_and_its_options(tmp_path: Path) -> None:
    model = make_chat_model(
        f"claude-code:opus?max_turns=3&permission_mode=acceptEdits&cwd={tmp_path}"
        "&allowed_tools=Read,Bash(git diff:*)", max_budget_usd=0.5)
    assert isinstance(model, ChatClaudeCode)
    assert (model.model, model.max_turns, model.permission_mode, model.cwd) == (
        "opus", 3, "acceptEdits", str(tmp_path))
    assert model.allowed_tools == ["Read", "Bash(git diff:*)"]
    assert model.options == {"max_budget_usd": 0.5}  # any other ClaudeAgentOptions field
    assert make_chat_model("claude-code:").model is None  # the CLI's default model


def test_our_tools_cannot_be_bound_and_the_agent_says_so_at_once(tmp_path: Path) -> None:
    from langchain_core.tools import tool

    from claude_like import ClaudeLikeAgent

    @tool
    def noop() -> str:
        """Does nothing."""
        return ""

    with pytest.raises(ClaudeCodeToolsNotSupported, match="Claude Code's own tools"):
        ChatClaudeCode().bind_tools([noop])
    with pytest.raises(NotImplementedError, match="ClaudeLikeAgent cannot drive one"):
        ClaudeLikeAgent(model="claude-code:sonnet", workspace=tmp_path, persist=False)

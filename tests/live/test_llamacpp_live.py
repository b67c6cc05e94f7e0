"""The factories against a real llama-server running the bundled SmolLM2-135M GGUF.

Both wire formats (OpenAI ``/v1/chat/completions`` and Anthropic ``/v1/messages``),
streamed and not, in native mode (tool-aware template, the call forced by the server's
grammar through ``tool_choice``) and constrained mode (JSON schema on the OpenAI route).
The model is tiny: tests force what the pipeline guarantees (well-formed calls with valid
arguments, a forced answer, usage, timings, exact token counts), not that it is clever.
The Anthropic route carries no schema, so constrained mode there only asks for the format
(the agent and context tests run it); no test here pretends it is enforced.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from claude_like.models import count_tokens, make_chat_model, model_info
from claude_like.models.constrained import ConstrainedToolChatModel
from claude_like.models.llama_server import ManagedLlamaServer

pytestmark = pytest.mark.live

SYSTEM = "You are a coding agent. Use the tools to inspect files."


@tool
def read_file(path: str) -> str:
    """Read a text file from the workspace and return its contents."""
    return "hello from notes"


def _model(server: ManagedLlamaServer, api: str, mode: str, **kw: Any) -> BaseChatModel:
    return make_chat_model(f"llamacpp:{server.alias}", base_url=server.base_url, api=api,
                           tool_calling=mode, max_tokens=kw.pop("max_tokens", 96),
                           temperature=0, **kw)


def _call(model: Any, messages: list[BaseMessage], stream: bool) -> AIMessage:
    if not stream:
        reply = model.invoke(messages)
        assert isinstance(reply, AIMessage)
        return reply
    total = None
    for chunk in model.stream(messages):
        total = chunk if total is None else total + chunk
    assert total is not None
    return AIMessage(content=total.content, tool_calls=total.tool_calls,
                     usage_metadata=total.usage_metadata,
                     response_metadata=total.response_metadata)


def test_props_decide_the_tool_calling_mode(plain_server: ManagedLlamaServer,
                                            tool_server: ManagedLlamaServer) -> None:
    plain = make_chat_model("llamacpp:x", base_url=plain_server.base_url)
    native = make_chat_model("llamacpp:x", base_url=tool_server.base_url)
    assert isinstance(plain, ConstrainedToolChatModel)
    for chat, mode, tools in ((plain, "constrained", False), (native, "native", True)):
        info = model_info(chat)
        assert info is not None
        assert info.context_window == 8192
        assert info.tool_calling == mode and info.supports_native_tools is tools


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_constrained_openai_route_always_returns_a_valid_call(
    plain_server: ManagedLlamaServer, stream: bool
) -> None:
    """JSON-schema decoding: tool_choice="required" leaves the model no way but a call."""
    chat = _model(plain_server, "openai", "constrained").bind_tools(
        [read_file], tool_choice="required")
    reply = _call(chat, [SystemMessage(SYSTEM), HumanMessage("Read the file notes.txt")], stream)
    assert len(reply.tool_calls) == 1
    call = reply.tool_calls[0]
    assert call["name"] == "read_file"
    assert isinstance(call["args"].get("path"), str)
    read_file.args_schema.model_validate(call["args"])  # type: ignore[union-attr]
    assert reply.usage_metadata and reply.usage_metadata["input_tokens"] > 0
    timings = reply.response_metadata["timings"]
    assert timings["prompt_n"] + timings["cache_n"] == reply.usage_metadata["input_tokens"]


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_constrained_openai_route_full_round(plain_server: ManagedLlamaServer,
                                             stream: bool) -> None:
    """A forced call, its result back as history, then a forced answer: the schema of
    ``tool_choice="none"`` admits only the final answer, which comes back as text."""
    chat = _model(plain_server, "openai", "constrained")
    history: list[BaseMessage] = [SystemMessage(SYSTEM), HumanMessage("What is in notes.txt?")]
    first = _call(chat.bind_tools([read_file], tool_choice="required"), history, stream)
    assert len(first.tool_calls) == 1 and first.tool_calls[0]["name"] == "read_file"
    call = first.tool_calls[0]
    read_file.args_schema.model_validate(call["args"])  # type: ignore[union-attr]
    history += [AIMessage(content="", tool_calls=[call]),
                ToolMessage(read_file.invoke(call["args"]), tool_call_id=call["id"])]
    second = _call(chat.bind_tools([read_file], tool_choice="none"), history, stream)
    assert second.tool_calls == [] and second.invalid_tool_calls == []
    assert second.text.strip(), "the forced answer came back empty"
    assert "{" not in second.text[:1], f"the answer is the raw JSON: {second.text!r}"


def _forced(api: str) -> str:
    """The tool choice that makes llama-server constrain a native call on ``api``."""
    return "required" if api == "openai" else "any"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_native_mode_forced_call_with_tool_history(tool_server: ManagedLlamaServer, api: str,
                                                   stream: bool) -> None:
    """Native tools through a tool-aware template, with a tool call and its result in the
    history (sent with ``""`` content on the OpenAI route), on both wire formats: the
    server's grammar forces a native call, which comes back parsed with valid arguments."""
    chat = _model(tool_server, api, "native").bind_tools([read_file], tool_choice=_forced(api))
    history: list[BaseMessage] = [
        SystemMessage(SYSTEM),
        HumanMessage("What is in notes.txt?"),
        AIMessage(content="", tool_calls=[{"name": "read_file", "args": {"path": "notes.txt"},
                                           "id": "call_1"}]),
        ToolMessage("hello from notes", tool_call_id="call_1"),
        HumanMessage("Read notes.txt once more."),
    ]
    reply = _call(chat, history, stream)
    assert reply.tool_calls, (reply.text, reply.invalid_tool_calls)
    assert reply.invalid_tool_calls == []
    for call in reply.tool_calls:  # the grammar admits several calls in one reply
        assert call["name"] == "read_file" and call["id"]
        read_file.args_schema.model_validate(call["args"])  # type: ignore[union-attr]
    usage = reply.usage_metadata
    assert usage and usage["output_tokens"] > 0
    if api == "openai" or not stream:  # llama-server streams no prompt count on /v1/messages
        assert usage["input_tokens"] > 0
        timings = reply.response_metadata["timings"]
        assert timings["cache_n"] + timings["prompt_n"] == usage["input_tokens"]


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_exact_token_count_matches_the_servers_usage(tool_server: ManagedLlamaServer,
                                                     api: str) -> None:
    chat = _model(tool_server, api, "native", max_tokens=64)
    messages = [SystemMessage(SYSTEM), HumanMessage("Count these tokens, then read notes.txt.")]
    counted = count_tokens(chat, messages, [read_file])
    # Forced: in ``auto`` this template's parser rejects SmolLM2's free text (HTTP 500).
    reply = chat.bind_tools([read_file], tool_choice=_forced(api)).invoke(messages)
    assert reply.usage_metadata is not None
    assert counted == reply.usage_metadata["input_tokens"]


def test_prompt_cache_is_reused_for_a_stable_prefix(plain_server: ManagedLlamaServer) -> None:
    chat = _model(plain_server, "openai", "constrained", max_tokens=48).bind_tools([read_file])
    base: list[BaseMessage] = [SystemMessage(SYSTEM * 8), HumanMessage("Read notes.txt")]
    chat.invoke(base)
    second = chat.invoke([*base, AIMessage("ok"), HumanMessage("And again, read notes.txt")])
    timings = second.response_metadata["timings"]
    assert timings["cache_n"] > timings["prompt_n"]


def test_embedded_provider_starts_its_own_server(llama_binary: Any, gguf: Any) -> None:
    chat = make_chat_model("embedded:", max_tokens=16, temperature=0)
    info = model_info(chat)
    assert info is not None and info.tool_calling == "constrained"
    assert info.base_url and info.context_window
    assert isinstance(chat.invoke("Say hi").content, str)

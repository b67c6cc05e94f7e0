"""The anthropic Python SDK (the client library Claude Code's API shape comes from) pointed
at the gateway: whole and streamed messages with tool use, count_tokens, models, and its
typed errors."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest
from gateway_support import TOOLS, served

from claude_like.gateway import create_app
from claude_like.testing import ScriptedChatModel, say, tool_call

TOKEN = "sdk-token-0987654321"


@pytest.fixture
def model() -> ScriptedChatModel:
    return ScriptedChatModel(script=[])


@pytest.fixture
def client(model: ScriptedChatModel) -> Iterator[anthropic.Anthropic]:
    with served(create_app(model, token=TOKEN, model_name="local-model")) as url:
        yield anthropic.Anthropic(base_url=url, api_key=TOKEN, max_retries=0, timeout=30)


def ask(client: anthropic.Anthropic, **kw: object) -> dict:
    return {"model": "claude-sonnet-5-5", "max_tokens": 64000, "tools": TOOLS,
            "system": [{"type": "text", "text": "You are a coding agent.",
                        "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "Fix notes.txt"}], **kw}


def test_messages_create_with_a_tool_round_trip(model: ScriptedChatModel,
                                                client: anthropic.Anthropic) -> None:
    model.script = [say("Reading first.", tool_call("Read", {"file_path": "/w/notes.txt"})),
                    "It says alpha."]
    first = client.messages.create(**ask(client))
    assert isinstance(first, anthropic.types.Message)
    assert first.stop_reason == "tool_use" and first.model == "claude-sonnet-5-5"
    text, use = first.content
    assert isinstance(text, anthropic.types.TextBlock) and text.text == "Reading first."
    assert isinstance(use, anthropic.types.ToolUseBlock)
    assert use.name == "Read" and use.input == {"file_path": "/w/notes.txt"}
    second = client.messages.create(**ask(client, messages=[
        {"role": "user", "content": "Fix notes.txt"},
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                      "content": "alpha"}]}]))
    assert second.stop_reason == "end_turn" and second.content[0].text == "It says alpha."
    assert second.usage.input_tokens > 0 and second.usage.output_tokens > 0


def test_messages_stream_text_and_tool_use(model: ScriptedChatModel,
                                           client: anthropic.Anthropic) -> None:
    args = {"file_path": "/w/notes.txt", "old_string": "beta", "new_string": "gamma " * 30}
    model.script = [say("Editing the file now.", tool_call("Edit", args))]
    with client.messages.stream(**ask(client)) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Editing the file now."
    assert final.stop_reason == "tool_use"
    use = final.content[1]
    assert isinstance(use, anthropic.types.ToolUseBlock) and use.input == args
    assert use.id.startswith("toolu_")


def test_raw_stream_events_are_the_sdks_types(model: ScriptedChatModel,
                                              client: anthropic.Anthropic) -> None:
    model.script = ["short answer"]
    events = list(client.messages.create(**ask(client), stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert isinstance(events[0], anthropic.types.RawMessageStartEvent)


def test_count_tokens_models_and_errors(model: ScriptedChatModel,
                                        client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model="claude-sonnet-5-5", tools=TOOLS,
                                           messages=[{"role": "user", "content": "hi"}])
    assert counted.input_tokens > 0
    assert [m.id for m in client.models.list()] == ["local-model"]
    wrong = anthropic.Anthropic(base_url=str(client.base_url), api_key="nope", max_retries=0,
                                timeout=30)
    with pytest.raises(anthropic.AuthenticationError) as denied:
        wrong.messages.create(**ask(client))
    assert denied.value.status_code == 401
    with pytest.raises(anthropic.BadRequestError) as bad:
        client.messages.create(**ask(client, messages=[{"role": "robot", "content": "x"}]))
    assert bad.value.body["error"]["type"] == "invalid_request_error"
    model.script = [lambda _m: (_ for _ in ()).throw(RuntimeError("backend down"))]
    with pytest.raises(anthropic.APIStatusError) as failed:
        client.messages.create(**ask(client))
    assert failed.value.status_code == 502 and "backend down" in str(failed.value)

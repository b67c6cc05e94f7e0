"""The gateway's Messages API on a scripted backend, over a real uvicorn server and HTTP:
whole and streamed replies (the exact event order), Claude Code's multi-step tool round
trips, what is accepted and ignored, role "system" messages, images, calls written as
text, count_tokens, models and health."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from gateway_support import (
    TOOLS,
    assemble,
    claude_code_request,
    post,
    reply_of,
    served,
    sse_events,
)
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGenerationChunk

from claude_like.gateway import create_app
from claude_like.gateway.schema import IGNORED_FIELDS
from claude_like.testing import ScriptedChatModel, say, tool_call


@pytest.fixture
def model() -> ScriptedChatModel:
    return ScriptedChatModel(script=[])


@pytest.fixture
def client(model: ScriptedChatModel) -> Iterator[httpx.Client]:
    with served(create_app(model, model_name="scripted")) as url, \
            httpx.Client(base_url=url, timeout=30) as c:
        yield c


def test_whole_reply_with_a_tool_call(model: ScriptedChatModel, client: httpx.Client) -> None:
    model.script = [say("I will read it.", tool_call("Read", {"file_path": "/tmp/ws/a.py"}))]
    response = post(client, claude_code_request("Read a.py", stream=False))
    body = response.json()
    assert response.status_code == 200
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["id"].startswith("msg_") and body["model"] == "claude-opus-5-5"
    text, use = body["content"]
    assert text == {"type": "text", "text": "I will read it."}
    assert use["type"] == "tool_use" and use["id"].startswith("toolu_")
    assert use["name"] == "Read" and use["input"] == {"file_path": "/tmp/ws/a.py"}
    assert body["stop_reason"] == "tool_use" and body["stop_sequence"] is None
    assert set(body["usage"]) == {"input_tokens", "output_tokens", "cache_read_input_tokens",
                                  "cache_creation_input_tokens"}


def test_stream_has_the_exact_event_order(model: ScriptedChatModel,
                                          client: httpx.Client) -> None:
    args = {"command": "printf 'a\\nb\\n' > notes.txt && echo \"done\" # " + "x" * 150,
            "description": "create notes"}
    model.script = [say("Creating the file now.", tool_call("Bash", args))]
    response = post(client, claude_code_request("Make notes.txt"))
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    text_deltas = names.count("content_block_delta") - sum(
        1 for _, d in events if d.get("delta", {}).get("type") == "input_json_delta")
    json_deltas = [d["delta"]["partial_json"] for _, d in events
                   if d.get("delta", {}).get("type") == "input_json_delta"]
    assert len(json_deltas) > 1  # long arguments arrive in pieces
    assert names == (["message_start", "ping", "content_block_start"]
                     + ["content_block_delta"] * text_deltas
                     + ["content_block_stop", "content_block_start"]
                     + ["content_block_delta"] * len(json_deltas)
                     + ["content_block_stop", "message_delta", "message_stop"])
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert events[2][1]["content_block"] == {"type": "text", "text": ""}
    tool_start = events[3 + text_deltas + 1][1]
    assert tool_start["index"] == 1
    assert tool_start["content_block"]["type"] == "tool_use"
    assert tool_start["content_block"]["input"] == {}
    assert json.loads("".join(json_deltas)) == args
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] > 0
    message = assemble(events)
    assert message["content"][0]["text"] == "Creating the file now."


def test_plain_answer_streams_end_turn(model: ScriptedChatModel, client: httpx.Client) -> None:
    model.script = ["Hi there, how can I help?"]
    events = sse_events(post(client, claude_code_request("Say hi")).text)
    assert [n for n, _ in events][-3:] == ["content_block_stop", "message_delta", "message_stop"]
    message = assemble(events)
    assert message["content"] == [{"type": "text", "text": "Hi there, how can I help?"}]
    assert message["stop_reason"] == "end_turn"


@pytest.mark.parametrize("stream", [True, False])
def test_claude_code_round_trips_bash_read_edit(model: ScriptedChatModel,
                                               client: httpx.Client, stream: bool) -> None:
    """The loop Claude Code runs: each reply's blocks go back as the assistant turn, the
    tool results as the next user turn, with the gateway's own toolu_ ids."""
    model.script = [
        say("", tool_call("Bash", {"command": "printf 'alpha\\nbeta\\n' > notes.txt"})),
        say("", tool_call("Read", {"file_path": "/tmp/ws/notes.txt"})),
        say("", tool_call("Edit", {"file_path": "/tmp/ws/notes.txt", "old_string": "beta",
                                   "new_string": "gamma"})),
        say("", tool_call("Bash", {"command": "cat notes.txt"})),
        "notes.txt now holds alpha and gamma.",
    ]
    results = [("(Bash completed with no output)", False), ("1\talpha\n2\tbeta\n", False),
               ("<tool_use_error>String not found</tool_use_error>", True), ("alpha\ngamma", False)]
    history: list[dict[str, Any]] = []
    ids = []
    for result, is_error in results:
        reply = reply_of(post(client, claude_code_request("Make notes.txt", history,
                                                          stream=stream)))
        assert reply["stop_reason"] == "tool_use"
        (use,) = reply["content"]
        ids.append(use["id"])
        history += [{"role": "assistant", "content": reply["content"]},
                    {"role": "user", "content": [{"tool_use_id": use["id"], "type": "tool_result",
                                                  "content": result, "is_error": is_error}]}]
    final = reply_of(post(client, claude_code_request("Make notes.txt", history, stream=stream)))
    assert final["content"] == [{"type": "text", "text": "notes.txt now holds alpha and gamma."}]
    assert len(set(ids)) == 4 and all(i.startswith("toolu_") for i in ids)
    sent = model.calls[-1]
    assert isinstance(sent[0], SystemMessage)
    assert "billing-header" not in sent[0].text
    assert sent[0].text == "You are a coding agent.\n\nCWD: /tmp/ws\nDate: 2026-12-03"
    assert isinstance(sent[1], HumanMessage) and sent[1].text == "Make notes.txt"
    tool_messages = [m for m in sent if isinstance(m, ToolMessage)]
    calls = [c for m in sent if isinstance(m, AIMessage) for c in m.tool_calls]
    assert [m.tool_call_id for m in tool_messages] == [c["id"] for c in calls] == ids
    assert [m.name for m in tool_messages] == ["Bash", "Read", "Edit", "Bash"]
    assert [m.status for m in tool_messages] == ["success", "success", "error", "success"]
    assert tool_messages[1].text == "1\talpha\n2\tbeta\n"
    assert [type(m).__name__ for m in sent] == ["SystemMessage", "HumanMessage"] + [
        "AIMessage", "ToolMessage"] * 4


def test_every_accepted_field_is_ignored_without_failing(model: ScriptedChatModel,
                                                         client: httpx.Client) -> None:
    model.script = ["ok"]
    body = claude_code_request("hi", stream=False)
    body.update({"temperature": 1.0, "top_p": 0.9, "top_k": 5, "service_tier": "auto",
                 "container": None, "mcp_servers": [], "betas": ["x"],
                 "cache_control": {"type": "ephemeral"}, "a_future_field": {"x": 1}})
    assert set(IGNORED_FIELDS) <= set(body)
    body["tools"] = [*TOOLS,
                     {**TOOLS[0], "name": "Later", "defer_loading": True},
                     {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]
    body["messages"][0]["content"].append({"type": "server_tool_use", "id": "srvtoolu_1",
                                           "name": "web_search", "input": {}})
    body["messages"][0]["content"][0]["citations"] = None
    body["messages"][0]["unknown_key"] = 1
    response = post(client, body, **{"anthropic-beta": "future-beta-2099-01-01"})
    assert response.status_code == 200, response.text
    assert response.json()["content"] == [{"type": "text", "text": "ok"}]
    bound = " ".join(model.bound_tool_names)
    assert "'Bash'" in bound and "'Later'" not in bound and "web_search" not in bound
    assert [m.text for m in model.calls[-1][1:]] == ["hi"]


def test_system_role_messages_and_thinking_blocks(model: ScriptedChatModel,
                                                  client: httpx.Client) -> None:
    model.script = ["fine"]
    body = claude_code_request("hi", stream=False, system="Top system.")
    body["messages"] = [
        {"role": "system", "content": "Leading system note."},
        {"role": "user", "content": "first"},
        {"role": "system", "content": [{"type": "text", "text": "# Environment\nlinux"}],
         "output_config": {"effort": "medium"}},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm",
                                           "signature": "sig"},
                                          {"type": "text", "text": "answer one"}]},
        {"role": "user", "content": "second"},
    ]
    assert post(client, body).status_code == 200
    sent = model.calls[-1]
    assert sent[0].text == "Top system.\n\nLeading system note."
    assert [type(m).__name__ for m in sent] == ["SystemMessage", "HumanMessage", "AIMessage",
                                               "HumanMessage"]
    assert sent[1].text == "first\n\n<system>\n# Environment\nlinux\n</system>"
    assert sent[2].text == "answer one"


def test_images_in_user_turns_and_tool_results(model: ScriptedChatModel,
                                               client: httpx.Client) -> None:
    model.script = ["seen"]
    png = "iVBORw0KGgo="
    history = [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_img",
                                           "name": "Read", "input": {"file_path": "a.png"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_img", "content": [
                {"type": "text", "text": "the picture:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": png}}]},
            {"type": "text", "text": "and this one"},
            {"type": "image", "source": {"type": "url", "url": "https://example.org/b.png"}}]},
    ]
    assert post(client, claude_code_request("look", history, stream=False)).status_code == 200
    sent = model.calls[-1]
    result = next(m for m in sent if isinstance(m, ToolMessage))
    assert result.text.startswith("the picture:\n[image (image/png) not shown")
    assert png not in result.text
    human = sent[-1]
    assert isinstance(human, HumanMessage)
    assert human.content == [{"type": "text", "text": "and this one"},
                             {"type": "image", "url": "https://example.org/b.png"}]


def test_calls_written_as_text_become_tool_use_blocks(model: ScriptedChatModel,
                                                      client: httpx.Client) -> None:
    written = ('Let me look. <tool_call>{"name": "Read", "arguments": '
               '{"file_path": "/tmp/ws/a.py"}}</tool_call>')
    model.script = [written, written]
    for stream in (True, False):
        reply = reply_of(post(client, claude_code_request("look", stream=stream)))
        text, use = reply["content"]
        assert text == {"type": "text", "text": "Let me look. "}
        assert use["name"] == "Read" and use["input"] == {"file_path": "/tmp/ws/a.py"}
        assert reply["stop_reason"] == "tool_use"


def test_text_that_is_no_call_is_sent_whole(model: ScriptedChatModel,
                                            client: httpx.Client) -> None:
    answer = "Use a dict: {'a': 1} or a list [1, 2] and `code`."
    model.script = [answer, answer]
    for stream in (True, False):
        reply = reply_of(post(client, claude_code_request("how?", stream=stream)))
        assert reply["content"] == [{"type": "text", "text": answer}]


def test_unreadable_call_still_reaches_the_client_as_tool_use(model: ScriptedChatModel,
                                                              client: httpx.Client) -> None:
    bad = AIMessage(content="", invalid_tool_calls=[{
        "type": "invalid_tool_call", "name": "Edit", "args": "(cut off) {\"file_path\": ",
        "id": "c1", "error": "cut off"}])
    model.script = [bad]
    reply = reply_of(post(client, claude_code_request("edit", stream=False)))
    (use,) = reply["content"]
    assert use["type"] == "tool_use" and use["name"] == "Edit" and use["input"] == {}


def test_tool_choice_none_binds_no_tools(model: ScriptedChatModel, client: httpx.Client) -> None:
    model.script = ["plain"]
    body = claude_code_request("hi", stream=False, tool_choice={"type": "none"})
    assert post(client, body).status_code == 200
    assert model.bound_tool_names == []


def test_count_tokens_models_and_health(model: ScriptedChatModel, client: httpx.Client) -> None:
    small = client.post("/v1/messages/count_tokens?beta=true",
                        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    big = client.post("/v1/messages/count_tokens",
                      json={"model": "m", "messages": [{"role": "user", "content": "hi"}],
                            "tools": TOOLS, "system": "You are a coding agent."})
    assert small.status_code == big.status_code == 200
    assert 0 < small.json()["input_tokens"] < big.json()["input_tokens"]
    models = client.get("/v1/models").json()
    assert models["data"][0]["id"] == "scripted" and models["has_more"] is False
    assert models["data"][0]["type"] == "model"
    assert client.get("/v1/models/claude-haiku-5-5").json()["id"] == "claude-haiku-5-5"
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["context_window"] == 8192
    assert model.calls == []  # none of these called the model


def test_every_reply_gets_its_own_message_id(model: ScriptedChatModel,
                                             client: httpx.Client) -> None:
    model.script = ["one", "two", "three", "four"]
    ids = {reply_of(post(client, claude_code_request("x", stream=s)))["id"]
           for s in (True, False, True, False)}
    assert len(ids) == 4


class SlowModel(ScriptedChatModel):
    """Streams two words with a pause between them (a model thinking hard)."""

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content="slow "))
        time.sleep(1.0)
        yield ChatGenerationChunk(message=AIMessageChunk(content="answer"))


def test_a_quiet_backend_gets_pings_between_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("claude_like.gateway.sse.PING_EVERY", 0.2)
    with served(create_app(SlowModel())) as url, httpx.Client(base_url=url, timeout=30) as c:
        events = sse_events(post(c, claude_code_request("hi")).text)
    names = [n for n, _ in events]
    first_text, second_text = (i for i, (n, d) in enumerate(events)
                               if d.get("delta", {}).get("type") == "text_delta")
    assert "ping" in names[first_text + 1:second_text]
    assert assemble(events)["content"] == [{"type": "text", "text": "slow answer"}]

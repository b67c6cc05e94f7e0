"""The gateway's trace: one JSON record per request with the token split, a private file,
no content or secrets unless asked (and never secrets), and ``claude-like trace analyze``
reading it back; plus the ``claude-like gateway`` program itself writing one."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_harness import CliEnv, program
from gateway_support import claude_code_request, post, served
from model_fakes import fake_llama_server
from typer.testing import CliRunner

from claude_like.cli import app as cli_app
from claude_like.gateway import TraceLog, create_app
from claude_like.gateway.analyze import summarize
from claude_like.models import make_chat_model
from claude_like.models.llama_server import free_port
from claude_like.testing import ScriptedChatModel, say, tool_call

TOKEN = "gw-trace-token-456789"
SECRET = "sk-live-abcdefghijklmnopqrstuvwx"
MARKER = "PURPLE-ELEPHANT-MARKER"


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_session(trace: Path | TraceLog, *, content: bool = False) -> None:
    model = ScriptedChatModel(script=[
        say("Reading.", tool_call("Read", {"file_path": "/tmp/ws/a.py"})), "All good."])
    app = create_app(model, token=TOKEN, trace=trace, trace_content=content)
    task = f"Check a.py {MARKER} with key {SECRET}"
    with served(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        first = post(client, claude_code_request(task), **{"x-api-key": TOKEN}).text
        assert "tool_use" in first
        history = [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_a",
                                               "name": "Read",
                                               "input": {"file_path": "/tmp/ws/a.py"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_a",
                                          "content": f"x = 1  # {MARKER}"}]}]
        second = post(client, claude_code_request(task, history, stream=False),
                      **{"x-api-key": TOKEN})
        assert second.status_code == 200
        assert post(client, claude_code_request(task), **{"x-api-key": "wrong"}
                    ).status_code == 401
        client.post("/v1/messages/count_tokens", headers={"x-api-key": TOKEN},
                    json={"model": "m", "messages": [{"role": "user", "content": MARKER}]})


def test_one_record_per_request_with_the_token_split(tmp_path: Path) -> None:
    trace = tmp_path / "logs" / "trace.jsonl"
    run_session(trace)
    first, second, refused, counted = records(trace)
    assert first["endpoint"] == second["endpoint"] == "/v1/messages"
    assert first["stream"] is True and second["stream"] is False
    assert first["status"] == 200 and first["error"] is None
    assert first["stop_reason"] == "tool_use" and first["tool_uses"] == ["Read"]
    assert first["model"] == "claude-opus-5-5" and first["backend"] == "ScriptedChatModel"
    assert first["duration_ms"] >= 0 and first["time"]
    assert first["headers"]["anthropic-beta"].startswith("claude-code-20250219")
    tokens = first["tokens"]
    assert tokens["system"] > 0 and tokens["tools"] > tokens["system"]
    assert tokens["messages"] > 0 and tokens["window"] == 8192 and tokens["cap"] == 2048
    assert tokens["prompt"] == tokens["system"] + tokens["tools"] + tokens["messages"]
    assert tokens["input"] > 0 and tokens["output"] > 0 and tokens["cached"] == 0
    assert second["tokens"]["messages"] > tokens["messages"]  # the history grew
    assert refused["status"] == 401 and refused["error"]["type"] == "authentication_error"
    assert counted["endpoint"] == "/v1/messages/count_tokens" and counted["status"] == 200


def test_the_file_is_private_and_holds_no_content_or_secret(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text("")
    trace.chmod(0o644)  # an existing file is narrowed too
    run_session(trace)
    assert stat.S_IMODE(os.stat(trace).st_mode) == 0o600
    text = trace.read_text()
    for leaked in (MARKER, SECRET, TOKEN, "wrong", "Reading.", "a.py"):
        assert leaked not in text
    fresh = tmp_path / "new" / "trace.jsonl"
    TraceLog(fresh)
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o600


def test_content_can_be_kept_but_secrets_never(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    run_session(trace, content=True)
    text = trace.read_text()
    assert MARKER in text and "Reading." in text
    assert SECRET not in text and TOKEN not in text and "[redacted]" in text
    first = records(trace)[0]
    assert first["request"]["messages"][0]["content"][0]["text"].startswith("Check a.py")
    assert first["response"][1]["name"] == "Read"


def test_compaction_and_refusals_are_traced(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    model = ScriptedChatModel(script=["ok"], repeat_last=True)
    big = [{"role": "user", "content": "q" * 20000}]
    for compact in (False, True):
        with served(create_app(model, window=4096, trace=trace, compact=compact)) as url, \
                httpx.Client(base_url=url) as client:
            post(client, {"model": "m", "max_tokens": 10, "messages": big})
    refused, compacted = records(trace)
    assert refused["status"] == 400 and "prompt is too long" in refused["error"]["message"]
    assert refused["tokens"]["prompt"] > 4096
    assert compacted["status"] == 200 and compacted["compaction"]["stages"] == ["clip"]
    assert compacted["compaction"]["tokens_before"] > 4096 > compacted["tokens"]["prompt"]


def test_analyze_shows_where_the_tokens_go_and_the_cache_reuse(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    server = fake_llama_server(tools=True)  # reports 100 input tokens, 90 of them cached
    try:
        chat = make_chat_model("llamacpp:fake", base_url=server.url)
        with served(create_app(chat, trace=trace)) as url, httpx.Client(base_url=url) as client:
            for stream in (True, False, True):
                post(client, claude_code_request("hi", stream=stream))
    finally:
        server.close()
    summary = summarize(trace)
    assert len(summary.rows) == 3
    row = summary.rows[0]
    assert row.input == 100 and row.cached == 90 and row.reported
    assert row.system + row.tools + row.history == 100 and row.tools > row.system > 0
    assert summary.cache_reuse == pytest.approx(0.9)
    with trace.open("a") as f:
        f.write("not json\n")
    result = CliRunner().invoke(cli_app, ["trace", "analyze", str(trace)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "3 requests" in out and "cache reuse 90%" in out and "1 unreadable lines" in out
    assert f"tool schemas {summary.share('tools'):.0%}" in out
    missing = CliRunner().invoke(cli_app, ["trace", "analyze", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_the_gateway_program_serves_and_traces(tmp_path: Path) -> None:
    """``claude-like gateway`` for real: a scripted model through the plugin entry point."""
    env = CliEnv.create(tmp_path)
    spec = env.script({"text": "hello from the program"})
    port, trace = free_port(), tmp_path / "program-trace.jsonl"
    proc = subprocess.Popen([program(), "gateway", "--model", spec, "--port", str(port),
                             "--trace", str(trace), "--context-window", "16384"],
                            env=env.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                health = httpx.get(f"{url}/health", timeout=2).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the gateway did not start"
                time.sleep(0.2)
        assert health["context_window"] == 16384 and health["model"] == spec
        with httpx.Client(base_url=url, timeout=30) as client:
            reply = post(client, claude_code_request("hi", stream=False)).json()
        assert reply["content"] == [{"type": "text", "text": "hello from the program"}]
        assert records(trace)[0]["status"] == 200
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert f"claude-like gateway: http://127.0.0.1:{port}" in err
    assert "ANTHROPIC_BASE_URL=" in err

"""``--output-format json`` and ``stream-json``: the real ``claude-like`` program on a scripted
model, its stdout read as JSON only and checked against the schemas it ships; the exit
codes; and every event kind through the JSON writer itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk._internal.message_parser import parse_message
from cli_harness import TIMEOUT, CliEnv, call, plain, program, reply
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from claude_like.cli.output import SCHEMAS, JsonOutput
from claude_like.events import (
    Compacted,
    ContextUsage,
    Notice,
    SubagentEvent,
    TextDelta,
    TodosUpdated,
    ToolFinished,
    ToolStarted,
)


def validator(name: str) -> Draft202012Validator:
    """The shipped schema ``name`` (its references to the other schemas resolved)."""
    schemas = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values())
    return Draft202012Validator(schemas[name], registry=registry)


RESULT = validator("result.schema.json")
LINE = validator("stream-line.schema.json")


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """stdout as JSON lines; anything else on it fails the test."""
    lines = stdout.splitlines()
    assert lines, "nothing on stdout"
    return [json.loads(line) for line in lines]


def errors(validator_: Draft202012Validator, obj: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator_.iter_errors(obj)]


@pytest.fixture
def cli(tmp_path: Path) -> CliEnv:
    return CliEnv.create(tmp_path)


def test_stream_json_is_one_valid_object_per_line_from_init_to_result(cli):
    (cli.workspace / "README.md").write_text("# demo\n")
    spec = cli.script(reply("Looking.", call("LS", path=".")),
                      reply("", call("Bash", command="echo hi > hi.txt")),
                      reply("There is a README."))
    ran = cli.run_piped("list files", "--model", spec, "--output-format", "stream-json")
    assert ran.returncode == 0, ran.stderr
    lines = json_lines(ran.stdout)
    for line in lines:
        assert errors(LINE, line) == [], line
    init, result = lines[0], lines[-1]
    assert (init["type"], init["subtype"]) == ("system", "init")
    assert {"LS", "Bash", "Read"} <= set(init["tools"]) and init["permissionMode"] == "default"
    assert init["cwd"] == str(cli.workspace.resolve())
    assert result["type"] == "result" and sum(x["type"] == "result" for x in lines) == 1
    assert {x["session_id"] for x in lines} == {init["session_id"]}
    kinds = [(x["type"], x.get("subtype") or x.get("message", {}).get("content", [{}])[0]
              .get("type")) for x in lines]
    assert kinds[1:5] == [("assistant", "text"), ("system", "context_usage"),
                          ("assistant", "tool_use"), ("user", "tool_result")]
    # The ask: the call, its request and the refusal (no terminal), then its result.
    bash = kinds.index(("system", "approval_request"))
    assert kinds[bash - 1:bash + 3] == [("assistant", "tool_use"), ("system", "approval_request"),
                                        ("system", "approval_decision"), ("user", "tool_result")]
    assert lines[bash + 1]["decision"] == "deny" and lines[bash + 2]["message"]["content"][0][
        "is_error"]
    assert lines[-3]["message"]["content"] == [{"type": "text", "text": "There is a README."}]
    assert result["result"] == "There is a README." and result["num_turns"] == 3
    assert result["subtype"] == "success" and result["is_error"] is False
    assert [d["tool_input"] for d in result["permission_denials"]] == [
        {"command": "echo hi > hi.txt"}]
    assert "denied Bash (echo hi > hi.txt)" in ran.stderr  # the person's line: on stderr
    assert not (cli.workspace / "hi.txt").exists()


def test_claude_codes_own_sdk_reads_every_stream_line(cli):
    spec = cli.script(reply("Hi.", call("LS", path=".")), reply("Done."))
    ran = cli.run_piped("list", "--model", spec, "--output-format", "stream-json",
                        "--include-partial-messages")
    assert ran.returncode == 0, ran.stderr
    parsed = [parse_message(line) for line in json_lines(ran.stdout)]
    names = [type(m).__name__ for m in parsed]
    assert names[0] == "SystemMessage" and names[-1] == "ResultMessage"
    assert {"AssistantMessage", "UserMessage", "StreamEvent"} <= set(names)
    assert parsed[-1].result == "Done." and parsed[-1].num_turns == 2


def test_partial_messages_stream_the_text_that_the_assistant_block_holds(cli):
    spec = cli.script(reply("A longer answer, streamed in pieces."))
    partial = json_lines(cli.run_piped("say", "--model", spec, "--output-format", "stream-json",
                                       "--include-partial-messages").stdout)
    deltas = [x["event"]["delta"]["text"] for x in partial if x["type"] == "stream_event"]
    assert len(deltas) > 1 and "".join(deltas) == "A longer answer, streamed in pieces."
    block = next(x for x in partial if x["type"] == "assistant")["message"]["content"][0]
    assert block == {"type": "text", "text": "A longer answer, streamed in pieces."}
    spec = cli.script(reply("Whole."))
    whole = json_lines(cli.run_piped("say", "--model", spec, "--output-format",
                                     "stream-json").stdout)
    assert not [x for x in whole if x["type"] == "stream_event"]


def test_json_prints_one_result_object_and_nothing_else(cli):
    spec = cli.script(reply("Looking.", call("LS", path=".")), reply("Empty folder."))
    ran = cli.run_piped("list", "--model", spec, "--output-format", "json")
    assert ran.returncode == 0, ran.stderr
    (result,) = json_lines(ran.stdout)
    assert errors(RESULT, result) == []
    assert result["result"] == "Empty folder." and result["stop_reason"] == "done"
    assert result["num_turns"] == 2 and result["usage"]["output_tokens"] > 0
    assert result["duration_ms"] >= result["duration_api_ms"] >= 0
    assert result["permission_denials"] == [] and result["pending_approvals"] == []
    assert len(result["session_id"]) == 32 and result["error"] is None


@pytest.mark.parametrize("fmt", ["json", "stream-json"])
def test_the_turn_limit_is_exit_2_and_error_max_turns(cli, fmt):
    spec = cli.script(*[reply("", call("LS", path=".", id=f"c{n}")) for n in range(3)])
    ran = cli.run_piped("loop", "--model", spec, "--max-turns", "2", "--output-format", fmt)
    assert ran.returncode == 2, ran.stderr
    result = json_lines(ran.stdout)[-1]
    assert errors(RESULT, result) == []
    assert (result["subtype"], result["stop_reason"], result["is_error"]) == (
        "error_max_turns", "max_turns", True)


def test_a_model_error_is_exit_1_with_the_error_in_the_result(cli, tmp_path):
    missing = tmp_path / "no-such-script.json"
    ran = cli.run_piped("x", "--model", f"scripted:{missing}", "--output-format", "json")
    assert ran.returncode == 1
    (result,) = json_lines(ran.stdout)
    assert errors(RESULT, result) == []
    assert result["subtype"] == "error_during_execution" and result["stop_reason"] == "error"
    assert "no-such-script.json" in result["error"] and result["session_id"] is None
    assert "error:" in ran.stderr


@pytest.mark.parametrize("fmt", ["json", "stream-json"])
def test_a_set_up_error_is_exit_1_and_a_lone_result_line(cli, fmt):
    spec = cli.script(reply("never"))
    ran = cli.run_piped("x", "--model", spec, "--sandbox", "vm", "--output-format", fmt)
    assert ran.returncode == 1
    (result,) = json_lines(ran.stdout)
    assert errors(RESULT, result) == [] and errors(LINE, result) == []
    assert "unknown sandbox 'vm'" in result["error"] and result["is_error"] is True


def test_an_unknown_format_is_a_usage_error(cli):
    ran = cli.run_piped("x", "--output-format", "yaml")
    assert ran.returncode == 2 and ran.stdout == ""
    assert "stream-json" in plain(ran.stderr)


def test_a_refusal_that_ends_the_run_is_exit_3_in_the_result(cli):
    settings = cli.workspace / ".claude-like" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [
        {"type": "command", "command": "echo 'not today' >&2; exit 2"}]}]}}))
    spec = cli.script(reply("never"))
    ran = cli.run_piped("deploy", "--model", spec, "--output-format", "json")
    assert ran.returncode == 3
    (result,) = json_lines(ran.stdout)
    assert errors(RESULT, result) == []
    assert result["stop_reason"] == "blocked" and "not today" in result["error"]


def test_ctrl_c_while_working_ends_with_a_cancelled_result_and_exit_130(cli):
    spec = cli.script(reply("", call("Bash", command="sleep 2")), reply("never"))
    child = subprocess.Popen(
        [program(), "wait", "--model", spec, "--permission-mode", "bypassPermissions",
         "--output-format", "stream-json"], env=cli.env, cwd=cli.workspace,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    assert child.stdout is not None
    seen = []
    for line in child.stdout:
        seen.append(json.loads(line))
        if seen[-1]["type"] == "assistant":  # the Bash call is under way
            os.killpg(child.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
            break
    rest, _err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 130
    result = json_lines(rest)[-1]
    assert errors(RESULT, result) == []
    assert result["stop_reason"] == "cancelled" and result["session_id"] == seen[0]["session_id"]


def test_in_a_terminal_approvals_are_asked_and_the_answer_is_reported(cli):
    spec = cli.script(reply("", call("Write", file_path="notes.txt", content="hi\n")),
                      reply("Written."))
    child = cli.spawn("write", "--model", spec, "--output-format", "stream-json")
    child.expect(r"Allow\?")
    child.sendline("y")
    done = cli.finish(child)
    assert done.status == 0, done.output
    lines = [json.loads(x) for x in done.output.splitlines() if x.startswith("{")]
    decision = next(x for x in lines if x.get("subtype") == "approval_decision")
    assert decision["decision"] == "allow" and lines[-1]["permission_denials"] == []
    assert (cli.workspace / "notes.txt").read_text() == "hi\n"


def test_every_event_kind_is_a_valid_line_and_sub_agents_carry_their_task():
    written: list[str] = []
    out = JsonOutput(stream=True, partial=True, write=written.append)
    out.session_id, out.model = "s1", "m"
    inner = [TextDelta("Sub "), TextDelta("agent."), ToolStarted("t2", "Read", {"file_path": "a"}),
             ToolFinished("t2", "Read", True, "text")]
    for event in [TextDelta("Hello."), Notice("hook", "a hook said so"),
                  TodosUpdated([{"content": "x", "status": "pending", "activeForm": "X"}]),
                  Compacted("threshold", ("clear", "summary"), 3000, 1900, cleared=2),
                  ContextUsage(1, 100, 4096, 3072, 0.02, False),
                  ToolStarted("t1", "Task", {"description": "d", "prompt": "p"}),
                  *[SubagentEvent("general-purpose", "t1", "d", e) for e in inner],
                  ToolFinished("t1", "Task", True, "report")]:
        out.show(event)
    out.finish(None, stop_reason="error", error="boom")
    lines = [json.loads(x) for x in written]
    for line in lines:
        assert errors(LINE, line) == [], line
    subtypes = {x.get("subtype") for x in lines}
    assert {"notice", "todos", "compact_boundary", "context_usage"} <= subtypes
    sub = [x for x in lines if x.get("parent_tool_use_id") == "t1"]
    assert [x["type"] for x in sub] == ["stream_event", "stream_event", "assistant", "assistant",
                                        "user"]
    assert sub[2]["message"]["content"] == [{"type": "text", "text": "Sub agent."}]
    assert lines[-1]["error"] == "boom"


def test_the_schemas_refuse_what_the_format_does_not_promise():
    good = {"type": "result", "subtype": "success", "is_error": False, "result": "",
            "session_id": "s", "stop_reason": "done", "num_turns": 1, "duration_ms": 1,
            "duration_api_ms": 0, "usage": {"input_tokens": 1, "output_tokens": 1},
            "permission_denials": [], "pending_approvals": [], "error": None, "uuid": "u"}
    assert errors(RESULT, good) == []
    assert errors(RESULT, {k: v for k, v in good.items() if k != "session_id"})
    assert errors(RESULT, {**good, "stop_reason": "finished"})
    assert errors(LINE, {"type": "assistant", "message": {}, "session_id": "s", "uuid": "u"})

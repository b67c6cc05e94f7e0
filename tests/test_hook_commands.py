"""Claude Code's command hooks, run for real: JSON on stdin, exit codes, JSON or plain
stdout, timeouts that kill the whole tree, and settings entries of the wrong shape."""

from __future__ import annotations

import json
import shlex
import sys

import psutil
import pytest

from claude_like.hooks import HookConfigError, HookMatcher, Hooks, parse_command_hooks
from claude_like.hooks.command import OUTPUT_LIMIT


def python_hook(tmp_path, body, name="hook.py"):
    """A command running a Python script that has ``data`` (the event) loaded."""
    script = tmp_path / name
    script.write_text("import json, os, sys\ndata = json.load(sys.stdin)\n" + body)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"


def settings(event, command, matcher=None, timeout=None):
    hook = {"type": "command", "command": command}
    if timeout is not None:
        hook["timeout"] = timeout
    entry = {"hooks": [hook]} if matcher is None else {"matcher": matcher, "hooks": [hook]}
    return {event: [entry]}


def gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("api", ["sync", "async"])
async def test_exit_2_denies_with_stderr_as_the_reason(tmp_path, api):
    command = python_hook(tmp_path, (
        "if 'rm' in data['tool_input']['command']:\n"
        "    print('no rm: ' + data['tool_input']['command'], file=sys.stderr)\n"
        "    sys.exit(2)\n"))
    hooks = Hooks(commands=settings("PreToolUse", command, "Bash"), cwd=str(tmp_path))
    if api == "sync":
        out = hooks.pre_tool_use("Bash", {"command": "rm -r src"}, "t")
    else:
        out = await hooks.apre_tool_use("Bash", {"command": "rm -r src"}, "t")
    assert (out.decision, out.reason, out.messages) == ("deny", "no rm: rm -r src", [])
    out = hooks.pre_tool_use("Bash", {"command": "ls"}, "t")
    assert (out.decision, out.messages) == (None, [])


def test_the_command_gets_the_event_on_stdin_in_the_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_HOST_ENV", "yes")
    command = python_hook(tmp_path, (
        "json.dump({'data': data, 'cwd': os.getcwd(), 'env': dict(os.environ)},"
        " open('seen.json', 'w'))\n"))
    hooks = Hooks(commands=settings("PreToolUse", command, "Edit|Write"), cwd=str(tmp_path),
                  session_id="s7", env={"EXTRA": "1"})
    hooks.pre_tool_use("Write", {"file_path": "a.txt", "content": "x"}, "toolu_3")
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["data"] == {"hook_event_name": "PreToolUse", "session_id": "s7",
                            "cwd": str(tmp_path), "tool_name": "Write",
                            "tool_input": {"file_path": "a.txt", "content": "x"},
                            "tool_use_id": "toolu_3"}
    assert seen["cwd"] == str(tmp_path)
    env = seen["env"]
    assert (env["CLAUDE_PROJECT_DIR"], env["EXTRA"], env["FROM_HOST_ENV"]) == (
        str(tmp_path), "1", "yes")


def test_json_on_stdout_can_allow_with_an_updated_input(tmp_path):
    command = python_hook(tmp_path, (
        "cmd = data['tool_input']['command']\n"
        "print(json.dumps({'hookSpecificOutput': {'hookEventName': 'PreToolUse',"
        " 'permissionDecision': 'allow', 'permissionDecisionReason': 'safe',"
        " 'updatedInput': {'command': cmd + ' --dry-run'}}}))\n"))
    hooks = Hooks(commands=settings("PreToolUse", command, "Bash"), cwd=str(tmp_path))
    out = hooks.pre_tool_use("Bash", {"command": "make deploy"}, "t")
    assert (out.decision, out.reason, out.messages) == ("allow", "safe", [])
    assert out.updated_input == {"command": "make deploy --dry-run"}


def test_a_hanging_command_is_killed_at_its_timeout_with_all_it_started(tmp_path):
    command = "sleep 1000 & echo $! > child.pid; setsid sleep 1000 & echo $! > det.pid; wait"
    hooks = Hooks(commands=settings("PreToolUse", command, timeout=1), cwd=str(tmp_path))
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert out.decision is None
    assert out.messages == [f"PreToolUse hook {command} failed: timed out after 1 s (killed)"]
    for name in ("child.pid", "det.pid"):
        assert gone(int((tmp_path / name).read_text()))


def test_what_a_finished_command_left_running_is_stopped_and_not_waited_for(tmp_path):
    # The leftover holds stdout open; the hook must still end when its shell ends.
    command = "sleep 1000 & echo $! > left.pid; echo '{\"systemMessage\": \"done\"}'"
    hooks = Hooks(commands=settings("PreToolUse", command), cwd=str(tmp_path))
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert out.messages == ["done"]
    assert gone(int((tmp_path / "left.pid").read_text()))


def test_output_that_is_not_json_is_reported_and_decides_nothing(tmp_path):
    hooks = Hooks(commands=settings("PreToolUse", "echo formatted 3 files"),
                  cwd=str(tmp_path))
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert out.decision is None
    assert out.messages == ["PreToolUse hook echo formatted 3 files failed: "
                            "stdout is not JSON: formatted 3 files"]
    hooks = Hooks(commands=settings("PreToolUse", "echo '[1]'"), cwd=str(tmp_path))
    assert hooks.pre_tool_use("Bash", {}, "t").messages == [
        "PreToolUse hook echo '[1]' failed: stdout is JSON but not an object: [1]"]


def test_other_exit_codes_are_reported_and_decide_nothing(tmp_path):
    command = "echo '{\"decision\": \"block\"}'; echo jq: not found >&2; exit 1"
    hooks = Hooks(commands=settings("PreToolUse", command), cwd=str(tmp_path))
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert out.decision is None
    assert out.messages == [f"PreToolUse hook {command} failed: exit code 1: jq: not found"]


def test_a_command_that_cannot_start_is_reported(tmp_path):
    hooks = Hooks(commands=settings("PreToolUse", "exit 2"), cwd=str(tmp_path / "missing"))
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert out.decision is None
    [message] = out.messages
    assert message.startswith("PreToolUse hook exit 2 failed: could not run: FileNotFoundError")


def test_exit_2_on_the_other_events(tmp_path):
    command = "echo 'not yet: tests fail' >&2; exit 2"
    hooks = Hooks(commands={**settings("PostToolUse", command, "Edit"),
                            **settings("UserPromptSubmit", command),
                            **settings("Stop", command)}, cwd=str(tmp_path))
    post = hooks.post_tool_use("Edit", {}, "ok", "t", is_error=False)
    assert post.block_reason == "not yet: tests fail"
    prompt = hooks.user_prompt_submit("go")
    assert (prompt.blocked, prompt.reason) == (True, "not yet: tests fail")
    stop = hooks.stop(stop_hook_active=False)
    assert (stop.block, stop.reason) == (True, "not yet: tests fail")


def test_plain_stdout_of_user_prompt_submit_is_context(tmp_path):
    command = python_hook(tmp_path, "print('The user asked: ' + data['prompt'])\n")
    hooks = Hooks(commands=settings("UserPromptSubmit", command), cwd=str(tmp_path))
    out = hooks.user_prompt_submit("add a test")
    assert (out.blocked, out.additional_context, out.messages) == (
        False, "The user asked: add a test", [])


def test_json_context_of_post_tool_use(tmp_path):
    command = ("echo '{\"hookSpecificOutput\": {\"hookEventName\": \"PostToolUse\", "
               "\"additionalContext\": \"ruff: clean\"}}'")
    hooks = Hooks(commands=settings("PostToolUse", command, "Edit|Write"), cwd=str(tmp_path))
    out = hooks.post_tool_use("Write", {}, "ok", "t", is_error=False)
    assert (out.additional_context, out.block_reason) == ("ruff: clean", None)


def test_output_is_bounded_and_a_large_event_reaches_a_command_that_never_reads(tmp_path):
    command = "head -c 300000 /dev/zero | tr '\\0' x >&2; exit 2"
    hooks = Hooks(commands=settings("PreToolUse", command), cwd=str(tmp_path))
    out = hooks.pre_tool_use("Write", {"content": "y" * 2_000_000}, "t")
    assert out.decision == "deny"
    assert OUTPUT_LIMIT - 10 < out.reason.count("x") <= OUTPUT_LIMIT
    assert "omitted" in out.reason


def test_identical_commands_run_once_and_callbacks_combine_with_commands(tmp_path):
    entry = {"matcher": "Bash", "hooks": [
        {"type": "command", "command": "echo ran >> runs.txt; exit 2"}]}
    commands = {"PreToolUse": [entry, {**entry, "matcher": "*"}]}  # two settings files

    def allow(input_data, tool_use_id, context):
        return {"hookSpecificOutput": {"permissionDecision": "allow"}}

    hooks = Hooks({"PreToolUse": [HookMatcher("Bash", [allow])]}, commands=commands,
                  cwd=str(tmp_path))
    out = hooks.pre_tool_use("Bash", {}, "t")
    assert out.decision == "deny"
    assert (tmp_path / "runs.txt").read_text() == "ran\n"


def test_hook_types_other_than_command_are_named_once_and_not_run(tmp_path):
    hooks = Hooks(commands={"Stop": [{"hooks": [{"type": "prompt", "prompt": "done?"}]}]},
                  cwd=str(tmp_path))
    assert hooks.warnings == ["Stop hook of type 'prompt' is not supported and will not run"]
    assert hooks.stop(stop_hook_active=False).messages == []


@pytest.mark.parametrize(("raw", "where"), [
    ([], "\"hooks\" must be an object"),
    ({"PreToolUse": {}}, "hooks.PreToolUse must be a list"),
    ({"PreToolUse": ["echo"]}, r"hooks.PreToolUse\[0\] must be an object"),
    ({"PreToolUse": [{"matcher": 3, "hooks": []}]}, r"hooks.PreToolUse\[0\].matcher"),
    ({"Stop": [{"hooks": "echo"}]}, r"hooks.Stop\[0\].hooks must be a list"),
    ({"Stop": [{"hooks": [{"command": "x"}]}]}, r"hooks.Stop\[0\].hooks\[0\] must be an"),
    ({"Stop": [{"hooks": [{"type": "command"}]}]}, r"\[0\].command must be a non-empty"),
    ({"Stop": [{"hooks": [{"type": "command", "command": "x", "timeout": "5"}]}]},
     r"\[0\].timeout must be a positive number"),
    ({"Stop": [{"hooks": [{"type": "command", "command": "x", "timeout": 0}]}]},
     r"\[0\].timeout must be a positive number"),
])
def test_entries_of_the_wrong_shape_are_refused_naming_them(raw, where):
    with pytest.raises(HookConfigError, match=where):
        parse_command_hooks(raw)
    with pytest.raises(HookConfigError, match=where):
        Hooks(commands=raw)

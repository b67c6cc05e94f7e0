"""The CLI's permission flags and approval prompt, on the real ``claude-like`` program in a
pseudo-terminal (and with stdin that is not one), driven by a scripted model."""

from __future__ import annotations

import json

import pexpect
import pytest
from cli_harness import PROMPT, CliEnv, call, plain, reply
from typer.testing import CliRunner

from claude_like.cli import app
from claude_like.cli.options import split_tool_rules


@pytest.fixture
def cli(tmp_path) -> CliEnv:
    return CliEnv.create(tmp_path)


def _tool_results(cli: CliEnv, spec: str) -> dict[str, str]:
    """What the model was told about each call, by call id (from its last request)."""
    last = cli.requests(spec)[-1]
    return {m["tool_call_id"]: m["text"] for m in last if m["type"] == "tool"}


def test_yes_shows_the_coloured_diff_and_writes_the_file(cli):
    spec = cli.script(reply("Writing.", call("Write", file_path="notes.txt", content="hello\n")),
                      reply("Written."))
    child = cli.spawn("write the notes", "--model", spec)
    child.expect(PROMPT)
    shown = plain(child.before)
    assert "Write needs approval: default mode asks before Write" in shown
    assert "--- a/notes.txt" in shown and "+hello" in shown
    assert "\x1b[32m+hello" in child.before  # the added line in green
    child.expect(r"\(adds Edit\(\./\*\*\)\)")
    child.sendline("y")
    done = cli.finish(child)
    assert done.status == 0, done.output
    assert (cli.workspace / "notes.txt").read_text() == "hello\n"
    assert "Written." in done.output


def test_no_leaves_the_file_unwritten_and_tells_the_model(cli):
    spec = cli.script(reply("", call("Write", file_path="notes.txt", content="hello\n",
                                     )), reply("Understood."))
    child = cli.spawn("write the notes", "--model", spec)
    child.expect(PROMPT)
    child.sendline("n")
    done = cli.finish(child)
    assert done.status == 0, done.output
    assert not (cli.workspace / "notes.txt").exists()
    told = list(_tool_results(cli, spec).values())
    assert len(told) == 1 and told[0].startswith("Permission denied: the user refused it")


def test_always_allows_the_next_call_of_that_kind_without_asking(cli):
    spec = cli.script(reply("", call("Bash", command="echo one > one.txt")),
                      reply("", call("Bash", command="echo two > two.txt")), reply("Both."))
    child = cli.spawn("write two files", "--model", spec)
    child.expect(PROMPT)
    assert "$ echo one > one.txt" in plain(child.before)
    child.expect(r"\(adds Bash\(echo:\*\)\)")
    child.sendline("a")
    assert child.expect([pexpect.EOF, PROMPT]) == 0, "the second echo was asked about"
    done = cli.finish(child)
    assert done.status == 0, done.output
    assert (cli.workspace / "one.txt").read_text() == "one\n"
    assert (cli.workspace / "two.txt").read_text() == "two\n"


def test_ctrl_c_at_the_prompt_refuses_and_ends_the_run_with_exit_code_3(cli):
    spec = cli.script(reply("", call("Bash", command="echo one > one.txt")),
                      reply("never reached"))
    child = cli.spawn("write a file", "--model", spec)
    child.expect(PROMPT)
    child.sendintr()
    done = cli.finish(child)
    assert done.status == 3, done.output
    assert "stopped: a refusal ended the run" in done.output
    assert not (cli.workspace / "one.txt").exists()
    assert len(cli.requests(spec)) == 1  # the model was not called again


def test_without_a_terminal_an_ask_is_refused_with_how_to_allow_it(cli):
    spec = cli.script(reply("", call("Bash", command="echo hi > hi.txt"),
                            call("Write", file_path="w.txt", content="x\n")),
                      reply("Could not."))
    ran = cli.run_piped("write files", "--model", spec)
    assert ran.returncode == 0, ran.stderr
    assert ('denied Bash (echo hi > hi.txt): default mode asks before Bash, and there is no '
            'terminal to ask. To allow it: --allowedTools "Bash(echo:*)"') in ran.stderr
    assert "denied Write (w.txt)" in ran.stderr
    assert "To allow it: --permission-mode acceptEdits" in ran.stderr
    assert not (cli.workspace / "hi.txt").exists() and not (cli.workspace / "w.txt").exists()
    told = _tool_results(cli, spec)
    assert len(told) == 2 and all(t.startswith("Permission denied: it needs the user's "
                                                 "approval and there was no terminal to ask")
                                  for t in told.values())
    assert "Could not." in ran.stdout


def test_print_never_prompts_even_in_a_terminal(cli):
    spec = cli.script(reply("", call("Bash", command="echo hi > hi.txt")), reply("No."))
    done = cli.run_tty("write a file", "-p", "--model", spec)
    assert done.status == 0, done.output
    assert "denied Bash (echo hi > hi.txt)" in done.output
    assert not (cli.workspace / "hi.txt").exists()


def test_accept_edits_writes_without_asking(cli):
    spec = cli.script(reply("", call("Write", file_path="notes.txt", content="hi\n")),
                      reply("Done."))
    done = cli.run_tty("write the notes", "--model", spec, "--permission-mode", "acceptEdits")
    assert done.status == 0, done.output
    assert (cli.workspace / "notes.txt").read_text() == "hi\n"


def test_allowed_tools_rules_run_calls_without_asking(cli):
    spec = cli.script(reply("", call("Bash", command="echo hi > hi.txt"),
                            call("Write", file_path="w.txt", content="w\n")), reply("Done."))
    done = cli.run_tty("write files", "--model", spec, "--allowedTools", "Bash(echo:*)",
                       "--allowedTools", "Read, Write")
    assert done.status == 0, done.output
    assert (cli.workspace / "hi.txt").read_text() == "hi\n"
    assert (cli.workspace / "w.txt").read_text() == "w\n"


def test_disallowed_tools_refuse_without_asking(cli):
    spec = cli.script(reply("", call("Bash", command="echo hi > hi.txt")), reply("Refused."))
    done = cli.run_tty("write a file", "--model", spec, "--disallowedTools", "Bash(echo:*)")
    assert done.status == 0, done.output
    assert not (cli.workspace / "hi.txt").exists()
    told = list(_tool_results(cli, spec).values())
    assert told and "a deny rule forbids it (Bash(echo:*))" in told[0]


def test_plan_mode_shows_the_plan_and_approving_it_leaves_plan_mode(cli):
    spec = cli.script(reply("", call("ExitPlanMode", plan="1. Write notes.txt")),
                      reply("", call("Write", file_path="notes.txt", content="hi\n")),
                      reply("Done."))
    child = cli.spawn("plan, then write", "--model", spec, "--permission-mode", "plan")
    child.expect(PROMPT)
    shown = plain(child.before)
    assert "ExitPlanMode needs approval" in shown and "1. Write notes.txt" in shown
    child.sendline("y")
    child.expect(PROMPT)  # now in default mode: the Write asks (in plan mode it was refused)
    child.sendline("y")
    done = cli.finish(child)
    assert done.status == 0, done.output
    prompts = [line for line in done.output.splitlines() if line.startswith("Allow?")]
    assert len(prompts) == 2
    assert "[a]lways" not in prompts[0]  # a plan has no session rule to add
    assert (cli.workspace / "notes.txt").read_text() == "hi\n"


def test_tool_rule_values_split_on_commas_and_spaces_outside_parentheses():
    assert split_tool_rules(["Bash(git status:*) Edit", "Read,Write", " Bash(npm run test:*) ,",
                             "Edit(src/**)"]) == [
        "Bash(git status:*)", "Edit", "Read", "Write", "Bash(npm run test:*)", "Edit(src/**)"]
    assert split_tool_rules(None) == []


def test_an_unknown_permission_mode_is_a_usage_error_listing_the_modes(tmp_path):
    result = CliRunner().invoke(app, ["x", "--workspace", str(tmp_path),
                                      "--permission-mode", "yolo"])
    assert result.exit_code == 2
    assert "acceptEdits" in result.output and "bypassPermissions" in result.output


def test_a_prompt_blocked_by_a_settings_hook_exits_3_with_the_reason(cli):
    settings = cli.workspace / ".claude-like" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [
        {"type": "command", "command": "echo 'no deploys today' >&2; exit 2"}]}]}}))
    spec = cli.script(reply("never"))
    done = cli.run_tty("deploy it", "--model", spec)
    assert done.status == 3, done.output
    assert "no deploys today" in done.output
    assert cli.requests(spec) == []  # the model never saw the task

"""In the interactive session, approvals are asked inline (y / n / always) and Ctrl-C
cancels a running turn without losing the conversation: the real program in a
pseudo-terminal, on a scripted model."""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil
import pytest
from cli_harness import SESSION_LINE, CliEnv, call, plain, reply
from repl_harness import Repl

ASK = r"Allow\?"


@pytest.fixture
def cli(tmp_path) -> CliEnv:
    return CliEnv.create(tmp_path)


def start(cli: CliEnv, *args: str) -> Repl:
    repl = Repl(cli, *args)
    repl.ready()
    return repl


def test_always_then_yes_each_call_runs_and_always_stops_the_asking(cli):
    spec = cli.script(reply("", call("Bash", command="echo one > one.txt")),
                      reply("", call("Bash", command="echo two > two.txt")),
                      reply("", call("Write", file_path="notes.txt", content="hello\n")),
                      reply("All three done."))
    repl = start(cli, "--model", spec)
    repl.send("make three files")
    asked = plain(repl.expect(ASK))
    assert "Bash needs approval" in asked and "$ echo one > one.txt" in asked
    repl.expect(r"\(adds Bash\(echo:\*\)\)")
    repl.type("a\r")
    asked = plain(repl.expect_text("Write needs approval") + repl.expect(ASK))
    assert "+hello" in asked
    assert "echo two" in asked and "Bash needs approval" not in asked  # it ran unasked
    repl.type("y\r")
    repl.expect_text("All three done.")
    repl.ready()
    assert (cli.workspace / "one.txt").read_text() == "one\n"
    assert (cli.workspace / "two.txt").read_text() == "two\n"
    assert (cli.workspace / "notes.txt").read_text() == "hello\n"
    repl.send("/exit")
    assert repl.finish().status == 0


def test_no_refuses_the_call_and_the_model_is_told(cli):
    spec = cli.script(reply("", call("Write", file_path="notes.txt", content="hello\n")),
                      reply("Understood, not writing."))
    repl = start(cli, "--model", spec)
    repl.send("write the notes")
    repl.expect(ASK)
    repl.type("n\r")
    repl.expect_text("Understood, not writing.")
    repl.ready()
    assert not (cli.workspace / "notes.txt").exists()
    told = [m["text"] for m in cli.requests(spec)[-1] if m["type"] == "tool"]
    assert len(told) == 1 and told[0].startswith("Permission denied: the user refused it")


def test_ctrl_c_at_an_approval_ends_that_run_and_the_session_goes_on(cli):
    spec = cli.script(reply("", call("Bash", command="echo one > one.txt")),
                      reply("Still here."))
    repl = start(cli, "--model", spec)
    repl.send("write a file")
    repl.expect(ASK)
    repl.type("\x03")
    repl.expect_text("stopped: a refusal ended the run")
    repl.ready()
    assert not (cli.workspace / "one.txt").exists()
    repl.send("are you there?")
    repl.expect_text("Still here.")


def test_an_approval_left_open_when_the_program_ended_is_asked_on_resume(cli):
    spec = cli.script(reply("", call("Bash", command="echo kept > kept.txt")))
    repl = start(cli, "--model", spec)
    session = SESSION_LINE.findall(repl.output)[0]
    repl.send("write kept.txt")
    repl.expect(ASK)
    repl.child.terminate(force=True)  # the terminal went away at the prompt
    later = cli.script(reply("Finished after all."))
    again = Repl(cli, "--model", later, "--resume", session)
    again.expect_text("this conversation has calls waiting for your answer")
    asked = plain(again.expect(ASK))
    assert "$ echo kept > kept.txt" in asked
    again.type("y\r")
    again.expect_text("Finished after all.")
    again.ready()
    assert (cli.workspace / "kept.txt").read_text() == "kept\n"


def _sleeps_under(pid: int) -> list[psutil.Process]:
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "sleep" in child.name():
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _eventually(check: Callable[[], object], wait: float = 60.0) -> bool:
    """Whether ``check()`` holds within ``wait`` seconds (polled: a generous bound, not
    a figure under test)."""
    end = time.monotonic() + wait
    while not check():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def test_ctrl_c_cancels_a_running_turn_and_the_conversation_goes_on(cli):
    spec = cli.script(reply("Starting the long job.", call("Bash", command="sleep 300")),
                      reply("The job was cancelled."))
    repl = start(cli, "--model", spec, "--permission-mode", "bypassPermissions")
    repl.send("run the long job")
    repl.expect_text("running Bash")  # the spinner, while the command runs
    assert _eventually(lambda: _sleeps_under(repl.child.pid)), "the command never ran"
    repl.child.sendintr()
    repl.expect_text("interrupted")
    repl.ready()
    still_running = psutil.wait_procs(_sleeps_under(repl.child.pid), timeout=60)[1]
    assert not still_running, "the cancelled command still runs"
    repl.send("what happened?")
    repl.expect_text("The job was cancelled.")
    repl.ready()
    last = cli.requests(spec)[-1]
    said = [(m["type"], m["text"]) for m in last if m["type"] != "system"]
    assert said[0] == ("human", "run the long job")
    assert said[1] == ("ai", "Starting the long job.")
    assert said[2][0] == "tool" and said[2][1].startswith("Not run")
    assert said[3] == ("human", "what happened?")
    repl.type("\x04")
    assert repl.finish().status == 0

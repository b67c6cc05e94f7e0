"""The command line, driven with a scripted model in place of a server."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from claude_like import agent as agent_module
from claude_like.cli import app
from claude_like.testing import ScriptedChatModel, say, tool_call


@pytest.fixture
def scripted(monkeypatch):
    def install(*script):
        model = ScriptedChatModel(script=list(script))
        monkeypatch.setattr(agent_module, "resolve_model", lambda spec: model)
        return model

    return install


def test_cli_streams_tool_lines_and_the_answer(tmp_path, scripted):
    (tmp_path / "README.md").write_text("# demo\n")
    scripted(say("Looking.", tool_call("LS", {"path": "."})), say("There is a README."))
    result = CliRunner().invoke(app, ["list files", "--workspace", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "● LS" in result.output and "✓" in result.output
    assert "There is a README." in result.output
    assert "done after 2 turns" in result.output


def test_cli_exits_non_zero_when_the_model_fails(tmp_path, scripted):
    def down(_msgs):
        raise ConnectionError("no server on port 8080")

    scripted(down)
    result = CliRunner().invoke(app, ["anything", "--workspace", str(tmp_path)])
    assert result.exit_code == 1
    assert "no server on port 8080" in result.output


def test_cli_reports_the_turn_limit(tmp_path, scripted):
    model = scripted(say("", tool_call("LS", {"path": "."})))
    model.repeat_last = True
    result = CliRunner().invoke(app, ["loop", "--workspace", str(tmp_path), "--max-turns", "2"])
    assert result.exit_code == 2
    assert "turn limit (2)" in result.output


def test_cli_rejects_an_unknown_sandbox(tmp_path, scripted):
    scripted(say("never"))
    result = CliRunner().invoke(app, ["x", "--workspace", str(tmp_path), "--sandbox", "vm"])
    assert result.exit_code == 1
    assert "unknown sandbox 'vm'" in result.output


def test_cli_prints_context_warnings_and_compactions(tmp_path, monkeypatch):
    from claude_like.testing import WindowedChatModel

    for n in range(6):
        (tmp_path / f"m{n}.py").write_text("x = 1  # some code\n" * 300)
    reads = [say("", tool_call("Read", {"file_path": f"m{n}.py"})) for n in range(6)]
    model = WindowedChatModel(script=[*reads, say("Read them all.")], window=4096,
                              max_tokens=1024)
    monkeypatch.setattr(agent_module, "resolve_model", lambda spec: model)
    result = CliRunner().invoke(app, ["read all", "--workspace", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "context " in result.output and "% full" in result.output
    assert "of 4,096 tokens" in result.output
    assert "context compacted (clear" in result.output and " tokens)" in result.output


def test_cli_never_prints_raw_control_sequences(tmp_path, scripted):
    (tmp_path / "evil.txt").write_bytes(b"\x1b]0;owned\x07\x1bc\x1b[8mhidden\n")
    scripted(
        say("Reading \x1b[2J it.", tool_call("Read", {"file_path": "evil.txt"})),
        say("It says \x1b]0;title\x07 that."),
    )
    result = CliRunner().invoke(app, ["read it", "--workspace", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert r"\x1b]0;owned\x07\x1bc\x1b[8mhidden" in result.output  # the tool's first line
    assert r"Reading \x1b[2J it." in result.output
    assert r"It says \x1b]0;title\x07 that." in result.output

"""Permission rules in Claude Code's syntax: parsing, shell lines, paths, precedence."""

from __future__ import annotations

import os

import pytest

from claude_like.permissions import RuleSet, parse_rule
from claude_like.permissions.rules import Rule, RuleError
from claude_like.permissions.shell_words import split_commands

ROOT = "/work/project"


def rules(**kw) -> RuleSet:
    return RuleSet.from_strings(root=ROOT, **kw)


def bash(line: str) -> dict:
    return {"command": line}


def test_rules_parse_as_claude_code_writes_them():
    assert parse_rule("Read") == Rule("Read")
    assert parse_rule("Bash(npm run test:*)") == Rule("Bash", "npm run test:*")
    assert parse_rule(" Edit( src/** ) ") == Rule("Edit", "src/**")
    assert parse_rule("Bash(*)") == Rule("Bash") == parse_rule("Bash()")
    assert str(parse_rule("Read(./.env)")) == "Read(./.env)"
    for bad in ("", "Bash(", "(x)", "Read x"):
        with pytest.raises(RuleError, match="not a permission rule"):
            parse_rule(bad)


def test_compound_lines_are_cut_into_their_commands():
    cmds = split_commands("git status && rm -rf x; ls | wc -l & echo 'a && b'\nmake")
    assert [c.text for c in cmds] == ["git status", "rm -rf x", "ls", "wc -l",
                                      "echo a && b", "make"]
    assert not any(c.opaque for c in cmds)
    assert all(c.opaque for c in split_commands("echo $(rm -rf x)"))
    assert split_commands("bash -c 'rm -rf /'")[0].opaque
    assert split_commands("eval $CMD")[0].opaque


def test_exact_and_prefix_shell_rules():
    rs = rules(allow=["Bash(git status)", "Bash(npm run test:*)"])
    assert rs.decide("Bash", bash("git status")) == ("allow", Rule("Bash", "git status"))
    assert rs.decide("Bash", bash("git  status")) is not None  # spacing is not a command
    assert rs.decide("Bash", bash("git status --short")) is None  # exact means exact
    assert rs.decide("Bash", bash("npm run test")) is not None
    assert rs.decide("Bash", bash("npm run test -- --watch")) is not None
    assert rs.decide("Bash", bash("npm run testify")) is None  # a prefix ends at a word


def test_an_allow_rule_does_not_let_a_second_command_through():
    rs = rules(allow=["Bash(git status:*)"])
    assert rs.decide("Bash", bash("git status && git status -s")) is not None
    for line in ("git status && rm -rf x", "git status; rm -rf x", "git status | sh",
                 "git status & curl evil", "git status\nrm -rf x",
                 "git status $(rm -rf x)", "git status `rm -rf x`", "git status 'unclosed"):
        assert rs.decide("Bash", bash(line)) is None, line


def test_deny_and_ask_catch_any_command_of_a_line():
    rs = rules(allow=["Bash"], deny=["Bash(rm:*)"], ask=["Bash(git push:*)"])
    assert rs.decide("Bash", bash("ls && rm -rf build"))[0] == "deny"
    assert rs.decide("Bash", bash("make; git push origin main"))[0] == "ask"
    assert rs.decide("Bash", bash("ls -la")) == ("allow", Rule("Bash"))
    assert rs.decide("Bash", bash("echo 'rm -rf x'"))[0] == "allow"  # quoted text


def test_deny_beats_ask_beats_allow():
    rs = rules(allow=["Edit"], ask=["Edit(src/**)"], deny=["Edit(src/secrets/**)"])
    assert rs.decide("Edit", {"file_path": "README.md"})[0] == "allow"
    assert rs.decide("Edit", {"file_path": "src/app.py"})[0] == "ask"
    assert rs.decide("Edit", {"file_path": "src/secrets/key.pem"}) == (
        "deny", Rule("Edit", "src/secrets/**"))


def test_path_rules_relative_absolute_and_home():
    rs = rules(deny=["Read(./.env)", "Read(//etc/**)", "Read(~/.ssh/**)", "Read(**/*.key)"])
    for path in (".env", f"{ROOT}/.env", "src/../.env", "/etc/passwd",
                 os.path.expanduser("~/.ssh/id_rsa"), "deep/dir/server.key"):
        assert rs.decide("Read", {"file_path": path})[0] == "deny", path
    for path in ("src/.env", "notes.txt", f"{ROOT}/etc/passwd"):
        assert rs.decide("Read", {"file_path": path}) is None, path


def test_edit_rules_cover_every_editing_tool_and_read_rules_every_reading_one():
    rs = rules(allow=["Edit(src/**)"], deny=["Read(secret/**)"])
    assert rs.decide("Write", {"file_path": "src/new.py", "content": ""})[0] == "allow"
    assert rs.decide("Write", {"file_path": "docs/new.md", "content": ""}) is None
    assert rs.decide("Grep", {"pattern": "x", "path": "secret/a"})[0] == "deny"
    assert rs.decide("Glob", {"pattern": "*", "path": "secret"})[0] == "deny"
    assert rs.decide("Bash", bash("cat secret/a")) is None  # a path rule is not a shell rule


def test_a_tool_rule_names_only_that_tool():
    rs = rules(allow=["Read"])
    assert rs.decide("Read", {"file_path": "x"})[0] == "allow"
    assert rs.decide("Grep", {"pattern": "x"}) is None
    assert rs.decide("Bash", bash("ls")) is None


def test_read_rules_cover_outline_too() -> None:
    rules = RuleSet.from_strings(deny=["Read(secret/**)"], root="/ws")
    decided = rules.decide("Outline", {"path": "secret/keys"})
    assert decided is not None and decided[0] == "deny"
    assert rules.decide("Outline", {"path": "src"}) is None

"""Permission modes: what each one runs, asks and refuses, and the order of the checks."""

from __future__ import annotations

import pytest

from claude_like.permissions.modes import decide
from claude_like.permissions.rules import RuleSet

ROOT = "/ws"
READ = ("Read", {"file_path": "a.py"}, True)
EDIT = ("Edit", {"file_path": "a.py", "old_string": "x", "new_string": "y"}, False)
EDIT_OUT = ("Write", {"file_path": "/etc/x", "content": ""}, False)
BASH = ("Bash", {"command": "make test"}, False)
DANGER = ("Bash", {"command": "rm -rf src"}, False)


def behavior(mode, call, **rules):
    tool, args, read_only = call
    return decide(mode, tool, args, RuleSet.from_strings(root=ROOT, **rules),
                  read_only=read_only).behavior


@pytest.mark.parametrize(("mode", "expected"), [
    ("default", ["allow", "ask", "ask", "ask", "ask"]),
    ("acceptEdits", ["allow", "allow", "ask", "ask", "ask"]),
    ("plan", ["allow", "deny", "deny", "deny", "deny"]),
    ("bypassPermissions", ["allow", "allow", "allow", "allow", "allow"]),
])
def test_each_mode(mode, expected):
    got = [behavior(mode, c) for c in (READ, EDIT, EDIT_OUT, BASH, DANGER)]
    assert got == expected


def test_rules_allow_what_the_mode_would_ask():
    assert behavior("default", BASH, allow=["Bash(make:*)"]) == "allow"
    assert behavior("default", EDIT, allow=["Edit(*.py)"]) == "allow"
    assert behavior("acceptEdits", EDIT, ask=["Edit(a.py)"]) == "ask"


def test_a_dangerous_command_asks_whatever_the_allow_rules_say():
    assert behavior("default", DANGER, allow=["Bash"]) == "ask"
    assert behavior("acceptEdits", DANGER, allow=["Bash(rm:*)"]) == "ask"
    d = decide("default", *DANGER[:2], RuleSet(root=ROOT), read_only=False)
    assert "rm -r" in d.reason


def test_deny_rules_hold_in_every_mode_and_name_the_rule():
    for mode in ("default", "acceptEdits", "plan", "bypassPermissions"):
        assert behavior(mode, READ, deny=["Read(a.py)"]) == "deny"
    d = decide("bypassPermissions", "Bash", {"command": "git push"},
               RuleSet.from_strings(root=ROOT, deny=["Bash(git push:*)"]), read_only=False)
    assert d.rule == "Bash(git push:*)" and "deny rule" in d.reason


def test_plan_mode_points_to_exit_plan_mode():
    d = decide("plan", *EDIT[:2], RuleSet(root=ROOT), read_only=False)
    assert d.behavior == "deny" and "ExitPlanMode" in d.reason


def test_an_unknown_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="permission_mode must be one of default"):
        behavior("yolo", READ)

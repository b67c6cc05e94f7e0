"""Permission rules for MCP tools, as Claude Code writes them: one tool
(``mcp__srv__add``), a whole server (``mcp__srv``, ``mcp__srv__*``), every MCP tool
(``mcp__*``)."""

from __future__ import annotations

import pytest

from claude_like.permissions import Rule, RuleSet, parse_rule


def decide(tool: str, **rules: list[str]):
    ruled = RuleSet.from_strings(root="/w", **rules).decide(tool, {"a": 1})
    return None if ruled is None else (ruled[0], str(ruled[1]))


def test_mcp_rules_parse():
    assert parse_rule("mcp__srv__add") == Rule("mcp__srv__add")
    assert parse_rule("mcp__srv") == Rule("mcp__srv")
    assert parse_rule("mcp__srv__*") == Rule("mcp__srv__*")
    assert parse_rule("mcp__*") == Rule("mcp__*")


def test_a_tool_rule_covers_that_tool_only():
    assert decide("mcp__srv__add", allow=["mcp__srv__add"]) == ("allow", "mcp__srv__add")
    assert decide("mcp__srv__echo", allow=["mcp__srv__add"]) is None


@pytest.mark.parametrize("rule", ["mcp__srv", "mcp__srv__*"])
def test_a_server_rule_covers_every_tool_of_that_server(rule):
    assert decide("mcp__srv__add", allow=[rule]) == ("allow", rule)
    assert decide("mcp__srv__echo", deny=[rule]) == ("deny", rule)
    assert decide("mcp__srv2__add", allow=[rule]) is None
    assert decide("mcp__other__add", deny=[rule]) is None
    assert decide("srv__add", deny=[rule]) is None


def test_mcp_star_covers_every_mcp_tool_and_nothing_else():
    assert decide("mcp__any__tool", deny=["mcp__*"]) == ("deny", "mcp__*")
    assert decide("Bash", deny=["mcp__*"]) is None


def test_a_deny_on_the_server_beats_an_allow_on_its_tool():
    assert decide("mcp__srv__add", allow=["mcp__srv__add"], deny=["mcp__srv"]) == (
        "deny", "mcp__srv")


def test_a_tool_rule_is_not_read_as_a_server_rule():
    # mcp__srv__add names a tool: it must not cover mcp__srv__add_more.
    assert decide("mcp__srv__add_more", deny=["mcp__srv__add"]) is None

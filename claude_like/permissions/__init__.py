"""Permissions: which tool calls run, ask or are refused (Claude Code's rules and modes)."""

from claude_like.permissions.rules import Rule, RuleSet, parse_rule

__all__ = ["Rule", "RuleSet", "parse_rule"]

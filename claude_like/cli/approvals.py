"""Answering a paused run's approval requests from the terminal.

Two approvers, both ``(requests) -> answers`` for ``ClaudeLikeAgent.answer``:
:class:`TerminalApprover` shows each request (the command, the coloured diff or the plan)
and takes y / n / a(lways); :func:`deny_without_terminal` refuses every request and says on
stderr which flag would have allowed it, so a run without a terminal never waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console

from claude_like.cli.render import err, safe
from claude_like.permissions.approval import PLAN_TOOL, ApprovalRequest
from claude_like.permissions.rules import EDIT_TOOLS, SHELL_TOOLS

Answers = dict[str, Any]
Approver = Callable[[Sequence[ApprovalRequest]], Answers]

NO_TERMINAL = "it needs the user's approval and there was no terminal to ask"
STOPPED = "the user stopped the run at the approval prompt"
_CHOICES = {"y": "allow", "yes": "allow", "n": "deny", "no": "deny", "a": "always",
            "always": "always"}
_DIFF_STYLES = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"),
                ("-", "red"))


def diff_markup(diff: str) -> str:
    """A unified diff with rich markup: additions green, removals red, hunks cyan."""
    lines = []
    for line in diff.rstrip("\n").splitlines():
        style = next((s for prefix, s in _DIFF_STYLES if line.startswith(prefix)), "")
        lines.append(f"[{style}]{safe(line)}[/]" if style else safe(line))
    return "\n".join(lines)


def show_request(request: ApprovalRequest, console: Console) -> None:
    """What the call would do: the command, the change, the plan, or its arguments."""
    tool = request["tool"]
    console.print(f"\n[bold yellow]? {safe(tool)}[/] [dim]needs approval: "
                  f"{safe(request['reason'])}[/]", soft_wrap=True)
    if tool in SHELL_TOOLS:
        console.print(f"  [bold]$ {safe(str(request['input'].get('command', '')))}[/]",
                      soft_wrap=True)
    elif tool == PLAN_TOOL:
        console.print(safe(request["diff"] or str(request["input"].get("plan", ""))),
                      soft_wrap=True)
    elif request["diff"]:
        console.print(diff_markup(request["diff"]), soft_wrap=True)
    else:
        console.print(f"  {safe(json.dumps(request['input'], ensure_ascii=False, default=str))}",
                      soft_wrap=True)


def prompt_text(request: ApprovalRequest) -> str:
    """``Allow? [y]es / [n]o / [a]lways (adds <rule>)``; no ``always`` without a rule."""
    choices = "[y]es / [n]o"
    if request["always_rule"]:
        choices += f" / [a]lways (adds {request['always_rule']})"
    return f"[bold]Allow?[/] {safe(choices)} "


class TerminalApprover:
    """Asks about each request in turn. Ctrl-C or end of input at the prompt refuses that
    request and the ones after it and stops the run (``stop_reason="denied"``)."""

    def __init__(self, console: Console | None = None,
                 read_line: Callable[[str], str] | None = None) -> None:
        self.console = console or err
        self.read_line = read_line or (lambda prompt: self.console.input(prompt))

    def __call__(self, requests: Sequence[ApprovalRequest]) -> Answers:
        answers: Answers = {}
        for index, request in enumerate(requests):
            show_request(request, self.console)
            try:
                answers[request["tool_call_id"]] = self._ask(request)
            except (KeyboardInterrupt, EOFError):
                self.console.print("\n[yellow]stopped: refusing this call and the run[/]")
                for rest in requests[index:]:
                    answers[rest["tool_call_id"]] = {"behavior": "deny", "message": STOPPED,
                                                     "interrupt": True}
                break
        return answers

    def _ask(self, request: ApprovalRequest) -> str:
        while True:
            choice = _CHOICES.get(self.read_line(prompt_text(request)).strip().lower())
            if choice == "always" and not request["always_rule"]:
                choice = None
            if choice is not None:
                return choice
            self.console.print("[dim]answer y, n" + (" or a" if request["always_rule"] else "")
                               + "[/]")


def how_to_allow(request: ApprovalRequest) -> str:
    """The flag that would have let this call run without asking."""
    tool, rule = request["tool"], request["always_rule"]
    if tool == PLAN_TOOL:
        return "run in a terminal to approve the plan, or use another --permission-mode"
    if request["reason"].startswith("a dangerous command"):
        return ("--permission-mode bypassPermissions (a dangerous command asks whatever the "
                "allow rules say)")
    if request["rule"]:
        return (f"remove the ask rule {request['rule']} from the settings, or "
                "--permission-mode bypassPermissions")
    if tool in EDIT_TOOLS:
        return f'--permission-mode acceptEdits or --allowedTools "{rule or tool}"'
    if rule:
        return f'--allowedTools "{rule}"'
    if tool in SHELL_TOOLS:
        return ('--allowedTools "Bash(<command>:*)" for each command of the line, or '
                "--permission-mode bypassPermissions")
    return f'--allowedTools "{tool}"'


def deny_without_terminal(requests: Sequence[ApprovalRequest],
                          console: Console | None = None) -> Answers:
    """Refuse every request (the run goes on without the calls), each with a line on
    stderr naming the call and how to allow it."""
    console = console or err
    answers: Answers = {}
    for request in requests:
        what = request["tool"]
        if request["tool"] in SHELL_TOOLS:
            what += f" ({request['input'].get('command', '')})"
        elif isinstance(request["input"].get("file_path"), str):
            what += f" ({request['input']['file_path']})"
        console.print(f"[bold red]denied[/] {safe(what)}: {safe(request['reason'])}, and "
                      f"there is no terminal to ask. To allow it: {safe(how_to_allow(request))}",
                      soft_wrap=True)
        answers[request["tool_call_id"]] = {"behavior": "deny", "reason": NO_TERMINAL}
    return answers

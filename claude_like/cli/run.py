"""``claude-like "task"``: run one task, print the agent's work, answer its approvals."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from claude_like.cli.approvals import Approver, TerminalApprover, deny_without_terminal
from claude_like.cli.drive import drive
from claude_like.cli.options import PermissionModeChoice, split_tool_rules
from claude_like.cli.render import EventRenderer, err, safe

EXIT_CODES = {"done": 0, "error": 1, "max_turns": 2, "denied": 3, "blocked": 3}
"""0 done, 1 error (also a setup problem), 2 turn limit, 3 a refusal ended the run (you
stopped it at an approval prompt, a refusal that stops the run, or a UserPromptSubmit hook
blocked the task), 130 Ctrl-C while the agent worked."""
INTERRUPTED_EXIT = 130

RULES_HELP = ("Repeat the option, or give several rules in one value separated by commas or "
              "spaces: --allowedTools \"Bash(git diff:*) Edit\".")


def run(
    task: Annotated[str, typer.Argument(help="What the agent should do.")],
    model: Annotated[
        str | None,
        typer.Option(help="Model spec, e.g. ollama:qwen2.5-coder:7b; default $CLAUDE_LIKE_MODEL."),
    ] = None,
    workspace: Annotated[
        Path, typer.Option(help="The only folder the tools may touch.")
    ] = Path("."),
    sandbox: Annotated[str, typer.Option(help="local or docker.")] = "local",
    max_turns: Annotated[int, typer.Option(help="Model calls allowed for this task.")] = 30,
    context_window: Annotated[
        int | None,
        typer.Option(help="Tokens the model holds per request (default: what the server says)."),
    ] = None,
    permission_mode: Annotated[
        PermissionModeChoice | None,
        typer.Option("--permission-mode", help="default: writes, edits and Bash ask; "
                     "acceptEdits: edits in the workspace run; plan: read-only until you "
                     "approve a plan; bypassPermissions: everything runs. Default: the "
                     "settings' defaultMode, else default."),
    ] = None,
    allowed_tools: Annotated[
        list[str] | None,
        typer.Option("--allowedTools", "--allowed-tools",
                     help="Rules that let calls run without asking, in Claude Code's syntax: "
                     f"Edit, Bash(git status:*), Edit(src/**). {RULES_HELP}"),
    ] = None,
    disallowed_tools: Annotated[
        list[str] | None,
        typer.Option("--disallowedTools", "--disallowed-tools",
                     help="Rules that refuse calls (they beat every allow rule and mode). "
                     "Same forms as --allowedTools."),
    ] = None,
    continue_: Annotated[
        bool, typer.Option("--continue", "-c",
                           help="Continue the latest session of this workspace."),
    ] = False,
    resume: Annotated[
        str | None, typer.Option("--resume", "-r", help="Continue the session with this id "
                                 "(claude-like sessions lists them)."),
    ] = None,
    print_only: Annotated[
        bool, typer.Option("--print", "-p", help="Never prompt: calls that would ask are "
                           "refused, as without a terminal."),
    ] = False,
) -> None:
    """Run one task and print the agent's work as it happens. In a terminal, calls that
    need approval are shown (command, diff or plan) and wait for y / n / always; without
    one (or with --print) they are refused, with the flag that would allow them on stderr.
    Exit codes: 0 done, 1 error, 2 turn limit, 3 a refusal ended the run (Ctrl-C or Ctrl-D
    at an approval prompt, or a hook blocked the task), 130 interrupted."""
    from claude_like.agent import ClaudeLikeAgent

    if continue_ and resume:
        err.print("[bold red]error:[/] use --continue or --resume, not both")
        raise typer.Exit(1)
    try:
        agent = ClaudeLikeAgent(
            model=model, workspace=workspace, sandbox=sandbox, max_turns=max_turns,
            context_window=context_window,
            permission_mode=permission_mode.value if permission_mode else None,
            allowed_tools=split_tool_rules(allowed_tools),
            disallowed_tools=split_tool_rules(disallowed_tools),
            resume=resume, continue_conversation=continue_,
        )
    except Exception as exc:  # setup problems deserve a readable message, not a traceback
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        err.print(f"[bold red]error:[/] {safe(str(message))}", soft_wrap=True)
        raise typer.Exit(1) from exc
    renderer = EventRenderer()
    approve: Approver = (TerminalApprover() if sys.stdin.isatty() and not print_only
                         else deny_without_terminal)
    for warning in agent.hooks.warnings:
        err.print(f"[yellow]warning:[/] {safe(warning)}", soft_wrap=True)
    with agent:
        if continue_ and agent.store is not None and agent.store.get(agent.thread_id) is None:
            err.print("[dim]no earlier session in this workspace: starting a new one[/]")
        try:
            result = drive(agent, task, renderer, approve)
        except KeyboardInterrupt:
            renderer.end_text()
            err.print("[yellow]interrupted[/]")
            renderer.session(agent.thread_id)
            raise typer.Exit(INTERRUPTED_EXIT) from None
        renderer.outcome(result, max_turns=max_turns)
        renderer.session(agent.thread_id)
    raise typer.Exit(EXIT_CODES.get(result.stop_reason, 1))

"""``claude-like "task"``: run one task, print the agent's work, answer its approvals."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from claude_like.cli.approvals import Approver, TerminalApprover, deny_without_terminal
from claude_like.cli.drive import EventSink, drive
from claude_like.cli.options import (
    ContextWindowOption,
    ModelOption,
    OutputFormat,
    PermissionModeChoice,
    SandboxOption,
    WorkspaceOption,
    split_tool_rules,
)
from claude_like.cli.output import CANCELLED, JsonOutput
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
    model: ModelOption = None,
    workspace: WorkspaceOption = Path("."),
    sandbox: SandboxOption = "local",
    max_turns: Annotated[int, typer.Option(help="Model calls allowed for this task.")] = 30,
    context_window: ContextWindowOption = None,
    permission_mode: Annotated[
        PermissionModeChoice | None,
        typer.Option("--permission-mode", metavar="MODE",
                     help="default: writes, edits and Bash ask; acceptEdits: edits in the "
                     "workspace run; plan: read-only until you approve a plan; "
                     "bypassPermissions: everything runs. Default: the settings' "
                     "defaultMode, else default."),
    ] = None,
    allowed_tools: Annotated[
        list[str] | None,
        typer.Option("--allowedTools", "--allowed-tools", metavar="RULES",
                     help="Rules that let calls run without asking, in Claude Code's syntax: "
                     f"Edit, Bash(git status:*), Edit(src/**). {RULES_HELP}"),
    ] = None,
    disallowed_tools: Annotated[
        list[str] | None,
        typer.Option("--disallowedTools", "--disallowed-tools", metavar="RULES",
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
    output_format: Annotated[
        OutputFormat,
        typer.Option("--output-format", metavar="FORMAT",
                     help="text: the model's text on stdout, tool lines on stderr; json: one "
                     "JSON object at the end (result, session_id, stop_reason, usage, "
                     "permission_denials, ...); stream-json: one JSON object per line per "
                     "event, the result last. With json and stream-json, stdout carries only "
                     "JSON."),
    ] = OutputFormat.text,  # type: ignore[attr-defined]
    include_partial_messages: Annotated[
        bool, typer.Option("--include-partial-messages", help="With --output-format "
                           "stream-json: also the model's text as it streams "
                           "(stream_event lines)."),
    ] = False,
) -> None:
    """Run one task and print the agent's work as it happens. In a terminal, calls that
    need approval are shown (command, diff or plan) and wait for y / n / always; without
    one (or with --print) they are refused, with the flag that would allow them on stderr.
    Exit codes: 0 done, 1 error, 2 turn limit, 3 a refusal ended the run (Ctrl-C or Ctrl-D
    at an approval prompt, or a hook blocked the task), 130 interrupted."""
    from claude_like.agent import ClaudeLikeAgent

    fmt = OutputFormat(output_format).value
    json_out = (JsonOutput(stream=fmt == "stream-json", partial=include_partial_messages)
                if fmt != "text" else None)

    def fail(message: str) -> typer.Exit:
        err.print(f"[bold red]error:[/] {safe(message)}", soft_wrap=True)
        if json_out is not None:
            json_out.finish(None, stop_reason="error", error=message)
        return typer.Exit(1)

    if continue_ and resume:
        raise fail("use --continue or --resume, not both")
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
        raise fail(str(message)) from exc
    renderer = EventRenderer()
    sink: EventSink = json_out if json_out is not None else renderer
    approve: Approver = (TerminalApprover() if sys.stdin.isatty() and not print_only
                         else deny_without_terminal)
    if json_out is not None:
        approve = json_out.approver(approve)
    for warning in agent.warnings:
        err.print(f"[yellow]warning:[/] {safe(warning)}", soft_wrap=True)
    with agent:
        if continue_ and agent.store is not None and agent.store.get(agent.thread_id) is None:
            err.print("[dim]no earlier session in this workspace: starting a new one[/]")
        if json_out is not None:
            json_out.start(agent, sandbox=sandbox)
        try:
            result = drive(agent, task, sink, approve)
        except KeyboardInterrupt:
            sink.end_text()
            err.print("[yellow]interrupted[/]")
            if json_out is not None:
                json_out.finish(None, stop_reason=CANCELLED, error="interrupted (Ctrl-C)")
            else:
                renderer.session(agent.thread_id)
            raise typer.Exit(INTERRUPTED_EXIT) from None
        if json_out is not None:
            json_out.finish(result)
        else:
            renderer.outcome(result, max_turns=max_turns)
            renderer.session(agent.thread_id)
    raise typer.Exit(EXIT_CODES.get(result.stop_reason, 1))

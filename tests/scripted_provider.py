"""A model provider for tests that run the real ``claude-like`` program: the spec
``scripted:/path/script.json`` replays the replies in that file and appends every request
it gets to ``/path/script.calls.jsonl``, so a test can see what the model was shown.

It reaches the program as a plugin, through the ``claude_like.models`` entry point of a
``.dist-info`` folder the tests write (see ``cli_harness.py``); production code has no
test hook.

Script: a JSON list of replies, each ``{"text": "...", "calls": [{"name": ..., "args":
{...}, "id": ...}]}`` (``calls`` and ``id`` optional).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from claude_like.testing import ScriptedChatModel, say, tool_call


def _plain(message: BaseMessage) -> dict[str, Any]:
    """A message as the test reads it back."""
    out: dict[str, Any] = {"type": message.type, "text": message.text}
    if isinstance(message, AIMessage) and message.tool_calls:
        out["tool_calls"] = [{"name": c["name"], "args": c["args"], "id": c["id"]}
                             for c in message.tool_calls]
    if message.type == "tool":
        out["tool_call_id"] = getattr(message, "tool_call_id", "")
    return out


class LoggingScriptedModel(ScriptedChatModel):
    """Writes each request it is sent, one JSON line per call, before replying."""

    log_path: str

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps([_plain(m) for m in messages]) + "\n")
        return super()._next(messages)


def make_scripted(model: str, **_options: Any) -> LoggingScriptedModel:
    """The ``scripted`` provider's factory: ``model`` is the script's path."""
    path = Path(model)
    replies = []
    for n, reply in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        calls = [tool_call(c["name"], c.get("args", {}), c.get("id") or f"{path.stem}_{n}_{i}")
                 for i, c in enumerate(reply.get("calls", []))]
        replies.append(say(reply.get("text", ""), *calls))
    return LoggingScriptedModel(script=replies, log_path=str(path.with_suffix(".calls.jsonl")))

"""Parent context with Task vs the same work done inline, on a multi-file job.

The job: read six modules of a project and report which one defines a function. Inline,
the parent Reads every file itself; with Task, a sub-agent does the same Reads and the
parent gets only its report. The decisions are scripted (the same calls both ways, so the
figures compare context, not a model's luck); the tokens of the parent's last request are
counted by the real llama-server's tokenizer (``/tokenize``, the bundled SmolLM2 GGUF)
and by ``count_tokens_approximately``, side by side.

    python bench/subagent_context.py [--files 6] [--lines 120]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import httpx
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately

from claude_like import ClaudeLikeAgent
from claude_like.models.llama_server import ManagedLlamaServer, bundled_gguf, find_llama_server
from claude_like.subagents import AgentDefinition
from claude_like.testing import ScriptedChatModel, say, tool_call

REPORT = "mod3.py defines target_function (line 60); the other modules do not."


def make_project(root: Path, files: int, lines: int) -> list[str]:
    names = []
    for n in range(files):
        body = [f"def helper_{n}_{i}(x):\n    return x + {i}\n" for i in range(lines // 2)]
        if n == 3:
            body[30] = "def target_function(x):\n    return x * 2\n"
        (root / f"mod{n}.py").write_text("".join(body))
        names.append(f"mod{n}.py")
    return names


def reads(names: list[str]) -> list[AIMessage]:
    return [say("", tool_call("Read", {"file_path": name})) for name in names]


def as_text(messages: list[BaseMessage]) -> str:
    parts = []
    for m in messages:
        calls = getattr(m, "tool_calls", None) or []
        parts.append(f"{m.type}: {m.content}" + (f" {json.dumps(calls)}" if calls else ""))
    return "\n".join(parts)


def parent_request(ws: Path, names: list[str], delegate: bool) -> list[BaseMessage]:
    """The messages the parent model was sent on its last turn."""
    if delegate:
        worker = ScriptedChatModel(script=[*reads(names), say(REPORT)])
        parent = ScriptedChatModel(script=[
            say("", tool_call("Task", {"description": "find target_function",
                                       "prompt": "Find which module defines target_function.",
                                       "subagent_type": "finder"})), say(REPORT)])
        agents = {"finder": AgentDefinition("Finds code.", tools=["Read"], model=worker)}
    else:
        parent, agents = ScriptedChatModel(script=[*reads(names), say(REPORT)]), None
    with ClaudeLikeAgent(parent, workspace=ws, persist=False, settings=False, agents=agents,
                         permission_mode="bypassPermissions", max_turns=len(names) + 3,
                         context_window=32768) as agent:
        result = agent.run("Which module defines target_function?")
    assert result.text == REPORT, result
    return parent.calls[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=6)
    parser.add_argument("--lines", type=int, default=120)
    args = parser.parse_args()
    binary = find_llama_server()
    if binary is None:
        raise SystemExit("no llama-server: run bash .ci/llama.sh first")
    with tempfile.TemporaryDirectory() as tmp, ManagedLlamaServer(
            bundled_gguf(), binary=binary, ctx_size=4096, alias="smollm2") as server:
        figures = {}
        for delegate in (False, True):
            ws = Path(tmp) / ("task" if delegate else "inline")
            ws.mkdir()
            names = make_project(ws, args.files, args.lines)
            text = as_text(parent_request(ws, names, delegate))
            real = len(httpx.post(f"{server.base_url}/tokenize", json={"content": text},
                                  timeout=60).json()["tokens"])
            approx = count_tokens_approximately([text])
            figures["with Task" if delegate else "inline"] = (real, approx)
    inline, task = figures["inline"], figures["with Task"]
    print(f"{args.files} files x {args.lines} lines; parent's last request, tokens "
          "(llama-server /tokenize | approximate):")
    print(f"  inline     {inline[0]:7,} | {inline[1]:7,}")
    print(f"  with Task  {task[0]:7,} | {task[1]:7,}   ratio {task[0] / inline[0]:.2f}")


if __name__ == "__main__":
    main()

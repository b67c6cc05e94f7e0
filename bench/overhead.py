"""Per-turn overhead of the agent graph, side by side with LangChain's ``create_agent``.

Both run the same script on a scripted model (no network, no real tool work): every turn
calls a no-op tool, the last one answers. What is left is the harness's own cost per turn:
state handling, routing, tool dispatch, checkpointing. Runs are interleaved and repeated;
the medians and their ratio are printed (ratios, not absolute times: machines are noisy).

    python bench/overhead.py [--turns 20] [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver
from pydantic import BaseModel

from claude_like.graph import build_graph
from claude_like.testing import ScriptedChatModel, say, tool_call


class NoArgs(BaseModel):
    path: str


class NoOp(BaseTool):
    name: str = "noop"
    description: str = "Does nothing."
    args_schema: type[BaseModel] = NoArgs
    read_only: bool = True

    def _run(self, path: str) -> str:
        return "ok"


def script(turns: int) -> list:
    return [say("", tool_call("noop", {"path": f"f{i}"})) for i in range(turns - 1)] + [say("done")]


def ours(turns: int, checkpointer: bool) -> Callable[[], None]:
    def run() -> None:
        model = ScriptedChatModel(script=script(turns))
        graph = build_graph(
            model,
            [NoOp()],
            "sys",
            max_turns=turns + 1,
            checkpointer=InMemorySaver() if checkpointer else None,
        )
        graph.invoke(
            {"messages": [HumanMessage("go")]},
            {"configurable": {"thread_id": "t"}, "recursion_limit": 4 * turns},
        )

    return run


def theirs(turns: int, checkpointer: bool) -> Callable[[], None]:
    def run() -> None:
        model = ScriptedChatModel(script=script(turns))
        agent = create_agent(
            model,
            [NoOp()],
            system_prompt="sys",
            checkpointer=InMemorySaver() if checkpointer else None,
        )
        agent.invoke(
            {"messages": [HumanMessage("go")]},
            {"configurable": {"thread_id": "t"}, "recursion_limit": 4 * turns},
        )

    return run


def measure(pairs: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in pairs}
    for fn in pairs.values():  # warm up imports and caches
        fn()
    for _ in range(repeats):
        for name, fn in pairs.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"{args.turns} turns per run, {args.repeats} runs each, interleaved\n")
    print(f"{'setup':<28}{'claude-like ms/turn':>22}{'create_agent ms/turn':>22}{'ratio':>8}")
    for checkpointer in (False, True):
        label = "with InMemorySaver" if checkpointer else "no checkpointer"
        times = measure(
            {"ours": ours(args.turns, checkpointer), "theirs": theirs(args.turns, checkpointer)},
            args.repeats,
        )
        a = statistics.median(times["ours"]) / args.turns * 1000
        b = statistics.median(times["theirs"]) / args.turns * 1000
        print(f"{label:<28}{a:>22.3f}{b:>22.3f}{a / b:>8.2f}")
    print("\nratio = claude-like / create_agent (below 1 means claude-like is lighter)")


if __name__ == "__main__":
    main()

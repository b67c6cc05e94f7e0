"""What permissions and persistent sessions cost per turn, side by side in one run.

The same scripted session (every turn one ``Bash`` call of ``true`` on the local sandbox,
then a final answer) runs through the agent in four set-ups, interleaved and repeated:

  (a) bypassPermissions, sessions in memory     (the baseline: no rule is consulted)
  (b) default mode, an allow rule per call      (the gate: rules, dangerous check)
  (c) (b) plus a PreToolUse hook                (the hook round on every call)
  (d) (b) with the SQLite session store         (every checkpoint written to disk)

Medians of milliseconds per turn and ratios to (a) are printed. A scripted model keeps the
model's time out of it; the Bash call is real, so the figures are a real turn's overhead.

    python bench/permissions_sessions.py [--turns 20] [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from claude_like import ClaudeLikeAgent
from claude_like.hooks import HookMatcher
from claude_like.testing import ScriptedChatModel, say, tool_call

SETUPS: dict[str, dict[str, Any]] = {
    "(a) bypass, memory": {"permission_mode": "bypassPermissions", "persist": False},
    "(b) default + allow rule": {"allowed_tools": ["Bash(true)"], "persist": False},
    "(c) (b) + PreToolUse hook": {"allowed_tools": ["Bash(true)"], "persist": False,
                                  "hooks": {"PreToolUse": [HookMatcher("Bash",
                                                                       [lambda *_: {}])]}},
    "(d) (b) + SQLite sessions": {"allowed_tools": ["Bash(true)"]},
}


def one_run(setup: dict[str, Any], turns: int, folder: Path) -> float:
    """Milliseconds per turn of one scripted session."""
    script = [say("", tool_call("Bash", {"command": "true"})) for _ in range(turns)]
    model = ScriptedChatModel(script=[*script, say("done")])
    with tempfile.TemporaryDirectory(dir=folder) as ws:
        agent = ClaudeLikeAgent(model, workspace=ws, max_turns=turns + 1, settings=False,
                                session_store=folder / "sessions.sqlite", **setup)
        with agent:
            t0 = time.perf_counter()
            result = agent.run("go")
            elapsed = time.perf_counter() - t0
    assert result.stop_reason == "done", (result.stop_reason, result.error)
    return elapsed * 1000 / (turns + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        times: dict[str, list[float]] = {name: [] for name in SETUPS}
        for setup in SETUPS.values():  # warm-up: imports, the first shell
            one_run(setup, 2, folder)
        for _ in range(args.repeats):
            for name, setup in SETUPS.items():
                times[name].append(one_run(setup, args.turns, folder))
    base = statistics.median(times["(a) bypass, memory"])
    print(f"{args.turns} turns x {args.repeats} runs, median ms per turn (ratio to (a)):")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:28} {median:7.2f} ms   x{median / base:4.2f}")


if __name__ == "__main__":
    main()

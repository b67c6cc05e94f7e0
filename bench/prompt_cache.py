"""Prompt-cache benchmark: a multi-turn agent task against a real llama-server.

Prints, per planner turn, the share of prompt tokens llama-server served from its KV
cache (``cache_n / (cache_n + prompt_n)`` from the response ``timings``): a byte-stable
prompt prefix keeps it high from the second turn on (target: at least 90%). Also prints
the tokens the fixed part of every request costs: system prompt plus tool schemas
(counted exactly by the server, as the model sees them; Claude Code spends about 15,000).

    python bench/prompt_cache.py                     # managed servers on the bundled GGUF
    python bench/prompt_cache.py --base-url http://127.0.0.1:8080 --mode native

With no ``--base-url`` it starts llama-server itself (constrained mode on SmolLM2's own
template; native mode on llama.cpp's tool-aware ChatML template).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage

from claude_like import ClaudeLikeAgent
from claude_like.models import count_tokens, make_chat_model, model_info
from claude_like.models.llama_build import template_path
from claude_like.models.llama_server import ManagedLlamaServer

TASKS = [
    "Read the file notes.txt and tell me the secret word.",
    "Now list the files in the workspace and say which one is the largest.",
]


def make_workspace(root: Path) -> Path:
    """A small project for the agent to look at."""
    (root / "notes.txt").write_text("The secret word is pineapple.\n")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text("def main():\n    print('hello')\n" * 20)
    (root / "README.md").write_text("# Demo\nA demo project for the prompt-cache bench.\n")
    return root


def overhead(agent: ClaudeLikeAgent) -> tuple[int, int]:
    """(tokens of system prompt + tool schemas, of the system prompt alone), server-counted."""
    base = [SystemMessage(agent.system_prompt), HumanMessage("")]
    with_tools = count_tokens(agent.model, base, agent.tools)
    without = count_tokens(agent.model, base)
    return with_tools, without


def run_mode(mode: str, base_url: str, api: str, max_turns: int, max_tokens: int
             ) -> dict[str, Any]:
    model = make_chat_model("llamacpp:bench", base_url=base_url, api=api, tool_calling=mode,
                            max_tokens=max_tokens, temperature=0)
    info = model_info(model)
    with tempfile.TemporaryDirectory(prefix="cache-bench-") as tmp:
        agent = ClaudeLikeAgent(model=model, workspace=make_workspace(Path(tmp)),
                                sandbox="local", max_turns=max_turns)
        fixed, system_only = overhead(agent)
        print(f"\n== mode={mode} api={api} server={base_url} "
              f"(tool_calling={info.tool_calling if info else '?'}, n_ctx="
              f"{info.context_window if info else '?'})")
        print(f"fixed prompt: {fixed} tokens = system prompt {system_only} + tools "
              f"{fixed - system_only} ({len(agent.tools)} tools)")
        print(f"{'run':>3} {'turn':>4} {'prompt':>7} {'cached':>7} {'new':>6} {'hit':>6} "
              f"{'out':>5} {'secs':>6}")
        rows: list[dict[str, Any]] = []
        turn_no = 0
        for run_no, task in enumerate(TASKS, 1):
            started = time.monotonic()
            result = agent.run(task)
            secs = (time.monotonic() - started) / max(1, result.turns)
            for stats in result.turn_stats:
                turn_no += 1
                cache_n, prompt_n = stats.get("cache_n", 0), stats.get("prompt_n", 0)
                hit = cache_n / (cache_n + prompt_n) if cache_n + prompt_n else 0.0
                rows.append({"turn": turn_no, "hit": hit})
                print(f"{run_no:>3} {turn_no:>4} {cache_n + prompt_n:>7} {cache_n:>7} "
                      f"{prompt_n:>6} {hit:>6.1%} {stats.get('output_tokens', 0):>5} "
                      f"{secs:>6.1f}")
            print(f"    run {run_no}: stop_reason={result.stop_reason} turns={result.turns}")
        agent.close()
    later = [r["hit"] for r in rows if r["turn"] >= 2]
    low = min(later) if later else 0.0
    mean = sum(later) / len(later) if later else 0.0
    print(f"hit ratio from turn 2 on: min {low:.1%}, mean {mean:.1%} "
          f"({'meets' if low >= 0.9 else 'misses'} the 90% target); fixed prompt {fixed} tokens "
          f"({'under' if fixed < 3000 else 'over'} the 3,000 target)")
    return {"mode": mode, "fixed": fixed, "min_hit": low, "mean_hit": mean}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="an already running llama-server (default: start one)")
    parser.add_argument("--mode", choices=["constrained", "native", "both"], default="both")
    parser.add_argument("--api", choices=["openai", "anthropic"], default="openai")
    parser.add_argument("--max-turns", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--model-path", help="GGUF to serve (default: the bundled SmolLM2)")
    args = parser.parse_args(argv)
    modes = ["constrained", "native"] if args.mode == "both" else [args.mode]
    results = []
    with ExitStack() as stack:
        for mode in modes:
            url = args.base_url
            if url is None:
                template = template_path() if mode == "native" else None
                if mode == "native" and template is None:
                    print("native: no tool-aware template cached; skipping", file=sys.stderr)
                    continue
                server = stack.enter_context(ManagedLlamaServer(
                    args.model_path, ctx_size=16384, chat_template_file=template,
                    alias="bench"))
                url = server.base_url
            results.append(run_mode(mode, url, args.api, args.max_turns, args.max_tokens))
    print("\n== summary")
    for r in results:
        print(f"{r['mode']:>11}: fixed prompt {r['fixed']} tokens; cache hit from turn 2 "
              f"min {r['min_hit']:.1%}, mean {r['mean_hit']:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

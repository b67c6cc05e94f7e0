"""Long sessions on one 4,096-token llama-server slot: context management on vs off.

A workspace of many code files (together many times the window) and a session of 30+
planner turns on one thread, on the OpenAI-compatible route and on the Anthropic route
(``/v1/messages``), each twice in the same run: with compaction (the default) and
without (``compaction=False``), which shows the turn where the server would have refused
the prompt (HTTP 400 "exceeds the available context size").

The session is a user asking for one file after another ("Read src/mod_07.py", and every
other time "Run this command and show its output: cat src/mod_08.py", whose whole output
is several times what one result may take), each request a run of ``--per-request``
planner turns (default 2) on the same thread, until ``--turns`` turns in all. Why not one
task over 34 turns: SmolLM2-135M repeats its first call verbatim (at temperature 0 and
0.7), the agent refuses it from the third time, and the context then grows by ~110 tokens
a turn -- nothing to manage. Tool calls are forced (the model is bound with
``tool_choice="required"``, constrained decoding), so every turn calls a tool and each
request ends at its turn limit: on the OpenAI route the JSON schema sent with each request
admits only a tool call; llama-server's Anthropic route forwards no schema, so there the
prompt offers only tools and ends with an assistant turn ``{"tool": "`` -- asked for, not
enforced (valid, cut-off and call-less replies are counted).

Printed per turn: prompt tokens, share of the window, tokens from the KV cache
(``timings.cache_n``), new tokens, hit ratio, output tokens, seconds, the call, and any
compaction before the turn; per run: overflow errors, turns, cache reuse over the turns
not right after a compaction, each compaction's tokens before/after; then a summary.

    python bench/long_session.py                       # both routes, 34 turns, 40 files
    python bench/long_session.py --quick --routes openai
    python bench/long_session.py --base-url http://127.0.0.1:8080   # a running server

Figures come from the graph's ``custom`` and ``updates`` streams (``agent.run`` drops the
context events; the ``messages`` mode would make the model stream, and streamed Anthropic
replies carry no cache figures): replies are not streamed, exactly as under ``agent.run``.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage

from claude_like import ClaudeLikeAgent
from claude_like.context.accounting import is_context_overflow, overflow_tokens
from claude_like.events import Compacted
from claude_like.models import make_chat_model
from claude_like.models.forced_choice import force_tool_choice
from claude_like.models.llama_server import ManagedLlamaServer
from claude_like.models.tokens import CHARS_PER_TOKEN

FORCED_CHOICE = "required"
HOW_FORCED = {
    "openai": "forced: the JSON schema of every request admits only a tool call",
    "anthropic": "asked for, not enforced: /v1/messages forwards no schema; the prompt "
                 'offers only tools and ends with an assistant turn {"tool": "',
}


def make_workspace(root: Path, files: int, lines: int) -> int:
    """``files`` modules of ``lines`` lines of code-like text, each naming the next one in
    its first and last line (a trail the model can follow); returns their characters."""
    src = root / "src"
    src.mkdir(parents=True, exist_ok=True)
    total = 0
    for n in range(files):
        after = (f"Next file to read: src/mod_{n + 1:02d}.py" if n + 1 < files
                 else "This is the last file.")
        rows = [f'"""Module {n:02d}: billing rules. {after}"""\n']
        for i in range(1, lines - 1):
            if i % 12 == 1:
                rows.append(f"def rule_{n:02d}_{i:03d}(amount, rate={n + i % 7}):\n")
            else:
                rows.append(f"    amount = amount * {i % 9 + 1} + rate_{(n * i) % 31}"
                            f"  # step {i} of rule {n:02d}\n")
        rows.append(f"# {after}\n")
        text = "".join(rows)
        (src / f"mod_{n:02d}.py").write_text(text)
        total += len(text)
    return total


def request(n: int, files: int) -> str:
    """The user's ``n``-th request of the session: read a file, or (every other request)
    show a command's whole output, which is far larger than a tool result may be."""
    path = f"src/mod_{n % files:02d}.py"
    return f"Read {path}" if n % 2 == 0 else f"Run this command and show its output: cat {path}"


SAVED = re.compile(r"is saved in (\S+?)\. To see")


def produced_chars(output: str, workspace: Path) -> int:
    """What the tool really produced: a result cut to its budget was saved whole to a file
    (named in its note), which exists until the agent closes."""
    match = SAVED.search(output)
    saved = workspace / match.group(1) if match else None
    return saved.stat().st_size if saved is not None and saved.is_file() else len(output)


@dataclass
class Turn:
    """One planner turn as measured."""

    turn: int
    prompt: int = 0
    cache_n: int | None = None
    prompt_n: int | None = None
    output: int = 0
    secs: float = 0.0
    call: str = ""
    compactions: list[Compacted] = field(default_factory=list)
    error: str = ""
    estimated: int = 0
    """The context manager's estimate of the prompt before sending it."""
    previous: int = 0
    """The previous turn's prompt tokens (what a perfect cache could serve at most)."""

    @property
    def kept(self) -> float | None:
        """Share of the previous prompt served from the cache."""
        if self.cache_n is None or not self.previous:
            return None
        return min(self.cache_n, self.previous) / self.previous

    @property
    def hit(self) -> float | None:
        if self.cache_n is None or self.prompt_n is None or not self.cache_n + self.prompt_n:
            return None
        return self.cache_n / (self.cache_n + self.prompt_n)


def _ratio(turns: list[Turn]) -> float | None:
    cached = sum(t.cache_n or 0 for t in turns)
    total = cached + sum(t.prompt_n or 0 for t in turns)
    return cached / total if total else None


@dataclass
class Run:
    """One session's outcome."""

    route: str
    compaction: bool
    max_turns: int
    turns: list[Turn] = field(default_factory=list)
    stop_reason: str = ""
    error: str = ""
    tool_chars: int = 0
    """Characters of tool output the model was sent (results cut to their budget)."""
    produced: int = 0
    """Characters the tools produced (saved results counted whole)."""
    replies: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REPLY_KINDS, 0))
    requests: list[str] = field(default_factory=list)
    """How each request ended (``max_turns``, ``done`` or ``error``)."""
    wall: float = 0.0

    @property
    def done(self) -> int:
        return len([t for t in self.turns if not t.error])

    @property
    def overflow_turn(self) -> int | None:
        return next((t.turn for t in self.turns if t.error.startswith("HTTP 400")), None)

    @property
    def overflows(self) -> int:
        """400s: the one that ended the run, plus those recovered by an overflow compaction."""
        return (self.overflow_turn is not None) + sum(
            1 for _, c in self.compactions if c.reason == "overflow")

    @property
    def compactions(self) -> list[tuple[int, Compacted]]:
        return [(t.turn, c) for t in self.turns for c in t.compactions]

    def reuse(self) -> tuple[float | None, float | None, int, float | None]:
        """(cache reuse over turns 2+ not right after a compaction, the lowest such turn,
        how many turns that is, reuse over all turns 2+)."""
        later = [t for t in self.turns[1:] if t.hit is not None]
        steady = [t for t in later if not t.compactions]
        low = min((t.hit for t in steady if t.hit is not None), default=None)
        return _ratio(steady), low, len(steady), _ratio(later)

    def kept(self) -> float | None:
        """Share of the previous prompts served from the cache, turns 2+ without compaction."""
        steady = [t for t in self.turns[1:] if t.kept is not None and not t.compactions]
        total = sum(t.previous for t in steady)
        return sum(min(t.cache_n or 0, t.previous) for t in steady) / total if total else None


REPLY_KINDS = ("call", "cut off", "no call")
HEADER = (f"{'turn':>4} {'prompt':>6} {'est':>5} {'share':>5} {'cached':>6} {'new':>5} "
          f"{'hit':>6} {'kept':>6} {'out':>4} {'secs':>5}  {'reply':<30} "
          "compaction before this turn")


def _brief_call(reply: AIMessage) -> tuple[str, str]:
    """(kind of reply, what it called) for the table."""
    if reply.tool_calls:
        call = reply.tool_calls[0]
        args = call["args"]
        what = next((f"{call['name']} {args[k]}" for k in ("file_path", "path", "pattern",
                     "command") if isinstance(args.get(k), str)), call["name"])
        return "call", what[:30]
    if reply.invalid_tool_calls:
        return "cut off", f"(cut off) {reply.invalid_tool_calls[0].get('name') or ''}"[:30]
    return "no call", "(no call) " + reply.text[:20].replace("\n", " ")


def _row(t: Turn, ctx: int) -> str:
    share = f"{t.prompt / ctx:.0%}" if t.prompt else "-"
    hit = f"{t.hit:.1%}" if t.hit is not None else "-"
    kept = f"{t.kept:.1%}" if t.kept is not None else "-"
    comp = "; ".join(f"{c.reason} {'+'.join(c.stages)} {c.tokens_before}->{c.tokens_after}"
                     for c in t.compactions)
    cached = "-" if t.cache_n is None else str(t.cache_n)
    new = "-" if t.prompt_n is None else str(t.prompt_n)
    return (f"{t.turn:>4} {t.prompt:>6} {t.estimated or '-':>5} {share:>5} {cached:>6} "
            f"{new:>5} {hit:>6} {kept:>6} {t.output:>4} {t.secs:>5.1f}  "
            f"{t.error or t.call:<30} {comp}").rstrip()


def run_session(route: str, base_url: str, *, compaction: bool, turns: int, ctx: int,
                files: int, lines: int, per_request: int) -> Run:
    """One session of ``turns`` planner turns (requests of ``per_request`` turns each) on
    one thread in a fresh workspace; prints a row per turn as it comes."""
    model = make_chat_model("llamacpp:bench", base_url=base_url, api=route,
                            tool_calling="constrained", temperature=0)
    run = Run(route=route, compaction=compaction, max_turns=turns)
    print(f"\n== route={route} compaction={'on' if compaction else 'off'} window={ctx} "
          f"turns={turns} ({per_request} per request)\n"
          f"   tool calls {HOW_FORCED[route]} (tool_choice={FORCED_CHOICE})")
    print(HEADER, flush=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="long-session-") as tmp:
        make_workspace(Path(tmp), files, lines)
        forced = force_tool_choice(model, FORCED_CHOICE)
        with ClaudeLikeAgent(forced, workspace=tmp, max_turns=per_request,
                             compaction=compaction, context_window=ctx) as agent:
            config = {"configurable": {"thread_id": agent.thread_id},
                      "recursion_limit": 2 * per_request + 10}
            while len(run.turns) < turns and run.stop_reason != "error":
                ask = request(len(run.requests), files)
                start = {"messages": [HumanMessage(ask)], "turns": 0, "stop_reason": "",
                         "error": ""}
                pending: list[Compacted] = []
                last, offset = time.monotonic(), len(run.turns)
                # "updates" and "custom" only: no "messages" mode, so no reply is streamed.
                for mode, chunk in agent.graph.stream(start, config,
                                                      stream_mode=["custom", "updates"]):
                    if not isinstance(chunk, dict):
                        continue
                    if mode == "custom" and chunk.get("type") == "compaction":
                        pending.append(Compacted(**{k: v for k, v in chunk.items()
                                                    if k != "type"}))
                    elif mode == "custom" and chunk.get("type") == "tool_end":
                        run.tool_chars += len(chunk["output"])
                        run.produced += produced_chars(chunk["output"], Path(tmp))
                    elif mode == "updates" and isinstance(chunk.get("planner"), dict):
                        now = time.monotonic()
                        row = _planner_row(run, chunk["planner"], pending, now - last, offset)
                        pending, last = [], now
                        print(_row(row, ctx), flush=True)
                values = agent.graph.get_state(config).values
                run.stop_reason = values.get("stop_reason") or "done"
                run.error = values.get("error", "")
                run.requests.append(run.stop_reason)
    run.wall = time.monotonic() - started
    return run


def _planner_row(run: Run, update: dict[str, Any], pending: list[Compacted],
                 secs: float, offset: int) -> Turn:
    """The turn a planner update reports (a reply with its figures, or a failed call);
    ``offset``: turns of the session before this request."""
    row = Turn(turn=offset + int(update.get("turns", 1)), compactions=pending, secs=secs,
               previous=run.turns[-1].prompt if run.turns else 0)
    replies = [m for m in update.get("messages", []) if isinstance(m, AIMessage)]
    if replies:
        stats = (update.get("turn_stats") or [{}])[0]
        row.prompt = stats.get("input_tokens") or stats.get("estimated_tokens", 0)
        row.cache_n, row.prompt_n = stats.get("cache_n"), stats.get("prompt_n")
        row.output = stats.get("output_tokens", 0)
        row.estimated = stats.get("estimated_tokens", 0)
        kind, row.call = _brief_call(replies[0])
        run.replies[kind] += 1
    else:
        exc = RuntimeError(update.get("error", ""))
        row.prompt = overflow_tokens(exc) or 0
        row.error = ("HTTP 400 context exceeded" if is_context_overflow(exc)
                     else str(exc)[:60])
    run.turns.append(row)
    return row


def print_totals(run: Run, ctx: int, files_chars: int) -> None:
    """The run's totals, under its table."""
    reuse, low, n, overall = run.reuse()
    ends = ", ".join(f"{run.requests.count(k)} {k}" for k in sorted(set(run.requests)))
    print(f"   turns completed={run.done} (target {run.max_turns}) in {len(run.requests)} "
          "requests "
          f"(ended: {ends}) overflow errors={run.overflows} wall={run.wall:.0f}s")
    if run.error:
        print(f"   error: {run.error[:150]}")
    print("   replies: " + ", ".join(f"{v} {k}" for k, v in run.replies.items()))
    pct = "-" if reuse is None or low is None else f"{reuse:.1%} (lowest turn {low:.1%})"
    every = "-" if overall is None else f"{overall:.1%}"
    kept = run.kept()
    print(f"   cache reuse over the {n} turns from turn 2 not right after a compaction: {pct};"
          f" over all turns from turn 2: {every}; previous prompt kept in the cache on those "
          f"{n} turns: {'-' if kept is None else f'{kept:.1%}'}")
    tool_tokens = run.tool_chars / CHARS_PER_TOKEN
    produced = run.produced / CHARS_PER_TOKEN
    workspace = files_chars / CHARS_PER_TOKEN
    print(f"   tool output produced ~{produced:,.0f} tokens = {produced / ctx:.1f}x the window, "
          f"sent to the model ~{tool_tokens:,.0f} tokens = {tool_tokens / ctx:.1f}x (the rest "
          f"saved to files); workspace ~{workspace:,.0f} tokens = {workspace / ctx:.1f}x; "
          f"tokens ~ characters / {CHARS_PER_TOKEN}")
    print(f"   compactions: {len(run.compactions)} (estimated tokens before -> after; "
          "the server's count of the request that followed)")
    for t in run.turns:
        for c in t.compactions:
            print(f"     before turn {t.turn:>2}: {c.reason} {'+'.join(c.stages)} "
                  f"{c.tokens_before} -> {c.tokens_after} (server {t.prompt or '-'}); "
                  f"cleared {c.cleared}, summarized {c.summarized}, dropped {c.dropped}")


def print_summary(runs: list[Run], ctx: int) -> None:
    print(f"\n== summary: one {ctx}-token slot, tool calls forced (tool_choice={FORCED_CHOICE})"
          "\n   reuse = cache_n / (cache_n + prompt_n) over turns 2+ not right after a "
          "compaction (over all turns 2+); kept = share of the previous prompt served from "
          "the cache on those turns")
    print(f"{'route':<10} {'context':<7} {'turns':>6} {'stop':<9} {'first 400':>9} "
          f"{'400s':>4} {'compactions':>11} {'reuse':>14} {'kept':>6} {'peak':>5} {'calls':>5} "
          f"{'cut':>4} {'produced':>8} {'wall':>6}")
    for run in runs:
        reuse, _, _, overall = run.reuse()
        first = f"turn {run.overflow_turn}" if run.overflow_turn else "-"
        peak = max((t.prompt for t in run.turns if not t.error), default=0)
        kept = run.kept()
        both = "-" if reuse is None else f"{reuse:.1%}" + (
            "" if overall is None else f" ({overall:.1%})")
        print(f"{run.route:<10} {'on' if run.compaction else 'off':<7} "
              f"{f'{run.done}/{run.max_turns}':>6} {run.stop_reason:<9} {first:>9} "
              f"{run.overflows:>4} {len(run.compactions):>11} {both:>14} "
              f"{'-' if kept is None else f'{kept:.1%}':>6} {peak:>5} "
              f"{run.replies['call']:>5} {run.replies['cut off']:>4} "
              f"{run.produced / CHARS_PER_TOKEN / ctx:>7.1f}x {run.wall:>5.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=34, help="planner turns per session")
    parser.add_argument("--per-request", type=int, default=2,
                        help="max_turns of each user request (all turns call a tool)")
    parser.add_argument("--routes", default="openai,anthropic",
                        help="comma-separated: openai, anthropic")
    parser.add_argument("--ctx", type=int, default=4096, help="the slot's context size")
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--lines", type=int, default=200, help="lines per file")
    parser.add_argument("--quick", action="store_true", help="10 turns instead of --turns")
    parser.add_argument("--only", choices=["on", "off"], help="only one configuration")
    parser.add_argument("--base-url", help="a running llama-server (its slot must be --ctx)")
    parser.add_argument("--model-path", help="GGUF to serve (default: the bundled SmolLM2)")
    parser.add_argument("--threads", type=int, help="llama-server -t (default: its own)")
    args = parser.parse_args(argv)
    routes = [r.strip() for r in args.routes.split(",") if r.strip()]
    unknown = set(routes) - set(HOW_FORCED)
    if unknown:
        parser.error(f"unknown route(s): {', '.join(sorted(unknown))}")
    turns = 10 if args.quick else args.turns
    configs = [c for c in (True, False) if args.only is None or c == (args.only == "on")]
    with tempfile.TemporaryDirectory() as probe:
        files_chars = make_workspace(Path(probe), args.files, args.lines)
    runs: list[Run] = []
    with ExitStack() as stack:
        url = args.base_url
        if url is None:
            extra = ["-t", str(args.threads)] if args.threads else []
            server = stack.enter_context(ManagedLlamaServer(
                args.model_path, ctx_size=args.ctx, alias="bench", extra_args=extra))
            url = server.base_url
            print(f"llama-server {url}: one slot of {args.ctx} tokens, "
                  f"{server.model_path.name}, its own chat template")
        for route in routes:
            for compaction in configs:
                run = run_session(route, url, compaction=compaction, turns=turns,
                                  ctx=args.ctx, files=args.files, lines=args.lines,
                                  per_request=args.per_request)
                print_totals(run, args.ctx, files_chars)
                runs.append(run)
    print_summary(runs, args.ctx)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

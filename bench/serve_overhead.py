"""What serving costs: one query through ``claude-like serve`` (HTTP, SSE, the session
registry) against the same agent called in-process (``agent.astream``), same run.

A scripted model answers with text (or one Read call, ``--tool``), so the time left is
the harness's. Both sides use one session each and the same session store kind; the
queries are interleaved and repeated, and the medians and their ratio are printed.

    python bench/serve_overhead.py [--repeats 40] [--tool]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from serve_helpers import Server

from claude_like import ClaudeLikeAgent
from claude_like.serve import create_app
from claude_like.testing import ScriptedChatModel, say, tool_call


def script(tool: bool) -> list:
    turn = [say("Reading.", tool_call("Read", {"file_path": "a.txt"}))] if tool else []
    return [*turn, say("A short answer of a few words.")]


def model(tool: bool) -> ScriptedChatModel:
    # the script repeats: every query gets the same replies
    return ScriptedChatModel(script=script(tool) * 10_000)


def http_query(http: httpx.Client, session_id: str | None) -> str:
    body: dict = {"prompt": "hello"}
    if session_id:
        body["session_id"] = session_id
    with http.stream("POST", "/query", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and '"final"' in line:
                data = json.loads(line[6:])
                assert data["stop_reason"] == "done", data
                return data["session_id"]
    raise RuntimeError("no final event")


async def direct_query(agent: ClaudeLikeAgent) -> None:
    async for _event in agent.astream("hello"):
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--tool", action="store_true", help="each query makes one Read call")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["CLAUDE_LIKE_DATA_DIR"] = str(root / "data")
        options = {"permission_mode": "bypassPermissions"}
        server = Server(create_app(model=lambda: model(args.tool), workspace_root=root / "srv",
                                   sandbox="local", agent_options=options)).start()
        (root / "direct").mkdir()
        (root / "direct" / "a.txt").write_text("a\n")
        agent = ClaudeLikeAgent(model(args.tool), workspace=root / "direct", **options)
        loop = asyncio.new_event_loop()
        served: list[float] = []
        direct: list[float] = []
        try:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                session = http_query(http, None)  # warm both up
                (root / "srv" / session / "a.txt").write_text("a\n")
                loop.run_until_complete(direct_query(agent))
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    http_query(http, session)
                    served.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    loop.run_until_complete(direct_query(agent))
                    direct.append(time.perf_counter() - start)
        finally:
            agent.close()
            loop.close()
            server.stop()
    s, d = statistics.median(served), statistics.median(direct)
    kind = "one Read call + answer" if args.tool else "text answer"
    print(f"query ({kind}), median of {args.repeats}: served {s * 1000:.1f} ms, "
          f"in-process {d * 1000:.1f} ms, ratio {s / d:.2f}, overhead {(s - d) * 1000:.1f} ms")


if __name__ == "__main__":
    main()

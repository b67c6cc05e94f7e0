"""What the gateway adds per request, against calling the same backend model directly.

The gateway runs as its own process (uvicorn, as ``claude-like gateway`` runs it); this
process sends it a Claude-Code-shaped request (``--bare``'s shape: 3 tools, a short system
prompt) over HTTP, and, interleaved with it, makes the same call on a backend model of its
own, in LangChain terms (the converted messages, the tools bound, the same generation cap).
The difference is the gateway's work (HTTP, parsing, conversion, the window fit, reply
repair, SSE) plus the loopback round trip. Medians of interleaved runs and their ratio.

    python bench/gateway_overhead.py [--repeats 200]           # scripted backend
    python bench/gateway_overhead.py --llama [--repeats 20]    # also the real llama-server

With ``--llama`` the bundled SmolLM2 runs in a ManagedLlamaServer (one slot, 8,192 tokens,
its own template: constrained tool calling); both paths ask it for at most 32 tokens.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx

from claude_like.gateway.backend import with_cap
from claude_like.gateway.convert import to_conversation
from claude_like.gateway.schema import MessagesRequest
from claude_like.models.llama_server import free_port

SERVER = """
import sys, uvicorn
from claude_like.gateway import create_app
from claude_like.testing import ScriptedChatModel, say, tool_call
spec, port = sys.argv[1], int(sys.argv[2])
if spec == "scripted":
    reply = say("Reading it.", tool_call("Read", {"file_path": "/w/a.py"}))
    model = ScriptedChatModel(script=[reply], repeat_last=True)
else:
    from claude_like.models import make_chat_model
    model = make_chat_model(spec)
uvicorn.run(create_app(model), host="127.0.0.1", port=port, log_level="warning")
"""


def schema(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


BODY: dict[str, Any] = {
    "model": "claude-opus-5-5",
    "max_tokens": 32,
    "system": [{"type": "text", "text": "You are a coding agent."},
               {"type": "text", "text": "CWD: /w\nDate: 2026-12-03"}],
    "tools": [
        {"name": "Bash", "description": "Run a shell command.",
         "input_schema": schema({"command": {"type": "string"}}, ["command"])},
        {"name": "Edit", "description": "Replace text in a file.",
         "input_schema": schema({"file_path": {"type": "string"}, "old_string": {"type": "string"},
                                 "new_string": {"type": "string"}},
                                ["file_path", "old_string", "new_string"])},
        {"name": "Read", "description": "Read a file.",
         "input_schema": schema({"file_path": {"type": "string"}}, ["file_path"])},
    ],
    "messages": [{"role": "user", "content": "Read /w/a.py and tell me what it does."}],
}


def direct_call(model: Any, stream: bool) -> Callable[[], None]:
    conv = to_conversation(MessagesRequest.model_validate(BODY))
    runnable = with_cap(model, BODY["max_tokens"]).bind_tools(conv.tools)

    def run() -> None:
        if stream:
            for _ in runnable.stream(conv.prompt):
                pass
        else:
            runnable.invoke(conv.prompt)

    return run


def gateway_call(client: httpx.Client, stream: bool) -> Callable[[], None]:
    body = {**BODY, "stream": stream}

    def run() -> None:
        response = client.post("/v1/messages", json=body)
        response.read()
        assert response.status_code == 200, response.text

    return run


def start_gateway(spec: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, spec, str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the gateway did not start")
        time.sleep(0.2)


def measure(direct: Callable[[], None], gateway: Callable[[], None], repeats: int
            ) -> tuple[float, float]:
    for fn in (direct, gateway, direct, gateway):  # warm up
        fn()
    times: dict[str, list[float]] = {"direct": [], "gateway": []}
    for i in range(repeats):
        pair = [("direct", direct), ("gateway", gateway)]
        for name, fn in pair if i % 2 == 0 else pair[::-1]:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["direct"]) * 1000, statistics.median(times["gateway"]) * 1000


def compare(label: str, model: Any, spec: str, repeats: int) -> None:
    proc, url = start_gateway(spec)
    try:
        with httpx.Client(base_url=url, timeout=600) as client:
            for stream in (False, True):
                d, g = measure(direct_call(model, stream), gateway_call(client, stream), repeats)
                mode = "stream" if stream else "whole"
                print(f"{label:<24}{mode:<8}{d:>12.2f}{g:>13.2f}{g - d:>14.2f}{g / d:>8.2f}")
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--llama", action="store_true", help="also the real llama-server")
    parser.add_argument("--llama-repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"{'backend':<24}{'reply':<8}{'direct ms':>12}{'gateway ms':>13}{'overhead ms':>14}"
          f"{'ratio':>8}")
    from claude_like.testing import ScriptedChatModel, say, tool_call

    scripted = ScriptedChatModel(script=[say("Reading it.", tool_call(
        "Read", {"file_path": "/w/a.py"}))], repeat_last=True)
    compare("scripted", scripted, "scripted", args.repeats)
    if args.llama:
        from claude_like.models import make_chat_model
        from claude_like.models.llama_server import ManagedLlamaServer

        with ManagedLlamaServer(ctx_size=8192, alias="smollm2") as server:
            spec = f"llamacpp:smollm2?base_url={server.base_url}&tool_calling=constrained"
            compare("llama-server (SmolLM2)", make_chat_model(spec), spec, args.llama_repeats)
    print("\noverhead = gateway - direct (medians, interleaved runs); ratio = gateway / direct")


if __name__ == "__main__":
    main()

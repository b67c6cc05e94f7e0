"""The real ``claude-like serve`` program: registered as a command, it reads its token from
the environment, serves a query on a spec-built model, and stops cleanly on Ctrl-C with
no session sandbox left behind, also while a turn is still running (closing sessions on
shutdown is tested in-process in test_serve_api.py, where the process goes on)."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
from cli_harness import CliEnv, call, program, reply
from serve_helpers import TOKEN, final, read_events

HEADERS = {"Authorization": f"Bearer {TOKEN}"}
LONG_SLEEP = "sleep 337.25"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_program(tmp_path: Path, spec: str, env: CliEnv) -> Iterator[tuple[str, Path]]:
    """``claude-like serve`` running (bypassPermissions, local sandbox): its URL and
    workspace root. It is stopped with Ctrl-C and must exit 0."""
    port = free_port()
    root = tmp_path / "sessions"
    proc = subprocess.Popen(
        [program(), "serve", "--model", spec, "--port", str(port), "--sandbox", "local",
         "--workspace-root", str(root), "--permission-mode", "bypassPermissions"],
        env={**env.env, "CLAUDE_LIKE_SERVE_TOKEN": TOKEN}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[0]
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield url, root
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
            raise AssertionError(f"the server did not stop on Ctrl-C:\n{out}") from None
    assert proc.returncode == 0, out
    assert "claude-like serve: http://127.0.0.1" in out


def test_serve_program_answers_and_leaves_no_sandbox(tmp_path: Path) -> None:
    env = CliEnv.create(tmp_path)
    spec = env.script(reply("Looking.", call("Bash", command="echo home=$HOME")),
                      reply("Done."))
    with serve_program(tmp_path, spec, env) as (url, root):
        assert httpx.get(f"{url}/capabilities").status_code == 401
        caps = httpx.get(f"{url}/capabilities", headers=HEADERS).json()
        assert caps["model"] == spec and caps["sandbox"] == "local"
        assert caps["default_permission_mode"] == "bypassPermissions"
        with httpx.stream("POST", f"{url}/query", headers=HEADERS, timeout=60,
                          json={"prompt": "where is home?"}) as response:
            events = list(read_events(response))
        assert final(events)["text"] == "Done."
        output = next(e for e in events if e["type"] == "tool_finished")["output"]
        home = Path(output.split("home=")[1].split()[0])
        assert home.is_dir()  # the session's sandbox keeps a private home
        assert (root / events[0]["session_id"]).is_dir()
    assert not home.exists()


def sleeping() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == LONG_SLEEP.split()]


def test_ctrl_c_during_a_running_turn_stops_it(tmp_path: Path) -> None:
    env = CliEnv.create(tmp_path)
    spec = env.script(reply("Sleeping.", call("Bash", command=LONG_SLEEP)), reply("Woke."))
    started = threading.Event()
    events: list[dict] = []

    def stream(url: str) -> None:
        try:
            with httpx.stream("POST", f"{url}/query", headers=HEADERS, timeout=120,
                              json={"prompt": "sleep"}) as response:
                for event in read_events(response):
                    events.append(event)
                    if event["type"] == "tool_started":
                        started.set()
        except httpx.TransportError:
            pass  # the server went away mid-stream

    with serve_program(tmp_path, spec, env) as (url, _root):
        client = threading.Thread(target=stream, args=(url,), daemon=True)
        client.start()
        assert started.wait(60)
        deadline = time.monotonic() + 30
        while not sleeping():
            assert time.monotonic() < deadline, "the command did not start"
            time.sleep(0.05)
    # the program exited (well before the command would have ended) and killed it
    assert sleeping() == []
    assert "Woke." not in str(events)

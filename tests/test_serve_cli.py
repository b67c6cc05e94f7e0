"""The real ``claude-like serve`` program: registered as a command, it reads its token from
the environment, serves a query on a spec-built model, and stops cleanly on Ctrl-C with
no session sandbox left behind (closing them on shutdown is tested in-process in
test_serve_api.py, where the process goes on)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from cli_harness import CliEnv, call, program, reply
from serve_helpers import TOKEN, final, read_events


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_program_answers_and_closes_sessions_on_shutdown(tmp_path: Path) -> None:
    env = CliEnv.create(tmp_path)
    spec = env.script(reply("Looking.", call("Bash", command="echo home=$HOME")),
                      reply("Done."))
    port = free_port()
    root = tmp_path / "sessions"
    proc = subprocess.Popen(
        [program(), "serve", "--model", spec, "--port", str(port), "--sandbox", "local",
         "--workspace-root", str(root), "--permission-mode", "bypassPermissions"],
        env={**env.env, "CLAUDE_LIKE_SERVE_TOKEN": TOKEN}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
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
        assert httpx.get(f"{url}/capabilities").status_code == 401
        headers = {"Authorization": f"Bearer {TOKEN}"}
        caps = httpx.get(f"{url}/capabilities", headers=headers).json()
        assert caps["model"] == spec and caps["sandbox"] == "local"
        assert caps["default_permission_mode"] == "bypassPermissions"
        with httpx.stream("POST", f"{url}/query", headers=headers, timeout=60,
                          json={"prompt": "where is home?"}) as response:
            events = list(read_events(response))
        assert final(events)["text"] == "Done."
        output = next(e for e in events if e["type"] == "tool_finished")["output"]
        home = Path(output.split("home=")[1].split()[0])
        assert home.is_dir()  # the session's sandbox keeps a private home
        assert (root / events[0]["session_id"]).is_dir()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "claude-like serve: http://127.0.0.1" in out
    assert not home.exists()  # shutdown closed the session and its sandbox

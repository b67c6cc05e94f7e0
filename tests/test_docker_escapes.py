"""Adversarial suite: what a careless or hostile model tries, through the agent's own tools.

Every test runs the tools (tests/conftest.py: ``call``/``ok``/``err``) on a DockerSandbox.
Each attempt must be contained, and the sandbox must still work afterwards.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage

from claude_like.sandbox import DockerSandbox
from claude_like.sandbox.shell import SHELL_OUTPUT_LIMIT

pytest_plugins = ["docker_helpers"]
pytestmark = pytest.mark.docker

SECRET = "TOPSECRET-4f1c"

Ok = Callable[..., str]
Err = Callable[..., str]
Call = Callable[..., ToolMessage]


@pytest.fixture
def sandbox(docker_sandbox: DockerSandbox) -> DockerSandbox:
    """The conftest's tool fixtures (ctx, tools, call, ok, err) on the Docker sandbox."""
    return docker_sandbox


@pytest.fixture
def secret(tmp_path: Path, workspace: Path) -> Path:
    """A host file beside the workspace that nothing in the sandbox may read or change."""
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / "secret.txt"
    path.write_text(f"{SECRET}\n")
    return path


def still_works(ok: Ok) -> None:
    """The shell answers and the file tools work after the attack."""
    assert "alive" in ok("Bash", command="echo alive")
    ok("Write", file_path="after.txt", content="fine\n")
    assert "fine" in ok("Read", file_path="after.txt")


# -- files ------------------------------------------------------------------------------------


def test_dotdot_is_refused(ok: Ok, err: Err, secret: Path) -> None:
    err("Read", file_path="../outside/secret.txt")
    err("Read", file_path="sub/../../outside/secret.txt")
    err("Write", file_path="../outside/new.txt", content="x")
    err("Edit", file_path="../outside/secret.txt", old_string=SECRET, new_string="owned")
    err("LS", path="..")
    err("Glob", pattern="*", path="..")
    err("Grep", pattern=SECRET, path="..")
    assert not (secret.parent / "new.txt").exists()
    assert secret.read_text() == f"{SECRET}\n"
    still_works(ok)


def test_absolute_paths_outside_are_refused(ok: Ok, err: Err, secret: Path) -> None:
    err("Read", file_path=str(secret))
    err("Read", file_path="/etc/passwd")
    err("Write", file_path="/tmp/planted.txt", content="x")
    err("Write", file_path=str(secret), content="owned")
    err("LS", path="/")
    err("Glob", pattern="*", path="/etc")
    err("Grep", pattern="root", path="/etc")
    assert secret.read_text() == f"{SECRET}\n"
    still_works(ok)


def test_symlinks_made_inside_that_point_out_are_refused(
    ok: Ok, err: Err, call: Call, secret: Path
) -> None:
    ok(
        "Bash",
        command=(
            f"ln -s {secret} to_host && ln -s /etc/passwd to_etc && ln -s / to_root "
            "&& ln -s .. up && mkdir -p d && ln -s ../../outside d/out"
        ),
    )
    for path in ("to_host", "to_etc", "to_root/etc/hostname", "up/outside/secret.txt",
                 "d/out/secret.txt"):
        err("Read", file_path=path)
    err("Write", file_path="to_host", content="owned")
    err("Edit", file_path="to_host", old_string=SECRET, new_string="owned")
    err("Write", file_path="to_root/tmp/planted", content="x")
    err("LS", path="to_root")
    assert secret.read_text() == f"{SECRET}\n"
    # Searches stay inside: the secret is not found through any link.
    found = str(call("Grep", pattern=SECRET, output_mode="content").content)
    assert "to_host" not in found and "secret.txt" not in found and f":{SECRET}" not in found
    listed = call("Glob", pattern="**/*")
    assert "secret.txt" not in str(listed.content)
    # Inside the container the host's paths do not exist at all.
    shown = ok("Bash", command=f"cat to_host {secret} 2>&1; ls {secret.parent} 2>&1; true")
    assert SECRET not in shown
    still_works(ok)


def test_host_files_are_not_visible_in_the_container(ok: Ok, secret: Path) -> None:
    out = ok("Bash", command=f"grep -rs {SECRET} / --exclude-dir=proc --exclude-dir=sys; true")
    assert SECRET not in out.replace(f"grep -rs {SECRET}", "")
    mounts = ok("Bash", command="cat /proc/self/mounts")
    assert str(secret.parent) not in mounts


# -- network and environment -----------------------------------------------------------------


@pytest.fixture
def host_server() -> Iterator[int]:
    """A TCP server on the host's loopback that answers anyone who connects."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            conn.sendall(b"HOST-REACHED\n")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    srv.close()


def test_network_is_unreachable(ok: Ok, host_server: int) -> None:
    probe = (
        "python3 - <<'EOF'\n"
        "import socket\n"
        "try:\n"
        f"    s = socket.create_connection(('127.0.0.1', {host_server}), timeout=3)\n"
        "    print(s.recv(100).decode())\n"
        "except OSError as e:\n"
        "    print('blocked:', e)\n"
        "EOF"
    )
    out = ok("Bash", command=probe)
    assert "HOST-REACHED" not in out and "blocked" in out
    assert ok("Bash", command="ls /sys/class/net").split() == ["lo"]
    still_works(ok)


def test_host_secrets_do_not_leak_into_the_container(
    ok: Ok, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_LIKE_TEST_API_KEY", "sk-fake-9d2e")
    command = "env; tr '\\0' '\\n' < /proc/1/environ; echo \"[$CLAUDE_LIKE_TEST_API_KEY]\""
    out = ok("Bash", command=command)
    assert "[]" in out
    assert "sk-fake-9d2e" not in out
    assert "CLAUDE_LIKE_TEST_API_KEY" not in out


# -- resources --------------------------------------------------------------------------------


def test_fork_bomb_is_contained(ok: Ok, call: Call) -> None:
    # The bomb returns at once and goes on in the background, up to the pids limit,
    # until the container's init sweeps it (or a timed-out command's kill does).
    call("Bash", command=":(){ :|:& };:", timeout=5)
    counts = []
    for _ in range(60):
        msg = call("Bash", command="ps -e --no-headers | wc -l", timeout=5)
        counts.append(str(msg.content).split()[-1])
        if counts[-1].isdigit() and int(counts[-1]) < 10:
            break
        time.sleep(1)
    assert counts[-1].isdigit() and int(counts[-1]) < 10, counts
    still_works(ok)


def test_fork_bomb_in_the_foreground_times_out(ok: Ok, call: Call) -> None:
    msg = call("Bash", command="while :; do (sleep 1000 &); done", timeout=5)
    assert "timed out" in str(msg.content) or "restarted" in str(msg.content)
    still_works(ok)


def test_memory_hog_is_contained(ok: Ok, call: Call) -> None:
    hog = "python3 -c 'a = []\nwhile True: a.append(bytearray(64 << 20))'; echo exit=$?"
    msg = call("Bash", command=hog, timeout=120)
    text = str(msg.content)
    assert "exit=137" in text or "MemoryError" in text or "Killed" in text, text
    still_works(ok)


def test_endless_loops_time_out(ok: Ok, call: Call) -> None:
    ok("Bash", command="mkdir -p here && cd here && export KEPT=yes")
    for loop in ("while :; do :; done", "python3 -c 'while True: pass'"):
        msg = call("Bash", command=loop, timeout=2)
        assert "timed out" in str(msg.content)
    # The shell (restarted after the builtin loop) kept its directory and exports.
    assert ok("Bash", command='echo "$KEPT $PWD"').startswith("yes /workspace/here")
    still_works(ok)


def test_output_flood_is_capped(ok: Ok, call: Call) -> None:
    msg = call("Bash", command="yes flood", timeout=3)
    text = str(msg.content)
    assert "timed out" in text
    assert len(text) < SHELL_OUTPUT_LIMIT + 2_000  # the tool node saves it, then cuts it
    msg = call("Bash", command="head -c 50000000 /dev/zero | tr '\\0' x; echo; echo done")
    text = str(msg.content)
    assert len(text) < SHELL_OUTPUT_LIMIT + 2_000 and "done" in text and "omitted" in text
    still_works(ok)


def test_background_processes_do_not_block_the_shell(
    ok: Ok, call: Call, sandbox: DockerSandbox
) -> None:
    ok("Bash", command="sleep 1000 &")
    ok("Bash", command="nohup sh -c 'while :; do echo tick; sleep 0.2; done' > ticks.log 2>&1 &")
    ok("Bash", command="(while :; do echo noisy; sleep 0.1; done) &")
    still_works(ok)
    # A later timeout kills every process of the shell's session, background jobs included.
    killed = call("Bash", command="sleep 60", timeout=1)
    left = ok("Bash", command="ps -eo args= | grep -E '^(sleep 1000|sh -c while)' | wc -l")
    ps = ok("Bash", command="ps -eo pid,sid,args")
    assert left.split()[-1] == "0", (killed.content, left, ps)
    still_works(ok)


FLIPPER = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
os.makedirs("d", exist_ok=True)
open("d/note.txt", "w").write("inside\\n")
os.symlink(sys.argv[1], "d_link")
while True:  # atomically swap the folder d and a symlink pointing out of the workspace
    libc.renameat2(-100, b"d", -100, b"d_link", 2)  # RENAME_EXCHANGE
"""


def test_symlink_swap_race_cannot_redirect_file_tools(
    ok: Ok, call: Call, secret: Path
) -> None:
    """The container flips ``d`` between a folder and a link out while the host reads and
    writes ``d/...``: a check-then-open implementation loses this race now and then (the
    deterministic test of the mechanism is in test_docker_sandbox.py)."""
    ok("Write", file_path="flip.py", content=FLIPPER)
    ok("Bash", command=f"python3 flip.py {secret.parent} > flip.log 2>&1 &")
    before = sorted(p.name for p in secret.parent.iterdir())
    seen = []
    for i in range(1000):
        call("Write", file_path="d/secret.txt", content=f"overwritten {i}\n")
        seen.append(str(call("Read", file_path="d/secret.txt").content))
        if i % 50 == 0:
            seen.append(str(call("LS", path="d").content))
            seen.append(str(call("Grep", pattern=SECRET, output_mode="content").content))
    assert secret.read_text() == f"{SECRET}\n"
    assert sorted(p.name for p in secret.parent.iterdir()) == before
    assert not any(f":{SECRET}" in s or f"\t{SECRET}" in s for s in seen)
    ok("Bash", command="pkill -f flip.py; true")
    still_works(ok)

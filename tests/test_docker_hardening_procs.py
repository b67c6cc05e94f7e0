"""DockerSandbox processes and limits (issue 11): open files, disk, setsid/nohup/background
jobs, set-uid bits and ptrace, sessions, run_program, close."""

from __future__ import annotations

import gc
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from claude_like.sandbox import DockerSandbox
from claude_like.sandbox.docker_container import file_limits
from claude_like.sandbox.docker_inside import SYSCALLS, seccomp_program

pytest_plugins = ["docker_helpers"]

MIB = 1 << 20


def _exists(client, name: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(client.containers.list(all=True, filters={"name": f"^/{name}$"}))


def _processes(sb: DockerSandbox) -> list[str]:
    """Every process in the container but PID 1, the launchers, the shells and ps itself."""
    out = sb.run_program(["ps", "-eo", "pid=,args="], timeout=30).output
    rows = [line.split(None, 1) for line in out.splitlines() if line.strip()]
    return [
        args for pid, args in rows
        if pid != "1" and "/proc/self/fd/" not in args
        and not args.startswith(("bash --noprofile", "ps -eo"))
    ]


# -- no engine needed ---------------------------------------------------------------------


def test_open_file_limit_times_pids_stays_far_below_the_hosts_table() -> None:
    assert file_limits(256, 2_466_097) == (963, 256)
    nofile, pids = file_limits(256, 40_000)  # a small host: both go down
    assert (nofile, pids) == (64, 62) and nofile * pids <= 4_000
    assert file_limits(64, 10_000_000) == (1024, 64)


@pytest.mark.parametrize("machine", sorted(SYSCALLS))
def test_seccomp_program_is_well_formed(machine: str) -> None:
    prog = seccomp_program(machine)
    assert len(prog) % 8 == 0 and len(prog) // 8 < 256  # jumps stay in reach


def test_launcher_refuses_to_run_unfiltered_on_an_unknown_architecture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from claude_like.sandbox import docker_inside

    monkeypatch.setattr(docker_inside.platform, "machine", lambda: "riscv64")
    with pytest.raises(SystemExit, match="no seccomp table for the riscv64"):
        docker_inside.install_seccomp()


# -- open files ---------------------------------------------------------------------------


@pytest.mark.docker
def test_open_files_are_limited_inside(docker_sandbox: DockerSandbox) -> None:
    nofile, _ = file_limits(256)
    assert docker_sandbox.execute("ulimit -n").output.strip() == str(nofile)
    hog = (
        "python3 -c 'fs = [open(\"/dev/null\") for _ in range(5000)]' 2>&1 | tail -1; "
        "echo exit=${PIPESTATUS[0]}"
    )
    out = docker_sandbox.execute(hog).output
    assert "Too many open files" in out and "exit=1" in out
    assert docker_sandbox.container.attrs["HostConfig"]["Ulimits"][0]["Hard"] == nofile


# -- disk ---------------------------------------------------------------------------------


@pytest.mark.docker
def test_scratch_folders_are_size_limited(docker_client, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    with DockerSandbox(workspace, scratch_mb=8, client=docker_client) as sb:
        for folder in ("/tmp", "$HOME"):
            r = sb.execute(f"head -c 20M /dev/zero > {folder}/fill; echo exit=$?")
            assert "No space left on device" in r.output and "exit=1" in r.output, r.output


@pytest.mark.docker
def test_one_file_cannot_pass_the_file_size_limit(docker_client, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    with DockerSandbox(workspace, max_file_size=2 * MIB, client=docker_client) as sb:
        r = sb.execute("head -c 3M /dev/zero > big; echo exit=$?")
        assert "File too large" in r.output and "exit=1" in r.output, r.output
        assert (workspace / "big").stat().st_size == 2 * MIB


@pytest.mark.docker
def test_workspace_growth_over_the_limit_is_an_error_and_stops_writers(
    docker_client, workspace: Path  # type: ignore[no-untyped-def]
) -> None:
    with DockerSandbox(workspace, max_workspace_growth=4 * MIB, client=docker_client) as sb:
        assert sb.execute("nohup sh -c 'while :; do sleep 0.2; done' >/dev/null 2>&1 &").ok
        assert not sb.execute("true").note
        r = sb.execute("for i in 1 2 3; do head -c 2M /dev/urandom > f$i; done")
        assert "grew by" in r.note and "max_workspace_growth" in r.note, r
        assert "stopped" in r.note
        assert _processes(sb) == []
        with pytest.raises(Exception, match="was not written"):
            sb.write_bytes("more.bin", b"x" * MIB)
        sb.execute("rm f1 f2 f3")
        assert not sb.execute("true").note  # back under the limit


@pytest.mark.docker
@pytest.mark.parametrize(
    "start",
    [
        "sleep 1000 &",
        "nohup sleep 1000 >/dev/null 2>&1 &",
        "setsid sleep 1000 &",
        "setsid -f sh -c 'sleep 1000'",
        "(setsid sh -c 'sleep 1000 &' &)",  # a double fork: the middle one exits at once
        "sh -c 'while :; do echo tick >> ticks.log; sleep 0.1; done' >/dev/null 2>&1 &",
    ],
)
def test_a_timeout_stops_background_jobs_of_every_kind(
    docker_sandbox: DockerSandbox, start: str
) -> None:
    assert docker_sandbox.execute(start).ok
    assert _processes(docker_sandbox)  # running after its command returned
    r = docker_sandbox.execute("sleep 60", timeout=1)
    assert r.timed_out
    assert _processes(docker_sandbox) == []
    assert docker_sandbox.execute("echo alive").output == "alive\n"


@pytest.mark.docker
def test_a_timeout_stops_what_escaped_a_killed_launcher(docker_sandbox: DockerSandbox) -> None:
    """Killing its own launcher re-parents the shell's tree to PID 1; the next timeout's
    kill sweeps such orphans too."""
    docker_sandbox.execute("setsid sleep 1000 & kill -9 $PPID")
    assert "sleep 1000" in _processes(docker_sandbox)
    docker_sandbox.execute("sleep 60", timeout=1)
    assert _processes(docker_sandbox) == []
    assert docker_sandbox.execute("echo alive").output == "alive\n"


@pytest.mark.docker
def test_close_session_and_close_stop_setsid_processes(docker_client, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    sb = DockerSandbox(workspace, client=docker_client)
    try:
        sb.execute("setsid -f sleep 1000", session="a")
        sb.execute("nohup sleep 1001 >/dev/null 2>&1 &", session="b")
        assert sorted(_processes(sb)) == ["sleep 1000", "sleep 1001"]
        sb.close_session("a")
        assert _processes(sb) == ["sleep 1001"]
    finally:
        sb.close()
    assert not _exists(docker_client, sb.name)


# -- set-uid bits and ptrace ------------------------------------------------------------------


@pytest.mark.docker
def test_no_set_id_bits_can_be_left_in_the_workspace(
    docker_sandbox: DockerSandbox, workspace: Path
) -> None:
    attempts = [
        "touch a && chmod u+s a",
        "touch b && chmod g+s b",
        "mkdir -m 2755 c",
        "install -m 4755 /bin/true d",
        "cp --preserve=mode /usr/bin/su e",
        "cp -a /usr/bin/passwd f",
        "python3 -c 'import os; os.close(os.open(\"g\", os.O_CREAT | os.O_WRONLY, 0o4755))'",
        "python3 -c 'import os; open(\"h\", \"w\").close(); os.chmod(\"h\", 0o6755)'",
        "tar -C /usr/bin -cf /tmp/t.tar su && tar -xpf /tmp/t.tar",
    ]
    for command in attempts:
        docker_sandbox.execute(command)
    assert docker_sandbox.execute("touch ok && chmod 755 ok").ok  # plain modes still work
    flagged = [
        p.name for p in workspace.iterdir() if p.lstat().st_mode & (stat.S_ISUID | stat.S_ISGID)
    ]
    assert flagged == []
    assert len(list(workspace.iterdir())) >= 8


@pytest.mark.docker
def test_modules_planted_in_the_workspace_never_run_in_the_launcher(
    docker_sandbox: DockerSandbox, workspace: Path
) -> None:
    """The launcher and the killer run Python from the workspace folder: a planted
    ``ctypes.py`` must not run there (before the seccomp filter is in place)."""
    plant = "import os\nopen('/workspace/PLANTED', 'a').write(__name__ + '\\n')\n"
    for name in ("ctypes", "platform", "struct", "signal", "time", "contextlib", "errno"):
        docker_sandbox.write_bytes(f"{name}.py", plant.encode())
    docker_sandbox.execute("true", session="fresh")  # a new launcher
    docker_sandbox.run_program(["true"], timeout=30)
    assert docker_sandbox.execute("sleep 30", timeout=1, session="fresh").timed_out  # killer
    assert not (workspace / "PLANTED").exists()
    assert docker_sandbox.execute("touch s && chmod u+s s; echo done", session="fresh").output


@pytest.mark.docker
def test_process_1_and_the_launchers_cannot_be_traced(docker_sandbox: DockerSandbox) -> None:
    probe = (
        "python3 - <<'EOF'\n"
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "for pid in (1, os.getppid()):\n"
        "    rc = libc.ptrace(16, pid, 0, 0)  # PTRACE_ATTACH\n"
        "    print('attach', pid, rc, os.strerror(ctypes.get_errno()))\n"
        "EOF\n"
        "cat /proc/1/environ >/dev/null 2>&1 && echo environ-read; "
        "head -c1 /proc/1/mem >/dev/null 2>&1 && echo mem-read; true"
    )
    out = docker_sandbox.execute(probe).output
    assert out.count("attach") == 2 and " -1 " in out and " 0 " not in out, out
    assert "environ-read" not in out and "mem-read" not in out
    assert docker_sandbox.execute("kill -USR1 1; echo alive").output == "alive\n"


# -- sessions and run_program -----------------------------------------------------------------


@pytest.mark.docker
def test_sessions_keep_their_own_directory_and_exports(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.execute("mkdir -p sub && cd sub && export ONLY_A=1", session="a")
    b = docker_sandbox.execute('echo "[$ONLY_A] $PWD"', session="b")
    assert b.output == "[] /workspace\n"
    a = docker_sandbox.execute('echo "[$ONLY_A] $PWD"', session="a")
    assert a.output == "[1] /workspace/sub\n"
    docker_sandbox.close_session("a")
    assert docker_sandbox.execute('echo "[$ONLY_A]"', session="a").output == "[]\n"


@pytest.mark.docker
def test_run_program_runs_one_program_from_the_root(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.write_bytes("src/a.py", b"def needle():\n    pass\n")
    docker_sandbox.execute("cd src && export X=1")
    r = docker_sandbox.run_program(["rg", "-n", "needle"], timeout=30)
    assert r.ok and r.output == "src/a.py:1:def needle():\n" and r.cwd == "/workspace"
    assert docker_sandbox.run_program(["sh", "-c", 'echo "$PWD [$X]"'], 30).output == (
        "/workspace []\n"
    )
    both = docker_sandbox.run_program(["sh", "-c", "echo a; echo b >&2; echo c"], 30)
    assert both.output == "a\nb\nc\n"  # one stream, in the order written
    assert docker_sandbox.run_program(["sh", "-c", "exit 3"], 30).exit_code == 3
    assert docker_sandbox.run_program(["no-such-program"], 30).exit_code == 127
    big = docker_sandbox.run_program(["head", "-c", "100000", "/dev/zero"], 30, output_limit=1000)
    assert big.truncated and len(big.output) < 1200


@pytest.mark.docker
def test_run_program_timeout_kills_its_whole_tree(docker_sandbox: DockerSandbox) -> None:
    r = docker_sandbox.run_program(
        ["sh", "-c", "setsid sleep 1000 & nohup sleep 1001 & sleep 1002"], timeout=1
    )
    assert r.timed_out and r.exit_code is None
    assert _processes(docker_sandbox) == []


# -- close ------------------------------------------------------------------------------------


@pytest.mark.docker
def test_close_from_another_thread_returns_and_leaves_no_thread(
    docker_client, workspace: Path  # type: ignore[no-untyped-def]
) -> None:
    before = set(threading.enumerate())
    sb = DockerSandbox(workspace, client=docker_client)
    sb.execute("true")
    results = []
    worker = threading.Thread(target=lambda: results.append(sb.execute("sleep 60", timeout=120)))
    worker.start()
    for _ in range(300):  # until the command runs (bounded)
        if "sleep 60" in _processes(sb):
            break
        time.sleep(0.1)
    closer = threading.Thread(target=sb.close)
    closer.start()
    closer.join(timeout=30)
    worker.join(timeout=30)
    assert not closer.is_alive() and not worker.is_alive()
    assert results and results[0].exit_code is None
    assert not _exists(docker_client, sb.name)
    assert set(threading.enumerate()) - before == set()


@pytest.mark.docker
def test_garbage_collection_removes_the_container(docker_client, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    sb = DockerSandbox(workspace, client=docker_client)
    sb.execute("true")
    name = sb.name
    del sb
    gc.collect()
    assert not _exists(docker_client, name)


def test_module_docstrings_name_only_what_exists() -> None:
    import claude_like.sandbox.docker as docker_module

    text = docker_module.__doc__ or ""
    assert "BeneathFiles" not in text and "chown" in text
    assert os.path.exists(Path(docker_module.__file__).with_name("docker_inside.py"))

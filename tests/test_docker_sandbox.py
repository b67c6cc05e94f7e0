"""DockerSandbox: lifecycle, reattach, recreation, ownership, limits and errors."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from claude_like.sandbox import DockerSandbox, PathOutsideWorkspaceError, WorkspaceFiles
from claude_like.sandbox.docker_image import (
    BUILD_SCRIPT,
    DEFAULT_IMAGE,
    LABEL,
    DockerUnavailableError,
    ImageMissingError,
    connect,
)
from claude_like.sandbox.shell import SHELL_OUTPUT_LIMIT

pytest_plugins = ["docker_helpers"]

REPO = Path(__file__).resolve().parents[1]


def _exists(client, name: str) -> bool:  # type: ignore[no-untyped-def]
    return bool(client.containers.list(all=True, filters={"name": f"^/{name}$"}))


# -- no engine needed ---------------------------------------------------------------------


def test_build_script_builds_the_image_the_library_expects() -> None:
    text = BUILD_SCRIPT.read_text()
    m = re.search(r'^IMAGE="\$\{IMAGE:-([^}]+)\}"', text, re.M)
    assert m and m.group(1) == DEFAULT_IMAGE


def test_unreachable_engine_says_how_to_start_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(DockerUnavailableError, match="dockerd"):
        connect()


def test_engine_gone_mid_session_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import docker

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    gone = docker.DockerClient(base_url="unix:///nonexistent/docker.sock", version="1.41")
    sb = DockerSandbox(tmp_path, client=gone)
    with pytest.raises(DockerUnavailableError, match="dockerd"):
        sb.execute("true")
    sb.close()


def test_root_user_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="root"):
        DockerSandbox(tmp_path, user="0:0")


def test_file_ops_refuse_escapes_even_when_the_check_is_stale(tmp_path: Path) -> None:
    """The open itself refuses to leave the workspace (openat2 RESOLVE_BENEATH), so a
    symlink swapped in after the path check cannot redirect a read, write or listing."""
    ws, out = tmp_path / "ws", tmp_path / "out"
    ws.mkdir()
    out.mkdir()
    (out / "secret.txt").write_text("host secret")
    (ws / "d").symlink_to(out)
    (ws / "inside").mkdir()
    (ws / "inside/ok.txt").write_text("fine")
    (ws / "in_link").symlink_to("inside")
    files = WorkspaceFiles(ws, "/workspace")
    files.host_path = lambda path: ws / "inside"  # type: ignore[method-assign]  # stale check
    for op in (
        lambda: files.read_bytes("d/secret.txt"),
        lambda: files.write_bytes("d/new.txt", b"x"),
        lambda: files.write_bytes("d/deeper/new.txt", b"x"),
        lambda: files.list_dir("d"),
        lambda: files.walk("d"),
    ):
        with pytest.raises(PathOutsideWorkspaceError):
            op()
    assert sorted(p.name for p in out.iterdir()) == ["secret.txt"]
    # Links that stay inside still work.
    assert files.read_bytes("in_link/ok.txt") == b"fine"


# -- lifecycle ----------------------------------------------------------------------------


@pytest.mark.docker
def test_container_is_lazy_reused_and_removed(docker_client, workspace: Path) -> None:
    sb = DockerSandbox(workspace, client=docker_client)
    try:
        assert not _exists(docker_client, sb.name)
        first = sb.execute("echo hello")
        assert first.ok and first.output.strip() == "hello"
        cid = sb.container.id
        assert sb.container.labels[LABEL] == "1"
        sb.execute("true")
        assert sb.container.id == cid
    finally:
        sb.close()
    assert not _exists(docker_client, sb.name)
    sb.close()  # idempotent


@pytest.mark.docker
def test_context_manager_removes_the_container(docker_client, workspace: Path) -> None:
    with DockerSandbox(workspace, client=docker_client) as sb:
        assert sb.execute("true").ok
        name = sb.name
    assert not _exists(docker_client, name)


@pytest.mark.docker
def test_interpreter_exit_removes_the_container(docker_client, workspace: Path) -> None:
    name = f"claude-like-atexit-{secrets.token_hex(6)}"
    code = textwrap.dedent(
        f"""
        from claude_like.sandbox import DockerSandbox
        sb = DockerSandbox({str(workspace)!r}, name={name!r})
        print(sb.execute("echo up").output)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "up"
    assert not _exists(docker_client, name)


@pytest.mark.docker
def test_shell_state_persists(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.execute("mkdir -p sub && cd sub && export GREETING=hi")
    r = docker_sandbox.execute('echo "$GREETING from $PWD"')
    assert r.output.strip() == "hi from /workspace/sub"
    assert r.cwd == "/workspace/sub"


@pytest.mark.docker
def test_stdout_and_stderr_are_merged_and_exit_code_kept(docker_sandbox: DockerSandbox) -> None:
    r = docker_sandbox.execute("echo out; echo err >&2; exit_code() { return 3; }; exit_code")
    assert r.exit_code == 3
    assert "out" in r.output and "err" in r.output


@pytest.mark.docker
def test_reattach_by_name(docker_client, workspace: Path) -> None:
    name = f"claude-like-reattach-{secrets.token_hex(6)}"
    first = DockerSandbox(workspace, name=name, keep=True, client=docker_client)
    try:
        first.execute("echo kept > /tmp/marker")
        cid = first.container.id
        first.close()
        assert _exists(docker_client, name)
        with DockerSandbox(workspace, name=name, client=docker_client) as second:
            assert second.execute("cat /tmp/marker").output.strip() == "kept"
            assert second.container.id == cid
        assert not _exists(docker_client, name)
    finally:
        if _exists(docker_client, name):
            docker_client.containers.get(name).remove(force=True)


@pytest.mark.docker
def test_reattach_refuses_another_workspace(docker_client, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    name = f"claude-like-other-{secrets.token_hex(6)}"
    with DockerSandbox(tmp_path / "a", name=name, client=docker_client) as a:
        a.execute("true")
        with DockerSandbox(tmp_path / "b", name=name, client=docker_client) as b, \
                pytest.raises(Exception, match="not this workspace"):
            b.execute("true")


@pytest.mark.docker
def test_dead_container_is_recreated(docker_sandbox: DockerSandbox, workspace: Path) -> None:
    docker_sandbox.execute("echo data > kept.txt && cd /tmp")
    old = docker_sandbox.container.id
    docker_sandbox.container.kill()
    r = docker_sandbox.execute("cat /workspace/kept.txt")
    assert r.output.strip() == "data"
    assert docker_sandbox.container.id != old
    assert (workspace / "kept.txt").read_text() == "data\n"


@pytest.mark.docker
def test_container_killed_mid_call_is_reported(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.execute("true")
    r = docker_sandbox.execute("kill -TERM 1; sleep 30", timeout=60)
    assert r.exit_code is None
    assert "container stopped" in r.note
    assert docker_sandbox.execute("echo again").output.strip() == "again"


@pytest.mark.docker
def test_exit_restarts_the_shell_in_the_same_container(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.execute("mkdir -p d && cd d && export KEEP=1")
    cid = docker_sandbox.container.id
    r = docker_sandbox.execute("exit 3")
    assert r.exit_code is None and "restarted" in r.note
    assert docker_sandbox.execute('echo "$KEEP $PWD"').output.strip() == "1 /workspace/d"
    assert docker_sandbox.container.id == cid


@pytest.mark.docker
def test_close_ends_a_command_running_in_another_thread(docker_client, workspace: Path) -> None:
    sb = DockerSandbox(workspace, client=docker_client)
    sb.execute("true")
    results = []
    worker = threading.Thread(target=lambda: results.append(sb.execute("sleep 300")))
    worker.start()
    container = docker_client.containers.get(sb.name)
    for _ in range(200):  # until the command runs (bounded)
        if container.exec_run(["pgrep", "-x", "sleep"]).exit_code == 0:
            break
        time.sleep(0.1)
    sb.close()
    worker.join(timeout=120)
    assert not worker.is_alive()
    assert results and results[0].exit_code is None
    assert not _exists(docker_client, sb.name)


@pytest.mark.docker
def test_removed_container_is_recreated(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.execute("true")
    docker_sandbox.container.remove(force=True)
    assert docker_sandbox.execute("echo back").output.strip() == "back"


# -- ownership and files ------------------------------------------------------------------


@pytest.mark.docker
def test_files_written_through_the_api_are_usable_inside(
    docker_sandbox: DockerSandbox, workspace: Path
) -> None:
    docker_sandbox.write_bytes("new/dir/file.txt", b"from the host\n")
    r = docker_sandbox.execute("cat new/dir/file.txt; echo more >> new/dir/file.txt; touch new/x")
    assert r.ok, r.output
    assert r.output.strip() == "from the host"
    assert docker_sandbox.read_bytes("/workspace/new/dir/file.txt") == b"from the host\nmore\n"
    assert docker_sandbox.resolve("new/../new/x") == "/workspace/new/x"


@pytest.mark.docker
def test_explicit_user(docker_client, workspace: Path) -> None:
    with DockerSandbox(workspace, user="4321:4321", client=docker_client) as sb:
        assert sb.execute("id -u; id -g").output.strip() == "4321\n4321"
        assert sb.execute("touch $HOME/h && echo ok").output.strip() == "ok"


@pytest.mark.docker
def test_symlink_made_inside_is_refused_by_file_ops(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.execute("ln -s /etc/hostname link && ln -s / rootlink")
    with pytest.raises(PathOutsideWorkspaceError):
        docker_sandbox.read_bytes("link")
    with pytest.raises(PathOutsideWorkspaceError):
        docker_sandbox.write_bytes("rootlink/tmp/x", b"x")


# -- isolation and limits -----------------------------------------------------------------


@pytest.mark.docker
def test_secure_defaults(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.execute("true")
    host = docker_sandbox.container.attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["ReadonlyRootfs"] is True
    assert host["Memory"] == 1 << 30
    assert host["PidsLimit"] == 256
    assert host["NanoCpus"] == 1_000_000_000
    status = docker_sandbox.execute("grep -E '^(CapEff|NoNewPrivs)' /proc/self/status").output
    assert "CapEff:\t0000000000000000" in status
    assert "NoNewPrivs:\t1" in status
    assert not docker_sandbox.execute("touch /usr/evil").ok
    assert docker_sandbox.execute("touch /tmp/ok $HOME/ok").ok
    nets = docker_sandbox.execute("ls /sys/class/net").output.split()
    assert nets == ["lo"]


@pytest.mark.docker
def test_limits_are_configurable(docker_client, workspace: Path) -> None:
    with DockerSandbox(
        workspace, mem_limit="256m", cpus=0.5, pids_limit=64, client=docker_client
    ) as sb:
        sb.execute("true")
        host = sb.container.attrs["HostConfig"]
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (
            256 << 20,
            500_000_000,
            64,
        )


@pytest.mark.docker
def test_host_environment_does_not_leak(
    docker_client, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_LIKE_FAKE_SECRET", "hunter2-secret-value")
    with DockerSandbox(workspace, env={"MY_SETTING": "given"}, client=docker_client) as sb:
        out = sb.execute("env; cat /proc/1/environ | tr '\\0' '\\n'").output
        assert "hunter2-secret-value" not in out
        assert "CLAUDE_LIKE_FAKE_SECRET" not in out
        assert "MY_SETTING=given" in out


@pytest.mark.docker
def test_timeout_kills_the_tree_inside_the_container(docker_sandbox: DockerSandbox) -> None:
    r = docker_sandbox.execute("sleep 300 & sleep 301", timeout=1)
    assert r.timed_out and r.exit_code is None
    left = docker_sandbox.execute("ps -eo comm= | grep -c '^sleep' || true").output
    assert left.strip().splitlines()[-1] == "0"  # (bash may first report the killed job)
    assert docker_sandbox.execute("echo alive").output.strip() == "alive"


@pytest.mark.docker
def test_output_flood_is_capped(docker_sandbox: DockerSandbox) -> None:
    r = docker_sandbox.execute("head -c 20000000 /dev/zero | tr '\\0' a; echo; echo end")
    assert r.ok and r.truncated
    assert len(r.output) < SHELL_OUTPUT_LIMIT + 1_000
    assert r.output.rstrip().endswith("end")


# -- errors -------------------------------------------------------------------------------


@pytest.mark.docker
def test_missing_image_says_how_to_build_it(docker_client, workspace: Path) -> None:
    sb = DockerSandbox(workspace, image="claude-like-sandbox:nope", client=docker_client)
    with pytest.raises(ImageMissingError, match=r"build\.sh"):
        sb.execute("true")
    sb.close()


@pytest.mark.docker
def test_closed_sandbox_refuses_commands(docker_client, workspace: Path) -> None:
    sb = DockerSandbox(workspace, client=docker_client)
    sb.close()
    with pytest.raises(Exception, match="closed"):
        sb.execute("true")

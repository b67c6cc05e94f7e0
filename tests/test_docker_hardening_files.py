"""DockerSandbox files (issue 11): capped reads, ownership never changed, absolute links
inside the workspace, concurrent writes, names that are not UTF-8."""

from __future__ import annotations

import os
import stat
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from claude_like.sandbox import DockerSandbox, PathOutsideWorkspaceError
from claude_like.sandbox.base import READ_LIMIT, FileTooLargeError

pytest_plugins = ["docker_helpers"]
pytestmark = pytest.mark.docker


# -- bounded reads ------------------------------------------------------------------------


def test_read_brings_at_most_the_limit_whatever_the_file_claims(
    docker_client, workspace: Path  # type: ignore[no-untyped-def]
) -> None:
    # No file-size limit here, so that the file can claim 4 GB.
    with DockerSandbox(workspace, max_file_size=0, client=docker_client) as sb:
        _capped_reads(sb)


def _capped_reads(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.write_bytes("small.txt", b"x" * 1000)
    assert docker_sandbox.read_bytes("small.txt", limit=1000) == b"x" * 1000
    with pytest.raises(FileTooLargeError, match="limit of 999 bytes"):
        docker_sandbox.read_bytes("small.txt", limit=999)
    # Grown sparse inside the container after the host saw it small.
    assert docker_sandbox.stat("big") is None
    docker_sandbox.execute("echo small > big")
    assert docker_sandbox.stat("big").size == 6  # type: ignore[union-attr]
    assert docker_sandbox.execute("truncate -s 4G big").ok
    tracemalloc.start()
    try:
        with pytest.raises(FileTooLargeError):
            docker_sandbox.read_bytes("big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * READ_LIMIT  # a whole read would have taken 4 GB


# -- ownership ----------------------------------------------------------------------------


def _owner(p: Path) -> tuple[int, int]:
    st = p.lstat()
    return st.st_uid, st.st_gid


def test_ownership_is_never_changed_and_new_files_are_the_owners(
    docker_client, workspace: Path  # type: ignore[no-untyped-def]
) -> None:
    os.chown(workspace, 4242, 4343)
    theirs = workspace / "theirs.txt"
    theirs.write_text("mine\n")
    os.chown(theirs, 4242, 4343)
    os.chmod(theirs, 0o664)
    roots = workspace / "roots.txt"
    roots.write_text("root's\n")
    with DockerSandbox(workspace, client=docker_client) as sb:
        assert sb.execute("id -u; id -g").output.split() == ["4242", "4343"]
        r = sb.execute("mkdir -p made/deeper && touch made/deeper/in.txt && echo + >> theirs.txt")
        assert r.ok, r.output
        sb.write_bytes("theirs.txt", b"rewritten\n")
        sb.write_bytes("new/dir/file.txt", b"from the host\n")
        sb.write_bytes("roots.txt", b"rewritten by the host\n")  # keeps its owner too
        assert not sb.execute("echo x >> roots.txt").ok  # not the container's to change
    made = ("made", "made/deeper/in.txt", "new", "new/dir", "new/dir/file.txt")
    for p in (*made, "theirs.txt", "."):
        assert _owner(workspace / p) == (4242, 4343), p
    assert _owner(roots) == (0, 0)
    assert theirs.read_text() == "rewritten\n"
    assert stat.S_IMODE(theirs.stat().st_mode) == 0o664


def test_root_owned_workspace_runs_as_an_unprivileged_uid_and_chowns_nothing(
    docker_sandbox: DockerSandbox, workspace: Path
) -> None:
    """An idmapped view shows root's workspace as uid 1000's: non-root inside, root's on disk."""
    (workspace / "someone.txt").write_text("x\n")
    os.chown(workspace / "someone.txt", 4242, 4343)
    (workspace / "roots.txt").write_text("r\n")
    out = docker_sandbox.execute("id -u; id -g; grep -E '^CapEff' /proc/self/status; ls -n")
    assert out.output.split()[:4] == ["1000", "1000", "CapEff:", "0" * 16], out.output
    assert docker_sandbox.execute("echo more >> roots.txt && mkdir -p made && touch made/f").ok
    assert not docker_sandbox.execute("echo x >> someone.txt").ok
    for p in ("roots.txt", "made", "made/f", "."):
        assert _owner(workspace / p) == (0, 0), p
    assert _owner(workspace / "someone.txt") == (4242, 4343)
    assert not list(Path("/tmp").glob("claude-like-idmap-*"))  # the view was detached


def test_without_an_idmapped_view_root_owned_means_uid_0_without_privileges(
    docker_client, workspace: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """Where no view can be made (not root, old kernel): uid 0, but no capability."""
    from claude_like.sandbox import docker_container
    from claude_like.sandbox.docker_idmap import IdmapUnavailableError

    def unavailable(*_args: object) -> None:
        raise IdmapUnavailableError("not here")

    monkeypatch.setattr(docker_container, "IdmappedView", unavailable)
    (workspace / "someone.txt").write_text("x\n")
    os.chown(workspace / "someone.txt", 4242, 4343)
    with DockerSandbox(workspace, client=docker_client) as sb:
        out = sb.execute("id -u; grep -E '^(CapEff|CapPrm|NoNewPrivs)' /proc/self/status")
        assert out.output.split() == [
            "0", "CapPrm:", "0" * 16, "CapEff:", "0" * 16, "NoNewPrivs:", "1"
        ]
        # No DAC override: a file root does not own stays out of reach, and keeps its owner.
        assert not sb.execute("echo x >> someone.txt").ok
        sb.execute("touch made.txt")
    assert _owner(workspace / "someone.txt") == (4242, 4343)
    assert _owner(workspace / "made.txt") == (0, 0)


def test_a_view_the_engine_does_not_see_falls_back_to_the_workspace(
    docker_client, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    """An engine in another mount namespace would bind an empty folder: never work there."""
    from claude_like.sandbox import docker_container

    class Elsewhere:  # what such an engine sees at the view's path: an empty folder
        def __init__(self, *_args: object) -> None:
            self.path = str(tmp_path / "empty")
            os.mkdir(self.path)

        def close(self) -> None:
            pass

    monkeypatch.setattr(docker_container, "IdmappedView", Elsewhere)
    (workspace / "here.txt").write_text("the real workspace\n")
    with DockerSandbox(workspace, client=docker_client) as sb:
        assert sb.execute("cat here.txt").output == "the real workspace\n"
        assert sb.execute("id -u").output == "0\n"


# -- symlinks -----------------------------------------------------------------------------


def test_absolute_symlink_inside_the_workspace_works(
    docker_sandbox: DockerSandbox, workspace: Path
) -> None:
    r = docker_sandbox.execute(
        "echo note > notes.txt && mkdir -p d/e && echo deep > d/e/f.txt "
        "&& ln -s /workspace/notes.txt link && ln -s /workspace/d dlink "
        "&& ln -s /workspace/d/../notes.txt dotted && ln -s /workspace hop"
    )
    assert r.ok, r.output
    assert docker_sandbox.read_bytes("link") == b"note\n"
    assert docker_sandbox.read_bytes("dlink/e/f.txt") == b"deep\n"
    assert docker_sandbox.read_bytes("dotted") == b"note\n"
    assert docker_sandbox.read_bytes("hop/hop/link") == b"note\n"
    docker_sandbox.write_bytes("link", b"changed\n")
    assert (workspace / "notes.txt").read_text() == "changed\n"
    assert (workspace / "link").is_symlink()
    info = docker_sandbox.stat("link")
    assert info is not None and info.is_symlink and not info.is_dir and info.size == 8
    assert docker_sandbox.resolve("dlink/e") == "/workspace/d/e"
    listed = {i.path: i for i in docker_sandbox.list_dir(".")}
    assert listed["/workspace/link"].is_symlink and listed["/workspace/link"].size == 8
    assert listed["/workspace/dlink"].is_dir
    assert [i.path for i in docker_sandbox.list_dir("dlink")] == ["/workspace/d/e"]
    assert "/workspace/link" in {i.path for i in docker_sandbox.walk(".")}


def test_symlinks_leaving_the_workspace_stay_refused(docker_sandbox: DockerSandbox) -> None:
    docker_sandbox.execute(
        "ln -s /etc/passwd abs_out && ln -s /workspace/../etc/passwd dotdot_out "
        "&& ln -s /workspacex/y prefix_out && ln -s / root_out && ln -s .. up "
        "&& ln -s loop2 loop1 && ln -s loop1 loop2"
    )
    for path in ("abs_out", "dotdot_out", "prefix_out", "root_out/etc/passwd", "up/x"):
        with pytest.raises(PathOutsideWorkspaceError):
            docker_sandbox.read_bytes(path)
        with pytest.raises(PathOutsideWorkspaceError):
            docker_sandbox.write_bytes(path, b"x")
    with pytest.raises(PathOutsideWorkspaceError):
        docker_sandbox.list_dir("root_out")
    with pytest.raises(Exception, match="symbolic links"):
        docker_sandbox.read_bytes("loop1")


# -- concurrent writes --------------------------------------------------------------------


def test_concurrent_writes_to_one_file_never_collide(
    docker_sandbox: DockerSandbox, workspace: Path
) -> None:
    payloads = [f"write {i}\n".encode() * 50 for i in range(400)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda data: docker_sandbox.write_bytes("same.txt", data), payloads))
    assert docker_sandbox.read_bytes("same.txt") in payloads
    assert sorted(p.name for p in workspace.iterdir()) == ["same.txt"]  # no temp file left


# -- names that are not UTF-8 ---------------------------------------------------------------


def test_names_that_are_not_utf8_round_trip(docker_sandbox: DockerSandbox) -> None:
    assert docker_sandbox.execute(
        "echo x > $'\\xff' && mkdir $'d\\xfe' && echo y > $'d\\xfe/\\xfdz'"
    ).ok
    listed = docker_sandbox.list_dir(".")
    walked = docker_sandbox.walk(".")
    assert len(listed) == 2 and len(walked) == 2
    for info in [*listed, *walked]:
        info.path.encode("utf-8", "surrogateescape")  # encodable, as documented
        again = docker_sandbox.stat(info.path)
        assert again is not None and again.path == info.path
    files = sorted(i.path for i in walked)
    assert [docker_sandbox.read_bytes(p) for p in files] == [b"y\n", b"x\n"]  # d\xfe first
    docker_sandbox.write_bytes(files[1], b"rewritten\n")
    assert docker_sandbox.execute("cat $'\\xff'").output == "rewritten\n"
    assert docker_sandbox.resolve(files[0]) == files[0]
    # Such a name passes through to a program unchanged (Docker's API is JSON: UTF-8 only).
    name = files[1].rsplit("/", 1)[1]
    shown = docker_sandbox.run_program(["cat", name], timeout=30)
    assert shown.ok and shown.output == "rewritten\n", shown

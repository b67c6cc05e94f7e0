"""Workspace files on the host: resolved and opened in one step (no race to the outside),
temporary files that cannot be hijacked, bounded reads, names that are not UTF-8."""

from __future__ import annotations

import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from claude_like.sandbox import LocalSandbox
from claude_like.sandbox.base import FileTooLargeError, PathOutsideWorkspaceError, SandboxError
from claude_like.sandbox.confined import read_at_most

HOST_SECRET = b"host secret\n"


@pytest.fixture
def local(workspace):
    sb = LocalSandbox(workspace)
    yield sb
    sb.close()


@pytest.fixture
def outside(tmp_path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "f.txt").write_bytes(HOST_SECRET)
    return out


# -- symlinks ---------------------------------------------------------------------------------
def test_links_inside_work_and_links_out_are_refused(local, workspace, outside):
    (workspace / "real").mkdir()
    (workspace / "real" / "a.txt").write_bytes(b"inside\n")
    os.symlink("real", workspace / "rel")
    os.symlink(workspace / "real", workspace / "abs")
    os.symlink("../real/a.txt", workspace / "real" / "up")
    os.symlink(outside, workspace / "out")
    os.symlink("../outside/f.txt", workspace / "out_rel")
    for path in ("rel/a.txt", "abs/a.txt", "real/up", "abs/../real/a.txt"):
        assert local.read_bytes(path) == b"inside\n", path
    assert local.resolve("abs/a.txt") == str(workspace / "real" / "a.txt")
    local.write_bytes("rel/b.txt", b"b")
    assert (workspace / "real" / "b.txt").read_bytes() == b"b"
    assert [i.path for i in local.list_dir("abs")] == [
        str(workspace / "real" / n) for n in ("a.txt", "b.txt", "up")
    ]
    for path in ("out/f.txt", "out_rel", "out"):
        with pytest.raises(PathOutsideWorkspaceError):
            local.read_bytes(path)
        with pytest.raises(PathOutsideWorkspaceError):
            local.write_bytes(path, b"pwned")
    with pytest.raises(PathOutsideWorkspaceError):
        local.list_dir("out")
    assert (outside / "f.txt").read_bytes() == HOST_SECRET
    assert sorted(p.name for p in outside.iterdir()) == ["f.txt"]


def test_a_link_loop_is_a_clear_error(local, workspace):
    os.symlink("b", workspace / "a")
    os.symlink("a", workspace / "b")
    with pytest.raises(SandboxError, match="symbolic links"):
        local.read_bytes("a")


def exchange(a: Path, b: Path) -> None:
    """Swap two names atomically (renameat2 RENAME_EXCHANGE), as an attacker would."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def test_swapping_a_folder_for_a_link_out_never_reaches_the_host(local, workspace, outside):
    """A racing thread swaps ``d`` with a symlink to ``outside``, 300 times each way, while
    reads, writes, listings and stats run through ``d``."""
    d = workspace / "d"
    d.mkdir()
    (d / "f.txt").write_bytes(b"inside\n")
    link = workspace / "lnk"
    os.symlink(outside, link)
    done = threading.Event()
    swaps = 0
    leaked: list[str] = []

    def swap() -> None:
        nonlocal swaps
        while not done.is_set():
            exchange(d, link)
            exchange(d, link)
            swaps += 1

    def use(i: int) -> None:
        for _ in range(300):
            for op in (
                lambda: local.read_bytes("d/f.txt"),
                lambda: local.write_bytes(f"d/new{i}.txt", b"w"),
                lambda: [e.path for e in local.list_dir("d")],
                lambda: local.stat("d/f.txt"),
                lambda: local.walk("d"),
            ):
                try:
                    got = op()
                except (SandboxError, OSError):
                    continue
                if got == HOST_SECRET:
                    leaked.append("read")

    racer = threading.Thread(target=swap)
    racer.start()
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(use, range(3)))
    finally:
        done.set()
        racer.join()
    assert swaps >= 300
    assert leaked == []
    assert sorted(p.name for p in outside.iterdir()) == ["f.txt"]
    assert (outside / "f.txt").read_bytes() == HOST_SECRET


# -- writes -----------------------------------------------------------------------------------
def test_a_link_planted_at_the_old_temporary_name_is_not_followed(local, workspace, outside):
    target = outside / "bashrc"
    target.write_bytes(b"original\n")
    os.symlink(target, workspace / ".x.txt.claude-like-tmp")
    local.write_bytes("x.txt", b"new content\n")
    assert (workspace / "x.txt").read_bytes() == b"new content\n"
    assert target.read_bytes() == b"original\n"


def test_writes_keep_the_mode_and_leave_no_temporary_files(local, workspace):
    script = workspace / "run.sh"
    script.write_bytes(b"#!/bin/sh\n")
    script.chmod(0o751)
    local.write_bytes("run.sh", b"#!/bin/sh\necho hi\n")
    assert script.stat().st_mode & 0o777 == 0o751
    assert sorted(p.name for p in workspace.iterdir()) == ["run.sh"]


def test_fifty_threads_writing_one_file_all_succeed(local, workspace):
    payloads = {bytes([65 + t % 26]) * (1000 + t) for t in range(50)}

    def write(t: int) -> None:
        data = bytes([65 + t % 26]) * (1000 + t)
        for _ in range(20):
            local.write_bytes("same.txt", data)

    with ThreadPoolExecutor(50) as pool:
        list(pool.map(write, range(50)))  # re-raises the first failure
    assert (workspace / "same.txt").read_bytes() in payloads
    assert sorted(p.name for p in workspace.iterdir()) == ["same.txt"]


# -- bounded reads ----------------------------------------------------------------------------
def test_a_sparse_four_gigabyte_file_is_refused_without_loading_it(local, workspace):
    with open(workspace / "huge.bin", "wb") as f:
        f.truncate(4 * 1024**3)
    me = psutil.Process()
    before = me.memory_info().rss
    with pytest.raises(FileTooLargeError, match="read limit"):
        local.read_bytes("huge.bin")
    with pytest.raises(FileTooLargeError):
        local.read_bytes("huge.bin", limit=10)
    assert me.memory_info().rss - before < 64 * 1024**2


def test_read_limit_is_exact(local, workspace):
    (workspace / "ten.txt").write_bytes(b"0123456789")
    assert local.read_bytes("ten.txt", limit=10) == b"0123456789"
    with pytest.raises(FileTooLargeError):
        local.read_bytes("ten.txt", limit=9)


def test_a_read_never_takes_more_than_asked_whatever_the_size_claims():
    """What a file that grows after its size was checked can do: the reader stops."""
    r, w = os.pipe()
    try:
        os.write(w, b"x" * 60_000)
        assert read_at_most(r, 1001) == b"x" * 1001
    finally:
        os.close(r)
        os.close(w)


def test_special_files_are_refused(local, workspace):
    os.mkfifo(workspace / "fifo")
    with pytest.raises(SandboxError, match="not a regular file"):
        local.read_bytes("fifo")  # and does not hang waiting for a writer


# -- names that are not UTF-8 -----------------------------------------------------------------
def test_names_that_are_not_utf8_list_stat_and_read(local, workspace):
    raw_dir = os.fsencode(workspace) + b"/dir\xfe"
    os.mkdir(raw_dir)
    with open(raw_dir + b"/\xff.txt", "wb") as f:
        f.write(b"latin\n")
    with open(os.fsencode(workspace) + b"/\xe9t\xe9", "wb") as f:
        f.write(b"e\n")
    names = [os.path.basename(i.path) for i in local.list_dir(".")]
    assert names == sorted([os.fsdecode(b"dir\xfe"), os.fsdecode(b"\xe9t\xe9")])
    walked = sorted(i.path for i in local.walk("."))
    assert walked == sorted(
        [
            os.fsdecode(os.fsencode(workspace) + b"/dir\xfe/\xff.txt"),
            os.fsdecode(os.fsencode(workspace) + b"/\xe9t\xe9"),
        ]
    )
    for path in walked:
        info = local.stat(path)
        assert info is not None and info.path == path
        assert local.read_bytes(path) in (b"latin\n", b"e\n")
    local.write_bytes(walked[0], b"rewritten\n")
    assert local.read_bytes(walked[0]) == b"rewritten\n"


def test_a_replaced_file_keeps_its_owner_when_written_as_root(tmp_path):
    """A user running the agent as root must not take their files: Write replaces a file
    owned by 4242:4343 and it stays theirs."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("this check needs root (CI runs as root)")
        pytest.skip("needs root")
    target = tmp_path / "theirs.txt"
    target.write_text("old\n")
    os.chown(target, 4242, 4343)
    with LocalSandbox(tmp_path) as sandbox:
        sandbox.write_bytes("theirs.txt", b"new\n")
    st = target.stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343)
    assert target.read_bytes() == b"new\n"

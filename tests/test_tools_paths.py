"""Every file tool refuses paths that leave the workspace: ``..``, absolute, symlinks."""

from __future__ import annotations

import os

import pytest

SECRET = "top secret\n"


@pytest.fixture
def outside(workspace, sandbox):
    """A folder next to the workspace with a secret, and links into it from the workspace.

    The links are made on the host (test setup); the tools must refuse to follow them.
    """
    out = workspace.parent / "outside"
    out.mkdir()
    (out / "secret.txt").write_text(SECRET)
    os.symlink(out / "secret.txt", workspace / "link.txt")
    os.symlink(out, workspace / "linkdir")
    sandbox.write_bytes("inside.txt", b"fine\n")
    return out


FILE_ESCAPES = ["../outside/secret.txt", "/etc/passwd", "link.txt", "linkdir/secret.txt"]
DIR_ESCAPES = ["..", "../outside", "/", "/etc", "linkdir"]


@pytest.mark.parametrize("path", FILE_ESCAPES)
def test_read_refuses(outside, err, path):
    out = err("Read", file_path=path)
    assert "outside the workspace" in out and "top secret" not in out


@pytest.mark.parametrize("path", FILE_ESCAPES)
def test_write_refuses(outside, err, path):
    assert "outside the workspace" in err("Write", file_path=path, content="pwned")
    assert (outside / "secret.txt").read_text() == SECRET


def test_write_refuses_new_file_outside(outside, err):
    assert "outside the workspace" in err("Write", file_path="../outside/new.txt", content="x")
    assert "outside the workspace" in err("Write", file_path="linkdir/new.txt", content="x")
    assert not (outside / "new.txt").exists()


@pytest.mark.parametrize("path", FILE_ESCAPES)
def test_edit_refuses(outside, err, path):
    out = err("Edit", file_path=path, old_string="top secret", new_string="pwned")
    assert "outside the workspace" in out
    assert (outside / "secret.txt").read_text() == SECRET


@pytest.mark.parametrize("path", DIR_ESCAPES)
def test_ls_refuses(outside, err, path):
    assert "outside the workspace" in err("LS", path=path)


@pytest.mark.parametrize("path", DIR_ESCAPES)
def test_glob_refuses_path(outside, err, path):
    assert "outside the workspace" in err("Glob", pattern="*", path=path)


@pytest.mark.parametrize("pattern", ["../outside/*", "../*/*.txt", "/etc/*"])
def test_glob_refuses_pattern(outside, err, pattern):
    assert "outside the workspace" in err("Glob", pattern=pattern)


@pytest.mark.parametrize("path", FILE_ESCAPES + DIR_ESCAPES)
def test_grep_refuses_path(outside, err, path):
    assert "outside the workspace" in err("Grep", pattern="secret", path=path)


def test_grep_over_workspace_does_not_follow_links_out(outside, ok):
    assert "No matches" in ok("Grep", pattern="top secret")
    assert "top secret" not in ok("Grep", pattern="secret", output_mode="content")


def test_glob_does_not_descend_into_linked_folder(outside, ok):
    assert "secret.txt" not in ok("Glob", pattern="**/*.txt")


def test_error_tells_where_the_workspace_is(outside, sandbox, err):
    assert sandbox.root in err("Read", file_path="/etc/passwd")


def test_inside_dotdot_is_fine(outside, ok):
    assert "fine" in ok("Read", file_path="linkdir/../inside.txt")


def test_links_that_stay_inside_work_relative_or_absolute(workspace, sandbox, ok):
    """An absolute link under the sandbox's own root (as made inside it) points inside."""
    (workspace / "real").mkdir()
    (workspace / "real" / "notes.txt").write_text("the notes\n")
    os.symlink(f"{sandbox.root}/real/notes.txt", workspace / "abs.txt")
    os.symlink("real/notes.txt", workspace / "rel.txt")
    os.symlink(f"{sandbox.root}/real", workspace / "absdir")
    for path in ("abs.txt", "rel.txt", "absdir/notes.txt"):
        assert "the notes" in ok("Read", file_path=path), path
    assert "notes.txt" in ok("LS", path="absdir")


def test_a_link_chain_that_ends_outside_is_refused(outside, workspace, err):
    os.symlink("link.txt", workspace / "hop.txt")
    os.symlink(f"{workspace}/../outside/secret.txt", workspace / "abs_out.txt")
    for path in ("hop.txt", "abs_out.txt"):
        out = err("Read", file_path=path)
        assert "outside the workspace" in out and "top secret" not in out

"""Write (and its read-before-overwrite rule) and Edit (exact, unique replacement)."""

from __future__ import annotations

import pytest
from langchain_core.messages import ToolMessage


def put(sandbox, path: str, text: str | bytes) -> None:
    sandbox.write_bytes(path, text if isinstance(text, bytes) else text.encode())


def content(sandbox, path: str) -> str:
    return sandbox.read_bytes(path).decode()


@pytest.fixture
def known(sandbox, ok):
    """Put a file in the workspace and Read it, as the model must before changing it."""

    def _known(path: str, text: str | bytes) -> None:
        put(sandbox, path, text)
        ok("Read", file_path=path)

    return _known


def in_thread(tools, thread: str, name: str, **args) -> ToolMessage:
    """A tool call made in the conversation ``thread``."""
    call = {"type": "tool_call", "id": "c1", "name": name, "args": args}
    return tools[name].invoke(call, {"configurable": {"thread_id": thread}})


# -- Write ---------------------------------------------------------------------------------
def test_write_creates_file_and_parents(sandbox, ok):
    out = ok("Write", file_path="a/b/c.txt", content="hi\nthere\n")
    assert "Created a/b/c.txt" in out and "2 lines" in out
    assert content(sandbox, "a/b/c.txt") == "hi\nthere\n"
    assert sandbox.stat("a/b").is_dir


def test_write_refuses_to_overwrite_unread_file(sandbox, err):
    put(sandbox, "keep.txt", "precious\n")
    out = err("Write", file_path="keep.txt", content="clobbered")
    assert "Read it first" in out
    assert content(sandbox, "keep.txt") == "precious\n"


def test_write_overwrites_after_read(sandbox, ok):
    put(sandbox, "f.txt", "old\n")
    ok("Read", file_path="f.txt")
    assert "Overwrote f.txt" in ok("Write", file_path="f.txt", content="new\n")
    assert content(sandbox, "f.txt") == "new\n"


def test_read_record_is_by_resolved_path(sandbox, ok):
    put(sandbox, "f.txt", "old\n")
    ok("Read", file_path=f"{sandbox.root}/f.txt")
    ok("Write", file_path="./sub/../f.txt", content="new\n")
    assert content(sandbox, "f.txt") == "new\n"


def test_write_then_write_again_is_allowed(sandbox, ok):
    ok("Write", file_path="g.txt", content="1")
    ok("Write", file_path="g.txt", content="2")
    assert content(sandbox, "g.txt") == "2"


def test_edited_file_may_be_overwritten(sandbox, known, ok):
    known("e.txt", "a\n")
    ok("Edit", file_path="e.txt", old_string="a", new_string="b")
    ok("Write", file_path="e.txt", content="c\n")
    assert content(sandbox, "e.txt") == "c\n"


def test_record_is_per_context(sandbox, ok):
    from claude_like.tools import ToolContext, Write

    put(sandbox, "f.txt", "old\n")
    ok("Read", file_path="f.txt")
    other = Write(ctx=ToolContext(sandbox))
    msg = other.invoke(
        {
            "type": "tool_call",
            "id": "1",
            "name": "Write",
            "args": {"file_path": "f.txt", "content": "x"},
        }
    )
    assert msg.status == "error"


def test_write_to_directory_refused(sandbox, err):
    put(sandbox, "d/x.txt", "")
    assert "directory" in err("Write", file_path="d", content="x")


# -- Edit ----------------------------------------------------------------------------------
def test_edit_replaces_unique_string_and_shows_snippet(sandbox, known, ok):
    known("m.py", "def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    out = ok("Edit", file_path="m.py", old_string="return 1", new_string="return 10")
    assert content(sandbox, "m.py") == "def f():\n    return 10\n\n\ndef g():\n    return 2\n"
    assert "replaced 1 occurrence" in out
    assert "     2\t    return 10" in out


def test_edit_not_unique_says_how_many(sandbox, known, err):
    known("m.py", "x = 1\ny = 2\nx = 1\n")
    out = err("Edit", file_path="m.py", old_string="x = 1", new_string="x = 3")
    assert "2 times" in out and "lines 1, 3" in out and "replace_all" in out
    assert content(sandbox, "m.py") == "x = 1\ny = 2\nx = 1\n"


def test_edit_replace_all(sandbox, known, ok):
    known("m.py", "foo(1)\nbar\nfoo(2)\n")
    out = ok("Edit", file_path="m.py", old_string="foo", new_string="baz", replace_all=True)
    assert content(sandbox, "m.py") == "baz(1)\nbar\nbaz(2)\n"
    assert "2 occurrences" in out


def test_edit_missing_string(sandbox, known, err):
    known("m.py", "alpha\nbeta\n")
    out = err("Edit", file_path="m.py", old_string="gamma", new_string="delta")
    assert "not found" in out


def test_edit_missing_suggests_whitespace_near_match(sandbox, known, err):
    known("m.py", "class A:\n    def f(self):\n        return 1\n")
    out = err("Edit", file_path="m.py", old_string="def f(self):\n    return 1", new_string="pass")
    assert "lines 2-3" in out and "indentation" in out
    assert "        return 1" in out


def test_edit_missing_suggests_single_line_near_match(sandbox, known, err):
    known("m.py", "a = 1\nx  =  f()\n")
    out = err("Edit", file_path="m.py", old_string="x = f()", new_string="x = g()")
    assert "at line 2:" in out and "x  =  f()" in out


def test_edit_missing_detects_copied_line_numbers(sandbox, known, err):
    known("m.py", "x = 1\n")
    out = err("Edit", file_path="m.py", old_string="     1\tx = 1", new_string="x = 2")
    assert "line numbers" in out


def test_edit_identical_strings_refused(sandbox, known, err):
    known("m.py", "x = 1\n")
    assert "identical" in err("Edit", file_path="m.py", old_string="x", new_string="x")


def test_edit_keeps_crlf_line_endings(sandbox, known, ok):
    known("w.txt", b"one\r\ntwo\r\nthree\r\n")
    ok("Edit", file_path="w.txt", old_string="one\ntwo", new_string="1\n2")
    assert sandbox.read_bytes("w.txt") == b"1\r\n2\r\nthree\r\n"


def test_edit_missing_file(sandbox, known, err):
    assert "does not exist" in err("Edit", file_path="nope.py", old_string="a", new_string="b")


def test_edit_empty_old_string_creates_new_file(sandbox, known, ok):
    ok("Edit", file_path="new/file.txt", old_string="", new_string="hello\n")
    assert content(sandbox, "new/file.txt") == "hello\n"


def test_edit_empty_old_string_on_nonempty_file_refused(sandbox, known, err):
    known("m.py", "x\n")
    assert "empty" in err("Edit", file_path="m.py", old_string="", new_string="y")


def test_edit_binary_refused(sandbox, err):
    put(sandbox, "b.bin", b"ab\x00cd")
    assert "binary" in err("Edit", file_path="b.bin", old_string="ab", new_string="x")


def test_edit_deleting_text(sandbox, known, ok):
    known("m.py", "keep\ndrop\nkeep2\n")
    ok("Edit", file_path="m.py", old_string="drop\n", new_string="")
    assert content(sandbox, "m.py") == "keep\nkeep2\n"


# -- the record of what was read ---------------------------------------------------------
def test_edit_requires_a_read_first(sandbox, ok, err):
    put(sandbox, "m.py", "x = 1\n")
    out = err("Edit", file_path="m.py", old_string="x = 1", new_string="x = 2")
    assert "you have not Read it" in out
    assert content(sandbox, "m.py") == "x = 1\n"
    ok("Read", file_path="m.py")
    ok("Edit", file_path="m.py", old_string="x = 1", new_string="x = 2")
    assert content(sandbox, "m.py") == "x = 2\n"


def test_write_refuses_a_file_the_user_changed_since_it_was_read(sandbox, known, ok, err):
    known("f.txt", "old\n")
    put(sandbox, "f.txt", "the user's new work\n")
    out = err("Write", file_path="f.txt", content="agent\n")
    assert "modified since you read it" in out and "Read it again" in out
    assert content(sandbox, "f.txt") == "the user's new work\n"
    assert "modified since" in err("Write", file_path="f.txt", content="agent\n")  # still
    ok("Read", file_path="f.txt")
    ok("Write", file_path="f.txt", content="agent\n")
    assert content(sandbox, "f.txt") == "agent\n"


def test_a_change_of_same_size_and_time_is_caught_by_the_hash(sandbox, known, err):
    known("f.txt", "aaaa\n")
    stamp = sandbox.stat("f.txt").mtime
    put(sandbox, "f.txt", "bbbb\n")
    res = sandbox.execute(f"touch -d @{stamp:.9f} f.txt")
    assert res.ok, res.output
    assert sandbox.stat("f.txt").mtime == stamp and sandbox.stat("f.txt").size == 5
    out = err("Edit", file_path="f.txt", old_string="aaaa", new_string="cccc")
    assert "modified since you read it" in out
    assert content(sandbox, "f.txt") == "bbbb\n"


def test_edit_refuses_a_file_a_command_changed_since_it_was_read(sandbox, known, ok, err):
    known("f.txt", "one\n")
    ok("Bash", command="echo two >> f.txt")
    assert "modified since you read it" in err(
        "Edit", file_path="f.txt", old_string="one", new_string="1"
    )
    assert content(sandbox, "f.txt") == "one\ntwo\n"


def test_the_tools_own_changes_keep_the_record_fresh(sandbox, known, ok):
    known("f.txt", "a\n")
    ok("Edit", file_path="f.txt", old_string="a", new_string="b")
    ok("Edit", file_path="f.txt", old_string="b", new_string="c")
    ok("Write", file_path="f.txt", content="d\n")
    ok("Edit", file_path="f.txt", old_string="d", new_string="e")
    assert content(sandbox, "f.txt") == "e\n"


def test_the_record_is_per_conversation_thread(sandbox, tools):
    put(sandbox, "f.txt", "old\n")
    assert in_thread(tools, "A", "Read", file_path="f.txt").status == "success"
    blind = in_thread(tools, "B", "Write", file_path="f.txt", content="from B\n")
    assert blind.status == "error" and "not Read it" in blind.content
    edit = in_thread(tools, "B", "Edit", file_path="f.txt", old_string="old", new_string="B")
    assert edit.status == "error"
    assert in_thread(tools, "A", "Write", file_path="f.txt", content="from A\n").status == (
        "success"
    )
    assert content(sandbox, "f.txt") == "from A\n"


# -- bytes an edit does not touch --------------------------------------------------------
def test_edit_keeps_a_latin1_file_latin1(sandbox, known, ok):
    known("l.txt", b"caf\xe9\nna\xefve\nend\n")
    ok("Edit", file_path="l.txt", old_string="na\xefve", new_string="na\xefve r\xe9sum\xe9")
    assert sandbox.read_bytes("l.txt") == b"caf\xe9\nna\xefve r\xe9sum\xe9\nend\n"


def test_edit_refuses_characters_a_latin1_file_cannot_hold(sandbox, known, err):
    known("l.txt", b"caf\xe9\n")
    out = err("Edit", file_path="l.txt", old_string="caf\xe9", new_string="\u20ac5")
    assert "latin-1" in out and "\u20ac" in out
    assert sandbox.read_bytes("l.txt") == b"caf\xe9\n"


def test_edit_inserts_crlf_lines_into_a_crlf_file(sandbox, known, ok):
    known("w.txt", b"one\r\ntwo\r\n")
    ok("Edit", file_path="w.txt", old_string="one", new_string="1\n1b")
    assert sandbox.read_bytes("w.txt") == b"1\r\n1b\r\ntwo\r\n"


def test_edit_of_an_lf_file_stays_lf(sandbox, known, ok):
    known("u.txt", b"one\ntwo\n")
    ok("Edit", file_path="u.txt", old_string="one", new_string="1\n1b")
    assert sandbox.read_bytes("u.txt") == b"1\n1b\ntwo\n"

"""Write (and its read-before-overwrite rule) and Edit (exact, unique replacement)."""

from __future__ import annotations


def put(sandbox, path: str, text: str | bytes) -> None:
    sandbox.write_bytes(path, text if isinstance(text, bytes) else text.encode())


def content(sandbox, path: str) -> str:
    return sandbox.read_bytes(path).decode()


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


def test_edited_file_may_be_overwritten(sandbox, ok):
    put(sandbox, "e.txt", "a\n")
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
def test_edit_replaces_unique_string_and_shows_snippet(sandbox, ok):
    put(sandbox, "m.py", "def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    out = ok("Edit", file_path="m.py", old_string="return 1", new_string="return 10")
    assert content(sandbox, "m.py") == "def f():\n    return 10\n\n\ndef g():\n    return 2\n"
    assert "replaced 1 occurrence" in out
    assert "     2\t    return 10" in out


def test_edit_not_unique_says_how_many(sandbox, err):
    put(sandbox, "m.py", "x = 1\ny = 2\nx = 1\n")
    out = err("Edit", file_path="m.py", old_string="x = 1", new_string="x = 3")
    assert "2 times" in out and "lines 1, 3" in out and "replace_all" in out
    assert content(sandbox, "m.py") == "x = 1\ny = 2\nx = 1\n"


def test_edit_replace_all(sandbox, ok):
    put(sandbox, "m.py", "foo(1)\nbar\nfoo(2)\n")
    out = ok("Edit", file_path="m.py", old_string="foo", new_string="baz", replace_all=True)
    assert content(sandbox, "m.py") == "baz(1)\nbar\nbaz(2)\n"
    assert "2 occurrences" in out


def test_edit_missing_string(sandbox, err):
    put(sandbox, "m.py", "alpha\nbeta\n")
    out = err("Edit", file_path="m.py", old_string="gamma", new_string="delta")
    assert "not found" in out


def test_edit_missing_suggests_whitespace_near_match(sandbox, err):
    put(sandbox, "m.py", "class A:\n    def f(self):\n        return 1\n")
    out = err("Edit", file_path="m.py", old_string="def f(self):\n    return 1", new_string="pass")
    assert "lines 2-3" in out and "indentation" in out
    assert "        return 1" in out


def test_edit_missing_suggests_single_line_near_match(sandbox, err):
    put(sandbox, "m.py", "a = 1\nx  =  f()\n")
    out = err("Edit", file_path="m.py", old_string="x = f()", new_string="x = g()")
    assert "at line 2:" in out and "x  =  f()" in out


def test_edit_missing_detects_copied_line_numbers(sandbox, err):
    put(sandbox, "m.py", "x = 1\n")
    out = err("Edit", file_path="m.py", old_string="     1\tx = 1", new_string="x = 2")
    assert "line numbers" in out


def test_edit_identical_strings_refused(sandbox, err):
    put(sandbox, "m.py", "x = 1\n")
    assert "identical" in err("Edit", file_path="m.py", old_string="x", new_string="x")


def test_edit_keeps_crlf_line_endings(sandbox, ok):
    put(sandbox, "w.txt", b"one\r\ntwo\r\nthree\r\n")
    ok("Edit", file_path="w.txt", old_string="one\ntwo", new_string="1\n2")
    assert sandbox.read_bytes("w.txt") == b"1\r\n2\r\nthree\r\n"


def test_edit_missing_file(sandbox, err):
    assert "does not exist" in err("Edit", file_path="nope.py", old_string="a", new_string="b")


def test_edit_empty_old_string_creates_new_file(sandbox, ok):
    ok("Edit", file_path="new/file.txt", old_string="", new_string="hello\n")
    assert content(sandbox, "new/file.txt") == "hello\n"


def test_edit_empty_old_string_on_nonempty_file_refused(sandbox, err):
    put(sandbox, "m.py", "x\n")
    assert "empty" in err("Edit", file_path="m.py", old_string="", new_string="y")


def test_edit_binary_refused(sandbox, err):
    put(sandbox, "b.bin", b"ab\x00cd")
    assert "binary" in err("Edit", file_path="b.bin", old_string="ab", new_string="x")


def test_edit_deleting_text(sandbox, ok):
    put(sandbox, "m.py", "keep\ndrop\nkeep2\n")
    ok("Edit", file_path="m.py", old_string="drop\n", new_string="")
    assert content(sandbox, "m.py") == "keep\nkeep2\n"

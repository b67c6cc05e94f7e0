"""Read: numbering, paging, long lines, and the files it refuses."""

from __future__ import annotations


def put(sandbox, path: str, text: str | bytes) -> None:
    sandbox.write_bytes(path, text if isinstance(text, bytes) else text.encode())


def test_numbered_like_cat_n(sandbox, ok):
    put(sandbox, "a.py", "import os\n\nprint(os.name)\n")
    out = ok("Read", file_path="a.py")
    assert out == "     1\timport os\n     2\t\n     3\tprint(os.name)"


def test_absolute_path_inside_workspace(sandbox, ok):
    put(sandbox, "src/m.py", "x = 1\n")
    assert "x = 1" in ok("Read", file_path=f"{sandbox.root}/src/m.py")


def test_path_alias_accepted(sandbox, ok):
    put(sandbox, "a.txt", "hello\n")
    assert "hello" in ok("Read", path="a.txt")


def test_offset_and_limit(sandbox, ok):
    put(sandbox, "n.txt", "".join(f"line {i}\n" for i in range(1, 11)))
    out = ok("Read", file_path="n.txt", offset=4, limit=3)
    assert "     4\tline 4\n     5\tline 5\n     6\tline 6" in out
    assert "line 7" not in out and "line 3" not in out
    assert "lines 4-6 of 10" in out
    assert "offset=7" in out


def test_default_limit_and_note_on_reading_further(sandbox, ok):
    put(sandbox, "big.txt", "".join(f"{i}\n" for i in range(1, 2501)))
    out = ok("Read", file_path="big.txt")
    assert "  2000\t2000" in out
    assert "2001\t" not in out
    assert "offset=2001" in out


def test_last_page_has_no_offset_hint(sandbox, ok):
    put(sandbox, "n.txt", "a\nb\nc\n")
    out = ok("Read", file_path="n.txt", offset=2)
    assert "lines 2-3 of 3" in out and "offset=" not in out


def test_offset_past_end_is_an_error(sandbox, err):
    put(sandbox, "n.txt", "a\nb\n")
    assert "has 2 lines" in err("Read", file_path="n.txt", offset=5)


def test_long_lines_are_cut(sandbox, ok):
    put(sandbox, "min.js", "x" * 5000 + "\nshort\n")
    out = ok("Read", file_path="min.js")
    first = out.splitlines()[0]
    assert len(first) < 2100 and "line cut" in first
    assert "     2\tshort" in out


def test_output_stays_within_budget_with_exact_next_offset(sandbox, ctx, ok):
    put(sandbox, "wide.txt", "".join(f"{i} " + "y" * 200 + "\n" for i in range(1, 1001)))
    out = ok("Read", file_path="wide.txt")
    assert len(out) <= ctx.output_limit
    last = [ln for ln in out.splitlines() if "\t" in ln][-1]
    last_no = int(last.split("\t")[0])
    assert last_no < 1000
    assert f"offset={last_no + 1}" in out


def test_empty_file_is_noted(sandbox, ok):
    put(sandbox, "empty.txt", b"")
    assert "empty" in ok("Read", file_path="empty.txt")


def test_crlf_and_missing_final_newline(sandbox, ok):
    put(sandbox, "w.txt", b"one\r\ntwo")
    assert ok("Read", file_path="w.txt") == "     1\tone\n     2\ttwo"


def test_binary_refused(sandbox, err):
    put(sandbox, "img.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert "binary" in err("Read", file_path="img.png")


def test_directory_refused(sandbox, err):
    put(sandbox, "pkg/a.py", "")
    assert "directory" in err("Read", file_path="pkg")
    assert "LS" in err("Read", file_path="pkg")


def test_missing_file_suggests_close_name(sandbox, err):
    put(sandbox, "config.yaml", "a: 1\n")
    out = err("Read", file_path="config.yml")
    assert "does not exist" in out and "config.yaml" in out


def test_a_latin1_file_is_shown_as_latin1_not_refused(sandbox, ok):
    put(sandbox, "latin.txt", "caf\xe9\n".encode("latin-1"))
    assert ok("Read", file_path="latin.txt") == "     1\tcaf\xe9"


def test_missing_argument_is_an_error_result(err):
    out = err("Read")
    assert "file_path" in out


def test_bad_offset_is_an_error_result(sandbox, err):
    put(sandbox, "a.txt", "x\n")
    assert "offset" in err("Read", file_path="a.txt", offset=-1)


def test_offset_zero_means_from_the_start(sandbox, ok):
    put(sandbox, "a.txt", "x\ny\n")
    assert ok("Read", file_path="a.txt", offset=0).startswith("     1\tx")


def test_huge_file_points_to_bash(sandbox, ok, err, monkeypatch):
    import claude_like.tools.base as base

    monkeypatch.setattr(base, "MAX_TEXT_FILE_BYTES", 10)
    put(sandbox, "log.txt", "0123456789abcdef\n")
    out = err("Read", file_path="log.txt")
    assert "too large" in out and "head -n 100 log.txt" in out and "sed -n" in out
    assert "too large" in err("Edit", file_path="log.txt", old_string="0", new_string="1")


def test_terminal_control_sequences_are_shown_escaped(sandbox, ok):
    put(sandbox, "t.txt", b"\x1b]0;owned\x07title\n\x1bc\x1b[8mhidden\tcol\n")
    out = ok("Read", file_path="t.txt")
    assert out == "     1\t\\x1b]0;owned\\x07title\n     2\t\\x1bc\\x1b[8mhidden\tcol"
    assert "\x1b" not in out and "\x07" not in out

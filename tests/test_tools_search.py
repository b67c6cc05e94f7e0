"""Glob (ordering, **, cap), Grep (modes, flags, skips) and LS."""

from __future__ import annotations

import pytest


def put(sandbox, path: str, text: str | bytes = "") -> None:
    sandbox.write_bytes(path, text if isinstance(text, bytes) else text.encode())


def set_mtime(sandbox, path: str, stamp: str) -> None:
    """Through the sandbox's shell, so it works wherever the sandbox runs."""
    res = sandbox.execute(f"touch -d '{stamp}' '{path}'")
    assert res.ok, res.output


@pytest.fixture
def tree(sandbox):
    put(sandbox, "README.md", "# Project\nTODO: write docs\n")
    put(sandbox, "src/app.py", "import os\n\ndef main():\n    print('hi')  # TODO\n")
    put(sandbox, "src/util/strings.py", "def shout(s):\n    return s.upper()\n")
    put(sandbox, "tests/test_app.py", "from src.app import main\n\ndef test_main():\n    main()\n")
    put(sandbox, ".git/config", "[core] TODO\n")
    put(sandbox, "node_modules/pkg/index.js", "// TODO\n")
    put(sandbox, "logo.png", b"\x89PNG\x00\x00TODO")
    set_mtime(sandbox, "README.md", "2021-01-01")
    set_mtime(sandbox, "src/app.py", "2023-01-01")
    set_mtime(sandbox, "src/util/strings.py", "2022-01-01")
    set_mtime(sandbox, "tests/test_app.py", "2020-01-01")
    return sandbox


# -- Glob ----------------------------------------------------------------------------------
def test_glob_recursive_newest_first(tree, ok):
    out = ok("Glob", pattern="**/*.py")
    assert out.splitlines() == ["src/app.py", "src/util/strings.py", "tests/test_app.py"]


def test_glob_orders_by_time_not_by_name(tree, ok):
    set_mtime(tree, "tests/test_app.py", "2024-01-01")
    out = ok("Glob", pattern="**/*.py")
    assert out.splitlines() == ["tests/test_app.py", "src/app.py", "src/util/strings.py"]


def test_glob_star_stays_in_one_folder(tree, ok):
    assert ok("Glob", pattern="src/*.py").splitlines() == ["src/app.py"]
    out = ok("Glob", pattern="*.py")
    assert "No files" in out and "**/*.py" in out


def test_glob_with_path_and_braces(tree, ok):
    out = ok("Glob", pattern="**/*.{py,md}", path="src")
    assert out.splitlines() == ["src/app.py", "src/util/strings.py"]
    assert ok("Glob", pattern="*.{md,txt}").splitlines() == ["README.md"]


def test_glob_absolute_pattern_inside_workspace(tree, ok):
    out = ok("Glob", pattern=f"{tree.root}/tests/**/*.py")
    assert out.splitlines() == ["tests/test_app.py"]


def test_glob_skips_git_and_node_modules_unless_asked(tree, ok):
    out = ok("Glob", pattern="**/*")
    assert sorted(out.splitlines()) == [
        "README.md",
        "logo.png",
        "src/app.py",
        "src/util/strings.py",
        "tests/test_app.py",
    ]
    assert "node_modules/pkg/index.js" in ok("Glob", pattern="**/*.js", path="node_modules")


def test_glob_is_capped_with_note(sandbox, ok):
    for i in range(130):
        put(sandbox, f"many/f{i:03}.txt")
    out = ok("Glob", pattern="many/*.txt")
    assert len([ln for ln in out.splitlines() if ln.startswith("many/")]) == 100
    assert "100 most recently modified of 130" in out


def test_glob_missing_folder(tree, err):
    assert "does not exist" in err("Glob", pattern="*.py", path="nope")


# -- Grep ----------------------------------------------------------------------------------
def test_grep_files_with_matches_default(tree, ok):
    out = ok("Grep", pattern="TODO")
    lines = out.splitlines()
    assert lines[0] == "Found 2 files"
    # newest first; .git, node_modules and the binary file are skipped
    assert lines[1:] == ["src/app.py", "README.md"]


def test_grep_content_with_line_numbers(tree, ok):
    out = ok("Grep", pattern=r"def \w+", output_mode="content")
    assert out.splitlines() == [
        "src/app.py:3:def main():",
        "src/util/strings.py:1:def shout(s):",
        "tests/test_app.py:3:def test_main():",
    ]


def test_grep_anchors_match_at_every_line(sandbox, ok):
    put(sandbox, "a.py", "import os\ndef main():\n    pass\n")
    put(sandbox, "b.py", "x = 1\r\ny = 2\r\n")
    assert ok("Grep", pattern="^def main", output_mode="content") == "a.py:2:def main():"
    assert ok("Grep", pattern="^import os$", output_mode="content") == "a.py:1:import os"
    assert ok("Grep", pattern="= 1$", output_mode="content") == "b.py:1:x = 1"


def test_grep_content_without_line_numbers(tree, ok):
    out = ok("Grep", pattern="upper", output_mode="content", line_numbers=False)
    assert out.strip() == "src/util/strings.py:    return s.upper()"


def test_grep_context_lines(tree, ok):
    out = ok("Grep", pattern="print", output_mode="content", context_before=1, path="src")
    assert out.splitlines() == ["src/app.py-3-def main():", "src/app.py:4:    print('hi')  # TODO"]
    out = ok("Grep", pattern="import", output_mode="content", context_after=1, path="src")
    assert out.splitlines() == ["src/app.py:1:import os", "src/app.py-2-"]


def test_grep_claude_code_flag_names(tree, ok):
    out = ok("Grep", pattern="PRINT", output_mode="content", **{"-i": True, "-C": 1})
    assert out.splitlines() == ["src/app.py-3-def main():", "src/app.py:4:    print('hi')  # TODO"]
    out = ok("Grep", pattern="upper", output_mode="content", **{"-n": False, "-B": 1})
    assert out.splitlines() == ["src/util/strings.py-def shout(s):",
                                "src/util/strings.py:    return s.upper()"]


def test_grep_context_groups_separated(sandbox, ok):
    put(sandbox, "f.txt", "".join(f"{'hit' if i in (1, 10) else 'x'}\n" for i in range(1, 13)))
    out = ok("Grep", pattern="hit", output_mode="content", context=1)
    assert out.splitlines() == [
        "f.txt:1:hit",
        "f.txt-2-x",
        "--",
        "f.txt-9-x",
        "f.txt:10:hit",
        "f.txt-11-x",
    ]


def test_grep_case_insensitive(tree, ok):
    assert ok("Grep", pattern="todo", case_insensitive=True).splitlines() == [
        "Found 2 files",
        "src/app.py",
        "README.md",
    ]
    assert ok("Grep", pattern="todo") == "No matches for 'todo' in " + tree.root + "."


def test_grep_count(tree, ok):
    out = ok("Grep", pattern="main", output_mode="count")
    assert out.splitlines() == [
        "4 matching lines in 2 files",
        "src/app.py:1",
        "tests/test_app.py:3",
    ]


def test_grep_glob_filter(tree, ok):
    out = ok("Grep", pattern="TODO", glob="*.md")
    assert out.splitlines()[1:] == ["README.md"]
    out = ok("Grep", pattern="def", glob="src/**/*.py", output_mode="count")
    assert out.splitlines()[1:] == ["src/app.py:1", "src/util/strings.py:1"]
    out = ok("Grep", pattern="TODO", glob="*.{md,txt}")
    assert out.splitlines()[1:] == ["README.md"]


def test_grep_glob_that_matches_no_file_is_no_match_not_a_failure(tree, ok):
    """rg exits 2 and (with --no-messages) says nothing when no file passes the filters."""
    out = ok("Grep", pattern="def", glob="Grep")
    assert out == (f"No matches for 'def' in {tree.root}. "
                   "(only files matching glob 'Grep' were searched)")


def test_grep_single_file_path(tree, ok):
    out = ok("Grep", pattern="os", path="src/app.py", output_mode="content")
    assert out.strip() == "src/app.py:1:import os"


def test_grep_head_limit(sandbox, ok):
    put(sandbox, "f.txt", "".join("match\n" for _ in range(50)))
    out = ok("Grep", pattern="match", output_mode="content", head_limit=5)
    assert len([ln for ln in out.splitlines() if ln.startswith("f.txt:")]) == 5
    assert "head_limit" in out


def test_grep_invalid_regex_explains(tree, err):
    out = err("Grep", pattern="foo(")
    assert "Invalid regular expression" in out and "backslash" in out


def test_grep_bad_output_mode_is_error_result(tree, err):
    assert "output_mode" in err("Grep", pattern="x", output_mode="lines")


def test_grep_inside_skipped_folder_when_asked(tree, ok):
    assert "node_modules/pkg/index.js" in ok("Grep", pattern="TODO", path="node_modules")


def test_grep_missing_path(tree, err):
    assert "does not exist" in err("Grep", pattern="x", path="nowhere")


# -- LS ------------------------------------------------------------------------------------
def test_ls_lists_with_dir_markers(tree, ok):
    out = ok("LS", path=".")
    lines = out.splitlines()
    assert "src/" in lines and "tests/" in lines and "README.md" in lines and ".git/" in lines
    assert "folders" in lines[0]


def test_ls_default_is_root_and_ignore(tree, ok):
    out = ok("LS", ignore=["*.md", "node_modules/", ".git"])
    lines = out.splitlines()[1:]
    assert lines == ["logo.png", "src/", "tests/"]


def test_ls_marks_symlinks(tree, ok):
    assert tree.execute("ln -s src/app.py link.py").ok
    assert "link.py (symlink)" in ok("LS").splitlines()


def test_ls_subfolder(tree, ok):
    assert ok("LS", path="src").splitlines()[1:] == ["app.py", "util/"]


def test_ls_file_and_missing(tree, err):
    assert "Read" in err("LS", path="README.md")
    assert "does not exist" in err("LS", path="nope")


def test_ls_empty_folder(sandbox, ok):
    sandbox.execute("mkdir -p empty")
    assert ok("LS", path="empty") == "empty is empty."


def test_glob_on_a_folder_name_hints(tree, ok):
    out = ok("Glob", pattern="src")
    assert "is a folder" in out and "src/**" in out
    assert ok("Glob", pattern="src/").splitlines() == ["src/app.py", "src/util/strings.py"]


def test_grep_head_limit_zero_means_default(tree, ok):
    out = ok("Grep", pattern="TODO", head_limit=0)
    assert out.splitlines() == ["Found 2 files", "src/app.py", "README.md"]


def test_grep_head_limit_caps_files_and_counts(tree, ok):
    out = ok("Grep", pattern="TODO", head_limit=1)
    assert out.splitlines()[:2] == ["Found 2 files", "src/app.py"]
    assert "Showing 1 of 2 matching files" in out and "README.md" not in out
    out = ok("Grep", pattern="main", output_mode="count", head_limit=1)
    assert out.splitlines()[:2] == ["4 matching lines in 2 files", "src/app.py:1"]
    assert "Showing 1 of 2 files" in out


def test_grep_skips_binary_files_and_hidden_folders_but_searches_dotfiles(sandbox, ok):
    put(sandbox, ".env.example", "TOKEN=1\n")
    put(sandbox, "blob.bin", b"TOKEN\x00\x01")
    put(sandbox, ".venv/lib/x.py", "TOKEN\n")
    assert ok("Grep", pattern="TOKEN").splitlines() == ["Found 1 file", ".env.example"]


def test_grep_cuts_long_lines(sandbox, ok):
    put(sandbox, "min.js", "x" * 3000 + "NEEDLE" + "y" * 3000 + "\n")
    out = ok("Grep", pattern="xNEEDLE|^x", output_mode="content")
    assert out.startswith("min.js:1:" + "x" * 100) and len(out) < 1000


def test_grep_a_catastrophic_pattern_returns_promptly_in_no_host_thread(sandbox, ok):
    import threading

    put(sandbox, "long.txt", "a" * 50_000 + "!\n")
    before = threading.active_count()
    out = ok("Grep", pattern="(a+)+$", output_mode="count")
    assert out == "No matches for '(a+)+$' in " + sandbox.root + "."
    assert threading.active_count() == before  # nothing left running a regex


def test_grep_look_around_works_through_pcre2(tree, ok):
    out = ok("Grep", pattern=r"def (?!main)\w+", output_mode="content")
    assert out.splitlines() == [
        "src/util/strings.py:1:def shout(s):",
        "tests/test_app.py:3:def test_main():",
    ]


def test_grep_that_runs_past_its_time_is_stopped_with_a_clear_error(sandbox, tools, err):
    res = sandbox.execute("mkfifo stuck")  # ripgrep blocks reading a pipe nobody writes
    assert res.ok, res.output
    tools["Grep"].ctx.search_timeout = 1
    out = err("Grep", pattern="x", path="stuck")
    assert "took longer than 1 s and was stopped" in out and "Narrow it" in out


def test_names_that_are_not_utf8_are_shown_escaped(sandbox, ok):
    res = sandbox.execute("printf 'TOKEN\\n' > $'caf\\xe9.txt'; mkdir $'d\\xff'")
    assert res.ok, res.output
    glob = ok("Glob", pattern="*.txt")
    ls = ok("LS")
    grep = ok("Grep", pattern="TOKEN")
    assert glob == "caf\\xe9.txt"
    assert ls.splitlines()[1:] == ["caf\\xe9.txt", "d\\xff/"]
    assert grep.splitlines()[0] == "Found 1 file"
    for out in (glob, ls, grep):
        out.encode("utf-8")  # no surrogate left to break the next model request


def test_a_name_shown_escaped_can_be_used_as_shown(sandbox, ok):
    res = sandbox.execute("printf 'caf\\xe9\\n' > $'caf\\xe9.txt'")
    assert res.ok, res.output
    name = ok("Glob", pattern="*.txt")
    assert name == "caf\\xe9.txt"
    assert ok("Read", file_path=name) == "     1\tcaf\xe9"
    ok("Edit", file_path=name, old_string="caf\xe9", new_string="cafe")
    assert ok("Grep", pattern="cafe", path=name, output_mode="count").startswith("1 matching")
    assert sandbox.read_bytes(sandbox.resolve(name.replace("\\xe9", "\udce9"))) == b"cafe\n"

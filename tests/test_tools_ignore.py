""".gitignore handling for Glob and Grep."""

from __future__ import annotations

import pytest

from claude_like.tools.ignore import IgnoreRules

GITIGNORE = """\
# build output
build/
*.log
/dist
docs/_build/
!keep.log
"""


@pytest.mark.parametrize(
    ("path", "is_dir", "expected"),
    [
        ("build", True, True),
        ("pkg/build", True, True),
        ("build", False, False),  # folder-only rule
        ("app.log", False, True),
        ("deep/er/app.log", False, True),
        ("keep.log", False, False),  # negated
        ("dist", True, True),
        ("pkg/dist", True, False),  # anchored to the root
        ("docs/_build", True, True),
        ("src/docs/_build", True, False),
        ("src/main.py", False, False),
    ],
)
def test_rules(path, is_dir, expected):
    assert IgnoreRules(GITIGNORE.splitlines()).ignored(path, is_dir) is expected


def test_double_star_and_escapes():
    rules = IgnoreRules(["**/generated/**", r"\#notes", "", "   "])
    assert rules.ignored("a/generated/x.py", False)
    assert rules.ignored("generated/x.py", False)
    assert rules.ignored("#notes", False)
    assert not rules.ignored("a/gen/x.py", False)


@pytest.mark.parametrize(
    ("lines", "path", "is_dir", "expected"),
    [
        (["*.tmp", "!important.tmp"], "a/important.tmp", False, False),
        (["*.tmp", "!important.tmp", "important.tmp"], "important.tmp", False, True),
        (["logs/"], "logs", False, False),  # a file named like the folder
        (["logs/"], "logs/today.txt", False, True),  # inside an ignored folder
        (["build/", "!build/keep.py"], "build/keep.py", False, True),  # git: no re-include
        (["doc/**/*.pdf"], "doc/a/b/x.pdf", False, True),
        (["doc/**/*.pdf"], "src/doc/x.pdf", False, False),
        (["a/**/b"], "a/b", True, True),
        (["/*.txt"], "x.txt", False, True),
        (["/*.txt"], "d/x.txt", False, False),
        (["cache?"], "cache1", True, True),
        (["[Bb]in/"], "src/Bin", True, True),
    ],
)
def test_negation_and_folder_patterns(lines, path, is_dir, expected):
    assert IgnoreRules(lines).ignored(path, is_dir) is expected


@pytest.fixture
def project(sandbox):
    files = {
        ".gitignore": GITIGNORE,
        "src/app.py": "TOKEN = 1\n",
        "build/out.py": "TOKEN = 2\n",
        "run.log": "TOKEN\n",
        "keep.log": "TOKEN\n",
        "dist/bundle.js": "TOKEN\n",
    }
    for path, text in files.items():
        sandbox.write_bytes(path, text.encode())
    return sandbox


def test_grep_skips_ignored(project, ok):
    out = ok("Grep", pattern="TOKEN")
    found = set(out.splitlines()[1:])
    assert found == {"src/app.py", "keep.log"}


def test_glob_skips_ignored(project, ok):
    out = ok("Glob", pattern="**/*")
    assert set(out.splitlines()) == {".gitignore", "src/app.py", "keep.log"}


def test_searching_inside_an_ignored_folder_works(project, ok):
    assert ok("Grep", pattern="TOKEN", path="build").splitlines()[1:] == ["build/out.py"]
    assert ok("Glob", pattern="*.py", path="build").splitlines() == ["build/out.py"]
    assert ok("Glob", pattern="build/*.py").splitlines() == ["build/out.py"]


def test_an_ignored_file_given_as_path_is_searched(project, ok):
    assert "run.log" in ok("Grep", pattern="TOKEN", path="run.log")


def test_glob_follows_negation_and_nested_folders(sandbox, ok):
    files = {
        ".gitignore": "*.tmp\n!keep.tmp\nout/\n",
        "a.tmp": "",
        "keep.tmp": "",
        "src/out/gen.py": "",
        "src/main.py": "",
    }
    for path, text in files.items():
        sandbox.write_bytes(path, text.encode())
    assert sorted(ok("Glob", pattern="**/*").splitlines()) == [
        ".gitignore",
        "keep.tmp",
        "src/main.py",
    ]


def test_read_and_ls_ignore_nothing(project, ok):
    assert "TOKEN" in ok("Read", file_path="build/out.py")
    assert "build/" in ok("LS").splitlines()

"""Oversized tool results: saved whole through the sandbox, head + tail + a note for the model.

Run on the local sandbox and in Docker (the ``sandbox`` fixture), since the file is
written, searched and removed through the sandbox.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import subprocess
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

from claude_like.context.offload import SCRATCH_DIR, ResultStore
from claude_like.models.tokens import CHARS_PER_TOKEN
from claude_like.sandbox.base import Sandbox
from claude_like.tool_node import ToolNode

BUDGET = 614  # tokens: ContextBudget(window=4096).result_tokens
BUDGET_CHARS = int(BUDGET * CHARS_PER_TOKEN)
LINES = 5000  # `seq 1 5000` is about 24,000 characters: ten times the budget
SEQ = "\n".join(str(i) for i in range(1, LINES + 1))
NOTE = re.compile(r"\n\n(\[\.\.\. .*?\])(?:\n\n|$)", re.DOTALL)


@pytest.fixture
def store(sandbox: Sandbox):
    s = ResultStore(sandbox)
    yield s
    s.close()


def run_node(node: ToolNode, name: str, args: dict[str, Any], call_id: str = "c1") -> ToolMessage:
    """One tool call through the tool node, as the graph would make it."""
    ai = AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])
    (msg,) = node({"messages": [ai]}, {})["messages"]
    return msg


def split(text: str) -> tuple[str, str, str]:
    """(head, note, tail) of a fitted result."""
    m = NOTE.search(text)
    assert m, text
    return text[: m.start()], m.group(1), text[m.end() :]


def saved_path(note: str) -> str:
    m = re.search(r'file_path="([^"]+)"', note)
    assert m, note
    return m.group(1)


# -- 1. saved whole; head, tail, path and paging for the model -------------------------------
def test_a_big_bash_result_is_saved_whole_and_the_model_gets_head_tail_and_a_way_in(
    sandbox, tools, store
):
    node = ToolNode(list(tools.values()), results=store, result_tokens=BUDGET)
    msg = run_node(node, "Bash", {"command": f"seq 1 {LINES}"})
    assert msg.status == "success"
    assert len(msg.content) <= BUDGET_CHARS
    head, note, tail = split(msg.content)
    path = saved_path(note)
    assert path.startswith(SCRATCH_DIR + "/Bash-") and path.endswith(".txt")
    assert sandbox.read_bytes(path) == SEQ.encode()  # byte for byte
    assert store.saved == {"c1": sandbox.resolve(path)}
    # Whole lines at both ends, and the note names exactly the lines in between.
    first, last = head.splitlines(), tail.splitlines()
    assert first == [str(i) for i in range(1, len(first) + 1)] and len(first) > 20
    assert last == [str(i) for i in range(LINES - len(last) + 1, LINES + 1)] and len(last) > 20
    hidden = f"lines {len(first) + 1}-{LINES - len(last)} of {LINES} not shown"
    assert hidden in note
    assert f"({LINES} lines, about {round(len(SEQ) / CHARS_PER_TOKEN)} tokens)" in note
    assert f"offset={len(first) + 1}, limit=" in note and "Grep" in note


def test_a_failing_command_keeps_its_exit_code_and_notes_at_the_ends(sandbox, tools, store):
    sandbox.write_bytes("sub/f.txt", b"")
    node = ToolNode(list(tools.values()), results=store, result_tokens=BUDGET)
    msg = run_node(node, "Bash", {"command": f"cd sub && seq 1 {LINES}; false"})
    assert msg.status == "error" and len(msg.content) <= BUDGET_CHARS
    assert msg.content.startswith("Exit code 1\n1\n2\n")
    assert msg.content.endswith(f"[Working directory: {sandbox.root}/sub]")
    assert sandbox.read_bytes(saved_path(split(msg.content)[1])).decode().startswith("Exit code 1")


def test_read_pages_through_a_saved_result_as_the_note_says(sandbox, ctx, tools, ok, store):
    ctx.output_limit = BUDGET_CHARS  # Read shapes its pages to the same budget
    node = ToolNode(list(tools.values()), results=store, result_tokens=BUDGET)
    head, note, tail = split(run_node(node, "Bash", {"command": f"seq 1 {LINES}"}).content)
    path = saved_path(note)
    offset, limit = (int(x) for x in re.search(r"offset=(\d+), limit=(\d+)", note).groups())
    seen = head.splitlines()
    while True:
        page = run_node(node, "Read", {"file_path": path, "offset": offset, "limit": limit})
        assert page.status == "success" and "saved in" not in page.content  # not re-saved
        body, _, more = page.content.partition("\n\n[Showing lines")
        seen += [row.split("\t", 1)[1] for row in body.splitlines()]
        nxt = re.search(r"offset=(\d+)", more)
        if nxt is None:
            break
        offset = int(nxt.group(1))
    assert seen == SEQ.splitlines()
    assert seen[-len(tail.splitlines()) :] == tail.splitlines()


@pytest.mark.parametrize("budget", [300, 333, 614, 1001, 2048])
def test_head_and_tail_are_whole_lines_and_the_note_names_the_lines_between(store, budget):
    rows = [f"row {i}: " + "z" * (i * 7 % 61) for i in range(1, 3001)]
    text = "\n".join(rows)
    out = store.fit(text, limit_tokens=budget, tool="Bash", call_id=str(budget))
    assert len(out) <= budget * CHARS_PER_TOKEN
    head, note, tail = split(out)
    first, last = head.split("\n"), tail.split("\n")
    assert first == rows[: len(first)] and last == rows[len(rows) - len(last) :]
    assert f"lines {len(first) + 1}-{len(rows) - len(last)} of 3000 not shown" in note


def test_a_result_within_the_budget_is_returned_as_is_and_not_saved(sandbox, store):
    text = "x" * (BUDGET_CHARS - 1)
    assert store.fit(text, limit_tokens=BUDGET, tool="Bash", call_id="c1") == text
    assert store.saved == {}
    assert sandbox.stat(SCRATCH_DIR) is None


def test_one_long_line_is_saved_and_the_note_says_how_to_see_it(sandbox, store):
    text = "".join(f"{i:06d}," for i in range(20_000))  # 140,000 characters, no newline
    out = store.fit(text, limit_tokens=BUDGET, tool="Grep", call_id="g")
    assert len(out) <= BUDGET_CHARS
    head, note, tail = split(out)
    assert text.startswith(head) and text.endswith(tail) and head and tail
    assert "line 1 of 1 not shown" in note and "fold -w 2000" in note
    assert sandbox.read_bytes(saved_path(note)) == text.encode()


class FullDisk:
    """The sandbox, but its disk is full: every write fails."""

    def __init__(self, inner: Sandbox) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def write_bytes(self, path: str, data: bytes) -> None:
        raise OSError(28, "No space left on device")


def test_a_failing_write_falls_back_to_head_and_tail_with_a_note(sandbox):
    store = ResultStore(FullDisk(sandbox))  # type: ignore[arg-type]
    out = store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="c1")
    assert len(out) <= BUDGET_CHARS
    head, note, tail = split(out)
    assert head.startswith("1\n2\n3\n") and tail.endswith(f"\n{LINES}")
    assert "could not be saved" in note and "No space left on device" in note
    assert "file_path" not in note
    assert store.saved == {}
    store.close()  # nothing to remove, nothing raised


def test_a_blocked_scratch_folder_falls_back_without_crashing(sandbox):
    sandbox.write_bytes(".claude-like", b"a file where the folder should be")
    store = ResultStore(sandbox)
    out = store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="c1")
    assert len(out) <= BUDGET_CHARS and "could not be saved" in split(out)[1]
    store.close()
    assert sandbox.read_bytes(".claude-like") == b"a file where the folder should be"


def test_a_symlinked_scratch_folder_is_not_written_through(sandbox):
    sandbox.write_bytes("src/keep.py", b"x = 1\n")
    assert sandbox.execute("ln -s src .claude-like").ok
    store = ResultStore(sandbox)
    out = store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="c1")
    assert "could not be saved" in split(out)[1] and "symlink" in out
    assert [posixpath.basename(e.path) for e in sandbox.list_dir("src")] == ["keep.py"]


# -- 2. Glob, Grep and LS leave the scratch folder out -----------------------------------------
def test_glob_grep_and_ls_do_not_show_saved_results(sandbox, ok, store):
    sandbox.write_bytes("app.py", b"print(4999)\n")
    store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="c1")
    assert ok("Glob", pattern="**/*") == "app.py"
    assert ok("Glob", pattern="**/*.txt").startswith("No files match")
    assert ok("Grep", pattern="4999").splitlines() == ["Found 1 file", "app.py"]
    assert ok("LS") == f"{sandbox.root}: 0 folders, 1 files\napp.py"
    assert "results" not in ok("LS", path=".claude-like")


def test_searches_that_start_inside_the_scratch_folder_still_find_results(ok, store):
    store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="c1")
    name = posixpath.basename(store.saved["c1"])
    assert ok("Glob", pattern="*.txt", path=SCRATCH_DIR) == f"{SCRATCH_DIR}/{name}"
    assert ok("Glob", pattern=f"{SCRATCH_DIR}/*.txt") == f"{SCRATCH_DIR}/{name}"
    assert f"{SCRATCH_DIR}/{name}:4999:4999" in ok(
        "Grep", pattern="^4999$", path=SCRATCH_DIR, output_mode="content"
    )
    assert name in ok("LS", path=SCRATCH_DIR)
    assert ok("Read", file_path=f"{SCRATCH_DIR}/{name}", offset=4999, limit=1).startswith(
        "  4999\t4999"
    )


def test_ls_still_shows_a_claude_like_folder_that_holds_more(sandbox, ok, store):
    sandbox.write_bytes(".claude-like/settings.json", b"{}")
    store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="c1")
    assert ".claude-like/" in ok("LS")
    assert ok("LS", path=".claude-like").splitlines()[1:] == ["settings.json"]


# -- 3. close() removes what the store saved, keep=True keeps it -------------------------------
def test_close_removes_the_saved_results_and_the_folder(sandbox, store):
    store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="a")
    store.fit(SEQ, limit_tokens=BUDGET, tool="Read", call_id="b")
    assert len(sandbox.list_dir(SCRATCH_DIR)) == 3  # two results and the .gitignore
    store.close()
    assert sandbox.stat(".claude-like") is None
    store.close()  # idempotent


def test_keep_true_keeps_the_saved_results(sandbox):
    store = ResultStore(sandbox, keep=True)
    store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="a")
    store.close()
    assert sandbox.read_bytes(store.saved["a"]) == SEQ.encode()


def test_close_leaves_everything_it_did_not_save(sandbox, store):
    sandbox.write_bytes(".claude-like/settings.json", b"{}")
    other = ResultStore(sandbox)
    other.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="o")
    store.fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="a")
    store.close()
    assert sandbox.stat(store.saved["a"]) is None
    assert sandbox.read_bytes(other.saved["o"]) == SEQ.encode()
    assert sandbox.read_bytes(f"{SCRATCH_DIR}/.gitignore") == b"*\n"  # still out of git
    other.close()
    assert sandbox.stat(SCRATCH_DIR) is None
    assert sandbox.read_bytes(".claude-like/settings.json") == b"{}"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_saved_results_stay_out_of_git_status(workspace):
    from claude_like.sandbox import LocalSandbox

    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    with LocalSandbox(workspace) as sb:
        ResultStore(sb).fit(SEQ, limit_tokens=BUDGET, tool="Bash", call_id="a")
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=workspace, capture_output=True, text=True, check=True,
        )
    assert status.stdout == ""


# -- 4. the tool node uses the store only over budget ------------------------------------------
@tool
def emit(n: int) -> str:
    """Returns n characters."""
    return "y" * n


def test_tool_node_saves_only_results_over_the_budget(sandbox, store):
    budget = {"tokens": 1000}
    node = ToolNode([emit], results=store, result_tokens=lambda: budget["tokens"])
    small = run_node(node, "emit", {"n": 3000}, "small")
    assert small.content == "y" * 3000 and store.saved == {}
    budget["tokens"] = 300  # the callable is read at every result
    big = run_node(node, "emit", {"n": 3000}, "big")
    assert len(big.content) <= 300 * CHARS_PER_TOKEN and "saved in" in big.content
    assert sandbox.read_bytes(store.saved["big"]) == b"y" * 3000


def test_tool_node_without_a_store_still_cuts_in_the_middle():
    node = ToolNode([emit], output_limit=1000)
    msg = run_node(node, "emit", {"n": 5000})
    assert len(msg.content) < 1400 and "omitted" in msg.content


def test_tool_node_default_budget_is_its_output_limit(sandbox, store):
    node = ToolNode([emit], output_limit=1000, results=store)
    assert run_node(node, "emit", {"n": 1000}).content == "y" * 1000
    assert "saved in" in run_node(node, "emit", {"n": 1200}, "c2").content

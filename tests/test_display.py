"""How results and streams look: HTML for Jupyter (escaped, collapsible, coloured diffs) and
plain text elsewhere, on real runs of the agent with a scripted model and the real tools."""

from __future__ import annotations

import io
import re
from pathlib import Path

import nbformat
from IPython.lib.pretty import pretty
from nbclient import NotebookClient

from claude_like import ClaudeLikeAgent
from claude_like.display import diff_html, result_html
from claude_like.events import AgentResult
from claude_like.notebook import StreamView, in_notebook, show
from claude_like.testing import ScriptedChatModel, say, tool_call

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>\x1b[31m'


def _run(workspace: Path, *replies, task: str = "go", **options) -> AgentResult:
    model = ScriptedChatModel(script=list(replies))
    options.setdefault("permission_mode", "acceptEdits")
    with ClaudeLikeAgent(model=model, workspace=workspace, persist=False, **options) as agent:
        return agent.run(task)


def _edit_run(workspace: Path) -> AgentResult:
    (workspace / "app.py").write_text("def add(a, b):\n    return a - b\n")
    return _run(workspace,
                say("Reading.", tool_call("Read", {"file_path": "app.py"})),
                say("", tool_call("Edit", {"file_path": "app.py", "old_string": "a - b",
                                           "new_string": "a + b"})),
                say("Fixed."))


def _tags(html: str) -> set[str]:
    return set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html))


def test_hostile_text_from_the_model_and_tools_is_escaped(workspace: Path) -> None:
    (workspace / "evil.txt").write_text(HOSTILE + "\n")
    result = _run(workspace,
                  say(HOSTILE, tool_call("Read", {"file_path": "evil.txt"})),
                  say("", tool_call("Bash", {"command": f"echo '{HOSTILE}'"})),
                  say(HOSTILE),
                  task=HOSTILE, permission_mode="bypassPermissions")
    html = result._repr_html_()  # what Jupyter calls
    assert html == result_html(result)
    assert _tags(html) <= {"div", "details", "summary", "pre", "span", "b"}, _tags(html)
    assert "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\\x1b[31m" in html  # control characters made visible
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 4  # task, text, read, bash


def test_each_tool_call_is_collapsible_with_its_result(workspace: Path) -> None:
    result = _run(workspace,
                  say("", tool_call("LS", {"path": "."}),
                      tool_call("Read", {"file_path": "missing.txt"})),
                  say("Nothing here."))
    html = result_html(result)
    blocks = re.findall(r"<details[^>]*>(.*?)</details>", html, re.S)
    assert len(blocks) == 2
    ls, read = blocks
    assert re.search(r"<summary[^>]*>.*<b>LS</b>", ls, re.S)
    assert re.search(r"<summary[^>]*>.*✗.*<b>Read</b> missing.txt</summary>", read, re.S)
    assert "does not exist" in read.split("</summary>", 1)[1]  # the result, inside
    assert "Nothing here." in html.split("</details>")[-1]  # the answer after the calls


def test_edits_and_writes_show_as_coloured_diffs(workspace: Path) -> None:
    html = result_html(_edit_run(workspace))
    removed = re.search(r'<span style="([^"]*)">-a - b</span>', html)
    added = re.search(r'<span style="([^"]*)">\+a \+ b</span>', html)
    assert removed and "239,68,68" in removed.group(1)  # red
    assert added and "34,197,94" in added.group(1)  # green
    hunk = re.search(r'<span style="([^"]*)">@@ ', html)
    assert hunk and "color" in hunk.group(1)
    written = diff_html("--- a/n.txt\n+++ b/n.txt\n@@ -0,0 +1 @@\n+new line\n")
    assert re.search(r'34,197,94[^>]*>\+new line<', written)


def test_a_pending_approval_shows_its_diff(workspace: Path) -> None:
    result = _run(workspace, say("", tool_call("Write", {"file_path": "n.txt",
                                                          "content": "hello\n"})),
                  permission_mode="default")
    assert result.stop_reason == "interrupted"
    html = result_html(result)
    assert "waits for approval" in html and "default mode asks before Write" in html
    assert re.search(r'34,197,94[^>]*>\+hello<', html)


def test_plain_text_fallback_without_html(workspace: Path) -> None:
    text = pretty(_edit_run(workspace))  # IPython's text/plain view (_repr_pretty_)
    assert not _tags(text)
    lines = text.splitlines()
    assert lines[0].startswith("[done · 3 turns · ")
    assert "you: go" in lines and "assistant: Fixed." in lines
    assert "-> Read app.py  ok" in lines and "-> Edit app.py  ok" in lines
    assert "     -a - b" in lines and "     +a + b" in lines


def test_a_stream_prints_plain_lines_outside_a_notebook(workspace: Path) -> None:
    assert not in_notebook()
    (workspace / "a.txt").write_text("one\n")
    model = ScriptedChatModel(script=[say("Looking.", tool_call("Read", {"file_path": "a.txt"})),
                                      say("It says one.")])
    out = io.StringIO()
    with ClaudeLikeAgent(model=model, workspace=workspace, persist=False) as agent:
        result = show(agent.stream("read a.txt"), file=out)
    assert result is not None and result.text == "It says one."
    printed = out.getvalue()
    assert printed.index("Looking.") < printed.index("-> Read a.txt") < printed.index(
        "ok:") < printed.index("It says one.")
    assert re.search(r"\ncontext \d+% full .*\n\[done · 2 turns · [\d,]+ in / [\d,]+ out "
                     r"tokens\]\n$", printed), printed
    assert not _tags(printed)


def test_stream_view_html_gathers_calls_and_results(workspace: Path) -> None:
    (workspace / "a.txt").write_text("one\n")
    model = ScriptedChatModel(script=[say("Looking.", tool_call("Read", {"file_path": "a.txt"})),
                                      say("Done.")])
    view = StreamView(html=True, file=io.StringIO())
    view._draw = lambda: None  # type: ignore[method-assign]  # no frontend here: markup only
    with ClaudeLikeAgent(model=model, workspace=workspace, persist=False) as agent:
        for event in agent.stream("read a.txt"):
            view.add(event)
            if type(event).__name__ == "ToolStarted":
                assert "<b>Read</b> a.txt" in view.to_html() and "…" in view.to_html()
    html = view.to_html()
    assert html.count("<b>Read</b> a.txt") == 1  # the call, which gained its result
    assert "     1\tone" in html and "Looking." in html and "Done." in html
    assert "context " in html


STREAM_CELL = """
import tempfile
from pathlib import Path
from claude_like import ClaudeLikeAgent
from claude_like.notebook import show
from claude_like.testing import ScriptedChatModel, say, tool_call
ws = Path(tempfile.mkdtemp())
(ws / "a.txt").write_text("one\\n")
model = ScriptedChatModel(script=[say("Looking.", tool_call("Read", {"file_path": "a.txt"})),
                                  say("It says <one>.")])
with ClaudeLikeAgent(model=model, workspace=ws, persist=False) as agent:
    result = show(agent.stream("read a.txt"))
"""


def test_a_stream_in_a_real_kernel_is_one_html_output_updated_in_place(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(STREAM_CELL), nbformat.v4.new_code_cell("result")]
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    (shown,) = nb.cells[0].outputs  # one display, redrawn: no printed lines, no copies
    assert shown.output_type == "display_data"
    html = shown.data["text/html"]
    assert "It says &lt;one&gt;." in html and "<details" in html and "done · 2 turns" in html
    (final,) = nb.cells[1].outputs
    assert final.output_type == "execute_result"
    assert final.data["text/html"].startswith('<div class="claude-like-result">')
    assert final.data["text/plain"].startswith("[done · 2 turns")

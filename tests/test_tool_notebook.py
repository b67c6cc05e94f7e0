"""NotebookEdit and Read on Jupyter notebooks: cells by id or position, replace / insert /
delete with Claude Code's semantics, the notebook kept valid (nbformat), the read record,
corrupt notebooks refused untouched, Read's cell view with outputs and its paging; the
standard LangChain suites; a scripted agent run that reads and edits a notebook."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from claude_like import ClaudeLikeAgent
from claude_like.models.constrained import ConstrainedToolChatModel
from claude_like.sandbox import LocalSandbox, Sandbox
from claude_like.testing import ScriptedChatModel, say, tool_call
from claude_like.tools import FetchPolicy, Read, ToolContext, make_tools
from claude_like.tools.notebook_edit import NotebookEdit

Call = Callable[..., ToolMessage]


def make_notebook(minor: int = 5) -> str:
    """A markdown cell, a code cell with text, image and error outputs, and a code cell."""
    nb = nbformat.v4.new_notebook(metadata={"language_info": {"name": "python"}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("print(1)", execution_count=1, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="1\n"),
            nbformat.v4.new_output("display_data", data={"image/png": "iVBOR" * 400,
                                                         "text/plain": "<Figure 1>"}),
            nbformat.v4.new_output("error", ename="ValueError", evalue="bad",
                                   traceback=["\x1b[31mValueError\x1b[0m: bad"]),
        ]),
        nbformat.v4.new_code_cell("x = 2", execution_count=2),
    ]
    for cell, cell_id in zip(nb.cells, ("intro", "plot", "last"), strict=True):
        cell.id = cell_id
    if minor < 5:
        nb.nbformat_minor = minor
        for cell in nb.cells:
            del cell["id"]
    return nbformat.writes(nb)


@pytest.fixture
def local_ctx(workspace: Path) -> ToolContext:
    return ToolContext(LocalSandbox(workspace))


@pytest.fixture
def nb_call(local_ctx: ToolContext) -> Call:
    tools = {t.name: t for t in make_tools(local_ctx, extra=("NotebookEdit",))}

    def _call(name: str, **args: Any) -> ToolMessage:
        msg = tools[name].invoke({"type": "tool_call", "id": "c1", "name": name, "args": args})
        assert isinstance(msg, ToolMessage)
        return msg

    return _call


@pytest.fixture
def nb_file(workspace: Path) -> Path:
    path = workspace / "nb.ipynb"
    path.write_text(make_notebook())
    return path


def cells(path: Path) -> list[dict[str, Any]]:
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    return nb.cells


def edit(call: Call, **args: Any) -> ToolMessage:
    return call("NotebookEdit", notebook_path="nb.ipynb", **args)


# -- Read ----------------------------------------------------------------------------------
def test_read_shows_cells_with_ids_types_and_outputs(nb_call: Call, nb_file: Path) -> None:
    text = nb_call("Read", file_path="nb.ipynb").content
    assert text.startswith("nb.ipynb: Jupyter notebook (python), 3 cells.")
    assert '<cell id="intro" type="markdown">\n# Title\n</cell>' in text
    assert '<cell id="plot" type="code" execution_count="1">\nprint(1)\n</cell>' in text
    outputs = text.split("<outputs>")[1].split("</outputs>")[0]
    assert "\n1\n" in outputs and "<Figure 1>" in outputs
    assert "[image/png output, 2.0 KB not shown]" in outputs
    assert "ValueError: bad" in outputs and "\x1b" not in outputs and "iVBOR" not in text


def test_read_pages_notebook_by_cells_within_the_budget(workspace: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"value_{i} = {'x' * 300!r}") for i in range(40)]
    (workspace / "big.ipynb").write_text(nbformat.writes(nb))
    read = Read(ctx=ToolContext(LocalSandbox(workspace), output_limit=3000))
    first = read.invoke({"file_path": "big.ipynb"})
    assert "value_0 =" in first and "value_39" not in first
    assert len(first) < 3000
    shown = first.count("<cell ")
    assert f"[Showing cells 1-{shown} of 40. To read more, call Read with offset={shown + 1}.]" \
        in first
    second = read.invoke({"file_path": "big.ipynb", "offset": shown + 1, "limit": 2})
    assert f"value_{shown} =" in second and f"value_{shown - 1} =" not in second
    assert f"[Showing cells {shown + 1}-{shown + 2} of 40." in second
    past = read.invoke({"type": "tool_call", "id": "r", "name": "Read",
                        "args": {"file_path": "big.ipynb", "offset": 41}})
    assert past.status == "error"
    assert past.content.startswith("offset=41 is past the last cell of big.ipynb, which has "
                                   "40 cells.")


def test_read_of_a_corrupt_notebook_falls_back_to_text(nb_call: Call, workspace: Path) -> None:
    (workspace / "nb.ipynb").write_text('{"cells": [')
    msg = nb_call("Read", file_path="nb.ipynb")
    assert msg.status == "success"
    assert '1\t{"cells": [' in msg.content
    assert "is not a usable notebook: it is not valid JSON" in msg.content


# -- NotebookEdit --------------------------------------------------------------------------
def test_replace_by_id_clears_the_code_cells_outputs(nb_call: Call, nb_file: Path) -> None:
    nb_call("Read", file_path="nb.ipynb")
    msg = edit(nb_call, cell_id="plot", new_source="print(2)")
    assert msg.status == "success", msg.content
    assert "Replaced cell plot (code) in nb.ipynb; its old outputs were cleared." in msg.content
    plot = cells(nb_file)[1]
    assert (plot.id, plot.source, plot.outputs, plot.execution_count) == \
        ("plot", "print(2)", [], None)
    assert cells(nb_file)[2].execution_count == 2  # other cells untouched


def test_replace_can_change_the_cell_type_keeping_id(nb_call: Call, nb_file: Path) -> None:
    nb_call("Read", file_path="nb.ipynb")
    assert edit(nb_call, cell_id="plot", new_source="## Notes",
                cell_type="markdown").status == "success"
    cell = cells(nb_file)[1]
    assert (cell.id, cell.cell_type, cell.source) == ("plot", "markdown", "## Notes")
    assert "outputs" not in cell
    assert edit(nb_call, cell_id="intro", new_source="y = 1",
                cell_type="code").status == "success"
    intro = cells(nb_file)[0]
    assert (intro.id, intro.cell_type, intro.outputs) == ("intro", "code", [])


def test_insert_after_a_cell_and_at_the_top(nb_call: Call, nb_file: Path) -> None:
    nb_call("Read", file_path="nb.ipynb")
    msg = edit(nb_call, cell_id="intro", new_source="import os", edit_mode="insert")
    assert msg.status == "success", msg.content
    new = cells(nb_file)[1]
    assert (new.cell_type, new.source, new.outputs) == ("code", "import os", [])
    assert new.id and new.id not in {"intro", "plot", "last"}
    assert f"Inserted code cell {new.id} at position 1 in nb.ipynb" in msg.content
    edit(nb_call, new_source="# Top", edit_mode="insert", cell_type="markdown")
    top = cells(nb_file)
    assert [c.source for c in top[:2]] == ["# Top", "# Title"] and len(top) == 5


def test_delete_by_id_and_by_position(nb_call: Call, nb_file: Path) -> None:
    nb_call("Read", file_path="nb.ipynb")
    assert edit(nb_call, cell_id="plot", new_source="", edit_mode="delete").status == "success"
    assert [c.id for c in cells(nb_file)] == ["intro", "last"]
    msg = edit(nb_call, cell_id="cell-0", new_source="", edit_mode="delete")
    assert "Deleted cell intro (markdown)" in msg.content
    assert [c.id for c in cells(nb_file)] == ["last"]


def test_position_names_and_old_index_argument(nb_call: Call, nb_file: Path) -> None:
    nb_call("Read", file_path="nb.ipynb")
    edit(nb_call, cell_id="cell-2", new_source="x = 3")
    assert cells(nb_file)[2].source == "x = 3"
    edit(nb_call, cell_index=0, new_source="# Renamed")  # Claude Code's old cell_number
    assert cells(nb_file)[0].source == "# Renamed"
    msg = edit(nb_call, cell_id="cell-3", new_source="tail = 1")  # one past the end: append
    assert msg.status == "success" and cells(nb_file)[3].source == "tail = 1"


def test_unknown_cell_id_lists_the_ids_and_writes_nothing(nb_call: Call, nb_file: Path) -> None:
    nb_call("Read", file_path="nb.ipynb")
    before = nb_file.read_bytes()
    msg = edit(nb_call, cell_id="nope", new_source="x")
    assert msg.status == "error"
    assert "No cell has id 'nope'. The cells' ids are: intro, plot, last" in msg.content
    missing = edit(nb_call, new_source="x")
    assert missing.status == "error" and "cell_id is required to replace" in missing.content
    assert nb_file.read_bytes() == before


def test_edit_needs_a_read_and_refuses_a_changed_notebook(nb_call: Call, nb_file: Path) -> None:
    msg = edit(nb_call, cell_id="plot", new_source="x")
    assert msg.status == "error" and "have not Read it" in msg.content
    nb_call("Read", file_path="nb.ipynb")
    nb_file.write_text(make_notebook().replace("x = 2", "x = 22"))
    msg = edit(nb_call, cell_id="plot", new_source="x")
    assert msg.status == "error" and "was modified since you read it" in msg.content
    assert "x = 22" in nb_file.read_text()
    nb_call("Read", file_path="nb.ipynb")
    assert edit(nb_call, cell_id="plot", new_source="a").status == "success"
    assert edit(nb_call, cell_id="last", new_source="b").status == "success"  # own write counts


@pytest.mark.parametrize("content, reason", [
    ('{"cells": [', "it is not valid JSON"),
    ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": '
     '[{"cell_type": "code", "id": "a", "source": "x", "metadata": {}}]}',
     "it is not a valid notebook: 'outputs' is a required property"),
    ("[1, 2]", "it is JSON but not a notebook"),
])
def test_corrupt_notebook_is_refused_and_left_alone(nb_call: Call, workspace: Path,
                                                    content: str, reason: str) -> None:
    path = workspace / "nb.ipynb"
    path.write_text(content)
    nb_call("Read", file_path="nb.ipynb")
    msg = edit(nb_call, cell_id="cell-0", new_source="y")
    assert msg.status == "error"
    assert f"nb.ipynb cannot be edited as a notebook: {reason}" in msg.content
    assert "Nothing was changed" in msg.content
    assert path.read_text() == content


def test_old_notebook_without_ids_stays_valid(nb_call: Call, workspace: Path) -> None:
    path = workspace / "nb.ipynb"
    path.write_text(make_notebook(minor=4))
    text = nb_call("Read", file_path="nb.ipynb").content
    assert '<cell id="cell-1" type="code"' in text
    assert edit(nb_call, cell_id="cell-0", new_source="code = 1", edit_mode="insert",
                cell_type="code").status == "success"
    raw = json.loads(path.read_text())
    assert raw["nbformat_minor"] == 4 and all("id" not in c for c in raw["cells"])
    assert [c.source for c in cells(path)][:2] == ["# Title", "code = 1"]


def test_other_files_and_missing_notebooks(nb_call: Call, workspace: Path) -> None:
    (workspace / "a.py").write_text("x = 1\n")
    msg = nb_call("NotebookEdit", notebook_path="a.py", cell_id="cell-0", new_source="y")
    assert msg.status == "error" and "not a notebook (.ipynb). Use Edit" in msg.content
    msg = nb_call("NotebookEdit", notebook_path="new.ipynb", cell_id="x", new_source="y")
    assert msg.status == "error" and "Notebook does not exist: new.ipynb" in msg.content
    msg = nb_call("NotebookEdit", notebook_path="new.ipynb", new_source="# Hi",
                  edit_mode="insert", cell_type="markdown")
    assert msg.status == "success" and "Created new.ipynb" in msg.content
    assert [c.source for c in cells(workspace / "new.ipynb")] == ["# Hi"]


def test_written_notebook_is_what_jupyter_writes(nb_call: Call, nb_file: Path) -> None:
    nb_call("Read", file_path="nb.ipynb")
    edit(nb_call, cell_id="last", new_source="line1\nline2")
    raw = json.loads(nb_file.read_text())
    assert raw["cells"][2]["source"] == ["line1\n", "line2"]  # lines, as Jupyter stores them
    assert nb_file.read_text() == nbformat.writes(nbformat.read(str(nb_file), as_version=4)) \
        + "\n"


def test_edit_goes_through_the_docker_sandbox_too(workspace: Path, sandbox: Sandbox) -> None:
    """The bytes travel through the sandbox (the Docker one writes inside the container)."""
    (workspace / "nb.ipynb").write_text(make_notebook())
    ctx = ToolContext(sandbox)
    Read(ctx=ctx).invoke({"file_path": "nb.ipynb"})
    out = NotebookEdit(ctx=ctx).invoke({"notebook_path": "nb.ipynb", "cell_id": "last",
                                        "new_source": "z = 9"})
    assert "Replaced cell last (code)" in out
    assert cells(workspace / "nb.ipynb")[2].source == "z = 9"


# -- registration --------------------------------------------------------------------------
def test_extra_tools_are_off_by_default_and_plain_for_small_models(workspace: Path) -> None:
    ctx = ToolContext(LocalSandbox(workspace), web=FetchPolicy(allowed_domains=("x.org",)))
    assert [t.name for t in make_tools(ctx)] == ["Read", "Write", "Edit", "Glob", "Grep",
                                                 "LS", "Bash"]
    tools = make_tools(ctx, extra=("NotebookEdit", "Outline", "WebFetch", "Outline"))
    assert [t.name for t in tools][7:] == ["NotebookEdit", "Outline", "WebFetch"]
    assert [t.name for t in make_tools(ctx, include=["Read", "Outline"],
                                       extra=("Outline",))] == ["Read", "Outline"]
    with pytest.raises(ValueError, match="unknown extra tools"):
        make_tools(ctx, extra=("Browser",))
    extras = tools[7:]
    for tool in extras:
        schema = json.dumps(convert_to_openai_tool(tool))
        assert "anyOf" not in schema and "$ref" not in schema, tool.name
    constrained = ConstrainedToolChatModel(inner=ScriptedChatModel()).bind_tools(extras)
    prompt = constrained.tools_prompt()
    assert "cell_type (string, optional): code or markdown" in prompt
    assert "- Outline: Show the structure of a source file or folder" in prompt
    branches = constrained.reply_schema()["anyOf"]
    assert [b["properties"]["tool"]["const"] for b in branches][:3] == [
        "NotebookEdit", "Outline", "WebFetch"]


# -- the agent -----------------------------------------------------------------------------
def test_scripted_agent_reads_and_edits_a_notebook(workspace: Path) -> None:
    (workspace / "nb.ipynb").write_text(make_notebook())
    sandbox = LocalSandbox(workspace)
    model = ScriptedChatModel(script=[
        say("", tool_call("Read", {"file_path": "nb.ipynb"})),
        say("", tool_call("NotebookEdit", {"notebook_path": "nb.ipynb", "cell_id": "plot",
                                           "new_source": "print('fixed')"})),
        say("Fixed the plot cell."),
    ])
    tools = make_tools(ToolContext(sandbox), extra=("NotebookEdit",))
    with ClaudeLikeAgent(model, workspace=workspace, sandbox=sandbox, tools=tools,
                         permission_mode="bypassPermissions", persist=False) as agent:
        result = agent.run("Fix the plot cell")
    assert result.stop_reason == "done" and result.text == "Fixed the plot cell."
    assert "NotebookEdit" in model.bound_tool_names
    results = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert [m.status for m in results] == ["success", "success"]
    assert '<cell id="plot"' in results[0].content
    assert cells(workspace / "nb.ipynb")[1].source == "print('fixed')"


# -- LangChain's standard suites -------------------------------------------------------------
_FOLDER = tempfile.mkdtemp(prefix="claude-like-nb-std-")
_CTX = ToolContext(LocalSandbox(_FOLDER))
_EXAMPLE = {"notebook_path": "nb.ipynb", "cell_id": "last", "new_source": "x = 3"}


@pytest.fixture(scope="module", autouse=True)
def _remove_suite_folder() -> Iterator[None]:
    yield
    _CTX.sandbox.close()
    shutil.rmtree(_FOLDER, ignore_errors=True)


class _Setup:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return NotebookEdit

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"ctx": _CTX}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return dict(_EXAMPLE)

    @pytest.fixture(autouse=True)
    def _fresh_notebook(self) -> None:
        Path(_FOLDER, "nb.ipynb").write_text(make_notebook())
        Read(ctx=_CTX).invoke({"file_path": "nb.ipynb"})


class TestNotebookEditUnit(_Setup, ToolsUnitTests):
    pass


class TestNotebookEditIntegration(_Setup, ToolsIntegrationTests):
    def test_example_call_succeeds(self, tool: BaseTool) -> None:
        msg = tool.invoke({"type": "tool_call", "id": "1", "name": tool.name, "args": _EXAMPLE})
        assert msg.status == "success", msg.content

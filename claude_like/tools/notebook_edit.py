"""NotebookEdit: replace, insert or delete one cell of a Jupyter notebook, as Claude Code's
tool of that name does, keeping the notebook valid (nbformat).

Cells are named by id (what Read shows), or ``cell-N`` for the N-th cell counting from 0.
``insert`` puts the new cell after the named one (at the top without a ``cell_id``). A
replaced code cell loses its outputs and execution count, which no longer match its
source. As with Edit, the notebook must have been Read in this conversation and unchanged
since; a notebook nbformat refuses is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field, model_validator

from claude_like.tools.base import ClaudeLikeTool, ToolInput
from claude_like.tools.notebook_cells import (
    NotebookError,
    cell_key,
    dump_notebook,
    find_cell,
    load_notebook,
    new_cell,
)

if TYPE_CHECKING:
    from nbformat import NotebookNode

EditMode = Literal["replace", "insert", "delete"]


class NotebookEditInput(ToolInput):
    notebook_path: str = Field(
        description="Path of the .ipynb file. Example: analysis.ipynb",
        validation_alias=AliasChoices("notebook_path", "file_path", "path"),
    )
    new_source: str = Field(description="The cell's new source ('' for delete).")
    cell_id: str = Field(
        default="",
        description="The cell's id from Read (or cell-N, N from 0). insert: the new cell goes "
        "after it (first without one).",
    )
    cell_type: Literal["code", "markdown"] = Field(
        default=None,  # type: ignore[assignment]  # not given: the cell keeps its type
        description="code or markdown (default: unchanged; code when inserting).",
    )
    edit_mode: EditMode = Field(default="replace", description="replace, insert or delete.")

    @model_validator(mode="before")
    @classmethod
    def _index_as_id(cls, data: Any) -> Any:
        """Older schemas name the cell by position (``cell_number``, ``cell_index``)."""
        if isinstance(data, dict) and not data.get("cell_id"):
            for key in ("cell_index", "cell_number"):
                if isinstance(data.get(key), int):
                    data = {**data, "cell_id": f"cell-{data[key]}"}
                    break
        return data


class NotebookEdit(ClaudeLikeTool):
    """Cell-level edits, so the model never has to write notebook JSON by hand."""

    name: str = "NotebookEdit"
    description: str = (
        "Replace, insert or delete one cell of a Jupyter notebook (.ipynb). Read the "
        "notebook first to see the cell ids. Example: notebook_path='nb.ipynb', "
        "cell_id='a1b2c3', new_source='print(1)'."
    )
    args_schema: type[BaseModel] = NotebookEditInput
    read_only = False

    def _execute(self, notebook_path: str, new_source: str, cell_id: str = "",
                 cell_type: str | None = None, edit_mode: EditMode = "replace") -> str:
        resolved = self.resolve(notebook_path)
        shown = self.show(resolved)
        if not resolved.endswith(".ipynb"):
            raise ToolException(f"{shown} is not a notebook (.ipynb). Use Edit for other files.")
        info = self.sandbox.stat(resolved)
        if info is None:
            if edit_mode != "insert":
                raise self.not_found(notebook_path, "Notebook")
            return self._create(resolved, shown, new_source, cell_type or "code")
        if info.is_dir:
            raise ToolException(f"{shown} is a directory, not a notebook.")
        data = self.read_file(resolved, shown)
        self.ensure_read_and_unchanged(resolved, shown, info, data)
        try:
            nb = load_notebook(data)
        except NotebookError as exc:
            raise ToolException(
                f"{shown} cannot be edited as a notebook: {exc}. Nothing was changed. Read it "
                "as text and repair the JSON with Edit, or rewrite it with Write."
            ) from exc
        if edit_mode == "insert":
            index = min(find_cell_or_fail(nb, cell_id) + 1, len(nb.cells)) if cell_id else 0
            message = self._insert(nb, index, new_source, cell_type or "code")
        elif not cell_id:
            raise ToolException(
                f"cell_id is required to {edit_mode} a cell. Read {shown} to see the cells' ids."
            )
        else:
            index = find_cell_or_fail(nb, cell_id)
            if index == len(nb.cells):  # one past the end: Claude Code inserts there
                message = self._insert(nb, index, new_source, cell_type or "code")
            elif edit_mode == "delete":
                message = f"Deleted cell {cell_key(nb, index)} ({nb.cells[index].cell_type})"
                del nb.cells[index]
            else:
                message = self._replace(nb, index, new_source, cell_type)
        self._save(resolved, shown, nb)
        head, _, tail = message.partition(";")
        return f"{head} in {shown}{';' + tail if tail else ''}. It now has {len(nb.cells)} cells."

    def _insert(self, nb: NotebookNode, index: int, source: str, cell_type: str) -> str:
        cell = new_cell(nb, cell_type, source)
        nb.cells.insert(index, cell)
        return f"Inserted {cell_type} cell {cell_key(nb, index)} at position {index}"

    def _replace(self, nb: NotebookNode, index: int, source: str, cell_type: str | None) -> str:
        old = nb.cells[index]
        kind = cell_type or old.cell_type
        key = cell_key(nb, index)
        cleared = old.cell_type == "code" and bool(old.get("outputs"))
        if kind == old.cell_type:
            old.source = source
            if kind == "code":  # the outputs belonged to the old source
                old.outputs = []
                old.execution_count = None
        else:
            cell = new_cell(nb, kind, source, old.get("id"))
            cell.metadata = old.metadata
            nb.cells[index] = cell
        what = f"Replaced cell {key} ({kind})"
        return what + ("; its old outputs were cleared" if cleared else "")

    def _create(self, resolved: str, shown: str, source: str, cell_type: str) -> str:
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells.append(new_cell(nb, cell_type, source))
        self._save(resolved, shown, nb)
        return f"Created {shown} with one {cell_type} cell {cell_key(nb, 0)}."

    def _save(self, resolved: str, shown: str, nb: NotebookNode) -> None:
        try:
            data = dump_notebook(nb)
        except NotebookError as exc:
            raise ToolException(f"{shown} was not changed: {exc}") from exc
        self.sandbox.write_bytes(resolved, data)
        self.remember_written(resolved, data)


def find_cell_or_fail(nb: NotebookNode, cell_id: str) -> int:
    try:
        return find_cell(nb, cell_id)
    except LookupError as exc:
        raise ToolException(str(exc)) from exc

"""Jupyter notebooks as the tools see them: parsed and checked with ``nbformat``, shown as
cells with their outputs (Read), found by id or position, and written back valid
(NotebookEdit).

A notebook that is not valid JSON or not a valid notebook raises :class:`NotebookError`
with the reason, so NotebookEdit writes nothing and Read can fall back to plain text.
"""

from __future__ import annotations

import json
import re
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nbformat is imported when a notebook is met (it takes ~0.15 s)
    from nbformat import NotebookNode

MAX_OUTPUT_CHARS = 2000
"""Text of one cell's outputs shown by Read; the rest is cut with a note."""
MAX_IDS_LISTED = 10
"""Cell ids named when a ``cell_id`` is not found."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_POSITIONAL_ID = re.compile(r"^(?:cell[-_ ]?)?(\d+)$", re.IGNORECASE)
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp")
_TEXT_TYPES = ("text/plain", "text/markdown", "application/json", "text/latex")


class NotebookError(ValueError):
    """The bytes are not a notebook nbformat accepts (the message says why)."""


def has_ids(nb: NotebookNode) -> bool:
    """Cell ids exist from nbformat 4.5 on (older notebooks may not hold them)."""
    return (nb.nbformat, nb.nbformat_minor) >= (4, 5)


def load_notebook(data: bytes) -> NotebookNode:
    """Parse and validate; version 4 in memory (older notebooks are converted)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"it is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"it is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", []), list):
        raise NotebookError("it is JSON but not a notebook (no list of cells)")
    import nbformat
    from nbformat.validator import normalize

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
            if has_ids(nb):
                _, fixed = normalize(nb)  # a missing or repeated cell id gets a fresh one
                nb = nbformat.from_dict(fixed)
            nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        raise NotebookError(f"it is not a valid notebook: {_first_line(exc)}") from exc
    except Exception as exc:  # nbformat's readers raise what the JSON makes them raise
        raise NotebookError(f"it is not a valid notebook ({type(exc).__name__}: {exc})") from exc
    return nb


def dump_notebook(nb: NotebookNode) -> bytes:
    """Validated JSON as Jupyter writes it; NotebookError (nothing to write) if invalid."""
    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nb)
            text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    except nbformat.ValidationError as exc:
        raise NotebookError(f"the edit would make it invalid: {_first_line(exc)}") from exc
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def cell_key(nb: NotebookNode, index: int) -> str:
    """What the model passes as ``cell_id``: the cell's id, or ``cell-N`` without one."""
    cell_id = nb.cells[index].get("id")
    return str(cell_id) if cell_id else f"cell-{index}"


def find_cell(nb: NotebookNode, cell_id: str) -> int:
    """The index of the cell with id ``cell_id``; ``cell-N`` or ``N`` means index N
    (0-based). ``len(cells)`` is returned for ``cell-<len>`` (the caller decides)."""
    wanted = cell_id.strip()
    for i, cell in enumerate(nb.cells):
        if cell.get("id") == wanted:
            return i
    m = _POSITIONAL_ID.match(wanted)
    if m and int(m.group(1)) <= len(nb.cells):
        return int(m.group(1))
    raise LookupError(_missing_id_message(nb, wanted))


def _missing_id_message(nb: NotebookNode, wanted: str) -> str:
    keys = [cell_key(nb, i) for i in range(len(nb.cells))]
    if not keys:
        return f"No cell has id {wanted!r}: the notebook has no cells."
    shown = ", ".join(keys[:MAX_IDS_LISTED]) + (" ..." if len(keys) > MAX_IDS_LISTED else "")
    return (f"No cell has id {wanted!r}. The cells' ids are: {shown} (or use cell-N for the "
            "N-th cell, counting from 0). Read the notebook to see them.")


def new_cell(nb: NotebookNode, cell_type: str, source: str, cell_id: str | None = None
             ) -> NotebookNode:
    """A fresh cell of ``cell_type``; with an id only when the notebook's version has ids."""
    import nbformat

    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
            "raw": nbformat.v4.new_raw_cell}[cell_type]
    cell = make(source=source)
    if not has_ids(nb):
        cell.pop("id", None)
    elif cell_id:
        cell["id"] = cell_id
    return cell


def language(nb: NotebookNode) -> str:
    info = nb.metadata.get("language_info") or {}
    kernel = nb.metadata.get("kernelspec") or {}
    return str(info.get("name") or kernel.get("language") or "python")


# -- showing -------------------------------------------------------------------------------
def render_notebook(nb: NotebookNode, shown: str, start: int, limit: int, budget: int) -> str:
    """Cells ``start``.. (1-based, at most ``limit``) within ``budget`` characters, with a
    header and, when cells are left out, a note on how to read them."""
    total = len(nb.cells)
    head = f"{shown}: Jupyter notebook ({language(nb)}), {total} cell{'s' * (total != 1)}."
    if total == 0:
        return head
    if start > total:
        raise LookupError(f"offset={start} is past the last cell of {shown}, which has "
                          f"{total} cells. Use an offset between 1 and {total}.")
    end = min(total, start - 1 + limit)
    used, blocks = len(head), []
    for n in range(start, end + 1):
        block = render_cell(nb, n - 1)
        if used + len(block) > budget:
            if blocks:
                end = n - 1
                break
            keep = max(budget - used, 200)
            block = block[:keep] + f"\n[... cell cut: {keep:,} of {len(block):,} characters shown]"
        used += len(block) + 1
        blocks.append(block)
    body = "\n".join([head, *blocks])
    if start == 1 and end == total:
        return body
    note = f"[Showing cells {start}-{end} of {total}."
    if end < total:
        note += f" To read more, call Read with offset={end + 1}."
    return body + "\n\n" + note + "]"


def render_cell(nb: NotebookNode, index: int) -> str:
    """One cell as Read shows it: a tag with id and type, the source, then its outputs."""
    cell = nb.cells[index]
    attrs = f'id="{cell_key(nb, index)}" type="{cell.cell_type}"'
    if cell.cell_type == "code" and cell.get("execution_count") is not None:
        attrs += f' execution_count="{cell.execution_count}"'
    parts = [f"<cell {attrs}>", str(cell.source), "</cell>"]
    if cell.cell_type == "code" and cell.get("outputs"):
        parts += ["<outputs>", render_outputs(cell.outputs), "</outputs>"]
    return "\n".join(parts)


def render_outputs(outputs: list[Any], limit: int = MAX_OUTPUT_CHARS) -> str:
    """Outputs as text: streams, results, errors (colour codes removed), images as a note."""
    texts = [_output_text(out) for out in outputs]
    text = "\n".join(t for t in texts if t)
    if len(text) > limit:
        text = text[:limit] + f"\n[... outputs cut: {len(text):,} characters in all]"
    return text


def _output_text(out: Any) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return _clean(out.get("text", "")).rstrip("\n")
    if kind == "error":
        trace = "\n".join(_clean(line) for line in out.get("traceback") or [])
        return trace or f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"
    data = out.get("data") or {}
    notes = [f"[{mime} output, {_size(data[mime])} not shown]" for mime in _IMAGE_TYPES
             if mime in data]
    text = next((data[m] for m in _TEXT_TYPES if m in data), None)
    if text is None and "text/html" in data:
        notes.append(f"[text/html output, {_size(data['text/html'])} not shown]")
    if text is not None:
        text = text if isinstance(text, str) else json.dumps(text)
        return "\n".join([_clean(text).rstrip("\n"), *notes])
    return "\n".join(notes)


def _clean(text: Any) -> str:
    return _ANSI.sub("", text if isinstance(text, str) else "".join(text))


def _size(value: Any) -> str:
    n = len(value if isinstance(value, str) else json.dumps(value))
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} bytes"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

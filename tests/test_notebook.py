"""The quickstart notebook's code cells run as they are (no Jupyter needed)."""

from __future__ import annotations

import json
from pathlib import Path

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_runs(capsys):
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    namespace: dict = {}
    for cell in cells:
        if cell["cell_type"] == "code":
            exec("".join(cell["source"]), namespace)
    printed = capsys.readouterr().out
    assert "[done after 3 turns]" in printed
    assert "return a + b" in printed

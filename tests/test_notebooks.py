"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel (nbclient +
ipykernel), against the real llama-server and Docker where it uses them: a cell that
raises fails the test, with the cell and its traceback in the message.

A notebook that needs llama-server or Docker carries the ``live`` / ``docker`` marks, so
``-m "not docker and not live"`` leaves it out; when they are missing it is skipped
locally and FAILS in CI (``CI=true``), as the live and Docker tests do.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import psutil
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from claude_like.models import ModelUnavailableError
from claude_like.models.llama_build import template_path
from claude_like.models.llama_server import bundled_gguf, find_llama_server
from claude_like.sandbox import SandboxError
from claude_like.sandbox.docker_image import DEFAULT_IMAGE, LABEL, connect, ensure_image

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CELL_TIMEOUT = 600
"""Seconds one cell may take; a whole notebook gets half as much again (a tiny model on a
busy CPU is slow; in CI the five take a few minutes together)."""

NEEDS: dict[str, tuple[str, ...]] = {
    "quickstart": ("live",),
    "embedding": ("live",),
    "sandboxes": ("docker", "live"),
    "backends": ("live",),
    "permissions": ("live",),
}
"""What each notebook needs besides Python: ``live`` (llama-server and the bundled GGUF;
``backends`` also the tool-aware template), ``docker`` (an engine and the sandbox image)."""


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"notebooks must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _check_live(name: str) -> None:
    if find_llama_server() is None:
        _missing("no llama-server binary; run `bash .ci/llama.sh`")
    try:
        bundled_gguf()
    except ModelUnavailableError as e:
        _missing(str(e))
    if name == "backends" and template_path() is None:
        _missing("no tool-aware chat template; run `bash .ci/llama.sh`")


def _docker_ids() -> set[str]:
    try:
        client = connect()
        ensure_image(client, DEFAULT_IMAGE)
    except SandboxError as e:
        _missing(str(e))
        return set()
    return {c.id for c in client.containers.list(all=True, filters={"label": f"{LABEL}=1"})}


def _leaked(before: set[str]) -> list[str]:
    """Containers made since ``before`` whose owner process is gone (the kernel has shut
    down, so each of its containers should have been removed); other test processes that
    share the engine meanwhile keep theirs."""
    client = connect()
    out = []
    for c in client.containers.list(all=True, filters={"label": f"{LABEL}=1"}):
        pid = c.labels.get(f"{LABEL}.pid", "")
        if c.id not in before and pid.isdigit() and not psutil.pid_exists(int(pid)):
            out.append(c.name)
            c.remove(force=True)
    return out


def test_every_notebook_is_executed_here() -> None:
    """A notebook added to notebooks/ without an entry here would never run in CI."""
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NEEDS)


def _params() -> list:  # type: ignore[type-arg]
    return [pytest.param(name, marks=[getattr(pytest.mark, need) for need in needs], id=name)
            for name, needs in NEEDS.items()]


@pytest.mark.timeout(3 * CELL_TIMEOUT // 2)
@pytest.mark.parametrize("name", _params())
def test_notebook_runs_top_to_bottom(name: str, tmp_path: Path) -> None:
    if "live" in NEEDS[name]:
        _check_live(name)
    before = _docker_ids() if "docker" in NEEDS[name] else None
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    failure = None
    try:
        client.execute()
    except CellExecutionError as e:  # reported below, outside the except: no chained copy
        failure = re.sub(r"\x1b\[[0-9;]*m", "", str(e))  # IPython colours the traceback
    finally:
        nbformat.write(nb, tmp_path / f"{name}.ipynb")  # the executed copy, to look at
    if failure is not None:
        pytest.fail(f"{name}.ipynb: a cell failed\n{failure}", pytrace=False)
    if before is not None:
        assert not _leaked(before), "the notebook left sandbox containers behind"
    html = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "text/html" in o.get("data", {})]
    assert html, "no rich (HTML) output: the display of results and streams is broken"

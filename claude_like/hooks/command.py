"""Claude Code's command hooks: shell commands from the settings files' ``"hooks"`` object.

Each runs on the host with ``/bin/sh -c`` in the workspace, gets the event as JSON on
stdin and answers the way Claude Code defines: exit 0 with JSON on stdout (plain text is
context for UserPromptSubmit), exit 2 to block with stderr as the reason, any other code
is a non-blocking error for the user. A command that runs past its timeout is killed with
everything it started (``claude_like.sandbox.processes``).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from claude_like.hooks.types import DEFAULT_TIMEOUT, HookReply
from claude_like.sandbox.processes import MARKER_VAR, kill_processes, launch_argv, new_marker
from claude_like.sandbox.shell_stream import OutputCapture

OUTPUT_LIMIT = 64 * 1024
"""Bytes of stdout and of stderr kept from a command hook (head and tail beyond it)."""

_POLL_SECONDS = 0.05
"""How often the process is checked while something it left behind keeps its pipes open."""


class HookConfigError(ValueError):
    """A ``"hooks"`` settings value that is not in Claude Code's shape; says where."""


@dataclass(frozen=True)
class CommandHook:
    """One ``{"type": "command", "command": ..., "timeout": ...}`` entry."""

    command: str
    timeout: float = DEFAULT_TIMEOUT

    @property
    def name(self) -> str:
        """How messages name it: the command, shortened."""
        text = " ".join(self.command.split())
        return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class CommandMatcher:
    """One ``{"matcher": ..., "hooks": [...]}`` entry; ``unsupported`` lists hook types
    other than ``command`` (prompt, http, agent), which are not run."""

    matcher: str | None
    hooks: tuple[CommandHook, ...]
    unsupported: tuple[str, ...] = ()


def parse_command_hooks(raw: Any) -> dict[str, list[CommandMatcher]]:
    """The matchers of a ``"hooks"`` settings value, by event; :class:`HookConfigError`
    (naming the entry) when its shape is wrong."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise HookConfigError("\"hooks\" must be an object of event names to lists")
    out: dict[str, list[CommandMatcher]] = {}
    for event, entries in raw.items():
        where = f"hooks.{event}"
        if not isinstance(entries, list):
            raise HookConfigError(f"{where} must be a list of matcher entries")
        out[str(event)] = [_parse_entry(entry, f"{where}[{i}]") for i, entry in
                           enumerate(entries)]
    return out


def _parse_entry(entry: Any, where: str) -> CommandMatcher:
    if not isinstance(entry, Mapping):
        raise HookConfigError(f"{where} must be an object with \"matcher\" and \"hooks\"")
    matcher = entry.get("matcher")
    if matcher is not None and not isinstance(matcher, str):
        raise HookConfigError(f"{where}.matcher must be a string")
    hooks = entry.get("hooks")
    if not isinstance(hooks, list):
        raise HookConfigError(f"{where}.hooks must be a list")
    commands: list[CommandHook] = []
    unsupported: list[str] = []
    for j, hook in enumerate(hooks):
        at = f"{where}.hooks[{j}]"
        if not isinstance(hook, Mapping) or not isinstance(hook.get("type"), str):
            raise HookConfigError(f"{at} must be an object with a \"type\"")
        timeout = hook.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise HookConfigError(f"{at}.timeout must be a positive number of seconds")
        if hook["type"] != "command":
            unsupported.append(hook["type"])
            continue
        command = hook.get("command")
        if not isinstance(command, str) or not command.strip():
            raise HookConfigError(f"{at}.command must be a non-empty string")
        commands.append(CommandHook(command, float(timeout)))
    return CommandMatcher(matcher, tuple(commands), tuple(unsupported))


@dataclass(frozen=True)
class CommandResult:
    """How a command hook ended. ``exit_code`` is None when it timed out."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool


def run_command(command: str, payload: bytes, *, cwd: str, env: Mapping[str, str],
                timeout: float, output_limit: int = OUTPUT_LIMIT) -> CommandResult:
    """Run ``command`` with ``/bin/sh -c`` in ``cwd``, ``payload`` on its stdin. Every process
    it started is gone on return. OSError when it cannot start (no such ``cwd``)."""
    marker = new_marker()
    popen = subprocess.Popen(
        launch_argv(["/bin/sh", "-c", command]),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env={**env, MARKER_VAR: marker},
        start_new_session=True,
    )
    out, err = OutputCapture(output_limit), OutputCapture(output_limit)
    deadline = time.monotonic() + max(timeout, 0.0)
    try:
        timed_out = not _exchange(popen, payload, out, err, deadline)
    finally:
        if popen.returncode is None:  # not reaped yet, so its pid is still its own
            kill_processes(root=popen.pid, marker=marker, session=popen.pid)
        else:
            kill_processes(marker=marker)  # what it left running
        for pipe in (popen.stdin, popen.stdout, popen.stderr):
            if pipe is not None:
                pipe.close()
        popen.wait()
    return CommandResult(
        exit_code=None if timed_out else popen.returncode,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=timed_out,
    )


def command_reply(event: str, hook: CommandHook, result: CommandResult) -> HookReply:
    """A command's ending read as Claude Code reads it for ``event``."""
    name = hook.name
    if result.timed_out:
        return HookReply(name, failure=f"timed out after {hook.timeout:g} s (killed)")
    stderr = result.stderr.strip()
    if result.exit_code == 2:
        return HookReply(name, blocking=stderr or f"blocked by {event} hook {name}")
    if result.exit_code != 0:
        detail = f": {_tail(stderr)}" if stderr else ""
        return HookReply(name, failure=f"exit code {result.exit_code}{detail}")
    stdout = result.stdout.strip()
    if not stdout:
        return HookReply(name, output={})
    try:
        value = json.loads(stdout)
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        return HookReply(name, output=value)
    if event == "UserPromptSubmit":  # plain stdout is context for the model there
        return HookReply(name, context=stdout)
    if value is None:
        return HookReply(name, failure=f"stdout is not JSON: {_head(stdout)}")
    return HookReply(name, failure=f"stdout is JSON but not an object: {_head(stdout)}")


def _head(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _tail(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def _exchange(popen: subprocess.Popen, payload: bytes, out: OutputCapture,
              err: OutputCapture, deadline: float) -> bool:
    """Write ``payload``, read both outputs until the process has ended (True) or the
    deadline passed (False). A process left behind holding the pipes does not hold us."""
    assert popen.stdin and popen.stdout and popen.stderr
    captures = {popen.stdout.fileno(): out, popen.stderr.fileno(): err}
    stdin_fd = popen.stdin.fileno()
    os.set_blocking(stdin_fd, False)
    pending = memoryview(payload)
    writers = [stdin_fd] if pending else []
    if not pending:
        popen.stdin.close()
    while True:
        if popen.poll() is not None:
            _drain(captures, deadline)
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if not captures and not writers:
            try:
                popen.wait(left)
                return True
            except subprocess.TimeoutExpired:
                return False
        readable, writable, _ = select.select(list(captures), writers, [],
                                              min(left, _POLL_SECONDS))
        for fd in readable:
            _read_into(captures, fd)
        if writable:
            try:
                pending = pending[os.write(stdin_fd, pending[:65536]):]
            except BrokenPipeError:  # it does not read its stdin: fine
                pending = pending[:0]
            except BlockingIOError:
                continue
            if not pending:
                writers = []
                popen.stdin.close()


def _read_into(captures: dict[int, OutputCapture], fd: int) -> None:
    chunk = os.read(fd, 65536)
    if chunk:
        captures[fd].add(chunk)
    else:
        del captures[fd]


def _drain(captures: dict[int, OutputCapture], deadline: float) -> None:
    """What is already in the pipes after the process ended (not what others still write)."""
    while captures and time.monotonic() < deadline:
        readable, _, _ = select.select(list(captures), [], [], 0)
        if not readable:
            return
        for fd in readable:
            _read_into(captures, fd)


__all__ = [
    "OUTPUT_LIMIT",
    "CommandHook",
    "CommandMatcher",
    "CommandResult",
    "HookConfigError",
    "command_reply",
    "parse_command_hooks",
    "run_command",
]

"""Sandboxes: the only way tools reach files and the shell."""

import os

from claude_like.sandbox.base import (
    ExecResult,
    FileInfo,
    FileTooLargeError,
    PathOutsideWorkspaceError,
    Sandbox,
    SandboxError,
    WorkspaceFiles,
)
from claude_like.sandbox.docker import DockerSandbox
from claude_like.sandbox.local import LocalSandbox


def make_sandbox(kind: str | Sandbox, workspace: str | os.PathLike[str]) -> Sandbox:
    """A sandbox from its name (``"local"``, ``"docker"``) or the instance itself."""
    if isinstance(kind, Sandbox):
        return kind
    if kind == "local":
        return LocalSandbox(workspace)
    if kind == "docker":
        return DockerSandbox(workspace)
    raise ValueError(f"unknown sandbox {kind!r}: use 'local', 'docker' or a Sandbox instance")


__all__ = [
    "DockerSandbox",
    "ExecResult",
    "FileInfo",
    "FileTooLargeError",
    "LocalSandbox",
    "PathOutsideWorkspaceError",
    "Sandbox",
    "SandboxError",
    "WorkspaceFiles",
    "make_sandbox",
]

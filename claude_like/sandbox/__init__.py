"""Sandboxes: the only way tools reach files and the shell."""

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
]

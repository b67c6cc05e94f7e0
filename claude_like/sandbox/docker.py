"""DockerSandbox: every command runs in an isolated, long-lived container.

File operations go straight to the host folder bind-mounted at ``root``, through
:class:`~claude_like.sandbox.docker_files.BeneathFiles` (nothing resolves outside the
workspace, whatever the container swaps in meanwhile; reads are capped). Each session
name has its own persistent bash in the container; ``run_program`` runs one program with
no shell. Every program starts under the launcher of
:mod:`~claude_like.sandbox.docker_inside`: a seccomp filter (no set-uid/set-gid bits, no
ptrace) and a subreaper, so a timeout, ``close_session`` or ``close()`` stops everything
it started, ``nohup``, ``setsid`` and double forks included. The container
(:mod:`~claude_like.sandbox.docker_container`) is created on first use, recreated when it
died, and removed on ``close()``, on garbage collection and at interpreter exit.

Whose files: the container runs as the workspace's owner (uid:gid of its folder), so
files the agent creates belong to that owner and nothing is ever chowned. When the owner
is root, the container runs as uid 0, still without privileges: every capability dropped
(no DAC override: it can write only what root owns, i.e. the workspace, and the tmpfs),
no-new-privileges, a read-only root, the seccomp filter (set-uid files and ptrace
refused), a non-dumpable PID 1. A non-root uid there would need the workspace chowned,
ACLs added to the user's files, or an idmapped mount (Docker's API offers none; a user
namespace needs the engine's ``userns-remap``, a setting for every container): each
changes the user's files or the host's configuration. ``user=`` picks a uid explicitly.

Disk: /tmp and home are tmpfs of ``scratch_mb``; a single file may not exceed
``disk_limit_mb`` (``ulimit -f``), and after each command the workspace's growth since
the sandbox started is checked against ``disk_limit_mb``: over it, every process the
sandbox's commands started is stopped and the result says so.
"""

from __future__ import annotations

import os
import secrets
import threading
import weakref
from dataclasses import replace
from typing import TYPE_CHECKING

from claude_like.sandbox.base import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_SESSION,
    ExecResult,
    Sandbox,
    SandboxError,
)
from claude_like.sandbox.docker_container import Container, ContainerDiedError, ContainerSpec
from claude_like.sandbox.docker_files import BeneathFiles, disk_usage
from claude_like.sandbox.docker_image import DEFAULT_IMAGE
from claude_like.sandbox.docker_programs import Programs
from claude_like.sandbox.shell import OutputCapture

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container as DockerContainer


def _parse_user(user: str | int) -> tuple[int, int]:
    text = str(user)
    uid_s, _, gid_s = text.partition(":")
    try:
        uid = int(uid_s)
        gid = int(gid_s) if gid_s else uid
    except ValueError:
        raise SandboxError(f"user must be numeric 'uid' or 'uid:gid', got {user!r}") from None
    if uid == 0:
        raise SandboxError(
            "user=0 (root) is not accepted; the sandbox runs as uid 0 only for a workspace "
            "that root owns (see claude_like.sandbox.docker)"
        )
    return uid, gid


class DockerSandbox(BeneathFiles, Sandbox):
    """Runs tools in a container that sees only ``workspace`` (mounted at ``root``).

    ``name`` lets a later sandbox reattach to the same container (``keep=True`` leaves it
    running after ``close()`` for that). ``auto_build=True`` builds a missing image with
    ``sandbox/build.sh`` instead of raising ImageMissingError. ``client`` is a docker SDK
    client (default: from the environment). ``disk_limit_mb=None`` turns the workspace
    growth check off.
    """

    def __init__(
        self,
        workspace: str | os.PathLike[str],
        *,
        image: str = DEFAULT_IMAGE,
        name: str | None = None,
        root: str = "/workspace",
        network_mode: str = "none",
        mem_limit: str | int = "1g",
        cpus: float = 1.0,
        pids_limit: int = 256,
        scratch_mb: int = 512,
        disk_limit_mb: int | None = 1024,
        read_only: bool = True,
        user: str | int | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        default_timeout: float = DEFAULT_COMMAND_TIMEOUT,
        env: dict[str, str] | None = None,
        keep: bool = False,
        auto_build: bool = False,
        client: docker.DockerClient | None = None,
    ) -> None:
        if not root.startswith("/") or root == "/":
            raise SandboxError(f"root must be an absolute folder other than /, got {root!r}")
        BeneathFiles.__init__(self, workspace, root)
        uid, gid = self.owner if user is None else _parse_user(user)
        self.disk_limit_mb = disk_limit_mb
        self._box = Container(
            ContainerSpec(
                image=image,
                name=name or f"claude-like-{secrets.token_hex(6)}",
                host_dir=self.host_dir,
                root=self.root,
                uid=uid,
                gid=gid,
                network_mode=network_mode,
                mem_limit=mem_limit,
                cpus=cpus,
                pids_limit=pids_limit,
                scratch_mb=scratch_mb,
                file_size_mb=disk_limit_mb,
                read_only=read_only,
                env=dict(env or {}),
            ),
            client=client,
            keep=keep,
            auto_build=auto_build,
        )
        self._programs = Programs(self._box, output_limit, default_timeout)
        self._baseline: int | None = None
        self._disk_lock = threading.Lock()
        self._closed = False
        self._finalizer = weakref.finalize(self, self._box.close)

    # -- what callers read ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._box.spec.name

    @property
    def image(self) -> str:
        return self._box.spec.image

    @property
    def uid(self) -> int:
        return self._box.spec.uid

    @property
    def user(self) -> str:
        return self._box.spec.user

    @property
    def client(self) -> docker.DockerClient:
        return self._box.client

    @property
    def container(self) -> DockerContainer:
        """The running container (created, started or recreated as needed)."""
        return self._box.ensure()

    # -- Sandbox -------------------------------------------------------------------------------
    def execute(
        self, command: str, timeout: float | None = None, *, session: str = DEFAULT_SESSION
    ) -> ExecResult:
        if self._closed:
            raise SandboxError("this sandbox is closed")
        self._measure_baseline()
        result = self._programs.execute(command, timeout, session)
        return self._check_disk(result)

    def run_program(
        self, argv: list[str], timeout: float, *, output_limit: int = DEFAULT_OUTPUT_LIMIT
    ) -> ExecResult:
        if self._closed:
            raise SandboxError("this sandbox is closed")
        if not argv:
            raise SandboxError("run_program needs a program to run")
        capture = OutputCapture(output_limit)
        return self._programs.run(argv, timeout, capture)

    def close_session(self, session: str) -> None:
        self._programs.close_session(session)

    def close(self) -> None:
        """Remove the container (unless ``keep``) and stop every shell. Idempotent.

        The container goes first: a command still running in another thread then ends at
        once instead of holding ``close()`` until its timeout.
        """
        if self._closed:
            return
        self._closed = True
        if self._box.keep:
            self._programs.close_all()
            self._finalizer()
        else:
            self._finalizer()
            self._programs.close_all()

    # -- disk ----------------------------------------------------------------------------------
    def _measure_baseline(self) -> None:
        if self.disk_limit_mb is not None and self._baseline is None:
            with self._disk_lock:
                if self._baseline is None:
                    self._baseline = disk_usage(self.host_dir)

    def _check_disk(self, result: ExecResult) -> ExecResult:
        if self.disk_limit_mb is None or self._baseline is None:
            return result
        grown = disk_usage(self.host_dir) - self._baseline
        if grown <= self.disk_limit_mb << 20:
            return result
        self._programs.stop_everything()
        note = (
            f"disk limit: the workspace grew by {grown / (1 << 20):.1f} MB since the sandbox "
            f"started, over its limit of {self.disk_limit_mb} MB (disk_limit_mb); every "
            "process the commands started was stopped. Delete files you made to go on."
        )
        return replace(result, note="; ".join(n for n in (result.note, note) if n))

    def __repr__(self) -> str:
        return f"DockerSandbox({str(self.host_dir)!r}, image={self.image!r}, name={self.name!r})"


__all__ = ["ContainerDiedError", "DockerSandbox"]

"""DockerSandbox: every command runs in an isolated, long-lived container.

File operations go straight to the host folder bind-mounted at ``root``, through
:class:`~claude_like.sandbox.base.WorkspaceFiles` (nothing resolves outside the
workspace, whatever the container swaps in meanwhile; reads are capped). Each session
name has its own persistent bash in the container; ``run_program`` runs one program with
no shell. Every program starts under the launcher of
:mod:`~claude_like.sandbox.docker_inside`: a seccomp filter (no set-uid/set-gid bits, no
ptrace) and a subreaper, so a timeout, ``close_session`` or ``close()`` stops everything
it started, ``nohup``, ``setsid`` and double forks included. The container
(:mod:`~claude_like.sandbox.docker_container`) is created on first use, recreated when it
died, and removed on ``close()``, on garbage collection and at interpreter exit.

Whose files: the container runs as the workspace's owner (uid:gid of its folder), so
files the agent creates belong to that owner and nothing is ever chowned. When root owns
the workspace, the container runs as uid 1000 over an idmapped view of it
(:mod:`~claude_like.sandbox.docker_idmap`: root's files appear as 1000's inside, and what
1000 writes is root's on disk). Where no such view can be made (the host process is not
root, a kernel before 5.12, a file system without idmap support) it runs as uid 0, still
without privileges: every capability dropped (no DAC override: it can change only what
root owns, i.e. the workspace, and the tmpfs), no-new-privileges, a read-only root, the
seccomp filter (set-uid files and ptrace refused), a non-dumpable PID 1; the other ways
to a non-root uid (chowning the workspace, ACLs on it, the engine's daemon-wide
``userns-remap``) change the user's files or the host's configuration. ``user=`` picks a
uid explicitly.

Disk: /tmp and home are tmpfs of ``scratch_mb``; a single file may not exceed
``max_file_size`` (``ulimit -f``), and after each command (and before each write) the
workspace's growth since the sandbox started is checked against ``max_workspace_growth``:
over it, every process the sandbox's commands started is stopped and the result says so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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
    WorkspaceFiles,
)
from claude_like.sandbox.confined import write_replacing
from claude_like.sandbox.disk import (
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_WORKSPACE_GROWTH,
    GrowthGuard,
)
from claude_like.sandbox.docker_container import Container, ContainerDiedError, ContainerSpec
from claude_like.sandbox.docker_image import DEFAULT_IMAGE
from claude_like.sandbox.docker_programs import Programs
from claude_like.sandbox.shell import MAX_SESSIONS, OutputCapture

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


class DockerSandbox(WorkspaceFiles, Sandbox):
    """Runs tools in a container that sees only ``workspace`` (mounted at ``root``).

    ``name`` lets a later sandbox reattach to the same container (``keep=True`` leaves it
    running after ``close()`` for that). ``auto_build=True`` builds a missing image with
    ``sandbox/build.sh`` instead of raising ImageMissingError. ``client`` is a docker SDK
    client (default: from the environment). ``max_file_size`` (bytes, 0: none) and
    ``max_workspace_growth`` (bytes, None: none) mean what they mean for LocalSandbox.
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
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        max_workspace_growth: int | None = DEFAULT_MAX_WORKSPACE_GROWTH,
        max_sessions: int = MAX_SESSIONS,
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
        WorkspaceFiles.__init__(self, workspace, root)
        st = self.host_dir.stat()
        self.owner = (st.st_uid, st.st_gid)  # what the host creates here is the owner's
        uid, gid = self.owner if user is None else _parse_user(user)
        map_owner = user is None and uid == 0  # run as SANDBOX_ID on an idmapped view
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
                max_file_size=max_file_size,
                read_only=read_only,
                env=dict(env or {}),
                map_owner=map_owner,
            ),
            client=client,
            keep=keep,
            auto_build=auto_build,
        )
        self._programs = Programs(self._box, output_limit, default_timeout, max_sessions)
        self._guard = (
            GrowthGuard([str(self.host_dir)], max_workspace_growth)
            if max_workspace_growth is not None
            else None
        )
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
        """Run ``command`` in shell ``session``; ``timeout`` in seconds."""
        self._check_open()
        result = self._programs.execute(command, timeout, session)
        problem = self._guard.check() if self._guard is not None else None
        if problem is None:
            return result
        self._programs.stop_everything()
        note = f"{problem}; every process the commands started was stopped"
        return replace(result, note=f"{result.note}; {note}" if result.note else note)

    def run_program(
        self, argv: list[str], timeout: float, *, output_limit: int = DEFAULT_OUTPUT_LIMIT
    ) -> ExecResult:
        self._check_open()
        if not argv:
            raise SandboxError("run_program needs a program to run")
        return self._programs.run(argv, timeout, OutputCapture(output_limit))

    def close_session(self, session: str) -> None:
        self._programs.close_session(session)

    def write_bytes(self, path: str, data: bytes) -> None:
        """As WorkspaceFiles does, but a replaced file keeps its owner and group, and a new
        one is the workspace owner's (when this process may chown)."""
        if self._guard is not None and (problem := self._guard.check(len(data))):
            raise SandboxError(f"{path} was not written: {problem}")
        with self._locate(path, make_dirs=True) as loc:
            if loc.name == ".":
                raise IsADirectoryError(f"{path} is a directory")
            owner = self.owner
            with contextlib.suppress(FileNotFoundError):
                st = loc.lstat()
                owner = (st.st_uid, st.st_gid)
            if os.geteuid() != 0:
                owner = None  # not ours to give away
            try:
                write_replacing(loc.dir_fd, loc.name, data, owner=owner)
            except IsADirectoryError:
                raise IsADirectoryError(f"{path} is a directory") from None
            except OSError as exc:
                raise self._os_error(path, exc) from None

    def close(self) -> None:
        """Remove the container (unless ``keep``) and stop every shell. Idempotent; never
        waits for a running command (the container goes first, so it ends at once)."""
        if self._closed:
            return
        self._closed = True
        if self._box.keep:
            self._programs.close_all()
            self._finalizer()
        else:
            self._finalizer()
            self._programs.close_all()

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("this sandbox is closed")

    def __repr__(self) -> str:
        return f"DockerSandbox({str(self.host_dir)!r}, image={self.image!r}, name={self.name!r})"


__all__ = ["ContainerDiedError", "DockerSandbox"]

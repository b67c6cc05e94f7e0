"""The sandbox's container: how it is created (isolation and limits), found again, recreated
when it died, and removed.

Created with: no network, every capability dropped, no-new-privileges, a read-only root
with size-limited tmpfs for /tmp and home, memory/CPU/pids limits, an open-file limit
sized against the host's file table, a file-size limit, and the user who owns the
workspace (for a root-owned one, uid 1000 over an idmapped view when one can be made;
see :mod:`claude_like.sandbox.docker`). PID 1 is
:mod:`~claude_like.sandbox.docker_inside`'s init. :class:`Container` holds no reference
to the sandbox, so it can be its finalizer (garbage collection, interpreter exit).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_like.sandbox.base import SandboxError
from claude_like.sandbox.docker_idmap import SANDBOX_ID, IdmappedView, IdmapUnavailableError
from claude_like.sandbox.docker_image import (
    LABEL,
    ImageMissingError,
    build_image,
    connect,
    ensure_image,
)
from claude_like.sandbox.docker_shell import INSIDE_SOURCE, PYTHON, inside

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container as DockerContainer

HOME = "/home/sandbox"
NOFILE = 1024
"""Open files per process; with the pids limit it bounds what the container can take of
the host's system-wide file table."""
FILE_TABLE_SHARE = 10
"""nofile x pids stays under 1/FILE_TABLE_SHARE of the host's ``fs.file-max``."""
MIN_NOFILE, MIN_PIDS = 64, 32


def file_limits(pids_limit: int, file_max: int | None = None) -> tuple[int, int]:
    """``(nofile, pids)`` such that ``nofile * pids`` stays far below the host's table."""
    if file_max is None:
        try:
            file_max = int(Path("/proc/sys/fs/file-max").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            file_max = 1 << 20
    budget = max(file_max // FILE_TABLE_SHARE, MIN_NOFILE * MIN_PIDS)
    nofile = min(NOFILE, max(MIN_NOFILE, budget // max(pids_limit, 1)))
    pids = pids_limit if nofile * pids_limit <= budget else max(MIN_PIDS, budget // nofile)
    return nofile, pids


class ContainerDiedError(SandboxError):
    """The sandbox's container stopped (killed, out of memory) and could not be restarted."""


@dataclass
class ContainerSpec:
    """Everything the container is created with."""

    image: str
    name: str
    host_dir: Path
    root: str
    uid: int
    gid: int
    network_mode: str = "none"
    mem_limit: str | int = "1g"
    cpus: float = 1.0
    pids_limit: int = 256
    scratch_mb: int = 512
    max_file_size: int = 0
    read_only: bool = True
    env: dict[str, str] = field(default_factory=dict)
    map_owner: bool = False
    """Run as SANDBOX_ID over an idmapped view of the workspace (its owner is root)."""

    @property
    def user(self) -> str:
        return f"{self.uid}:{self.gid}"

    def run_kwargs(self, source: str, uid: int, gid: int) -> dict[str, Any]:
        """What ``containers.run`` gets: ``source`` (the workspace or a view of it) mounted,
        run as ``uid:gid``."""
        from docker.types import Ulimit

        nofile, pids = file_limits(self.pids_limit)
        ulimits = [Ulimit(name="nofile", soft=nofile, hard=nofile)]
        if self.max_file_size > 0:
            size = self.max_file_size
            ulimits.append(Ulimit(name="fsize", soft=size, hard=size))
        tmpfs = f"rw,nosuid,nodev,size={self.scratch_mb}m"
        return dict(
            command=inside("init", str(pids)),
            name=self.name,
            detach=True,
            labels={
                LABEL: "1",
                f"{LABEL}.workspace": str(self.host_dir),
                f"{LABEL}.pid": str(os.getpid()),  # lets a test run find only its own
            },
            hostname="sandbox",
            user=f"{uid}:{gid}",
            working_dir=self.root,
            environment={"HOME": HOME, "USER": "sandbox", **self.env},
            volumes={source: {"bind": self.root, "mode": "rw"}},
            network_mode=self.network_mode,
            mem_limit=self.mem_limit,
            memswap_limit=self.mem_limit,
            nano_cpus=int(self.cpus * 1e9),
            pids_limit=pids,
            ulimits=ulimits,
            read_only=self.read_only,
            tmpfs={
                "/tmp": f"{tmpfs},mode=1777",
                HOME: f"{tmpfs},mode=0700,uid={uid},gid={gid}",
            },
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ipc_mode="private",
            stop_signal="SIGKILL",
        )


class Container:
    """The running container of one sandbox: created on first use, recreated when it died."""

    def __init__(
        self,
        spec: ContainerSpec,
        *,
        client: docker.DockerClient | None = None,
        keep: bool = False,
        auto_build: bool = False,
    ) -> None:
        self.spec = spec
        self.keep = keep
        self.auto_build = auto_build
        self._client = client
        self._own_client = client is None
        self._current: DockerContainer | None = None
        self._lock = threading.RLock()
        self.notes: list[str] = []
        """What happened to the container that the next command's result should say."""
        self.closed = False

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    @property
    def current(self) -> DockerContainer | None:
        """The container as last seen (None before the first use and after close)."""
        return self._current

    def ensure(self) -> DockerContainer:
        """The running container (created, started or recreated as needed)."""
        from docker.errors import NotFound

        with self._lock:
            if self.closed:
                raise SandboxError("this sandbox is closed")
            c = self._current
            if c is not None:
                try:
                    c.reload()
                except NotFound:
                    self.notes.append("the sandbox container was removed and has been recreated")
                    c = self._current = None
                else:
                    if c.status == "running":
                        return c
                    self.notes.append(self._death_note(c))
                    self.discard()
            try:
                existing = self.client.containers.get(self.spec.name)
            except NotFound:
                existing = None
            if existing is not None:
                self._check_reattach(existing)
                if existing.status == "running":
                    self._current = existing
                    return existing
                with contextlib.suppress(Exception):
                    existing.remove(force=True)
            self._current = self._create()
            return self._current

    def discard(self) -> None:
        """Remove the current container (dead or unusable); the next use makes a new one."""
        c, self._current = self._current, None
        if c is not None:
            with contextlib.suppress(Exception):
                c.remove(force=True)

    def _check_reattach(self, c: DockerContainer) -> None:
        if c.labels.get(LABEL) != "1":
            raise SandboxError(
                f"a container named {self.spec.name} exists and was not made by claude-like; "
                "choose another name"
            )
        mounted = c.labels.get(f"{LABEL}.workspace")
        targets = {m.get("Destination") for m in c.attrs.get("Mounts", [])}
        if mounted != str(self.spec.host_dir) or self.spec.root not in targets:
            raise SandboxError(
                f"container {self.spec.name} mounts {mounted!r} at {self.spec.root}, not "
                f"this workspace {self.spec.host_dir}; choose another name"
            )
        self._adopt_user(c)

    def _adopt_user(self, c: DockerContainer) -> None:
        """Programs run as the user the container was made with (it may be SANDBOX_ID)."""
        uid, _, gid = str(c.attrs.get("Config", {}).get("User", "")).partition(":")
        if uid.isdigit() and gid.isdigit():
            self.spec.uid, self.spec.gid = int(uid), int(gid)

    def _create(self) -> DockerContainer:
        from docker.errors import APIError

        try:
            ensure_image(self.client, self.spec.image)
        except ImageMissingError:
            if not self.auto_build:
                raise
            build_image(self.spec.image)
        try:
            c = self._run_mapped() if self.spec.map_owner else None
            if c is None:
                kwargs = self.spec.run_kwargs(str(self.spec.host_dir), self.spec.uid, self.spec.gid)
                c = self.client.containers.run(self.spec.image, **kwargs)
            self._adopt_user(c)
            return c
        except APIError as exc:
            if exc.status_code == 409:  # created meanwhile under the same name: reattach
                existing = self.client.containers.get(self.spec.name)
                self._check_reattach(existing)
                if existing.status != "running":
                    existing.start()
                    existing.reload()
                return existing
            raise SandboxError(f"could not start the sandbox container: {exc}") from exc

    def _run_mapped(self) -> DockerContainer | None:
        """The container as SANDBOX_ID over an idmapped view; None when no view can be
        made here (then it runs as the owner, root, without privileges)."""
        st = self.spec.host_dir.stat()
        try:
            view = IdmappedView(self.spec.host_dir, st.st_uid, st.st_gid)
        except IdmapUnavailableError:
            return None
        try:
            kwargs = self.spec.run_kwargs(view.path, SANDBOX_ID, SANDBOX_ID)
            c = self.client.containers.run(self.spec.image, **kwargs)
        finally:
            view.close()  # the container's bind mount keeps the mapping
        # An engine in another mount namespace would have bound the empty folder instead.
        seen = c.exec_run(["stat", "-c", "%i", self.spec.root], user=f"{SANDBOX_ID}")
        if seen.output.strip() == str(st.st_ino).encode():
            return c
        with contextlib.suppress(Exception):
            c.remove(force=True)
        return None

    @staticmethod
    def _death_note(c: DockerContainer) -> str:
        state = c.attrs.get("State", {})
        why = "it ran out of memory" if state.get("OOMKilled") else (
            f"exit code {state.get('ExitCode')}"
        )
        return (
            f"the sandbox container stopped ({why}) and was recreated: workspace files are "
            "kept; /tmp, home, exports and background processes were reset"
        )

    def settled_dead(self, c: DockerContainer, wait: float = 3.0) -> bool:
        """True when the container stops within ``wait`` s (it may be dying right now)."""
        deadline = time.monotonic() + wait
        while True:
            try:
                c.reload()
            except Exception:
                return True
            if c.status != "running":
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    # -- signals -------------------------------------------------------------------------------
    def signal_launcher(self, launcher: int, sig: int) -> None:
        """Send ``sig`` to a launcher inside and kill what escaped every launcher; when no
        process can be started (a fork bomb used every pid), PID 1 sweeps instead."""
        c = self._current
        if c is None or self.closed:
            return
        try:
            api = self.client.api
            argv = [*PYTHON, "-c", INSIDE_SOURCE, "kill", str(launcher), str(sig)]
            api.exec_start(api.exec_create(c.id, argv, user=self.spec.user))
        except Exception:
            self.sweep()

    def sweep(self) -> None:
        """PID 1 kills everything but the launchers and their programs, without forking."""
        c = self._current
        if c is not None and not self.closed:
            with contextlib.suppress(Exception):
                c.kill(signal="SIGUSR1")

    def close(self) -> None:
        """Remove the container (unless ``keep``) and close our client. Idempotent; runs
        from ``close()``, garbage collection or interpreter exit."""
        with contextlib.suppress(Exception):
            if not self.keep:
                self.closed = True  # first: no kill is sent to a container being removed
                self.discard()
        self.closed = True
        self._current = None
        if self._client is not None and self._own_client:
            with contextlib.suppress(Exception):
                self._client.close()

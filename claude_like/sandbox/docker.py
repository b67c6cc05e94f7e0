"""DockerSandbox: every shell command runs in an isolated, long-lived container.

File operations go straight to the host folder that is bind-mounted at ``root`` (through
:class:`BeneathFiles`: ``..`` and symlinks pointing out are refused, and no symlink swapped
in by the container meanwhile can redirect them outside); the shell is a
persistent bash inside the container (:class:`ShellSession` over one ``docker exec``).
The container is created on first use, reused for every command, recreated when it died,
and removed on ``close()``, on leaving a ``with`` block, or at interpreter exit.

Secure by default: no network, all capabilities dropped, no-new-privileges, a non-root
user, a read-only root filesystem with tmpfs for /tmp and home, memory/CPU/pids limits,
and a per-command timeout that kills the command's process tree inside the container.
Nothing of the host's environment is passed in.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from claude_like.sandbox.base import (
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_OUTPUT_LIMIT,
    ExecResult,
    Sandbox,
    SandboxError,
)
from claude_like.sandbox.docker_files import BeneathFiles
from claude_like.sandbox.docker_image import (
    DEFAULT_IMAGE,
    LABEL,
    DockerUnavailableError,
    ImageMissingError,
    build_image,
    connect,
    ensure_image,
)
from claude_like.sandbox.docker_shell import (
    INIT_BOOT,
    INIT_SCRIPT,
    KILL_TREE_SCRIPT,
    DockerShellProcess,
)
from claude_like.sandbox.shell import KILL_SESSION_SCRIPT, ShellSession

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

HOME = "/home/sandbox"
FALLBACK_UID = 1000
"""The uid the sandbox runs as when the host user is root (never root inside)."""
STATE_FILE = "/tmp/.claude-like-exports.sh"


class ContainerDiedError(SandboxError):
    """The sandbox's container stopped (killed, out of memory) and could not be restarted."""


def default_user(host_dir: Path) -> tuple[int, int]:
    """The host user's uid:gid; when that is root, the workspace owner's or 1000:1000."""
    uid, gid = os.geteuid(), os.getegid()
    if uid != 0:
        return uid, gid
    st = host_dir.stat()
    if st.st_uid != 0:
        return st.st_uid, st.st_gid
    return FALLBACK_UID, FALLBACK_UID


def _parse_user(user: str | int) -> tuple[int, int]:
    text = str(user)
    uid_s, _, gid_s = text.partition(":")
    try:
        uid = int(uid_s)
        gid = int(gid_s) if gid_s else uid
    except ValueError:
        raise SandboxError(f"user must be numeric 'uid' or 'uid:gid', got {user!r}") from None
    if uid == 0:
        raise SandboxError("the Docker sandbox never runs as root (uid 0)")
    return uid, gid


class DockerSandbox(BeneathFiles, Sandbox):
    """Runs tools in a container that sees only ``workspace`` (mounted at ``root``).

    ``name`` lets a later sandbox reattach to the same container (``keep=True`` leaves it
    running after ``close()`` for that). ``auto_build=True`` builds a missing image with
    ``sandbox/build.sh`` (minutes; needs root and a source checkout) instead of raising
    :class:`ImageMissingError`. ``client`` is a docker SDK client (default: from the
    environment). When the host user is root, the workspace is chowned to the sandbox
    user so that the unprivileged shell can write to it.
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
        self.image = image
        self.name = name or f"claude-like-{secrets.token_hex(6)}"
        self.network_mode = network_mode
        self.mem_limit = mem_limit
        self.cpus = cpus
        self.pids_limit = pids_limit
        self.read_only = read_only
        self.uid, self.gid = default_user(self.host_dir) if user is None else _parse_user(user)
        if os.geteuid() == 0:
            self.owner = (self.uid, self.gid)  # files the host makes go to the sandbox user
        self.env = dict(env or {})
        self.keep = keep
        self.auto_build = auto_build
        self._client = client
        self._own_client = client is None
        self._container: Container | None = None
        self._lock = threading.RLock()
        self._notes: list[str] = []
        self._proc: DockerShellProcess | None = None
        self._closed = False
        self._skip_kills = False
        self.shell = ShellSession(
            self._spawn,
            self._kill_session,
            cwd=self.root,
            state_file=STATE_FILE,
            output_limit=output_limit,
            default_timeout=default_timeout,
        )
        atexit.register(self.close)

    # -- Sandbox -------------------------------------------------------------------------------
    def execute(self, command: str, timeout: float | None = None) -> ExecResult:
        if self._closed:
            raise SandboxError("this sandbox is closed")
        with self._lock:
            self._notes.clear()
            if self._proc is not None and not self._proc.alive():
                # The container died or was removed since the last command: start afresh
                # before sending this one, so that it runs.
                self._reset_shell()
            result = self.shell.run(command, timeout)
            if self._notes:
                notes = list(self._notes)
                # The shell's own "exports restored" is wrong after a new container.
                if result.note and "restored" not in result.note:
                    notes.append(result.note)
                result = replace(result, note="; ".join(notes))
            return result

    def _reset_shell(self) -> None:
        self._skip_kills = True
        try:
            self.shell.close()
        finally:
            self._skip_kills = False
            self._proc = None

    def close(self) -> None:
        """Remove the container (unless ``keep``) and stop the shell. Idempotent.

        The container goes first, without waiting for the lock: a command still running in
        another thread then ends at once instead of holding ``close()`` until its timeout.
        """
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        container = self._container
        if container is not None and not self.keep:
            self._skip_kills = True  # the whole container goes: no tree to kill first
            with contextlib.suppress(Exception):
                container.remove(force=True)
        with self._lock:
            with contextlib.suppress(Exception):
                self.shell.close()
            self._container = None
            self._proc = None
            if self._client is not None and self._own_client:
                with contextlib.suppress(Exception):
                    self._client.close()

    # -- container -----------------------------------------------------------------------------
    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = connect()
        return self._client

    @property
    def user(self) -> str:
        return f"{self.uid}:{self.gid}"

    @property
    def container(self) -> Container:
        """The running container (created, started or recreated as needed)."""
        with self._lock:
            return self._ensure_container()

    def _ensure_container(self) -> Container:
        from docker.errors import NotFound

        c = self._container
        if c is not None:
            try:
                c.reload()
            except NotFound:
                self._notes.append("the sandbox container was removed and has been recreated")
                c = self._container = None
            else:
                if c.status == "running":
                    return c
                self._notes.append(self._death_note(c))
                with contextlib.suppress(Exception):
                    c.remove(force=True)
                c = self._container = None
        try:
            existing = self.client.containers.get(self.name)
        except NotFound:
            existing = None
        if existing is not None:
            self._check_reattach(existing)
            if existing.status == "running":
                self._container = existing
                return existing
            with contextlib.suppress(Exception):
                existing.remove(force=True)
        self._container = self._create()
        return self._container

    def _check_reattach(self, c: Container) -> None:
        if c.labels.get(LABEL) != "1":
            raise SandboxError(
                f"a container named {self.name} exists and was not made by claude-like; "
                "choose another name"
            )
        mounts = {m.get("Destination"): m.get("Source") for m in c.attrs.get("Mounts", [])}
        if mounts.get(self.root) != str(self.host_dir):
            raise SandboxError(
                f"container {self.name} mounts {mounts.get(self.root)!r} at {self.root}, "
                f"not this workspace {self.host_dir}; choose another name"
            )

    def _create(self) -> Container:
        from docker.errors import APIError

        try:
            ensure_image(self.client, self.image)
        except ImageMissingError:
            if not self.auto_build:
                raise
            build_image(self.image)
        if os.geteuid() == 0 and self.uid != 0:
            self._chown_workspace()
        tmpfs_opts = "rw,nosuid,nodev,size=512m"
        kwargs: dict[str, Any] = dict(
            command=["python3", "-c", INIT_BOOT, INIT_SCRIPT, str(self.pids_limit or 0)],
            name=self.name,
            detach=True,
            labels={
                LABEL: "1",
                f"{LABEL}.workspace": str(self.host_dir),
                f"{LABEL}.pid": str(os.getpid()),  # lets a test run find only its own
            },
            hostname="sandbox",
            user=self.user,
            working_dir=self.root,
            environment={"HOME": HOME, "USER": "sandbox", **self.env},
            volumes={str(self.host_dir): {"bind": self.root, "mode": "rw"}},
            network_mode=self.network_mode,
            mem_limit=self.mem_limit,
            memswap_limit=self.mem_limit,
            nano_cpus=int(self.cpus * 1e9),
            pids_limit=self.pids_limit,
            read_only=self.read_only,
            tmpfs={
                "/tmp": f"{tmpfs_opts},mode=1777",
                HOME: f"{tmpfs_opts},mode=0700,uid={self.uid},gid={self.gid}",
            },
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ipc_mode="private",
            stop_signal="SIGKILL",
        )
        try:
            return self.client.containers.run(self.image, **kwargs)
        except APIError as exc:
            if exc.status_code == 409:  # created meanwhile under the same name: reattach
                existing = self.client.containers.get(self.name)
                self._check_reattach(existing)
                if existing.status != "running":
                    existing.start()
                    existing.reload()
                return existing
            raise SandboxError(f"could not start the sandbox container: {exc}") from exc

    def _chown_workspace(self) -> None:
        """Give the workspace to the sandbox user (host is root, so the shell could not write)."""
        if self.host_dir.stat().st_uid == self.uid:
            return
        os.lchown(self.host_dir, self.uid, self.gid)
        for dirpath, dirnames, filenames in os.walk(self.host_dir):
            for name in dirnames + filenames:
                with contextlib.suppress(OSError):
                    os.lchown(os.path.join(dirpath, name), self.uid, self.gid)

    def _death_note(self, c: Container) -> str:
        state = c.attrs.get("State", {})
        why = "it ran out of memory" if state.get("OOMKilled") else (
            f"exit code {state.get('ExitCode')}"
        )
        return (
            f"the sandbox container stopped ({why}) and was recreated: workspace files are "
            "kept; /tmp, home, exports and background processes were reset"
        )

    # -- shell plumbing ------------------------------------------------------------------------
    def _spawn(self) -> DockerShellProcess:
        import requests
        from docker.errors import DockerException

        if self._closed:
            raise SandboxError("this sandbox is closed")
        try:
            return self._spawn_in_container()
        except (requests.ConnectionError, DockerException) as exc:
            try:
                connect().close()
            except DockerUnavailableError as down:
                raise down from exc
            raise SandboxError(f"the Docker engine failed: {exc}") from exc

    def _spawn_in_container(self) -> DockerShellProcess:
        from docker.errors import APIError

        for attempt in range(2):
            c = self._ensure_container()
            try:
                self._proc = DockerShellProcess(
                    self.client.api,
                    c.id,
                    user=self.user,
                    workdir=self.root,
                    on_kill=self._kill_tree,
                )
                return self._proc
            except (APIError, SandboxError, OSError) as exc:
                if attempt == 1:
                    raise ContainerDiedError(
                        f"could not start a shell in the sandbox container: {exc}"
                    ) from exc
                if self._settled_dead(c):
                    continue  # _ensure_container notes the death and recreates it
                # Alive but unusable (e.g. no pid left): start over with a fresh container.
                self._notes.append(
                    "the sandbox container could not start a shell and was recreated: "
                    "workspace files are kept; /tmp, home and exports were reset"
                )
                with contextlib.suppress(Exception):
                    c.remove(force=True)
                self._container = None
        raise AssertionError("unreachable")

    @staticmethod
    def _settled_dead(c: Container, wait: float = 3.0) -> bool:
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

    def _exec_quiet(self, script: str, sid: int) -> None:
        c = self._container
        if c is None or self._skip_kills:
            return
        self.client.api.exec_start(
            self.client.api.exec_create(c.id, ["sh", "-c", script, "sh", str(sid)], user=self.user)
        )

    def _signal_init(self, sig: str) -> None:
        c = self._container
        if c is not None and not self._skip_kills:
            with contextlib.suppress(Exception):
                c.kill(signal=sig)

    def _kill_session(self, sid: int) -> None:
        """Kill the command's process tree inside the container (the shell stays)."""
        if sid <= 0:
            return
        with contextlib.suppress(Exception):
            self._exec_quiet(KILL_SESSION_SCRIPT, sid)
        # PID 1 sweeps again without forking: covers a fork bomb that has used every pid.
        self._signal_init("SIGUSR1")

    def _kill_tree(self, sid: int) -> None:
        """Kill a shell and everything it started (when the shell is replaced or closed)."""
        try:
            self._exec_quiet(KILL_TREE_SCRIPT, sid)
        except Exception:
            self._signal_init("SIGUSR2")

    def __repr__(self) -> str:
        return f"DockerSandbox({str(self.host_dir)!r}, image={self.image!r}, name={self.name!r})"


__all__ = ["ContainerDiedError", "DockerSandbox"]

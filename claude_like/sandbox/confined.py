"""Resolve a path inside a folder one component at a time, on directory descriptors.

Checking a path (``realpath``) and then opening it by name leaves a gap in which another
process can swap a folder for a symlink that leads out. Here every step is an ``openat``
on the descriptor of the folder reached so far, with ``O_NOFOLLOW``: a symlink is never
followed by the kernel, only read (``readlinkat``) and resolved by this walk, which
refuses any step above the top folder. A swap during the walk makes a step fail or read
the new link, never leave the tree. Symlinks that stay inside (relative, or absolute
under one of the tree's ``aliases``) work as usual.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat as stat_mod
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

MAX_LINKS = 40
"""Symlinks one resolution may follow (as Linux's own limit)."""

MAX_RETRIES = 100
"""Times one step is retried when the entry changed between two system calls."""

_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def leaves_tree(what: str) -> OSError:
    """The error for a path or link that resolves outside the tree."""
    return OSError(errno.EXDEV, "resolves outside the workspace", what)


@dataclass
class Located:
    """Where a path resolved to: ``name`` in the folder ``dir_fd`` (``"."`` when the path is
    that folder itself). ``parts`` are the canonical components below the top folder."""

    dir_fd: int
    name: str
    parts: tuple[str, ...]
    via_link: bool
    """True when the path's own last component was a symlink that was followed."""

    def open(self, flags: int, mode: int = 0o666) -> int:
        """Open the entry without following a symlink swapped in since it was resolved."""
        return os.open(self.name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=self.dir_fd)

    def lstat(self) -> os.stat_result:
        return os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)


class Tree:
    """A folder on the host, and the absolute prefixes (``aliases``) that mean it in the
    targets of symlinks found inside it (its host path; a container's mount point)."""

    def __init__(self, top: str, aliases: Sequence[str] = ()) -> None:
        self.top = top
        self.aliases = tuple(a.rstrip("/") or "/" for a in (top, *aliases))

    def _link_parts(self, target: str) -> list[str] | None:
        """Components of an absolute link target below the tree, or None when it is not."""
        for alias in self.aliases:
            if target == alias or target.startswith(alias + "/"):
                return target[len(alias) :].split("/")
        return None

    @contextlib.contextmanager
    def locate(
        self,
        parts: Sequence[str],
        *,
        follow_last: bool = True,
        make_dirs: bool = False,
        missing_ok: bool = False,
        owner: tuple[int, int] | None = None,
    ) -> Iterator[Located]:
        """Resolve ``parts`` (below the top folder). The last component need not exist.
        ``make_dirs`` creates missing folders on the way (given to ``owner`` if set);
        ``missing_ok`` resolves what is missing as plain names (for naming a path only).

        Raises OSError: EXDEV when a step leaves the tree, ELOOP after too many links,
        ENOENT / ENOTDIR for a missing or non-folder step."""
        stack = [os.open(self.top, _DIR_FLAGS)]
        try:
            yield self._walk(stack, deque(parts), follow_last, make_dirs, missing_ok, owner)
        finally:
            for fd in stack:
                os.close(fd)

    def _walk(
        self,
        stack: list[int],
        todo: deque[str],
        follow_last: bool,
        make_dirs: bool,
        missing_ok: bool,
        owner: tuple[int, int] | None,
    ) -> Located:
        canon: list[str] = []
        links = retries = 0
        via_link = False
        while todo:
            comp = todo.popleft()
            if comp in ("", "."):
                continue
            if comp == "..":
                if len(stack) == 1:
                    raise leaves_tree("..")
                os.close(stack.pop())
                canon.pop()
                continue
            last = not any(c not in ("", ".") for c in todo)
            try:
                st = os.stat(comp, dir_fd=stack[-1], follow_symlinks=False)
            except FileNotFoundError:
                if last:
                    return Located(stack[-1], comp, (*canon, comp), via_link)
                if missing_ok:
                    return Located(stack[-1], comp, _fold([*canon, comp, *todo]), via_link)
                if not make_dirs:
                    raise
                _make_dir(comp, stack[-1], owner)
                todo.appendleft(comp)
                continue
            if stat_mod.S_ISLNK(st.st_mode) and (follow_last or not last):
                links += 1
                if links > MAX_LINKS:
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", comp)
                try:
                    target = os.readlink(comp, dir_fd=stack[-1])
                except OSError as exc:
                    if exc.errno != errno.EINVAL:  # EINVAL: no longer a link; look again
                        raise
                    retries = _retry(retries, comp)
                    todo.appendleft(comp)
                    continue
                via_link = via_link or last
                self._jump(target, stack, canon, todo)
                continue
            if last:
                return Located(stack[-1], comp, (*canon, comp), via_link)
            try:
                stack.append(os.open(comp, _DIR_FLAGS, dir_fd=stack[-1]))
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                if not stat_mod.S_ISDIR(st.st_mode):
                    raise OSError(errno.ENOTDIR, "not a directory", comp) from None
                retries = _retry(retries, comp)  # swapped meanwhile: look again
                todo.appendleft(comp)
                continue
            canon.append(comp)
        return Located(stack[-1], ".", tuple(canon), via_link)

    def _jump(self, target: str, stack: list[int], canon: list[str], todo: deque[str]) -> None:
        """Continue the walk at a symlink's target (absolute ones restart at the top)."""
        if target.startswith("/"):
            below = self._link_parts(target)
            if below is None:
                raise leaves_tree(target)
            while len(stack) > 1:
                os.close(stack.pop())
            canon.clear()
            todo.extendleft(reversed(below))
        else:
            todo.extendleft(reversed(target.split("/")))


def _fold(parts: list[str]) -> tuple[str, ...]:
    """Components with ``.`` and ``..`` folded lexically (for names that do not exist)."""
    out: list[str] = []
    for part in parts:
        if part == "..":
            if not out:
                raise leaves_tree("..")
            out.pop()
        elif part not in ("", "."):
            out.append(part)
    return tuple(out)


def _retry(retries: int, comp: str) -> int:
    if retries >= MAX_RETRIES:
        raise OSError(errno.EAGAIN, "the folder keeps changing under this path", comp)
    return retries + 1


def _make_dir(name: str, dir_fd: int, owner: tuple[int, int] | None) -> None:
    try:
        os.mkdir(name, 0o777, dir_fd=dir_fd)
    except FileExistsError:
        return
    if owner is not None:
        with contextlib.suppress(OSError):
            os.chown(name, *owner, dir_fd=dir_fd, follow_symlinks=False)


def read_at_most(fd: int, count: int) -> bytes:
    """Up to ``count`` bytes from ``fd`` (blocking reads), never more in memory."""
    os.set_blocking(fd, True)
    chunks: list[bytes] = []
    got = 0
    while got < count:
        chunk = os.read(fd, min(1 << 20, count - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def write_replacing(
    dir_fd: int, name: str, data: bytes, *, owner: tuple[int, int] | None = None
) -> None:
    """Replace ``name`` in ``dir_fd`` atomically: a uniquely named temporary file created
    exclusively (never through a symlink) beside it, then renamed over it. An existing
    file's mode is kept, and its owner too when this process may give files away (root);
    ``owner`` is for a new file."""
    try:
        st: os.stat_result | None = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        st = None
    if st is not None and stat_mod.S_ISDIR(st.st_mode):
        raise IsADirectoryError(name)
    mode = stat_mod.S_IMODE(st.st_mode) if st is not None and stat_mod.S_ISREG(st.st_mode) else None
    if mode is not None and st is not None and os.geteuid() == 0:
        owner = (st.st_uid, st.st_gid)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    while True:
        tmp = f".claude-like-{secrets.token_hex(8)}.tmp"
        try:
            fd = os.open(tmp, flags, 0o600 if mode is not None else 0o666, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if mode is not None:
                os.fchmod(fd, mode)
            if owner is not None:
                os.fchown(fd, *owner)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
